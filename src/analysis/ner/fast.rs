//! The CRF model in a form made for tagging: an open-addressing table from
//! feature keys ([`features::key`]) to attribute rows, one dense row of
//! state weights per attribute, a second table for the two-word templates
//! whose slots hold their rows, and the transition matrix.
//!
//! `crfs` tags from CRFsuite attribute strings: every morpheme costs ~40
//! `format!`s, as many lookups in the model's string database and a
//! feature-by-feature walk. Here the attribute strings are hashed once,
//! when the model loads; a morpheme costs the hashes of its values and
//! a few probes of a flat table, for the features of two words that the
//! words' own flags do not rule out ([`Word::pairs`]). What a word
//! contributes wherever it stands (its own features, and those that read it
//! from one or two morphemes away) is summed once, when a thread first
//! meets the word ([`Sums`]). The scores are the sums `crfs` computes, in
//! another order (a word's rows first, then the pairs, then the neighbours'
//! sums) and of weights kept as `f32` (a word's sums made in `f64`, a
//! morpheme's score added up in `f32`, a quarter of the instructions of
//! converting each row to `f64`): the memory the tagger walks is half, and
//! the two sums differ by about a millionth of a weight. Viterbi (which breaks ties as `crfs` does) gives the same labels
//! unless two paths score within that. The labels of [`Scoring::Exact`] are
//! tested to be `crfs`'s in `super::tests` and `tests/ner.rs` (all 2,638
//! sentences of the stockmark set, 300 Wikinews articles).
//! [`Scoring::Pruned`], what kiji runs, leaves out of the scoring the
//! morphemes that are surely no part of a name (particles, auxiliary verbs
//! …) and labels them `O`.
//!
//! The other way the two could differ: a feature of the text whose key
//! equals the key of a different attribute of the model (64-bit keys; two
//! of the model's own attributes with one key are refused at load).

use crfs::Model;

use super::features::{self, Template, TemplateSet};
use super::parse_label;
use crate::analysis::dictionary::{self, Features};
use crate::analysis::entities::{Mention, Morpheme, is_title_word, may_start_title, title_at};
use crate::analysis::gazetteer::{EntityType, Gazetteer};
use crate::error::{Error, Result};

/// How [`FastModel::tag`] scores a text's morphemes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scoring {
    /// Every morpheme: `crfs`'s labels.
    Exact,
    /// What kiji runs: the morphemes [`left_out_of`] the scoring (a
    /// particle, an auxiliary verb … that no rule span covers and no piece
    /// of an unknown word touches; 31 % of the training sets') are labelled
    /// `O` unscored, and the best path is the best of those with `O` there.
    /// Whenever the exact path has `O` there, the two are the same (the best
    /// path overall is then the best of those); on the stockmark set the
    /// labels of 8 sentences of 2,638 differ (`tests/ner.rs`) and its scores
    /// are unchanged.
    Pruned,
}

/// The most labels a model may have (one row is `[f64; MAX_LABELS]`).
pub const MAX_LABELS: usize = 8;

type Row = [f64; MAX_LABELS];

/// Weights as kept: `f32`, half the memory of `f64` rows (see the module
/// docs for what that changes).
type Weights = [f32; MAX_LABELS];

/// Open addressing, linear probing; key 0 marks an empty slot. A slot holds
/// its key and value side by side; a byte per slot (its key's top bits, 0
/// for an empty slot) is read first, from an array a sixteenth the size that
/// stays in cache: a key the model does not have (most pair look-ups) is
/// turned away without reading a slot.
#[derive(Debug)]
struct KeyTable<V = u32> {
    tags: Vec<u8>,
    slots: Vec<(u64, V)>,
    mask: usize,
}

/// `acc += w`, in `f32` (a morpheme's score).
#[inline(always)]
fn add_f32(acc: &mut Weights, w: &Weights) {
    #[allow(clippy::needless_range_loop)]
    for k in 0..MAX_LABELS {
        acc[k] += w[k];
    }
}

/// `acc += w`, in `f64` (a word's sums, made once).
#[inline(always)]
fn add_weights(acc: &mut Row, w: &Weights) {
    // Indexed: compiles to straight vector adds (a zipped iterator cost
    // ~1 % more ingest instructions).
    #[allow(clippy::needless_range_loop)]
    for k in 0..MAX_LABELS {
        acc[k] += f64::from(w[k]);
    }
}

/// What the pair table holds for a key: the attribute and its row (read
/// with the key, in the slot's cache line).
type PairRow = (u32, Weights);

/// Keys are never 0 (the empty slot).
fn nonzero(k: u64) -> u64 {
    if k == 0 { 1 } else { k }
}

/// The tag byte of a key (never 0, the empty slot's).
fn tag_of(key: u64) -> u8 {
    (key >> 56) as u8 | 1
}

impl<V: Copy + PartialEq + Default> KeyTable<V> {
    fn with_capacity(n: usize) -> KeyTable<V> {
        let size = (n * 2).max(16).next_power_of_two();
        KeyTable {
            tags: written(0, size),
            slots: written((0, V::default()), size),
            mask: size - 1,
        }
    }

    /// Inserts `key → val`; `Err(previous)` when the key holds another value.
    fn insert(&mut self, key: u64, val: V) -> std::result::Result<(), V> {
        let key = nonzero(key);
        let mut i = (key as usize) & self.mask;
        loop {
            match self.slots[i] {
                (0, _) => {
                    self.slots[i] = (key, val);
                    self.tags[i] = tag_of(key);
                    return Ok(());
                }
                (k, v) if k == key => return if v == val { Ok(()) } else { Err(v) },
                _ => i = (i + 1) & self.mask,
            }
        }
    }

    #[inline]
    fn get(&self, key: u64) -> Option<&V> {
        let key = nonzero(key);
        let tag = tag_of(key);
        let mut i = (key as usize) & self.mask;
        loop {
            let t = self.tags[i];
            if t == 0 {
                return None;
            }
            if t == tag {
                let (k, v) = &self.slots[i];
                if *k == key {
                    return Some(v);
                }
            }
            i = (i + 1) & self.mask;
        }
    }
}

