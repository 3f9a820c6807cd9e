//! The learned entity recogniser: a linear-chain CRF over IPADIC morphemes,
//! on top of the gazetteer and the rules of [`super::entities`].
//!
//! * [`features`] — what the CRF sees of each morpheme: surface, base form,
//!   part of speech, character classes, a ±2 context window, title cues,
//!   word clusters, the run of nouns around it, and the spans the gazetteer
//!   and the rules found (as BIO features).
//! * [`Recognizer`] — the model (CRFsuite format, `data/ner.crfsuite`, embedded)
//!   and the decoding of its BIO labels into [`Mention`]s.
//! * [`fast`] — the model converted at load for tagging without attribute
//!   strings (the same labels as `crfs`, a fraction of the cost).
//! * [`clusters`] — the word-cluster table the features read.
//! * [`merge`] — how model spans and rule spans are combined.
//! * [`gold`] — gold JSONL files and the scorer (`kiji eval-entities`).
//!
//! The model is trained by `train/ner/train.sh` (kiji's features exported by
//! `examples/train_ner.rs`, CRFsuite trains; see `train/ner/README.md`).

mod cluster_table;
pub mod clusters;
pub mod fast;
pub mod features;
pub mod gold;
pub mod merge;

pub use fast::{Scoring, release_thread_cache};

use std::sync::OnceLock;

use crfs::{Model, Tagger};
use serde::Serialize;
use utoipa::ToSchema;

use super::entities::{Mention, Morpheme, canonical_surface, is_title_word};
use super::gazetteer::{EntityType, Gazetteer};
use crate::error::{Error, Result};

/// Name of the shipped model (reported in `/stats` and the index metadata).
pub const MODEL_NAME: &str = "kiji-ner-crf";
/// Version of the shipped model: raise it whenever `data/ner.crfsuite`, the
/// features or the way model and rules are merged ([`merge`]) change, so
/// `kiji ingest --reanalyze` is due. 3: version 2's weights, merged with
/// addresses in parts and model places over the rules'. 4: the same, with
/// particles and the like left out of the tagging ([`Scoring::Pruned`]).
/// 5: no model span over a bracket, a clause mark, a quote or a line.
/// 6: retrained on the features of the dictionary with folded words
/// (`build.rs`: サッカ is サッカー). 7: a place ends before the 内 of its
/// unit (東京都内 → 東京都).
pub const MODEL_VERSION: &str = "7";

/// The shipped model (CRFsuite format). An empty file means "no model".
static EMBEDDED: &[u8] = include_bytes!("../../../data/ner.crfsuite");

/// Drops the pages of [`EMBEDDED`] from the process's resident set once the
/// model is converted (4 MB that nothing reads while tagging; only the
/// reference tagger of the tests and the label names do, and a page read
/// again is mapped again). They are part of the executable's read-only data,
/// a map of the file: `MADV_DONTNEED` drops their page-table entries and
/// loses nothing (it discards data only in anonymous or written pages, and
/// these are neither). Only whole pages inside the model are dropped.
fn release_embedded_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf reads a constant of the system.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
        let from = (EMBEDDED.as_ptr() as usize).next_multiple_of(page);
        let to = (EMBEDDED.as_ptr() as usize + EMBEDDED.len()) / page * page;
        if to > from {
            // SAFETY: [from, to) is whole pages of `EMBEDDED`, a static in
            // the executable's read-only data (see above); nothing holds a
            // reference into them that a re-read would not satisfy.
            unsafe {
                libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_DONTNEED);
            }
        }
    }
}

/// Which entity model answered.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct ModelInfo {
    /// `kiji-ner-crf`
    pub name: String,
    /// The model's version (see [`MODEL_VERSION`]).
    pub version: String,
    /// A hash of the model file, so an entity result can be reproduced.
    pub hash: String,
}

/// A CRF tagger over morphemes.
pub struct Recognizer {
    fast: fast::FastModel,
    /// The model as `crfs` reads it: the reference the fast tagger is
    /// tested against.
    model: &'static Model<'static>,
    tagger: Tagger<'static>,
    info: ModelInfo,
}

impl std::fmt::Debug for Recognizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recognizer")
            .field("info", &self.info)
            .finish()
    }
}

