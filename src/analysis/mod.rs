//! Japanese analysis: one definition used at index time, at query time, for
//! snippets and for `kiji analyze`.
//!
//! * [`normalize`] — NFKC + lower case + spelling variants ([`variants`]) with an
//!   offset map back to the original.
//! * [`dictionary`] — the embedded IPADIC, built from Debian's mecab-ipadic.
//! * [`tokenizer`] — the `ja` (morphemes) and `ja_bigram` (substring) tokenizers.
//! * [`gazetteer`] + [`entities`] — people, organisations and places, found by
//!   rules; [`ner`] — the learned recogniser on top of them.

pub mod dictionary;
pub mod entities;
pub mod eval;
pub mod gazetteer;
pub mod ner;
pub mod normalize;
pub mod sentences;
pub mod short_names;
pub mod tokenizer;
pub mod variants;

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera_dictionary::viterbi::Lattice;
use serde::Serialize;
use unicode_normalization::UnicodeNormalization;
use utoipa::ToSchema;

use crate::error::{Error, Result};
use entities::{Mention, Morpheme};
use gazetteer::{EntityType, Gazetteer};
use normalize::{Normalized, normalize};
use tokenizer::{BigramTokenizer, MorphTokenizer, TokenMemo};

thread_local! {
    /// Each thread's Viterbi lattice, kept from text to text ([`Analyzer::segment`]).
    static LATTICE: std::cell::RefCell<Lattice> = std::cell::RefCell::new(Lattice::default());
}

/// Frees what the threads of rayon's pool (where ingests analyse articles)
/// keep from text to text: each one's lattice, sized for the longest text it
/// segmented, and the entity model's word cache (up to ~15 MB a thread).
/// The next text makes them again. `kiji ingest` calls it when its articles
/// are analysed, before the commit that is its peak of memory.
pub fn release_pool_memory() {
    rayon::broadcast(|_| {
        LATTICE.take();
        ner::release_thread_cache();
    });
}

/// Name of the morpheme tokenizer registered with tantivy. The names carry
/// the version of what the tokenizers emit: an index whose fields name
/// another version does not open (its schema differs), and says to rebuild
/// it with `kiji ingest --reanalyze`. Version 2: word symbols and
/// position-less whitespace ([`tokenizer::MorphPositions`]). Version 3: `~`
/// separates words as `〜` does (`2025~30年` holds `30年`). Version 4: a
/// kanji stem inside a noun has no dictionary form
/// ([`dictionary::stem_inside_noun`]: 高さ is not indexed as 高い).
/// Version 5: 讀 and 賣 are read as 読 and 売 (讀賣新聞 = 読売新聞).
pub const MORPH: &str = "ja_v6";
/// Name of the bigram tokenizer registered with tantivy (versioned as
/// [`MORPH`] is; version 4 with the kanji of `MORPH`'s version 5).
pub const BIGRAM: &str = "ja_bigram_v4";

/// Which dictionary answered: reported by `/stats`, `/search` and `kiji analyze`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct DictionaryInfo {
    /// `ipadic`
    pub name: String,
    /// Where the IPADIC source came from, e.g. `mecab-ipadic 2.7.0-20070801+main-3 (Debian)`.
    pub source: String,
    /// The builder that compiled it.
    pub builder: String,
    /// IPADIC words entered again under the spelling kiji folds text to
    /// (サッカー as サッカ, ヴァイオリン as バイオリン; `src/analysis/variants.rs`),
    /// with their part of speech, base form and costs.
    pub folded_entries: usize,
    /// Entries in the gazetteer (shipped + user file).
    pub gazetteer_entries: usize,
    /// A hash of the gazetteer, so an entity result can be reproduced.
    pub gazetteer_hash: String,
    /// The learned entity recogniser (absent: the gazetteer and rules alone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_model: Option<ner::ModelInfo>,
    /// How the analysis reports an address the recogniser finds as one
    /// place (`entities.addresses`; absent without a recogniser). The index
    /// counts its units whatever this says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_addresses: Option<ner::merge::Addresses>,
}

/// One morpheme as `kiji analyze` prints it; offsets in code points of the input.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct TokenOut {
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub pos: Vec<String>,
    pub base: String,
}