/// `n` copies of `x`, each page of them written before any read. A fresh
/// zeroed allocation is mapped page by page when first touched; a page whose first touch is a
/// read ([`KeyTable::insert`] probes before it writes) maps the shared zero
/// page and is copied on the write that follows, a fault and a flush of
/// every core's TLB each: most of the model's load time in a multi-threaded
/// `kiji ingest` (`perf`: `do_wp_page`, `flush_tlb_mm_range`; an ingest of
/// one article took 0.11–0.24 s with the model, 0.04–0.05 s now, as without).
fn written<T: Copy>(x: T, n: usize) -> Vec<T> {
    let mut v = vec![x; n];
    let step = (4096 / std::mem::size_of::<T>().max(1)).max(1);
    for i in (0..n).step_by(step) {
        // SAFETY: `i < n`; writing the value already there changes nothing,
        // and a volatile write is not optimised away.
        unsafe { std::ptr::write_volatile(v.as_mut_ptr().add(i), x) };
    }
    v
}

/// No attribute.
const NO: u32 = u32::MAX;

/// Receives the attribute rows of each morpheme: first the word's own
/// ([`Rows::word`]), then its context ([`Rows::add`]), then `end`.
trait Rows {
    /// Whether the receiver takes what a neighbour contributes as one sum
    /// ([`Rows::around`], the tagger) rather than row by row, in the order
    /// of [`features::each`] (the attribute ids of the tests).
    const SUMS: bool;
    /// The word scored, and the rows of its word-local features (empty
    /// with [`Rows::SUMS`]).
    fn word(&mut self, w: &Word, local: &[u32]);
    fn add(&mut self, row: u32);
    /// Attribute `aid`, whose row `w` is at hand ([`FastModel::pair`]).
    #[inline(always)]
    fn add_row(&mut self, aid: u32, _w: &Weights) {
        self.add(aid);
    }
    /// Rows whose sum (in their order) is at hand: a receiver of sums
    /// takes the sum.
    #[inline(always)]
    fn add_all(&mut self, rows: &[u32], _sum: &Weights) {
        for &row in rows {
            if row != NO {
                self.add(row);
            }
        }
    }
    /// The neighbours' sums ([`Sums`]), with [`Rows::SUMS`].
    fn around(&mut self, _a: &Word, _b: &Word, _c: &Word, _d: &Word) {}
    fn end(&mut self);
    /// Instead of the three above: a morpheme left out of the scoring (see
    /// [`Scoring::Pruned`]).
    fn outside(&mut self) {}
}

/// Values of the rule features: the tags of [`features::RULE_TAGS`], then
/// `-` (outside the text).
const RULE_VALUES: usize = features::RULE_TAGS.len() + 1;
const DASH: usize = RULE_VALUES - 1;
/// The rule tag of a morpheme no rule span covers (`O`).
const RULE_O: u8 = 0;

/// Words cached per thread before the cache starts again (at most ~15 MB a
/// thread, and the 1.6 MB of [`WordCache::by_id`]; a cache of 16,384 words
/// started again every ~200,000 morphemes of news text, and made most of
/// its words again each time).
const CACHE_WORDS: usize = 1 << 16;

/// The templates whose one value is the word ([`Word::word`]), their rows
/// kept together ([`FastModel::word_rows`]): `w[-2]` … `w[2]`, then those of
/// [`Word::run`].
const WORD_TEMPLATES: [Template; 9] = [
    Template::W0m2,
    Template::W0m1,
    Template::W0,
    Template::W0p1,
    Template::W0p2,
    Template::RunLast,
    Template::RunFirst,
    Template::RunNext,
    Template::RunPrev,
];

/// What the tagger needs of one word (surface and dictionary entry)
/// wherever it stands: the hashes of its values, the sums of the rows of
/// its word-local features and of the templates that read it from a
/// neighbour ([`WordRows`]), and flags.
///
/// Laid out for the tagger, which reads a word at five places in turn (two
/// before the morpheme scored, the morpheme, two after): each place reads
/// one of the sums, and the values and flags, which share the third cache
/// line with the last sums; the noun-run rows follow. 224 bytes in four
/// lines, each 32-byte part within one; the rows one by one are not kept
/// (with them, 320 bytes over five or six lines a word, and a cache of
/// 65,536 words took 21 MB a thread).
#[derive(Debug)]
#[repr(C, align(32))]
struct Word {
    /// The state scores of [`WordRows`] summed by the place they read the
    /// word from, and of its word-local features.
    sums: Sums,
    word: u64,
    pos3: u64,
    class: u64,
    /// Bit `2 p` (`2 p + 1`): the word's value is the first (second) value
    /// of some attribute of the pair template [`PAIRS`]`[p]`; a pair whose
    /// words lack the bits is no attribute of the model, and is not looked
    /// up.
    pairs: u32,
    /// [`surely_outside`] a name, and a [`fragment`] of an unknown word.
    outside: bool,
    fragment: bool,
    /// A title or honorific (氏, 大統領).
    title: bool,
    /// Some title starts with its first character.
    may_title: bool,
    /// `rlast`, `rfirst`, `rnext`, `rprev` with this word as the value (the
    /// noun-run features of the morphemes of a run it ends, starts or
    /// stands beside).
    run: [u32; 4],
    /// The word may stand in a run of nouns ([`features::noun_runs`]).
    noun: bool,
}

/// The rows behind a [`Word`]'s sums, one by one: what only the attribute
/// ids of the tests read ([`FastModel::attribute_ids`]), made again each
/// time and never cached.
#[derive(Debug)]
struct WordRows {
    /// `w[-2]`, `w[-1]`, (unused), `w[1]`, `w[2]` with this word as the value.
    w: [u32; 5],
    /// `p[-2]`, `p[-1]`, `p[1]`, `p[2]` (3 levels).
    p: [u32; 4],
    /// `c[-2]`, `c[-1]`, (unused), `c[1]`, `c[2]`.
    c: [u32; 5],
    /// `k64[-1]`, `k256[-1]`, `k64[1]`, `k256[1]` with this word's clusters.
    k: [u32; 4],
    /// The rows of the word-local features, in order ([`NO`] left out).
    local: Vec<u32>,
}

/// What a word contributes to the state scores of a morpheme, by where it
/// stands from it (half a cache line each).
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(32))]
struct Sums {
    /// The morpheme itself: its word-local features, summed in their order
    /// (as `crfs`).
    local: Weights,
    /// Two morphemes before the one scored: `w[-2]`, `p[-2]`, `c[-2]` with
    /// this word as the value; the one before: `w[-1]`, `p[-1]`, `c[-1]`,
    /// `k64[-1]`, `k256[-1]`; then the one after and two after.
    before2: Weights,
    before1: Weights,
    after1: Weights,
    after2: Weights,
}

/// What a pair template reads of each word.
#[derive(Debug, Clone, Copy)]
enum Value {
    Word,
    Pos,
    Class,
}