impl Recognizer {
    /// The shipped model, loaded once (`None` when the build has no model),
    /// with the word-cluster table when its features read it.
    pub fn embedded() -> Result<Option<&'static Recognizer>> {
        static SHIPPED: OnceLock<std::result::Result<Option<Recognizer>, String>> = OnceLock::new();
        let loaded = SHIPPED.get_or_init(|| {
            if EMBEDDED.is_empty() {
                return Ok(None);
            }
            let r = Recognizer::from_static(EMBEDDED, MODEL_NAME, MODEL_VERSION)
                .map_err(|e| e.to_string())?;
            // Converted: tagging reads the fast tables, not the file.
            release_embedded_pages();
            if r.templates().reads_clusters() {
                clusters::Clusters::embedded();
            }
            Ok(Some(r))
        });
        match loaded {
            Ok(r) => Ok(r.as_ref()),
            Err(e) => Err(Error::Dictionary(e.clone())),
        }
    }

    /// A model held for the life of the process (`bytes` in CRFsuite format).
    pub fn from_static(bytes: &'static [u8], name: &str, version: &str) -> Result<Recognizer> {
        let bad =
            |e: std::io::Error| Error::Dictionary(format!("cannot load the entity model: {e}"));
        let model: &'static Model<'static> = Box::leak(Box::new(Model::new(bytes).map_err(bad)?));
        let tagger = model.tagger().map_err(bad)?;
        Ok(Recognizer {
            fast: fast::FastModel::new(bytes, model)?,
            model,
            tagger,
            info: ModelInfo {
                name: name.to_string(),
                version: version.to_string(),
                hash: blake3::hash(bytes).to_hex()[..16].to_string(),
            },
        })
    }

    /// A model read from a file (training and experiments; the bytes are
    /// kept for the life of the process).
    pub fn from_file(path: &std::path::Path, name: &str) -> Result<Recognizer> {
        let bytes: &'static [u8] = Box::leak(std::fs::read(path)?.into_boxed_slice());
        Self::from_static(bytes, name, "dev")
    }

    pub fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// The feature templates the model uses.
    pub fn templates(&self) -> features::TemplateSet {
        self.fast.templates()
    }

    /// Mentions the model finds in `text` (normalised), given its morphemes
    /// and what the gazetteer and rules found there (`rules`, features only).
    /// Titles are stripped from the end of a span; a span the gazetteer
    /// knows gets its canonical name and type.
    pub fn tag(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        rules: &[Mention],
        gazetteer: &Gazetteer,
    ) -> Vec<Mention> {
        if ms.is_empty() {
            return Vec::new();
        }
        let labels = self.fast.tag(text, ms, rules, gazetteer, Scoring::Pruned);
        decode_parsed(
            text,
            ms,
            labels.iter().map(|&l| self.fast.label(l)),
            gazetteer,
        )
    }

    /// The label of each morpheme (`O`, `B-person` …) from the fast tagger
    /// ([`Recognizer::tag`] runs [`Scoring::Pruned`]).
    pub fn labels(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        rules: &[Mention],
        gazetteer: &Gazetteer,
        scoring: Scoring,
    ) -> Vec<&str> {
        self.fast
            .tag(text, ms, rules, gazetteer, scoring)
            .into_iter()
            .map(|l| self.model.to_label(l).unwrap_or("O"))
            .collect()
    }

    /// [`Recognizer::labels`] ([`Scoring::Exact`]) as `crfs` tags them from the attribute
    /// strings of [`features::features`] (the reference; slow).
    pub fn reference_labels(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        rules: &[Mention],
        gazetteer: &Gazetteer,
    ) -> Vec<&str> {
        let xseq = features::features(text, ms, rules, gazetteer, features::TemplateSet::ALL);
        self.tagger.tag(&xseq).unwrap_or_default()
    }

    /// The model's attribute ids of each morpheme: from the fast tagger's
    /// keys, and (`reference`) from the attribute strings as `crfs` looks
    /// them up. The two must be equal.
    pub fn attribute_ids(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        rules: &[Mention],
        gazetteer: &Gazetteer,
        reference: bool,
    ) -> Vec<Vec<u32>> {
        if !reference {
            return self.fast.attribute_ids(text, ms, rules, gazetteer);
        }
        features::features(text, ms, rules, gazetteer, features::TemplateSet::ALL)
            .iter()
            .map(|item| {
                item.iter()
                    .filter_map(|a| self.model.to_attr_id(&a.name))
                    .collect()
            })
            .collect()
    }
}

/// The label of a morpheme: `O`, `B-person`, `I-place` …
pub fn label(begin: bool, kind: EntityType) -> String {
    format!("{}-{}", if begin { "B" } else { "I" }, kind.as_str())
}