/// One entity mention as `kiji analyze` prints it; offsets in code points.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct EntityOut {
    pub text: String,
    pub canonical: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub start: usize,
    pub end: usize,
}

/// The `kiji analyze` contract.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Analysis {
    pub tokens: Vec<TokenOut>,
    pub entities: Vec<EntityOut>,
}

/// Byte → code-point offsets of one text, computed once.
pub struct CharIndex {
    /// `chars[b]` = number of chars before byte `b` (valid at char boundaries).
    chars: Vec<u32>,
}

impl CharIndex {
    pub fn new(text: &str) -> Self {
        let mut chars = vec![0u32; text.len() + 1];
        let mut n = 0u32;
        for (b, c) in text.char_indices() {
            for slot in &mut chars[b..b + c.len_utf8()] {
                *slot = n;
            }
            n += 1;
        }
        chars[text.len()] = n;
        CharIndex { chars }
    }

    pub fn at(&self, byte: usize) -> usize {
        self.chars[byte.min(self.chars.len() - 1)] as usize
    }
}

/// Gazetteer names stay as written there; names found by part of speech are
/// shown as the article wrote them (NFKC, case kept), not lower-cased, with
/// their spelling variants folded ([`variants::fold_spelling`]): 小澤 and
/// 小沢 are one facet value, as they are one `person=` filter; an
/// organisation without its legal form ([`entities::organization_core`]).
fn display_canonical(m: &Mention, original: &str) -> String {
    if !m.by_pos {
        return m.canonical.clone();
    }
    let name = display_name(original);
    match m.kind {
        // 京セラ(株), マイクロソフト社: one facet value per company.
        EntityType::Organization => entities::organization_core(&name)
            .map(str::to_string)
            .unwrap_or(name),
        _ => name,
    }
}

/// How a name the gazetteer does not know is shown (and counted in facets):
/// as written (NFKC, case kept), its spelling variants folded (小澤 → 小沢).
pub fn display_name(written: &str) -> String {
    variants::fold_spelling(written.nfkc().collect::<String>().trim())
}

/// Maps mentions found in `norm` back to byte offsets of `original`, with
/// their display names.
fn map_mentions(found: Vec<Mention>, norm: &Normalized, original: &str) -> Vec<Mention> {
    found
        .into_iter()
        .map(|m| {
            let (start, end) = norm.original_range(m.start, m.end);
            let canonical = display_canonical(&m, &original[start..end]);
            Mention {
                start,
                end,
                canonical,
                ..m
            }
        })
        .collect()
}

/// The analyser: IPADIC + gazetteer user dictionary, shared by everything.
pub struct Analyzer {
    segmenter: Segmenter,
    /// Index-time segmentations waiting for tantivy's indexing thread.
    memo: Arc<TokenMemo>,
    gazetteer: Gazetteer,
    /// The learned entity recogniser (`None`: the rules alone).
    ner: Option<&'static ner::Recognizer>,
    /// How the analysis reports addresses (the index counts their units).
    addresses: ner::merge::Addresses,
    info: DictionaryInfo,
}

impl Analyzer {
    /// Loads the embedded IPADIC and compiles the gazetteer (shipped list plus
    /// `user_file`) into a lindera user dictionary: the gazetteer and rules
    /// alone, without the entity model (tests and benchmarks of the rules;
    /// the commands build theirs with `Config::analyzer`, model on by
    /// default).
    pub fn new(user_file: Option<&Path>) -> Result<Arc<Analyzer>> {
        Self::with_gazetteer(Gazetteer::load(user_file)?)
    }

    /// An analyser with exactly this gazetteer and the rules, without the
    /// entity model (as `entities.model = false`); see
    /// [`Analyzer::with_parts`] and `Config::analyzer` for the model.
    pub fn with_gazetteer(gazetteer: Gazetteer) -> Result<Arc<Analyzer>> {
        Self::with_parts(gazetteer, None, Default::default())
    }

    /// An analyser with this gazetteer and this entity model (`None`: the
    /// gazetteer and rules alone), reporting addresses as `addresses` says.
    pub fn with_parts(
        gazetteer: Gazetteer,
        recognizer: Option<&'static ner::Recognizer>,
        addresses: ner::merge::Addresses,
    ) -> Result<Arc<Analyzer>> {
        Self::with_model_from(gazetteer, || Ok(recognizer), addresses)
    }