/// The templates of two values, and what they read ([`pair_index`] gives a
/// template's place).
const PAIRS: [(Template, Value); 10] = [
    (Template::Wm1W0, Value::Word),
    (Template::W0W1, Value::Word),
    (Template::Pm1P0, Value::Pos),
    (Template::P0P1, Value::Pos),
    (Template::C0C1, Value::Class),
    (Template::Cm1C0, Value::Class),
    (Template::Wm2Wm1, Value::Word),
    (Template::W1W2, Value::Word),
    (Template::Pm2Pm1, Value::Pos),
    (Template::P1P2, Value::Pos),
];

/// The place of pair template `t` in [`PAIRS`].
const fn pair_index(t: Template) -> usize {
    use Template::*;
    match t {
        Wm1W0 => 0,
        W0W1 => 1,
        Pm1P0 => 2,
        P0P1 => 3,
        C0C1 => 4,
        Cm1C0 => 5,
        Wm2Wm1 => 6,
        W1W2 => 7,
        Pm2Pm1 => 8,
        P1P2 => 9,
        _ => panic!("not a pair template"),
    }
}

impl Word {
    fn value(&self, v: Value) -> u64 {
        match v {
            Value::Word => self.word,
            Value::Pos => self.pos3,
            Value::Class => self.class,
        }
    }
}

/// The words a thread has seen, for one model and gazetteer (`owner`).
#[derive(Default)]
struct WordCache {
    owner: (u64, u64),
    words: Vec<Word>,
    /// A word of the system dictionary by its id ([`NO`]: not made yet): one
    /// read of a flat table, where hashing its surface and entry and
    /// looking the hash up cost two or three cache misses a morpheme.
    by_id: Vec<u32>,
    /// Any other word (unknown, the user's) by a hash of its surface and
    /// entry.
    index: rustc_hash::FxHashMap<u64, u32>,
}

thread_local! {
    static CACHE: std::cell::RefCell<WordCache> = std::cell::RefCell::default();
}

/// Frees this thread's word cache ([`WordCache`]); the next text tagged
/// starts it again.
pub fn release_thread_cache() {
    CACHE.take();
}

