//! The CRF model in a form made for tagging: an open-addressing table from
//! feature keys ([`features::key`]) to attribute rows, one dense row of
//! state weights per attribute, and the transition matrix.
//!
//! `crfs` tags from CRFsuite attribute strings: every morpheme costs ~40
//! `format!`s, as many lookups in the model's string database and a
//! feature-by-feature walk. Here the attribute strings are hashed once,
//! when the model loads; a morpheme costs the hashes of its values and
//! ~40 probes of a flat table. The scores are summed in the same order as
//! `crfs` sums them (attribute by attribute, in the order of
//! [`features::each`]; a missing label adds 0.0, which changes no sum), and
//! Viterbi breaks ties the same way, so the labels are `crfs`'s labels
//! (tested against it in `super::tests` and `tests/ner.rs`).
//!
//! The one way the two could differ: a feature of the text whose key equals
//! the key of a different attribute of the model (64-bit keys; two of the
//! model's own attributes with one key are refused at load).

use crfs::Model;

use super::features::{self, Sink, Template, TemplateSet, Val};
use super::parse_label;
use crate::analysis::entities::{Mention, Morpheme};
use crate::analysis::gazetteer::{EntityType, Gazetteer};
use crate::error::{Error, Result};

/// The most labels a model may have (one row is `[f64; MAX_LABELS]`).
pub const MAX_LABELS: usize = 8;

type Row = [f64; MAX_LABELS];

/// Open addressing, linear probing; key 0 marks an empty slot.
#[derive(Debug)]
struct KeyTable {
    keys: Vec<u64>,
    vals: Vec<u32>,
    mask: usize,
}

/// Keys are never 0 (the empty slot).
fn nonzero(k: u64) -> u64 {
    if k == 0 { 1 } else { k }
}

impl KeyTable {
    fn with_capacity(n: usize) -> KeyTable {
        let size = (n * 2).max(16).next_power_of_two();
        KeyTable {
            keys: vec![0; size],
            vals: vec![0; size],
            mask: size - 1,
        }
    }

    /// Inserts `key → val`; `Err(previous)` when the key holds another value.
    fn insert(&mut self, key: u64, val: u32) -> std::result::Result<(), u32> {
        let key = nonzero(key);
        let mut i = (key as usize) & self.mask;
        loop {
            match self.keys[i] {
                0 => {
                    self.keys[i] = key;
                    self.vals[i] = val;
                    return Ok(());
                }
                k if k == key => {
                    return if self.vals[i] == val {
                        Ok(())
                    } else {
                        Err(self.vals[i])
                    };
                }
                _ => i = (i + 1) & self.mask,
            }
        }
    }