    /// [`Analyzer::with_parts`], taking the entity model from `recognizer`
    /// once the dictionaries are built: a caller can load the model on
    /// another thread meanwhile ([`crate::config::Config::analyzer`]).
    pub fn with_model_from(
        gazetteer: Gazetteer,
        recognizer: impl FnOnce() -> Result<Option<&'static ner::Recognizer>>,
        addresses: ner::merge::Addresses,
    ) -> Result<Arc<Analyzer>> {
        let dictionary = dictionary::load_system_dictionary()
            .map_err(|e| Error::Dictionary(format!("cannot load the embedded IPADIC: {e}")))?;
        let csv = gazetteer.user_dictionary_csv();
        let user = if csv.is_empty() {
            None
        } else {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("gazetteer.csv");
            std::fs::write(&path, &csv)?;
            let builder =
                lindera::dictionary::DictionaryBuilder::new(dictionary.metadata.as_ref().clone());
            Some(builder.build_user_dict(&path).map_err(|e| {
                Error::Dictionary(format!(
                    "cannot compile the gazetteer into a user dictionary: {e}"
                ))
            })?)
        };
        let segmenter = Segmenter::new(Mode::Normal, dictionary, user);
        let recognizer = recognizer()?;
        let info = DictionaryInfo {
            name: "ipadic".into(),
            source: env!("KIJI_DICTIONARY_VERSION").into(),
            builder: "lindera-dictionary 5.3".into(),
            folded_entries: env!("KIJI_DICTIONARY_FOLDED").parse().unwrap_or(0),
            gazetteer_entries: gazetteer.len(),
            gazetteer_hash: blake3::hash(csv.as_bytes()).to_hex()[..16].to_string(),
            entity_model: recognizer.map(|r| r.info().clone()),
            entity_addresses: recognizer.map(|_| addresses),
        };
        Ok(Arc::new(Analyzer {
            segmenter,
            memo: Arc::default(),
            gazetteer,
            ner: recognizer,
            addresses,
            info,
        }))
    }