/// A distinct id for every model converted in this process (the word
/// caches know whose rows they hold).
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A CRFsuite model, converted for tagging.
#[derive(Debug)]
pub struct FastModel {
    id: u64,
    title_next: u32,
    title_prev: u32,
    /// `r[-2]` … `r[2]` by value ([`RULE_VALUES`]).
    rule_rows: [[u32; RULE_VALUES]; 5],
    /// `r[0]|r[1]`, `RULE_VALUES * a + b`.
    rule_pairs: Vec<u32>,
    /// The rule rows of a morpheme with no rule span within two places
    /// (`r[-2]` … `r[2]`, `r[0]|r[1]` all `O`; most morphemes), and their
    /// sum: one addition instead of six.
    rules_o: ([u32; 6], Weights),
    /// `rp` by place in the noun run (S, B, I, E) and `rlen` by length (0–6).
    run_places: [u32; 4],
    run_lens: [u32; 7],
    /// Whether the model has any template beyond [`TemplateSet::BASE`].
    extended: bool,
    /// Keys of every template but the pair templates ([`PAIRS`]) and those
    /// of [`WORD_TEMPLATES`].
    table: KeyTable,
    /// By the hash of a word: the rows of the [`WORD_TEMPLATES`] with it as
    /// the value, together (one look-up when a word is made, where one per
    /// template missed the cache nine times: most words are rare).
    word_rows: rustc_hash::FxHashMap<u64, [u32; WORD_TEMPLATES.len()]>,
    /// Keys of the pair templates, with their rows.
    pair_table: KeyTable<PairRow>,
    /// State weights of attribute `aid` (labels past the model's are 0).
    rows: Vec<Weights>,
    /// `trans_pad[j][i]`: weight of the transition from label `i` to `j`
    /// (0 from or to a label past the model's).
    trans_pad: [[f64; MAX_LABELS]; MAX_LABELS],
    num_labels: usize,
    /// BIO and type of each label (`None`: `O`).
    labels: Vec<Option<(bool, EntityType)>>,
    /// The templates the model has attributes of (the others are not
    /// looked up).
    templates: TemplateSet,
    /// By what a pair template reads ([`Value`]): the [`Word::pairs`] bits
    /// of each value hash, a bit for every pair template of that value
    /// and side of which some attribute has it (one look-up per value
    /// where one per template and side took twenty).
    pair_bits: [rustc_hash::FxHashMap<u64, u32>; 3],
    /// The state scores of a morpheme that must be `O`: 0 for `O`, −∞ for
    /// every other label.
    outside: Row,
    /// The label `O`.
    o: usize,
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
        // The header's own count is 0 in files CRFsuite itself writes
        // (python-crfsuite): the chunk's count is the one to read.
        let off_features = u32_at(bytes, 28)? as usize;
        if bytes.get(off_features..off_features + 4) != Some(b"FEAT".as_slice()) {
            return Err(bad("no feature chunk"));
        }
        let num_features = u32_at(bytes, off_features + 8)? as usize;
        let mut rows = vec![[0.0f32; MAX_LABELS]; num_attrs];
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
                0 if source < num_attrs => rows[source][target] = weight as f32,
                1 if source < num_labels => trans_t[target * num_labels + source] = weight,
                _ => return Err(bad(format!("feature {f} is malformed"))),
            }
        }
        let mut trans_pad = [[0.0; MAX_LABELS]; MAX_LABELS];
        for j in 0..num_labels {
            trans_pad[j][..num_labels]
                .copy_from_slice(&trans_t[j * num_labels..(j + 1) * num_labels]);
        }
        let o = labels
            .iter()
            .position(Option::is_none)
            .ok_or_else(|| bad("no label O"))?;
        let mut outside = [f64::NEG_INFINITY; MAX_LABELS];
        outside[o] = 0.0;
        let mut templates = TemplateSet::EMPTY;
        let mut pair_bits: [rustc_hash::FxHashMap<u64, u32>; 3] = Default::default();
        // (key, attribute, of a pair template), then the two tables sized
        // by their counts.
        let mut keys: Vec<(u64, u32, bool)> = Vec::with_capacity(num_attrs);
        let mut word_rows: rustc_hash::FxHashMap<u64, [u32; WORD_TEMPLATES.len()]> =
            Default::default();
        for aid in 0..num_attrs as u32 {
            let name = model
                .to_attr(aid)
                .ok_or_else(|| bad(format!("attribute {aid} has no name")))?;
            let Some((t, values)) = attribute_values(name) else {
                continue;
            };
            templates.insert(t);
            let pair = PAIRS.iter().position(|&(p, _)| p == t);
            if let Some(at) = WORD_TEMPLATES.iter().position(|&w| w == t) {
                for (a, _) in values {
                    let slot = &mut word_rows.entry(a).or_insert([NO; WORD_TEMPLATES.len()])[at];
                    if *slot != NO && *slot != aid {
                        return Err(bad(format!(
                            "attributes {slot} and {aid} ({name}) share a key"
                        )));
                    }
                    *slot = aid;
                }
                continue;
            }
            for (a, b) in values {
                keys.push((features::key(t, a, b), aid, pair.is_some()));
                if let Some(p) = pair {
                    let bits = &mut pair_bits[PAIRS[p].1 as usize];
                    *bits.entry(a).or_default() |= 1 << (2 * p);
                    *bits.entry(b).or_default() |= 2 << (2 * p);
                }
            }
        }
        let pairs = keys.iter().filter(|k| k.2).count();
        let mut table = KeyTable::with_capacity(keys.len() - pairs);
        let mut pair_table = KeyTable::with_capacity(pairs);
        for (key, aid, pair) in keys {
            let taken = if pair {
                pair_table
                    .insert(key, (aid, rows[aid as usize]))
                    .map_err(|other| other.0)
            } else {
                table.insert(key, aid)
            };
            taken.map_err(|other| {
                let name = model.to_attr(aid).unwrap_or_default();
                bad(format!("attributes {other} and {aid} ({name}) share a key"))
            })?;
        }
        let mut fm = FastModel {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            title_next: NO,
            title_prev: NO,
            rule_rows: [[NO; RULE_VALUES]; 5],
            rule_pairs: vec![NO; RULE_VALUES * RULE_VALUES],
            rules_o: ([NO; 6], [0.0; MAX_LABELS]),
            run_places: [NO; 4],
            run_lens: [NO; 7],
            extended: templates.0 & !TemplateSet::BASE.0 != 0,
            table,
            word_rows,
            pair_table,
            rows,
            trans_pad,
            num_labels,
            labels,
            templates,
            pair_bits,
            outside,
            o,
        };
        use Template::*;
        fm.title_next = fm.row(TitleNext, 0, 0);
        fm.title_prev = fm.row(TitlePrev, 0, 0);
        let values: Vec<u64> = features::RULE_TAGS
            .iter()
            .chain(["-"].iter())
            .map(|v| features::hash_str(v))
            .collect();
        for (d, t) in [Rm2, Rm1, R0, Rp1, Rp2].into_iter().enumerate() {
            for (v, &h) in values.iter().enumerate() {
                fm.rule_rows[d][v] = fm.row(t, h, 0);
            }
        }
        let h = features::hash_str;
        fm.run_places = features::RUN_PLACES.map(|p| fm.row(RunPos, h(p), 0));
        fm.run_lens = features::LENS.map(|l| fm.row(RunLen, h(l), 0));
        for (a, &ha) in values.iter().enumerate() {
            for (b, &hb) in values.iter().enumerate() {
                fm.rule_pairs[a * RULE_VALUES + b] = fm.row(R0R1, ha, hb);
            }
        }
        let o = RULE_O as usize;
        let rows_o = [
            fm.rule_rows[0][o],
            fm.rule_rows[1][o],
            fm.rule_rows[2][o],
            fm.rule_rows[3][o],
            fm.rule_rows[4][o],
            fm.rule_pairs[o * RULE_VALUES + o],
        ];
        let mut sum = [0.0; MAX_LABELS];
        for &row in &rows_o {
            if let Some(w) = fm.rows.get(row as usize) {
                add_weights(&mut sum, w);
            }
        }
        fm.rules_o = (rows_o, sum.map(|x| x as f32));
        Ok(fm)
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
        struct Ids(Vec<Vec<u32>>, Vec<u32>);
        impl Rows for Ids {
            const SUMS: bool = false;
            fn word(&mut self, _w: &Word, local: &[u32]) {
                self.1.extend_from_slice(local);
            }
            fn add(&mut self, row: u32) {
                self.1.push(row);
            }
            fn end(&mut self) {
                self.0.push(std::mem::take(&mut self.1));
            }
        }
        let mut ids = Ids(Vec::with_capacity(ms.len()), Vec::new());
        let tags = features::rule_tags(ms, rules);
        self.rows_of(text, ms, &tags, gazetteer, false, &mut ids);
        ids.0
    }

    /// The best label sequence of `ms` (label ids), scored as `scoring` says.
    pub fn tag(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        rules: &[Mention],
        gazetteer: &Gazetteer,
        scoring: Scoring,
    ) -> Vec<u32> {
        /// Sums a morpheme's rows in `acc`: its word's, the pairs' and the
        /// rules', then its neighbours' sums.
        struct Sum<'m> {
            rows: &'m [Weights],
            acc: Weights,
            state: Vec<Row>,
            outside: Row,
        }
        impl Rows for Sum<'_> {
            const SUMS: bool = true;
            #[inline(always)]
            fn word(&mut self, w: &Word, _local: &[u32]) {
                self.acc = w.sums.local;
            }
            #[inline(always)]
            fn add(&mut self, row: u32) {
                if let Some(w) = self.rows.get(row as usize) {
                    add_f32(&mut self.acc, w);
                }
            }
            #[inline(always)]
            fn add_row(&mut self, _aid: u32, w: &Weights) {
                add_f32(&mut self.acc, w);
            }
            #[inline(always)]
            fn add_all(&mut self, _rows: &[u32], sum: &Weights) {
                add_f32(&mut self.acc, sum);
            }
            #[inline(always)]
            fn around(&mut self, a: &Word, b: &Word, c: &Word, d: &Word) {
                for row in [
                    &a.sums.before2,
                    &b.sums.before1,
                    &c.sums.after1,
                    &d.sums.after2,
                ] {
                    add_f32(&mut self.acc, row);
                }
            }
            #[inline(always)]
            fn end(&mut self) {
                self.state.push(self.acc.map(f64::from));
                self.acc = [0.0; MAX_LABELS];
            }
            #[inline(always)]
            fn outside(&mut self) {
                // Viterbi over these scores keeps only the paths with `O`
                // here; what `O` would have scored is the same on all of
                // them, so it is left out.
                self.state.push(self.outside);
            }
        }
        let tags = features::rule_tags(ms, rules);
        let mut sum = Sum {
            rows: &self.rows,
            acc: [0.0; MAX_LABELS],
            state: Vec::with_capacity(ms.len()),
            outside: self.outside,
        };
        let prune = scoring == Scoring::Pruned;
        let skip = self.rows_of(text, ms, &tags, gazetteer, prune, &mut sum);
        debug_assert!(!prune || skip == left_out_of_tagged(ms, &tags));
        self.viterbi(&sum.state, prune.then_some(skip.as_slice()))
    }

    /// The row of the feature `t` with values hashed `a`, `b` (or [`NO`]).
    #[inline]
    fn row(&self, t: Template, a: u64, b: u64) -> u32 {
        if !self.templates.contains(t) {
            return NO;
        }
        self.table
            .get(features::key(t, a, b))
            .copied()
            .unwrap_or(NO)
    }

    /// What the model holds for a word wherever it stands (see [`Word`]).
    /// Its local features are those of [`features::each`], in its order.
    fn word(
        &self,
        surface: &str,
        unknown: bool,
        m: &Morpheme<'_>,
        gazetteer: &Gazetteer,
    ) -> (Word, WordRows) {
        use Template::*;
        let mut buf = String::with_capacity(40);
        let mut end3 = 0;
        for l in 0..4 {
            let p = m.details.get(l).unwrap_or("*");
            if l > 0 {
                if p == "*" {
                    break;
                }
                buf.push('/');
            }
            buf.push_str(p);
            if l < 3 {
                end3 = buf.len();
            }
        }
        let end4 = buf.len();
        features::push_shape(&mut buf, surface);
        let h = features::hash_str;
        let (wh, p3, p4, ch) = (
            h(surface),
            h(&buf[..end3]),
            h(&buf[..end4]),
            h(&buf[end4..]),
        );
        let one = |t: Template, v: &str| self.row(t, h(v), 0);
        let len = surface.chars().count();
        let title = is_title_word(surface);
        let word_rows = self.word_rows_of(wh);
        let mut local = vec![self.row(Bias, 0, 0), word_rows[2], self.row(P0, p4, 0)];
        if let Some(base) = m.details.get(6)
            && base != surface
            && base != "*"
        {
            local.push(one(Base, base));
        }
        local.push(self.row(C0, ch, 0));
        local.push(one(Len, features::LENS[len.min(6)]));
        if let Some(c) = surface.chars().next() {
            local.push(one(First, &surface[..c.len_utf8()]));
        }
        if len > 1
            && let Some(c) = surface.chars().next_back()
        {
            local.push(one(Last, &surface[surface.len() - c.len_utf8()..]));
        }
        if unknown {
            local.push(self.row(Unk, 0, 0));
        }
        if let Some(e) = gazetteer.lookup_normalized(surface) {
            local.push(one(Gaz, e.kind.as_str()));
        }
        if title {
            local.push(self.row(Title, 0, 0));
        }
        if len > 2 {
            if let Some((two, _)) = surface.char_indices().nth(2) {
                local.push(one(Pre2, &surface[..two]));
            }
            if let Some((from, _)) = surface.char_indices().nth_back(1) {
                local.push(one(Suf2, &surface[from..]));
            }
        }
        // (The cluster table is read only for a model that has cluster features.)
        let clusters = if self.templates.reads_clusters() {
            features::cluster_values(m)
        } else {
            None
        };
        match &clusters {
            Some([coarse, mid, fine]) => {
                local.push(self.row(K64, coarse.h, 0));
                local.push(self.row(K256, mid.h, 0));
                local.push(self.row(K1024, fine.h, 0));
            }
            None => local.push(self.row(KNone, 0, 0)),
        }
        let k = match &clusters {
            Some([coarse, mid, _]) => [
                self.row(K64m1, coarse.h, 0),
                self.row(K256m1, mid.h, 0),
                self.row(K64p1, coarse.h, 0),
                self.row(K256p1, mid.h, 0),
            ],
            None => [NO; 4],
        };
        local.retain(|&r| r != NO);
        let (mut word, rows) = self.assembled(word_rows, wh, p3, ch, k, local);
        word.outside = surely_outside(m);
        word.fragment = fragment(m);
        word.title = title;
        word.may_title = may_start_title(surface);
        word.noun = features::in_noun_run(m);
        (word, rows)
    }

    /// The rows of the [`WORD_TEMPLATES`] with the word hashed `wh` as the
    /// value ([`NO`] where the model has none).
    fn word_rows_of(&self, wh: u64) -> [u32; WORD_TEMPLATES.len()] {
        self.word_rows
            .get(&wh)
            .copied()
            .unwrap_or([NO; WORD_TEMPLATES.len()])
    }

    /// The word of values `wh`, `p3`, `ch` (its surface, part of speech and
    /// class, hashed), the rows `word_rows` of its [`WORD_TEMPLATES`],
    /// cluster rows `k` and word-local rows `local`, its flags unset, and its
    /// rows one by one.
    fn assembled(
        &self,
        word_rows: [u32; WORD_TEMPLATES.len()],
        wh: u64,
        p3: u64,
        ch: u64,
        k: [u32; 4],
        local: Vec<u32>,
    ) -> (Word, WordRows) {
        use Template::*;
        let rows = WordRows {
            w: [
                word_rows[0],
                word_rows[1],
                word_rows[2],
                word_rows[3],
                word_rows[4],
            ],
            p: [Pm2, Pm1, Pp1, Pp2].map(|t| self.row(t, p3, 0)),
            c: [Cm2, Cm1, C0, Cp1, Cp2].map(|t| self.row(t, ch, 0)),
            k,
            local,
        };
        let word = self.summed(
            Word {
                word: wh,
                pos3: p3,
                class: ch,
                sums: Sums::default(),
                pairs: 0,
                run: [word_rows[5], word_rows[6], word_rows[7], word_rows[8]],
                outside: false,
                fragment: false,
                title: false,
                may_title: false,
                noun: false,
            },
            &rows,
        );
        (word, rows)
    }

    /// `w` with its [`Word::sums`] (of `r`) and [`Word::pairs`].
    fn summed(&self, mut w: Word, r: &WordRows) -> Word {
        let sum = |rows: &[u32]| {
            let mut acc = [0.0; MAX_LABELS];
            for &r in rows {
                if let Some(row) = self.rows.get(r as usize) {
                    for (s, x) in acc.iter_mut().zip(row) {
                        *s += f64::from(*x);
                    }
                }
            }
            acc.map(|x| x as f32)
        };
        w.sums = Sums {
            local: sum(&r.local),
            before2: sum(&[r.w[0], r.p[0], r.c[0]]),
            before1: sum(&[r.w[1], r.p[1], r.c[1], r.k[0], r.k[1]]),
            after1: sum(&[r.w[3], r.p[2], r.c[3], r.k[2], r.k[3]]),
            after2: sum(&[r.w[4], r.p[3], r.c[4]]),
        };
        w.pairs = [Value::Word, Value::Pos, Value::Class]
            .into_iter()
            .filter_map(|v| self.pair_bits[v as usize].get(&w.value(v)))
            .fold(0, |bits, b| bits | b);
        w
    }

    /// The row of the pair template `t` over words `x` and `y` ([`NO`]
    /// without looking it up when their [`Word::pairs`] say it cannot be an
    /// attribute).
    #[inline(always)]
    fn pair(&self, t: Template, x: &Word, y: &Word) -> Option<&PairRow> {
        let p = pair_index(t);
        if x.pairs & (1 << (2 * p)) == 0 || y.pairs & (2 << (2 * p)) == 0 {
            return None;
        }
        let value = PAIRS[p].1;
        self.pair_table
            .get(features::key(t, x.value(value), y.value(value)))
    }

    /// A text boundary (`<s>` or `</s>`; part of speech and class `-`).
    fn boundary(&self, word: &str) -> (Word, WordRows) {
        let (wh, dash) = (features::hash_str(word), features::hash_str("-"));
        self.assembled(self.word_rows_of(wh), wh, dash, dash, [NO; 4], Vec::new())
    }

    /// Calls `f(i, row)` for the model attribute of every feature of every
    /// morpheme `i`, in the order of [`features::each`] (which builds the
    /// same features as strings for training and for `crfs`). What depends
    /// on a word alone is looked up once per word and thread ([`Word`]).
    /// With `prune`, the morphemes [`left_out_of`] the scoring get
    /// [`Rows::outside`] instead, and are returned (nothing without).
    #[inline(always)]
    fn rows_of<R: Rows>(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        tags: &[u8],
        gazetteer: &Gazetteer,
        prune: bool,
        out: &mut R,
    ) -> Vec<bool> {
        use Template::*;
        let n = ms.len();
        if n == 0 {
            return Vec::new();
        }
        CACHE.with_borrow_mut(|cache| {
            let owner = (self.id, gazetteer.generation());
            // Started again before this text's words (at most one per
            // morpheme) could take the table past its capacity: a `Vec` that
            // grows doubles, and the cache held twice its words' memory.
            if cache.owner != owner || cache.words.len() + n > CACHE_WORDS {
                cache.owner = owner;
                cache.words.clear();
                cache.words.shrink_to(CACHE_WORDS);
                cache.words.reserve_exact(CACHE_WORDS);
                cache.index.clear();
                cache.by_id.clear();
                cache.by_id.resize(dictionary::system_words(), NO);
                cache.words.push(self.boundary("<s>").0);
                cache.words.push(self.boundary("</s>").0);
            }
            let mut at: Vec<u32> = Vec::with_capacity(n + 4);
            at.extend([0, 0]);
            let mut joined = Vec::new();
            for m in ms {
                if let Features::System(word) = &m.details
                    && let Some(slot) = cache.by_id.get_mut(word.id() as usize)
                {
                    if *slot == NO {
                        *slot = cache.words.len() as u32;
                        let word = self.word(m.surface, m.unknown, m, gazetteer).0;
                        cache.words.push(word);
                    }
                    at.push(*slot);
                    continue;
                }
                let details = match &m.details {
                    Features::System(word) => features::mix(word.packed()),
                    Features::Joined(record) => features::hash_bytes(record.as_bytes()),
                    Features::List(fields) => {
                        joined.clear();
                        for (k, field) in fields.iter().enumerate() {
                            if k > 0 {
                                joined.push(0);
                            }
                            joined.extend_from_slice(field.as_bytes());
                        }
                        features::hash_bytes(&joined)
                    }
                };
                // A word is known by a 64-bit hash of its surface and its
                // dictionary entry (their contents; for a system word, its
                // head and base form, the fields the features read, packed,
                // so its full record is never read): two words are the same
                // when their hashes are, as two features are (the keys of
                // [`features::key`]). No word's strings are read again, which
                // cost a cache miss or two a morpheme.
                let k = features::mix(
                    features::hash_str(m.surface) ^ details.rotate_left(29) ^ u64::from(m.unknown),
                );
                let w = match cache.index.get(&k) {
                    Some(&w) => w,
                    None => {
                        let w = cache.words.len() as u32;
                        let word = self.word(m.surface, m.unknown, m, gazetteer).0;
                        cache.words.push(word);
                        cache.index.insert(k, w);
                        w
                    }
                };
                at.push(w);
            }
            at.extend([1, 1]);
            let words: Vec<&Word> = at.iter().map(|&w| &cache.words[w as usize]).collect();
            // The rows one by one, for a receiver of them (made again).
            let each: Vec<WordRows> = if R::SUMS {
                Vec::new()
            } else {
                let mut each: Vec<WordRows> = (0..2).map(|_| self.boundary("<s>").1).collect();
                each.extend(
                    ms.iter()
                        .map(|m| self.word(m.surface, m.unknown, m, gazetteer).1),
                );
                each.extend((0..2).map(|_| self.boundary("</s>").1));
                each
            };
            let runs = if self.templates.contains(RunPos) {
                features::noun_runs_by(n, |i| words[i + 2].noun)
            } else {
                Vec::new()
            };
            // words[i + 2]: morpheme i (two boundary words either side)
            // padded[i + 2]: the rule tag of morpheme i (`-` outside)
            let mut padded = Vec::with_capacity(n + 4);
            padded.extend([DASH as u8; 2]);
            padded.extend_from_slice(tags);
            padded.extend([DASH as u8; 2]);
            // `left_out_of_tagged`, from the words' flags.
            let skip: Vec<bool> = if prune {
                (0..n)
                    .map(|i| {
                        tags[i] == RULE_O
                            && words[i + 2].outside
                            && !words[i + 1].fragment
                            && !words[i + 3].fragment
                    })
                    .collect()
            } else {
                Vec::new()
            };
            let emit = |out: &mut R, row: u32| {
                if row != NO {
                    out.add(row);
                }
            };
            let emit_pair = |out: &mut R, pair: Option<&PairRow>| {
                if let Some((aid, w)) = pair {
                    out.add_row(*aid, w);
                }
            };
            for (i, (win, r)) in words.windows(5).zip(padded.windows(5)).enumerate() {
                let (&[a, b, w, c, d], &[ra, rb, rw, rc, rd]) = (win, r) else {
                    continue;
                };
                if prune && skip[i] {
                    out.outside();
                    continue;
                }
                // (A receiver of sums takes the neighbours' rows at the end.)
                let one_by_one = if R::SUMS { None } else { each.get(i..i + 5) };
                out.word(w, one_by_one.map_or(&[][..], |r| &r[2].local));
                if let Some([a, b, _, c, d]) = one_by_one {
                    emit(out, a.w[0]);
                    emit(out, b.w[1]);
                    emit(out, c.w[3]);
                    emit(out, d.w[4]);
                }
                emit_pair(out, self.pair(Wm1W0, b, w));
                emit_pair(out, self.pair(W0W1, w, c));
                if let Some([a, b, _, c, d]) = one_by_one {
                    emit(out, a.p[0]);
                    emit(out, b.p[1]);
                    emit(out, c.p[2]);
                    emit(out, d.p[3]);
                }
                emit_pair(out, self.pair(Pm1P0, b, w));
                emit_pair(out, self.pair(P0P1, w, c));
                if let Some([_, b, _, c, _]) = one_by_one {
                    emit(out, b.c[1]);
                    emit(out, c.c[3]);
                }
                emit_pair(out, self.pair(C0C1, w, c));
                emit_pair(out, self.pair(Cm1C0, b, w));
                if [ra, rb, rw, rc, rd] == [RULE_O; 5] {
                    out.add_all(&self.rules_o.0, &self.rules_o.1);
                } else {
                    let rows = &self.rule_rows;
                    emit(out, rows[0][ra as usize]);
                    emit(out, rows[1][rb as usize]);
                    emit(out, rows[2][rw as usize]);
                    emit(out, rows[3][rc as usize]);
                    emit(out, rows[4][rd as usize]);
                    emit(
                        out,
                        self.rule_pairs[rw as usize * RULE_VALUES + rc as usize],
                    );
                }
                if c.may_title && i + 1 < n && title_at(text, ms[i + 1].start) {
                    emit(out, self.title_next);
                }
                if b.title {
                    emit(out, self.title_prev);
                }
                if self.extended {
                    emit_pair(out, self.pair(Wm2Wm1, a, b));
                    emit_pair(out, self.pair(W1W2, c, d));
                    emit_pair(out, self.pair(Pm2Pm1, a, b));
                    emit_pair(out, self.pair(P1P2, c, d));
                    if let Some([a, b, _, c, d]) = one_by_one {
                        emit(out, a.c[0]);
                        emit(out, d.c[4]);
                        emit(out, b.k[0]);
                        emit(out, b.k[1]);
                        emit(out, c.k[2]);
                        emit(out, c.k[3]);
                    }
                    if let Some(r) = runs.get(i).copied().flatten() {
                        emit(out, self.run_places[r.place_index()]);
                        emit(out, words[r.last + 2].run[0]);
                        emit(out, words[r.first + 2].run[1]);
                        emit(out, self.run_lens[(r.last - r.first + 1).min(6)]);
                        emit(out, words[r.last + 3].run[2]);
                        emit(out, words[r.first + 1].run[3]);
                    }
                }
                if R::SUMS {
                    out.around(a, b, c, d);
                }
                out.end();
            }
            skip
        })
    }

    /// Viterbi over the state scores, exactly as `crfs` runs it (first
    /// maximum wins). `outside[t]`: morpheme `t` was left out of the scoring
    /// (its scores are [`FastModel::outside`]).
    fn viterbi(&self, state: &[Row], outside: Option<&[bool]>) -> Vec<u32> {
        match self.num_labels {
            7 => self.viterbi_n::<7>(state, outside),
            _ => self.viterbi_n::<MAX_LABELS>(state, outside),
        }
    }

    /// [`FastModel::viterbi`] over `L` labels; labels past the model's
    /// (`L` > `num_labels`) have −∞ scores, so they never win.
    fn viterbi_n<const L: usize>(&self, state: &[Row], outside: Option<&[bool]>) -> Vec<u32> {
        let l = self.num_labels.min(L);
        let n = state.len();
        if n == 0 {
            return Vec::new();
        }
        let trans = &self.trans_pad;
        let mut back: Vec<[u8; L]> = vec![[0; L]; n];
        let mut prev = [f64::NEG_INFINITY; L];
        prev[..l].copy_from_slice(&state[0][..l]);
        // The best predecessor of label `j` (the first maximum, as `crfs`).
        let best_before = |prev: &[f64; L], j: usize| {
            let mut best = f64::MIN;
            let mut arg = 0u8;
            for i in 0..L {
                let score = prev[i] + trans[j][i];
                if best < score {
                    best = score;
                    arg = i as u8;
                }
            }
            (best, arg)
        };
        for t in 1..n {
            let mut current = [f64::NEG_INFINITY; L];
            let back_t = &mut back[t];
            // A morpheme left out scores −∞ for every label but `O`: no path
            // runs through the others, so only `O`'s predecessor is needed.
            let only_o = outside.is_some_and(|s| s[t]);
            for j in 0..l {
                if only_o && j != self.o {
                    continue;
                }
                let (best, arg) = best_before(&prev, j);
                back_t[j] = arg;
                current[j] = best + state[t][j];
            }
            prev = current;
        }
        let mut labels = vec![0u32; n];
        let mut best = f64::MIN;
        for (i, &score) in prev[..l].iter().enumerate() {
            if best < score {
                best = score;
                labels[n - 1] = i as u32;
            }
        }
        for t in (0..n - 1).rev() {
            labels[t] = u32::from(back[t + 1][labels[t + 1] as usize]);
        }
        labels
    }
}