    #[inline]
    fn get(&self, key: u64) -> Option<u32> {
        let key = nonzero(key);
        let mut i = (key as usize) & self.mask;
        loop {
            let k = self.keys[i];
            if k == key {
                return Some(self.vals[i]);
            }
            if k == 0 {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// A CRFsuite model, converted for tagging.
#[derive(Debug)]
pub struct FastModel {
    table: KeyTable,
    /// State weights of attribute `aid` (labels past the model's are 0).
    rows: Vec<Row>,
    /// `trans_t[j * L + i]`: weight of the transition from label `i` to `j`.
    trans_t: Vec<f64>,
    num_labels: usize,
    /// BIO and type of each label (`None`: `O`).
    labels: Vec<Option<(bool, EntityType)>>,
    /// The templates the model has attributes of (the others are not
    /// looked up).
    templates: TemplateSet,
}

fn bad(msg: impl std::fmt::Display) -> Error {
    Error::Dictionary(format!("cannot load the entity model: {msg}"))
}

fn u32_at(buf: &[u8], at: usize) -> Result<u32> {
    buf.get(at..at + 4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad("truncated file"))
}

fn f64_at(buf: &[u8], at: usize) -> Result<f64> {
    let b = buf.get(at..at + 8).ok_or_else(|| bad("truncated file"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(f64::from_le_bytes(a))
}

impl FastModel {
    /// Converts the model in `bytes` (CRFsuite format), read through `model`.
    pub fn new(bytes: &[u8], model: &Model<'_>) -> Result<FastModel> {
        let num_labels = model.num_labels() as usize;
        if num_labels == 0 || num_labels > MAX_LABELS {
            return Err(bad(format!(
                "{num_labels} labels (1 to {MAX_LABELS} supported)"
            )));
        }
        let labels = (0..num_labels as u32)
            .map(|l| {
                model
                    .to_label(l)
                    .map(parse_label)
                    .ok_or_else(|| bad(format!("label {l} has no name")))
            })
            .collect::<Result<Vec<_>>>()?;
        // The header (CRFsuite `crf1dm`): magic, size, type, version,
        // num_features, num_labels, num_attrs, off_features, …; the feature
        // chunk: a 12-byte chunk header, then (type, source, target: u32,
        // weight: f64) per feature. Type 0: attribute source → label target;
        // type 1: label source → label target.
        let num_attrs = model.num_attrs() as usize;
        let num_features = u32_at(bytes, 16)? as usize;
        let off_features = u32_at(bytes, 28)? as usize;
        let mut rows = vec![[0.0; MAX_LABELS]; num_attrs];
        let mut trans_t = vec![0.0; num_labels * num_labels];
        for f in 0..num_features {
            let at = off_features + 12 + 20 * f;
            let (kind, source, target) = (
                u32_at(bytes, at)?,
                u32_at(bytes, at + 4)? as usize,
                u32_at(bytes, at + 8)? as usize,
            );
            let weight = f64_at(bytes, at + 12)?;
            if target >= num_labels {
                return Err(bad(format!("feature {f} has label {target}")));
            }
            match kind {
                0 if source < num_attrs => rows[source][target] = weight,
                1 if source < num_labels => trans_t[target * num_labels + source] = weight,
                _ => return Err(bad(format!("feature {f} is malformed"))),
            }
        }
        let mut table = KeyTable::with_capacity(num_attrs);
        let mut templates = TemplateSet::EMPTY;
        for aid in 0..num_attrs {
            let name = model
                .to_attr(aid as u32)
                .ok_or_else(|| bad(format!("attribute {aid} has no name")))?;
            let (template, keys) = attribute_keys(name);
            if let Some(t) = template {
                templates.insert(t);
            }
            for k in keys {
                table.insert(k, aid as u32).map_err(|other| {
                    bad(format!("attributes {other} and {aid} ({name}) share a key"))
                })?;
            }
        }
        Ok(FastModel {
            table,
            rows,
            trans_t,
            num_labels,
            labels,
            templates,
        })
    }

    /// The templates the model has attributes of.
    pub fn templates(&self) -> TemplateSet {
        self.templates
    }

    /// BIO and type of label `l`.
    pub fn label(&self, l: u32) -> Option<(bool, EntityType)> {
        self.labels.get(l as usize).copied().flatten()
    }

    /// The model's attribute ids of each morpheme, in feature order (what
    /// `crfs` finds by string; for tests).
    pub fn attribute_ids(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        rules: &[Mention],
        gazetteer: &Gazetteer,
    ) -> Vec<Vec<u32>> {
        struct Ids<'m>(&'m FastModel, Vec<Vec<u32>>);
        impl Sink for Ids<'_> {
            fn item(&mut self) {
                self.1.push(Vec::new());
            }
            fn add(&mut self, t: Template, a: Val<'_>, b: Val<'_>) {
                if let (Some(aid), Some(item)) = (
                    self.0.table.get(features::key(t, a.h, b.h)),
                    self.1.last_mut(),
                ) {
                    item.push(aid);
                }
            }
        }
        let mut ids = Ids(self, Vec::with_capacity(ms.len()));
        features::each(text, ms, rules, gazetteer, self.templates, &mut ids);
        ids.1
    }

    /// The best label sequence of `ms` (label ids).
    pub fn tag(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        rules: &[Mention],
        gazetteer: &Gazetteer,
    ) -> Vec<u32> {
        struct Scores<'m>(&'m FastModel, Vec<Row>);
        impl Sink for Scores<'_> {
            #[inline]
            fn item(&mut self) {
                self.1.push([0.0; MAX_LABELS]);
            }
            #[inline]
            fn add(&mut self, t: Template, a: Val<'_>, b: Val<'_>) {
                let model = self.0;
                if let (Some(aid), Some(state)) = (
                    model.table.get(features::key(t, a.h, b.h)),
                    self.1.last_mut(),
                ) {
                    let row = &model.rows[aid as usize];
                    for (s, w) in state.iter_mut().zip(row) {
                        *s += w;
                    }
                }
            }
        }
        let mut scores = Scores(self, Vec::with_capacity(ms.len()));
        features::each(text, ms, rules, gazetteer, self.templates, &mut scores);
        self.viterbi(&scores.1)
    }

    /// Viterbi over the state scores, exactly as `crfs` runs it (first
    /// maximum wins).
    fn viterbi(&self, state: &[Row]) -> Vec<u32> {
        let l = self.num_labels;
        let n = state.len();
        if n == 0 {
            return Vec::new();
        }
        let mut alpha: Vec<Row> = Vec::with_capacity(n);
        let mut back: Vec<[u8; MAX_LABELS]> = vec![[0; MAX_LABELS]; n];
        alpha.push(state[0]);
        for t in 1..n {
            let prev = &alpha[t - 1];
            let mut current = [0.0; MAX_LABELS];
            for j in 0..l {
                let trans = &self.trans_t[l * j..l * j + l];
                let mut best = f64::MIN;
                let mut arg = 0;
                for i in 0..l {
                    let score = prev[i] + trans[i];
                    if best < score {
                        best = score;
                        arg = i;
                    }
                }
                back[t][j] = arg as u8;
                current[j] = best + state[t][j];
            }
            alpha.push(current);
        }
        let mut labels = vec![0u32; n];
        let mut best = f64::MIN;
        for (i, &score) in alpha[n - 1][..l].iter().enumerate() {
            if best < score {
                best = score;
                labels[n - 1] = i as u32;
            }
        }
        for t in (0..n - 1).rev() {
            labels[t] = back[t + 1][labels[t + 1] as usize] as u32;
        }
        labels
    }
}

/// The template of a model attribute string and every key it stands for: a
/// two-value string whose values may hold `|` (`w[-1]|w[0]=a|b|c`) stands
/// for each split, as the string would be matched by any of them.
fn attribute_keys(name: &str) -> (Option<Template>, Vec<u64>) {
    if let Some(t) = Template::parse(name) {
        return if t.arity() == 0 {
            (Some(t), vec![features::key(t, 0, 0)])
        } else {
            (None, Vec::new())
        };
    }
    let Some((t, value)) = name
        .split_once('=')
        .and_then(|(t, v)| Some((Template::parse(t)?, v)))
    else {
        return (None, Vec::new());
    };
    let keys = match t.arity() {
        1 => vec![features::key(t, features::hash_str(value), 0)],
        2 => value
            .match_indices('|')
            .map(|(k, _)| {
                features::key(
                    t,
                    features::hash_str(&value[..k]),
                    features::hash_str(&value[k + 1..]),
                )
            })
            .collect(),
        _ => Vec::new(),
    };
    (Some(t), keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_strings_give_the_keys_of_their_features() {
        let h = features::hash_str;
        let attribute_keys = |s: &str| attribute_keys(s).1;
        assert_eq!(
            attribute_keys("b"),
            vec![features::key(Template::Bias, 0, 0)]
        );
        assert_eq!(
            attribute_keys("w[0]=a=b"),
            vec![features::key(Template::W0, h("a=b"), 0)]
        );
        assert_eq!(
            attribute_keys("w[-1]|w[0]=東京|都"),
            vec![features::key(Template::Wm1W0, h("東京"), h("都"))]
        );
        // `|` inside a value: every split
        assert_eq!(
            attribute_keys("w[0]|w[1]=||"),
            vec![
                features::key(Template::W0W1, h(""), h("|")),
                features::key(Template::W0W1, h("|"), h("")),
            ]
        );
        assert!(attribute_keys("nonsense=1").is_empty());
        assert!(attribute_keys("w[0]").is_empty());
    }

    #[test]
    fn key_table_finds_what_it_holds() {
        let mut t = KeyTable::with_capacity(100);
        for k in 0..100u64 {
            t.insert(features::key(Template::W0, k, 0), k as u32)
                .unwrap();
        }
        // 0 is a legal key too
        t.insert(0, 7).unwrap();
        assert_eq!(t.get(0), Some(7));
        assert!(t.insert(0, 8).is_err());
        for k in 0..100u64 {
            assert_eq!(t.get(features::key(Template::W0, k, 0)), Some(k as u32));
        }
        assert_eq!(t.get(features::key(Template::W0, 100, 0)), None);
    }
}