    pub fn info(&self) -> &DictionaryInfo {
        &self.info
    }

    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    /// The entity model in use, if any.
    pub fn recognizer(&self) -> Option<&'static ner::Recognizer> {
        self.ner
    }

    /// Mentions in normalised `text` with morphemes `ms`, as the analysis
    /// reports them (`kiji analyze`, `/analyze`, the evaluation commands):
    /// the gazetteer and rules, then the model on top of them
    /// ([`ner::merge`]), addresses as `entities.addresses` says.
    pub fn entities_of(&self, text: &str, ms: &[Morpheme<'_>]) -> Vec<Mention> {
        self.entities_with(text, ms, self.addresses)
    }

    /// Mentions as the index counts them: [`Analyzer::entities_of`] with
    /// every address in its administrative units (東京都港区 → 東京都 | 港区),
    /// so that facets and entity filters count an article about 港区 for
    /// 東京都, whatever `entities.addresses` says.
    pub fn index_entities_of(&self, text: &str, ms: &[Morpheme<'_>]) -> Vec<Mention> {
        self.entities_with(text, ms, ner::merge::Addresses::Parts)
    }

    fn entities_with(
        &self,
        text: &str,
        ms: &[Morpheme<'_>],
        addresses: ner::merge::Addresses,
    ) -> Vec<Mention> {
        let rules = entities::extract(text, ms, &self.gazetteer);
        let mut mentions = match self.ner {
            Some(r) => {
                let model = r.tag(text, ms, &rules, &self.gazetteer);
                ner::merge::combine(text, rules, model, ner::merge::Policy::Hybrid(addresses))
            }
            None => match addresses {
                ner::merge::Addresses::Whole => ner::merge::join_addresses(text, rules),
                ner::merge::Addresses::Parts => rules,
            },
        };
        entities::canonical_organizations(&mut mentions, &self.gazetteer);
        mentions
    }

    /// Registers the `ja` and `ja_bigram` tokenizers with an index.
    pub fn register(&self, index: &tantivy::Index) {
        index.tokenizers().register(
            MORPH,
            MorphTokenizer::new(self.segmenter.clone(), self.memo.clone()),
        );
        index.tokenizers().register(BIGRAM, BigramTokenizer);
    }

    /// A lindera-tantivy `ja` tokenizer, as tantivy uses it for any text the
    /// token memo does not hold (clones the segmenter: not for hot paths).
    pub fn morph_tokenizer(&self) -> MorphTokenizer {
        MorphTokenizer::new(self.segmenter.clone(), Arc::default())
    }

    /// Where the writer leaves index-time `ja` tokens for tantivy's indexing
    /// thread (see [`TokenMemo`]).
    pub fn token_memo(&self) -> &TokenMemo {
        &self.memo
    }

    /// IPADIC segmentation of normalised text, reusing this thread's lattice.
    fn segment<'a>(
        &'a self,
        norm: &'a str,
    ) -> lindera::LinderaResult<Vec<lindera::token::Token<'a>>> {
        LATTICE.with_borrow_mut(|lattice| {
            self.segmenter
                .segment_with_lattice(Cow::Borrowed(norm), lattice)
        })
    }

    /// The `ja` tokens of normalised query text: exactly what the index holds
    /// for the same text. Uses the shared segmenter (no clone per query).
    pub fn query_tokens(&self, norm: &Normalized) -> Vec<tantivy::tokenizer::Token> {
        let Ok(tokens) = self.segment(&norm.text) else {
            return Vec::new();
        };
        let features: Vec<(usize, usize, dictionary::Features<'_>)> = tokens
            .iter()
            .map(|t| {
                let f = dictionary::Features::of(&self.segmenter, t.word_id);
                (t.byte_start, t.byte_end, f)
            })
            .collect();
        tokenizer::tokens_from_morphemes(
            norm,
            tokens.iter().enumerate().map(|(i, t)| {
                let surface = t.surface.as_ref();
                let place = dictionary::Place::in_run(&features, i, |(s, e, f)| (*s, *e, f.get(0)));
                (
                    surface,
                    t.byte_start,
                    t.byte_end,
                    features[i].2.base_form_token(surface, place),
                )
            }),
        )
    }

    /// Morphemes of normalised text, with IPADIC features (borrowed from
    /// the dictionary and the text, not copied).
    pub fn morphemes<'a>(&'a self, norm: &'a str) -> Vec<Morpheme<'a>> {
        let Ok(tokens) = self.segment(norm) else {
            return Vec::new();
        };
        tokens
            .into_iter()
            .map(|t| {
                let details = dictionary::Features::of(&self.segmenter, t.word_id);
                Morpheme {
                    surface: &norm[t.byte_start..t.byte_end],
                    start: t.byte_start,
                    end: t.byte_end,
                    unknown: t.word_id.is_unknown(),
                    details,
                }
            })
            .collect()
    }

    /// One pass over a text for indexing: the `ja` tokens tantivy indexes
    /// (exactly what [`MorphTokenizer`] yields at query time) and the entity
    /// mentions, from a single segmentation. Offsets are into `text`.
    pub fn index_analysis(&self, text: &str) -> (Vec<tantivy::tokenizer::Token>, Vec<Mention>) {
        let (tokens, mentions, _) = self.index_analysis_normalized(text);
        (tokens, mentions)
    }

    /// [`Analyzer::index_analysis`], also handing back the normalised text
    /// (the near-duplicate signature is made from it: no second normalisation).
    pub fn index_analysis_normalized(
        &self,
        text: &str,
    ) -> (Vec<tantivy::tokenizer::Token>, Vec<Mention>, String) {
        let norm = normalize(text);
        let ms = self.morphemes(&norm.text);
        let tokens = tokenizer::tokens_from_morphemes(
            &norm,
            ms.iter().enumerate().map(|(i, m)| {
                (
                    m.surface,
                    m.start,
                    m.end,
                    m.details
                        .base_form_token(m.surface, Morpheme::place(&ms, i)),
                )
            }),
        );
        let mentions = map_mentions(self.index_entities_of(&norm.text, &ms), &norm, text);
        (tokens, mentions, norm.text)
    }

    /// Mentions found by IPADIC part of speech alone (no gazetteer matches,
    /// no abbreviation rule): the baseline the entity layer is measured against.
    pub fn mentions_pos_only(&self, text: &str) -> Vec<Mention> {
        let norm = normalize(text);
        let ms = self.morphemes(&norm.text);
        let found = entities::extract_with(&norm.text, &ms, &Gazetteer::default(), false);
        map_mentions(found, &norm, text)
    }

    /// Entity mentions of `text`, byte offsets into `text` itself.
    pub fn mentions(&self, text: &str) -> Vec<Mention> {
        let norm = normalize(text);
        self.mentions_normalized(text, &norm)
    }

    /// Entity mentions of `text` as the index counts them
    /// ([`Analyzer::index_entities_of`]: addresses in units), byte offsets
    /// into `text` itself.
    pub fn index_mentions(&self, text: &str) -> Vec<Mention> {
        let norm = normalize(text);
        let ms = self.morphemes(&norm.text);
        map_mentions(self.index_entities_of(&norm.text, &ms), &norm, text)
    }

    /// Entity mentions of `original` given its normalisation `norm`; byte
    /// offsets into `original`.
    pub fn mentions_normalized(&self, original: &str, norm: &Normalized) -> Vec<Mention> {
        let ms = self.morphemes(&norm.text);
        map_mentions(self.entities_of(&norm.text, &ms), norm, original)
    }

    /// The `kiji analyze` output for `text`.
    pub fn analyze(&self, text: &str) -> Analysis {
        let norm = normalize(text);
        let idx = CharIndex::new(text);
        let ms = self.morphemes(&norm.text);
        let tokens = ms
            .iter()
            .filter(|m| tokenizer::is_indexable(m.surface))
            .map(|m| {
                let (s, e) = norm.original_range(m.start, m.end);
                TokenOut {
                    text: text[s..e].to_string(),
                    start: idx.at(s),
                    end: idx.at(e),
                    pos: m.details.iter().take(4).map(str::to_string).collect(),
                    base: m
                        .details
                        .get(6)
                        .map(str::to_string)
                        .unwrap_or_else(|| m.surface.to_string()),
                }
            })
            .collect();
        let entities = self.entities_out(text, &norm, &ms, &idx);
        Analysis { tokens, entities }
    }

    /// The entities of `kiji analyze` alone (`kiji analyze --jsonl`,
    /// `kiji eval-entities`).
    pub fn entities(&self, text: &str) -> Vec<EntityOut> {
        let norm = normalize(text);
        let ms = self.morphemes(&norm.text);
        self.entities_out(text, &norm, &ms, &CharIndex::new(text))
    }

    fn entities_out(
        &self,
        text: &str,
        norm: &Normalized,
        ms: &[Morpheme<'_>],
        idx: &CharIndex,
    ) -> Vec<EntityOut> {
        let mut out: Vec<EntityOut> = self
            .entities_of(&norm.text, ms)
            .into_iter()
            .map(|m| {
                let (s, e) = norm.original_range(m.start, m.end);
                EntityOut {
                    text: text[s..e].to_string(),
                    canonical: display_canonical(&m, &text[s..e]),
                    kind: m.kind,
                    start: idx.at(s),
                    end: idx.at(e),
                }
            })
            .collect();
        self.resolve_short_names(out.iter_mut().map(|e| (e.kind, &mut e.canonical)));
        out
    }

    /// [`short_names::resolve`] over the mentions of one article (type and
    /// canonical name of each): a person's surname or last name takes the
    /// one full name of the article it stands for.
    pub fn resolve_short_names<'a>(
        &self,
        names: impl IntoIterator<Item = (EntityType, &'a mut String)>,
    ) {
        short_names::resolve(names, |rest| self.may_be_given_name(rest))
    }

    /// Whether `part` (the kanji after a surname, a part of a `・`-joined
    /// name) may be a given name: IPADIC reads some of it as a person's name
    /// or does not know it, and neither IPADIC nor the gazetteer knows it
    /// as a place or organisation (純一郎, 和博, 世彰, ヒラリー; not 騎手, 首相
    /// or 万里, common words, nor ウルグアイ).
    fn may_be_given_name(&self, part: &str) -> bool {
        let norm = normalize(part);
        if self
            .gazetteer
            .lookup_normalized(&norm.text)
            .is_some_and(|e| e.kind != EntityType::Person)
        {
            return false;
        }
        let ms = self.morphemes(&norm.text);
        ms.iter()
            .any(|m| m.unknown || m.details.get(2) == Some("人名"))
            && !ms
                .iter()
                .any(|m| matches!(m.details.get(2), Some("地域" | "組織")))
    }
}