/// Whether the tagger may take morpheme `m` for `O` without scoring it: a
/// part of speech of which under 0.1 % of the morphemes stand inside a gold
/// span of the training sets (stockmark and GSD, classes of 1,000 morphemes
/// or more) — case, binding, conjunctive and adverbial particles, auxiliary
/// verbs, commas and full stops, dependent and suffix verbs, adnominals (この,
/// 同) — written as such words are (hiragana, or the punctuation itself: not
/// the 之 of 主婦之友社 or the デ of ロベルト・デ・ニーロ). Left in, for
/// example: の (0.36 %), と/や as "and" (0.43 %), independent verbs (0.20 %).
pub fn surely_outside(m: &Morpheme<'_>) -> bool {
    let class = matches!(
        (m.details.get(0), m.details.get(1)),
        (
            Some("助詞"),
            Some("格助詞" | "係助詞" | "接続助詞" | "副助詞")
        ) | (Some("助動詞" | "連体詞"), _)
            | (Some("動詞"), Some("非自立" | "接尾"))
    );
    let punctuation = matches!(m.details.get(1), Some("読点" | "句点"));
    punctuation || (class && m.surface.chars().all(is_hiragana))
}

fn is_hiragana(c: char) -> bool {
    features::char_class(c) == 'H'
}