fn parse_label(l: &str) -> Option<(bool, EntityType)> {
    let (bio, kind) = l.split_once('-')?;
    Some((bio == "B", EntityType::parse(kind)?))
}

/// BIO labels → mentions (titles stripped, gazetteer names canonical).
pub fn decode<S: AsRef<str>>(
    text: &str,
    ms: &[Morpheme<'_>],
    labels: &[S],
    gazetteer: &Gazetteer,
) -> Vec<Mention> {
    decode_parsed(
        text,
        ms,
        labels.iter().map(|l| parse_label(l.as_ref())),
        gazetteer,
    )
}

/// [`decode`] of parsed labels (`None`: `O`).
fn decode_parsed(
    text: &str,
    ms: &[Morpheme<'_>],
    labels: impl ExactSizeIterator<Item = Option<(bool, EntityType)>>,
    gazetteer: &Gazetteer,
) -> Vec<Mention> {
    let n = labels.len();
    let mut out = Vec::new();
    let mut open: Option<(usize, EntityType)> = None;
    let close = |open: Option<(usize, EntityType)>, last: usize, out: &mut Vec<Mention>| {
        if let Some((first, kind)) = open
            && let Some(m) = mention(text, &ms[first..=last], kind, gazetteer)
        {
            out.push(m);
        }
    };
    for (i, l) in labels.enumerate() {
        match l {
            None => {
                close(open.take(), i.saturating_sub(1), &mut out);
            }
            Some((begin, kind)) => {
                let continues = !begin && open.is_some_and(|(_, k)| k == kind);
                if !continues {
                    close(open.take(), i.saturating_sub(1), &mut out);
                    open = Some((i, kind));
                }
            }
        }
    }
    close(open, n.saturating_sub(1), &mut out);
    out
}

/// One model span: trailing titles and symbols dropped, then canonicalised.
fn mention(
    text: &str,
    span: &[Morpheme<'_>],
    kind: EntityType,
    gazetteer: &Gazetteer,
) -> Option<Mention> {
    let mut span = span;
    while let Some((last, rest)) = span.split_last() {
        let junk = last.details.get(0) == Some("記号") && !matches!(last.surface, "・" | "=");
        if rest.is_empty() || !(is_title_word(last.surface) || junk) {
            break;
        }
        span = rest;
    }
    while let Some((first, rest)) = span.split_first() {
        if rest.is_empty() || first.details.get(0) != Some("記号") {
            break;
        }
        span = rest;
    }
    let (start, mut end) = (span.first()?.start, span.last()?.end);
    if span.len() == 1 && span[0].details.get(0) == Some("記号") {
        return None;
    }
    if kind == EntityType::Place {
        end = start + within_unit(&text[start..end]).len();
    }
    let surface = &text[start..end];
    if surface.contains(NEVER_IN_A_NAME) {
        // 九州旅客鉄道(JR九州), 8日(UTC+9), 3日(UTC+9)、日本: a span over a
        // bracket, a clause mark, a quote or a line is a boundary error (no
        // gold name of the training sets holds one, but for 3 of 10,600 with
        // a 、); a colon separates a name from what precedes it
        // (23日(火):ハリケーン・エプシロン). The rules' names stand there.
        return None;
    }
    // asahi.com, SANSPO.COM: a web address names a site, not a person.
    let kind = if kind == EntityType::Person && looks_like_domain(surface) {
        EntityType::Organization
    } else {
        kind
    };
    Some(match gazetteer.lookup_normalized(surface) {
        Some(entry) => Mention {
            start,
            end,
            canonical: entry.canonical.clone(),
            kind: entry.kind,
            by_pos: false,
        },
        None => Mention {
            start,
            end,
            canonical: canonical_surface(surface),
            kind,
            by_pos: true,
        },
    })
}

/// A place without the 内 ("inside") that follows an administrative unit:
/// 東京都内 → 東京都, 大阪市内 → 大阪市, 北海道内 → 北海道 (IPADIC reads
/// 都内, 市内 as one word, so the model's span takes it whole). 内 is a
/// position as 沖 and 東部 are, not part of the name: the convention of the
/// news gold (`tests/gold/GUIDELINES.md`) and of most of the training
/// sentences (GSD: 21 places followed by 内 against 5 holding it;
/// stockmark: 7 and 7), and the counts of 東京都 and 東京都内 are one
/// place's. A unit of one character (府内, 区内) is left whole.
fn within_unit(place: &str) -> &str {
    match place.strip_suffix('内') {
        Some(unit)
            if unit.chars().nth(1).is_some()
                && unit.ends_with(super::entities::UNITS_BEFORE_INSIDE) =>
        {
            unit
        }
        _ => place,
    }
}

/// What a model span may not hold (see [`mention`]).
const NEVER_IN_A_NAME: [char; 22] = [
    '(', ')', '（', '）', '「', '」', '『', '』', '【', '】', '[', ']', '〔', '〕', '"', '“', '”',
    '、', '。', '\n', ':', '：',
];

/// `asahi.com`, `www.nikkei.co.jp`: Latin labels joined by dots, the last
/// one letters.
fn looks_like_domain(s: &str) -> bool {
    let mut labels = s.split('.');
    let last = labels.next_back().unwrap_or("");
    s.contains('.')
        && (2..=4).contains(&last.len())
        && last.bytes().all(|b| b.is_ascii_alphabetic())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{Analyzer, normalize::normalize};

    #[test]
    fn web_addresses_are_not_people() {
        assert!(looks_like_domain("asahi.com"));
        assert!(looks_like_domain("SANSPO.COM"));
        assert!(looks_like_domain("www.nikkei.co.jp"));
        assert!(!looks_like_domain("J.K.ローリング"));
        assert!(!looks_like_domain("asahi"));
        assert!(!looks_like_domain("3.14"));
    }

    #[test]
    fn labels_round_trip() {
        assert_eq!(label(true, EntityType::Place), "B-place");
        assert_eq!(
            parse_label("I-organization"),
            Some((false, EntityType::Organization))
        );
        assert_eq!(parse_label("O"), None);
    }

    /// The spans (as written) and canonical names [`decode`] makes of
    /// `text` when the model labels all of it one name of type `kind`.
    fn decoded_whole(text: &str, kind: &str) -> Vec<(String, String)> {
        let analyzer =
            Analyzer::with_parts(Gazetteer::load(None).unwrap(), None, Default::default()).unwrap();
        let norm = normalize(text);
        let ms = analyzer.morphemes(&norm.text);
        let labels: Vec<String> = (0..ms.len())
            .map(|i| format!("{}-{kind}", if i == 0 { "B" } else { "I" }))
            .collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        decode(&norm.text, &ms, &labels, analyzer.gazetteer())
            .iter()
            .map(|m| (norm.text[m.start..m.end].to_string(), m.canonical.clone()))
            .collect()
    }

    #[test]
    fn spans_over_brackets_clauses_quotes_or_lines_are_not_names() {
        // The whole text labelled one organisation.
        let whole = |text: &str| {
            decoded_whole(text, "organization")
                .into_iter()
                .map(|(span, _)| span)
                .collect::<Vec<_>>()
        };
        for text in [
            "九州旅客鉄道(JR九州)",
            "九州旅客鉄道(JR九州",
            "株式会社)",
            "3日(UTC+9)、日本",
            "公明過半数割れ」。ウィキニュース",
            "日本郵政\n日本郵政",
            "23日(火):ハリケーン・エプシロン",
        ] {
            assert_eq!(whole(text), Vec::<String>::new(), "{text}");
        }
        // A trailing bracket or full stop is trimmed, not a boundary error.
        assert_eq!(whole("九州旅客鉄道。"), ["九州旅客鉄道"]);
        assert_eq!(whole("「九州旅客鉄道"), ["九州旅客鉄道"]);
    }

    #[test]
    fn a_place_ends_before_the_inside_of_its_unit() {
        for (span, place) in [
            ("東京都内", "東京都"),
            ("大阪市内", "大阪市"),
            ("北海道内", "北海道"),
            ("ドネツク州内", "ドネツク州"),
            ("西東京市内", "西東京市"),
            // Not a unit before 内, or a unit of one character: as found.
            ("丸の内", "丸の内"),
            ("真駒内", "真駒内"),
            ("府内", "府内"),
            ("東京都", "東京都"),
        ] {
            assert_eq!(within_unit(span), place, "{span}");
        }
        // Through the decoding of a model span (IPADIC reads 都内 as one
        // word), for places only.
        assert_eq!(
            decoded_whole("東京都内", "place"),
            [("東京都".to_string(), "東京都".to_string())]
        );
        assert_eq!(decoded_whole("大阪市内", "organization")[0].0, "大阪市内");
    }

    /// The fast tagger finds the attributes `crfs` finds by string and
    /// gives its labels (scoring every morpheme, and with the left-out
    /// ones as well), on the seed article and on text made to trip the
    /// key parsing (`|` and `=` inside words, symbols, Latin, digits).
    #[test]
    fn fast_tagger_agrees_with_crfs() {
        use crate::analysis::{Analyzer, entities, normalize::normalize};
        let r = Recognizer::embedded().unwrap().expect("a shipped model");
        let analyzer =
            Analyzer::with_parts(Gazetteer::load(None).unwrap(), None, Default::default()).unwrap();
        let seed = include_str!("../../../corpus/2024-10-31-north-korea-troops-to-russia.txt");
        let mut texts: Vec<&str> = seed.lines().filter(|l| !l.trim().is_empty()).collect();
        texts.extend([
            "東京都世田谷区の山田太郎氏は、日本銀行の会合に出席した。",
            "A|B|C社の田中|さんと=山本=さんが「米国|中国」を訪れた。",
            "||| = == 株式会社ソニー・グループ|東証 G7サミット 2024年",
            "岸田文雄首相とバイデン大統領がワシントンで会談",
            "米",
        ]);
        let (mut entities_seen, mut changed) = (0, 0);
        for text in texts {
            let norm = normalize(text);
            let ms = analyzer.morphemes(&norm.text);
            let gaz = analyzer.gazetteer();
            let rules = entities::extract(&norm.text, &ms, gaz);
            assert_eq!(
                r.attribute_ids(&norm.text, &ms, &rules, gaz, false),
                r.attribute_ids(&norm.text, &ms, &rules, gaz, true),
                "{text}"
            );
            let labels = r.labels(&norm.text, &ms, &rules, gaz, Scoring::Exact);
            assert_eq!(
                labels,
                r.reference_labels(&norm.text, &ms, &rules, gaz),
                "{text}"
            );
            // Left out of the scoring, a morpheme is `O`; the labels are
            // the exact ones whenever those have `O` there too.
            let pruned = r.labels(&norm.text, &ms, &rules, gaz, Scoring::Pruned);
            let out = fast::left_out_of(&ms, &rules);
            let at_out = |ls: &[&str]| ls.iter().zip(&out).all(|(l, &o)| !o || *l == "O");
            assert!(at_out(&pruned), "{text}");
            if at_out(&labels) {
                assert_eq!(pruned, labels, "{text}");
            } else {
                // (model version 5 read the seed's 中央アジア|を|めぐる|両国
                // as one place on the exact path; version 6 does not)
                changed += 1;
            }
            entities_seen += labels.iter().filter(|l| l.starts_with("B-")).count();
        }
        assert!(entities_seen > 10, "only {entities_seen} entities tagged");
        assert!(
            changed <= 1,
            "{changed} texts labelled otherwise when pruned"
        );
    }

    /// Freeing the word caches and lattices between texts (as `kiji ingest`
    /// does before its final commit) changes no label, on this thread or on
    /// rayon's.
    #[test]
    fn labels_survive_freed_thread_memory() {
        use crate::analysis::{Analyzer, entities, normalize::normalize};
        let r = Recognizer::embedded().unwrap().expect("a shipped model");
        let analyzer =
            Analyzer::with_parts(Gazetteer::load(None).unwrap(), None, Default::default()).unwrap();
        let labels = || {
            let norm = normalize("岸田文雄首相とバイデン大統領がワシントンで会談した。");
            let ms = analyzer.morphemes(&norm.text);
            let rules = entities::extract(&norm.text, &ms, analyzer.gazetteer());
            r.labels(
                &norm.text,
                &ms,
                &rules,
                analyzer.gazetteer(),
                Scoring::Pruned,
            )
            .into_iter()
            .map(str::to_string)
            .collect::<Vec<_>>()
        };
        let before = labels();
        assert!(before.iter().any(|l| l.starts_with("B-")), "{before:?}");
        release_thread_cache();
        assert_eq!(labels(), before);
        crate::analysis::release_pool_memory();
        let on_pool = rayon::broadcast(|_| labels());
        assert!(on_pool.iter().all(|l| *l == before), "{on_pool:?}");
        crate::analysis::release_pool_memory();
        assert_eq!(rayon::broadcast(|_| labels()), on_pool);
    }

    #[test]
    fn shipped_model_loads() {
        let r = Recognizer::embedded()
            .expect("the shipped model loads")
            .expect("a model is shipped in data/ner.crfsuite");
        assert_eq!(r.info().name, MODEL_NAME);
        assert_eq!(r.info().hash.len(), 16);
    }
}