/// A piece of a word IPADIC does not know (ゆっ|て|ぃ, り|そ|な): an unknown
/// word, or a noun written in hiragana alone. A particle next to one may be
/// part of a name.
fn fragment(m: &Morpheme<'_>) -> bool {
    m.unknown || (m.details.get(0) == Some("名詞") && m.surface.chars().all(is_hiragana))
}

/// The morphemes [`Scoring::Pruned`] labels `O` without scoring them: those
/// [`surely_outside`] a name, with no rule span over them and no
/// [`fragment`] either side.
pub fn left_out_of(ms: &[Morpheme<'_>], rules: &[Mention]) -> Vec<bool> {
    left_out_of_tagged(ms, &features::rule_tags(ms, rules))
}

fn left_out_of_tagged(ms: &[Morpheme<'_>], tags: &[u8]) -> Vec<bool> {
    let beside = |i: usize| ms.get(i).is_some_and(fragment);
    (0..ms.len())
        .map(|i| {
            tags[i] == RULE_O
                && surely_outside(&ms[i])
                && !beside(i.wrapping_sub(1))
                && !beside(i + 1)
        })
        .collect()
}

/// The template of a model attribute string and the hashes of the values of
/// every feature it stands for (0 for an absent value): a two-value string
/// whose values may hold `|` (`w[-1]|w[0]=a|b|c`) stands for each split, as
/// the string would be matched by any of them.
fn attribute_values(name: &str) -> Option<(Template, Vec<(u64, u64)>)> {
    let Some((t, value)) = name.split_once('=') else {
        return match Template::parse(name) {
            Some(t) if t.arity() == 0 => Some((t, vec![(0, 0)])),
            _ => None,
        };
    };
    let t = Template::parse(t)?;
    let h = features::hash_str;
    let values = match t.arity() {
        1 => vec![(h(value), 0)],
        2 => value
            .match_indices('|')
            .map(|(k, _)| (h(&value[..k]), h(&value[k + 1..])))
            .collect(),
        _ => return None,
    };
    Some((t, values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_strings_give_the_keys_of_their_features() {
        let h = features::hash_str;
        let attribute_keys = |s: &str| {
            attribute_values(s).map_or_else(Vec::new, |(t, values)| {
                values
                    .into_iter()
                    .map(|(a, b)| features::key(t, a, b))
                    .collect()
            })
        };
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
    fn particles_and_auxiliaries_are_left_out_unless_a_rule_covers_them() {
        use crate::analysis::Analyzer;
        let analyzer =
            Analyzer::with_parts(Gazetteer::load(None).unwrap(), None, Default::default()).unwrap();
        let text = "岸田首相は東京の会合で、日本を元気にする会と話した。";
        let ms = analyzer.morphemes(text);
        let out: Vec<&str> = ms
            .iter()
            .zip(left_out_of(&ms, &[]))
            .filter(|(_, out)| *out)
            .map(|(m, _)| m.surface)
            .collect();
        // (する is an independent verb, and の is left in)
        assert_eq!(out, ["は", "で", "、", "を", "に", "と", "た", "。"]);
        assert_eq!(features::RULE_TAGS[RULE_O as usize], "O");
        // a span of the rules keeps its particles in the scoring
        let start = text.find("日本を").unwrap();
        let end = text.find("と話").unwrap();
        let rules = [Mention {
            start,
            end,
            canonical: text[start..end].to_string(),
            kind: EntityType::Organization,
            by_pos: false,
        }];
        let covered = |m: &Morpheme<'_>| rules.iter().any(|r| r.start <= m.start && m.end <= r.end);
        assert!(ms.iter().any(|m| covered(m) && surely_outside(m)));
        for (m, out) in ms.iter().zip(left_out_of(&ms, &rules)) {
            assert_eq!(out, !covered(m) && surely_outside(m), "{}", m.surface);
        }
        // so does a piece of a word IPADIC does not know (秋田県|に|かほ|市)
        let text = "秋田県にかほ市の牧場で、奥山はるなさんが話した。";
        let ms = analyzer.morphemes(text);
        let out = left_out_of(&ms, &[]);
        let mut beside = 0;
        for (i, m) in ms.iter().enumerate() {
            let near = |j: usize| ms.get(j).is_some_and(fragment);
            if surely_outside(m) && (near(i.wrapping_sub(1)) || near(i + 1)) {
                assert!(!out[i], "{}", m.surface);
                beside += 1;
            }
        }
        assert!(beside >= 2, "{beside}");
    }

    #[test]
    fn pair_templates_know_their_places() {
        for (p, &(t, _)) in PAIRS.iter().enumerate() {
            assert_eq!(pair_index(t), p, "{t:?}");
            assert_eq!(t.arity(), 2, "{t:?}");
        }
        let pairs = Template::ALL.iter().filter(|t| t.arity() == 2).count();
        // every two-value template but `r[0]|r[1]` (a table of its own)
        assert_eq!(pairs, PAIRS.len() + 1);
    }

    /// What [`Word`]'s documentation says of its layout.
    #[test]
    fn a_word_keeps_its_values_beside_its_last_sums() {
        use std::mem::{align_of, offset_of, size_of};
        assert_eq!(size_of::<Sums>(), 160);
        assert_eq!(offset_of!(Word, sums), 0);
        assert_eq!(offset_of!(Word, word), 160);
        assert!(offset_of!(Word, may_title) < 192);
        assert_eq!(offset_of!(Word, run), 192);
        assert!(offset_of!(Word, noun) < 224);
        assert_eq!((size_of::<Word>(), align_of::<Word>()), (224, 32));
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
        assert_eq!(t.get(0), Some(&7));
        assert!(t.insert(0, 8).is_err());
        for k in 0..100u64 {
            assert_eq!(t.get(features::key(Template::W0, k, 0)), Some(&(k as u32)));
        }
        assert_eq!(t.get(features::key(Template::W0, 100, 0)), None);
    }
}
