//! The index: one schema ([`schema`]), opening and reading ([`Store`]), and
//! the single writer ([`writer`]).

pub mod directory;
pub mod merge;
pub mod rebuild;
pub mod schema;
pub mod term_filter;
pub mod writer;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{
    DocAddress, DocSet, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use utoipa::ToSchema;

use crate::analysis::Analyzer;
use crate::analysis::gazetteer::EntityType;
use crate::article::Article;
use crate::error::{Error, Result};
pub use schema::Fields;
pub use writer::{Outcome, Writer};

/// An entity of one article: canonical name, type, how often it is mentioned,
/// and where (byte ranges of the title and body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ArticleEntity {
    pub canonical: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub count: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(ignore)]
    pub title_spans: Vec<(usize, usize)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(ignore)]
    pub body_spans: Vec<(usize, usize)>,
}

/// An article's entity as highlighting and hit lists need it: implemented by
/// the stored entity and by the lighter [`HitEntity`].
pub trait EntityView {
    fn canonical(&self) -> &str;
    fn kind(&self) -> EntityType;
    /// Where it is mentioned: byte ranges of the title or of the body.
    fn spans(&self, in_title: bool) -> Vec<(usize, usize)>;
}

impl EntityView for ArticleEntity {
    fn canonical(&self) -> &str {
        &self.canonical
    }
    fn kind(&self) -> EntityType {
        self.kind
    }
    fn spans(&self, in_title: bool) -> Vec<(usize, usize)> {
        if in_title {
            self.title_spans.clone()
        } else {
            self.body_spans.clone()
        }
    }
}

/// What a search hit needs of a stored article, read from the stored JSON
/// without copying what it can borrow; entity spans stay unparsed unless an
/// entity filter asks for them (parsing every span of every entity was a
/// tenth of a search's time).
#[derive(Debug, Deserialize)]
pub struct HitSource<'a> {
    #[serde(borrow)]
    pub article: HitArticle<'a>,
    #[serde(borrow)]
    pub entities: Vec<HitEntity<'a>>,
}

/// The fields of an [`Article`] a hit shows.
#[derive(Debug, Deserialize)]
pub struct HitArticle<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow)]
    pub title: Cow<'a, str>,
    #[serde(borrow)]
    pub body: Cow<'a, str>,
    #[serde(default)]
    pub published: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(default, borrow)]
    pub source: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub url: Option<Cow<'a, str>>,
}

/// An entity of a [`HitSource`]; its spans are parsed on demand.
#[derive(Debug, Deserialize)]
pub struct HitEntity<'a> {
    #[serde(borrow)]
    pub canonical: Cow<'a, str>,
    #[serde(rename = "type")]
    pub kind: EntityType,
    #[serde(default, borrow)]
    title_spans: Option<&'a serde_json::value::RawValue>,
    #[serde(default, borrow)]
    body_spans: Option<&'a serde_json::value::RawValue>,
}

impl EntityView for HitEntity<'_> {
    fn canonical(&self) -> &str {
        &self.canonical
    }
    fn kind(&self) -> EntityType {
        self.kind
    }
    fn spans(&self, in_title: bool) -> Vec<(usize, usize)> {
        let raw = if in_title {
            self.title_spans
        } else {
            self.body_spans
        };
        raw.and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or_default()
    }
}

/// What is stored per article: the article, its entities, its content hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredArticle {
    pub article: Article,
    pub entities: Vec<ArticleEntity>,
    pub hash: String,
    /// The file the article was read from, if any (the watcher deletes by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// How the commit metadata names an analyser's entity model
/// (`name version hash addresses=parts`; none: the gazetteer and rules
/// alone). The index counts addresses in units whatever `entities.addresses`
/// says (that setting is how the analysis reports them), so the stamp always
/// ends `addresses=parts`; an index an older kiji wrote with
/// `addresses=whole` differs from it and is due for `kiji ingest --reanalyze`.
pub fn model_stamp(info: &crate::analysis::DictionaryInfo) -> Option<String> {
    info.entity_model
        .as_ref()
        .map(|m| format!("{} {} {} addresses=parts", m.name, m.version, m.hash))
}

/// A [`model_stamp`] as a name: none is the gazetteer and rules alone.
fn analysis_name(stamp: Option<String>) -> String {
    stamp.unwrap_or_else(|| "the gazetteer and rules alone".into())
}

/// Commit metadata kept in tantivy's commit payload.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CommitInfo {
    /// RFC 3339 time of the last commit.
    pub committed_at: Option<String>,
    /// tantivy's operation stamp of the last commit.
    pub opstamp: u64,
    /// The entity model that analysed the last commit's articles
    /// (`name version hash addresses=parts`; absent: the gazetteer and rules alone, or an
    /// index written before models). `kiji ingest --reanalyze` brings every
    /// article up to the running model and records it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_model: Option<String>,
    /// The entity analysis some of the index's articles still have, when an
    /// ingest ran another (`entity_model`) without `--reanalyze`: until
    /// `kiji ingest --reanalyze`, the index holds both (absent: one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_model_older: Option<String>,
    /// Bytes of the duplicate-group alias log this commit includes
    /// ([`crate::dedup::aliases`]; absent: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_aliases: Option<u64>,
}

/// Decompressed doc-store blocks kept per segment, at most (16 KiB each, so
/// 16 MiB a segment): every hit loads its stored article, and tantivy's
/// default of 100 blocks made most of those loads decompress a block again.
const DOC_STORE_CACHE_BLOCKS: usize = 1024;

/// Decompressed doc-store blocks kept for all of a searcher's segments
/// together (64 MiB), shared out evenly: a fixed number per segment made
/// the cache grow with the archive (an index of a million articles has
/// dozens of segments).
pub const DOC_STORE_CACHE_BUDGET: usize = 4096;

/// The doc-store cache budget of `kiji ingest` (1 MiB): its writer loads
/// stored articles only to rewrite the members of split duplicate groups
/// (and, before merged groups became aliases, of merged ones), scattered
/// over the index, so a block is seldom read twice. With the
/// server's budget the cache filled up during long ingests: 300,000
/// generated articles peaked at 530 MB with it and 448 MB with 4 blocks a
/// segment (anonymous memory 441 → 357 MB), in 3 % less time (one run each).
pub const WRITER_DOC_STORE_CACHE_BUDGET: usize = 64;

/// The doc-store cache of each of `segments` segments, in blocks, for a
/// budget of `budget` blocks in all.
fn doc_store_cache_blocks(segments: usize, budget: usize) -> usize {
    (budget / segments.max(1)).clamp(1, DOC_STORE_CACHE_BLOCKS)
}

/// The doc-store readers of one searcher generation, one per segment, in
/// the searcher's segment order ([`Store::with_stored_json`] reads through them).
struct DocStores {
    generation: u64,
    readers: Vec<tantivy::store::StoreReader>,
}

/// The one stored text value of `field` in a document's bytes as tantivy's
/// doc store keeps them: the number of stored values (VInt), then per value
/// its field (u32, little endian), its type code (u8, 0 for text) and, for
/// text, its length (VInt) and UTF-8 bytes. `None` for any other layout.
fn stored_text(bytes: &[u8], field: tantivy::schema::Field) -> Option<&[u8]> {
    let (count, rest) = vint(bytes)?;
    let (id, rest) = rest.split_first_chunk::<4>()?;
    let (&code, rest) = rest.split_first()?;
    let (len, rest) = vint(rest)?;
    (count == 1
        && u32::from_le_bytes(*id) == field.field_id()
        && code == 0
        && rest.len() as u64 == len)
        .then_some(rest)
}

/// tantivy's VInt: seven bits a byte, least significant first, the last
/// byte's high bit set. The value and the bytes after it.
fn vint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 != 0 {
            return Some((value, &bytes[i + 1..]));
        }
    }
    None
}

/// An open index with its reader and analyser.
pub struct Store {
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub analyzer: Arc<Analyzer>,
    path: PathBuf,
    /// The last commit's metadata, cached (this process's writer updates it).
    commit: std::sync::RwLock<Option<CommitInfo>>,
    /// Near-duplicate detection (`[dedup]` of the configuration).
    pub dedup: crate::dedup::Settings,
    /// The most documents one merge of segments reads (`index.max_merge_docs`).
    pub max_merge_docs: u32,
    /// Decompressed doc-store blocks cached for all segments together
    /// ([`DOC_STORE_CACHE_BUDGET`]; `kiji ingest`: [`WRITER_DOC_STORE_CACHE_BUDGET`]).
    pub doc_store_cache_budget: usize,
    /// The doc-store readers of the last searcher generation read.
    doc_stores: std::sync::RwLock<Option<Arc<DocStores>>>,
    /// The memory maps the index is read through.
    mapped: Arc<directory::MappedFiles>,
    /// The duplicate-group aliases of the last commit read, with the log
    /// length they were read to ([`Store::aliases`]).
    aliases: std::sync::Mutex<(u64, Arc<crate::dedup::Aliases>)>,
}

impl Store {
    /// Opens the index at `path`, creating it when the folder is empty.
    pub fn open(path: &Path, analyzer: Arc<Analyzer>) -> Result<Store> {
        std::fs::create_dir_all(path).map_err(|e| Error::IndexOpen {
            path: path.into(),
            message: format!("cannot create the folder: {e}"),
        })?;
        let (schema, fields) = schema::build();
        let dir = directory::IndexDirectory::open(path).map_err(|e| Error::IndexOpen {
            path: path.into(),
            message: e.to_string(),
        })?;
        let mapped = dir.mapped();
        let index = Index::open_or_create(dir, schema).map_err(|e| match e {
            tantivy::TantivyError::SchemaError(_) => Error::IndexFormat { path: path.into() },
            other => Error::IndexOpen {
                path: path.into(),
                message: other.to_string(),
            },
        })?;
        analyzer.register(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            // tantivy's own doc-store readers serve only `Searcher::doc`
            // (a rebuild, an unknown layout); kiji's are in `doc_stores`.
            .doc_store_cache_num_blocks(16)
            .try_into()
            .map_err(|e| Error::IndexOpen {
                path: path.into(),
                message: match e {
                    tantivy::TantivyError::LockFailure(
                        tantivy::directory::error::LockError::IoError(io),
                        _,
                    ) => format!(
                        "cannot take the index's lock file ({io}): opening an index, to read it \
                         too, takes a lock file in its folder, which must be writable by this user"
                    ),
                    e => e.to_string(),
                },
            })?;
        Ok(Store {
            index,
            reader,
            fields,
            analyzer,
            path: path.to_path_buf(),
            commit: std::sync::RwLock::new(None),
            dedup: Default::default(),
            max_merge_docs: merge::DEFAULT_MAX_MERGE_DOCS,
            doc_store_cache_budget: DOC_STORE_CACHE_BUDGET,
            doc_stores: std::sync::RwLock::new(None),
            mapped,
            aliases: Default::default(),
        })
    }

    /// Lets the pages of the index files read so far leave the process's
    /// resident set every `every`, on a thread of its own, until the
    /// returned guard is dropped (they stay in the page cache; see
    /// [`directory`]). `kiji ingest` runs with it, so its memory does not
    /// grow with the archive it reads; the server does not (its searches
    /// would map their pages again). The doc stores, which merges copy
    /// whole, are released every `stores_every` in between.
    pub fn release_mapped_every(
        &self,
        every: std::time::Duration,
        stores_every: std::time::Duration,
    ) -> directory::Releaser {
        directory::Releaser::start(self.mapped.clone(), every, stores_every)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index is about to be read in long runs (an ingest's merges,
    /// `--reanalyze`): its files get the kernel's readahead back (searches
    /// read the term dictionaries, postings, positions and stores without
    /// it; see [`directory`]).
    pub fn expect_long_reads(&self) {
        self.mapped.expect_long_reads();
    }

    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    /// The duplicate-group aliases of the last commit (merged groups' keys;
    /// [`crate::dedup::aliases`]): read from the log on first use, then only
    /// what later commits appended. A log that cannot be read leaves the
    /// groups unmerged, with a warning.
    pub fn aliases(&self) -> Arc<crate::dedup::Aliases> {
        let want = self.commit_info().dedup_aliases.unwrap_or(0);
        let mut cached = self.aliases.lock().unwrap_or_else(|e| e.into_inner());
        if cached.0 == want {
            return cached.1.clone();
        }
        let read = if want > cached.0 {
            let mut more = (*cached.1).clone();
            more.read_more(&self.path, cached.0, want).map(|()| more)
        } else {
            crate::dedup::Aliases::read(&self.path, want)
        };
        match read {
            Ok(aliases) => *cached = (want, Arc::new(aliases)),
            Err(e) => {
                tracing::warn!(
                    "cannot read the duplicate-group aliases of {}: {e}; merged groups show apart",
                    self.path.display()
                );
                *cached = (want, Arc::default());
            }
        }
        cached.1.clone()
    }

    /// Makes the latest commit visible now (the reader also reloads by itself).
    pub fn refresh(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }

    /// Number of articles.
    pub fn doc_count(&self) -> u64 {
        self.searcher().num_docs()
    }

    /// The address of the article with this id, if any.
    /// (Read straight from each segment's postings: the writer asks for every
    /// article it writes, and a scored search per id cost more than the term.)
    pub fn address(&self, searcher: &Searcher, id: &str) -> Result<Option<DocAddress>> {
        self.address_filtered(searcher, id, None)
    }

    /// [`Store::address`], skipping the segments whose id filter says the id
    /// is certainly not there (the writer's look-ups, nearly all misses).
    pub fn address_filtered(
        &self,
        searcher: &Searcher,
        id: &str,
        mut filters: Option<&mut term_filter::TermFilters>,
    ) -> Result<Option<DocAddress>> {
        let term = Term::from_field_text(self.fields.id, id);
        let key = filters.as_deref_mut().map(|filters| {
            filters.retain(searcher);
            term_filter::key_hash(id.as_bytes())
        });
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            if let (Some(filters), Some(key)) = (filters.as_deref_mut(), key)
                && !filters.may_hold_hashed(segment, self.fields.id, key)
            {
                continue;
            }
            let index = segment.inverted_index(self.fields.id)?;
            let Some(mut postings) = index.read_postings(&term, IndexRecordOption::Basic)? else {
                continue;
            };
            let alive = segment.alive_bitset();
            let mut doc = postings.doc();
            while doc != tantivy::TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    return Ok(Some(DocAddress::new(ord as u32, doc)));
                }
                doc = postings.advance();
            }
        }
        Ok(None)
    }

    /// The stored article at an address.
    pub fn load(&self, searcher: &Searcher, addr: DocAddress) -> Result<StoredArticle> {
        self.with_stored_json(searcher, addr, |json| {
            serde_json::from_str(json).map_err(|e| Error::Corrupt(e.to_string()))
        })
    }

    /// Hands the stored JSON of the article at an address to `f`: read in
    /// place from the doc store's block (no copy), its UTF-8 checked once
    /// with `simdutf8`. tantivy's `Searcher::doc` copied it into a `String`,
    /// checked it with `std` (slow on Japanese: a tenth of the instructions
    /// of the bench searches) and copied it again into a document.
    fn with_stored_json<T>(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        f: impl FnOnce(&str) -> Result<T>,
    ) -> Result<T> {
        let stores = self.doc_stores(searcher)?;
        let reader = stores
            .readers
            .get(addr.segment_ord as usize)
            .ok_or_else(|| Error::Corrupt(format!("no segment {}", addr.segment_ord)))?;
        let bytes = reader.get_document_bytes(addr.doc_id)?;
        if let Some(json) = stored_text(&bytes, self.fields.doc) {
            let json = simdutf8::basic::from_utf8(json)
                .map_err(|_| Error::Corrupt(format!("document {addr:?} is not UTF-8")))?;
            return f(json);
        }
        // Another layout than `stored_text` knows (a tantivy upgrade): the slow way.
        let doc: TantivyDocument = searcher.doc(addr)?;
        let json = doc
            .get_first(self.fields.doc)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::Corrupt(format!("document {addr:?} has no stored article")))?;
        f(json)
    }

    /// The doc-store readers of `searcher`'s segments, opened once per
    /// searcher generation (opening one reads the segment's skip index).
    fn doc_stores(&self, searcher: &Searcher) -> Result<Arc<DocStores>> {
        let generation = searcher.generation().generation_id();
        if let Some(stores) = self
            .doc_stores
            .read()
            .ok()
            .and_then(|c| c.clone())
            .filter(|s| s.generation == generation)
        {
            return Ok(stores);
        }
        let readers = searcher
            .segment_readers()
            .iter()
            .map(|s| {
                s.get_store_reader(doc_store_cache_blocks(
                    searcher.segment_readers().len(),
                    self.doc_store_cache_budget,
                ))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        let stores = Arc::new(DocStores {
            generation,
            readers,
        });
        if let Ok(mut cached) = self.doc_stores.write() {
            *cached = Some(stores.clone());
        }
        Ok(stores)
    }

    /// Reads what a search hit shows of the article at an address, and
    /// hands it to `f` (it borrows from the loaded document).
    pub fn with_hit_source<T>(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        f: impl FnOnce(HitSource<'_>) -> T,
    ) -> Result<T> {
        self.with_stored_json(searcher, addr, |json| {
            let source = serde_json::from_str(json).map_err(|e| Error::Corrupt(e.to_string()))?;
            Ok(f(source))
        })
    }

    /// The stored article with this id.
    pub fn get(&self, id: &str) -> Result<Option<StoredArticle>> {
        self.get_filtered(id, None)
    }

    /// [`Store::get`], the id looked up through `filters` (see
    /// [`Store::address_filtered`]).
    pub fn get_filtered(
        &self,
        id: &str,
        filters: Option<&mut term_filter::TermFilters>,
    ) -> Result<Option<StoredArticle>> {
        let searcher = self.searcher();
        match self.address_filtered(&searcher, id, filters)? {
            Some(addr) => Ok(Some(self.load(&searcher, addr)?)),
            None => Ok(None),
        }
    }

    /// Ids of the articles read from `file`.
    pub fn ids_from_file(&self, file: &str) -> Result<Vec<String>> {
        let searcher = self.searcher();
        let q = TermQuery::new(
            Term::from_field_text(self.fields.file, file),
            IndexRecordOption::Basic,
        );
        let hits = searcher.search(&q, &TopDocs::with_limit(100_000).order_by_score())?;
        hits.into_iter()
            .map(|(_, addr)| Ok(self.load(&searcher, addr)?.article.id))
            .collect()
    }

    /// Every file articles were read from (the watcher's record), as stored.
    pub fn files(&self) -> Result<std::collections::BTreeSet<String>> {
        let searcher = self.searcher();
        let mut files = std::collections::BTreeSet::new();
        for segment in searcher.segment_readers() {
            let index = segment.inverted_index(self.fields.file)?;
            let mut terms = index.terms().stream()?;
            while terms.advance() {
                files.insert(String::from_utf8_lossy(terms.key()).into_owned());
            }
        }
        Ok(files)
    }

    /// Every stored article, segment by segment.
    pub fn for_each_article(
        &self,
        searcher: &Searcher,
        mut f: impl FnMut(StoredArticle) -> Result<()>,
    ) -> Result<()> {
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            for doc in segment.doc_ids_alive() {
                f(self.load(searcher, DocAddress::new(ord as u32, doc))?)?;
            }
        }
        Ok(())
    }

    /// Bytes the index takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        walkdir::WalkDir::new(&self.path)
            .into_iter()
            .filter_map(|e| e.ok())
            .filter_map(|e| e.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum()
    }

    /// The entity analysis the index's last commit names and the one this
    /// process runs (each as [`model_stamp`] says it, or "the gazetteer and
    /// rules alone"), when they differ and the index holds articles: an
    /// ingest then analyses only new and changed articles the new way, and
    /// `kiji ingest --reanalyze` brings the others up to it.
    pub fn analysis_change(&self) -> Option<(String, String)> {
        let other = self.older_analysis(false)?;
        Some((other, analysis_name(model_stamp(self.analyzer.info()))))
    }

    /// What [`CommitInfo::entity_model_older`] the next commit records: an
    /// analysis other than this process's that some of the index's articles
    /// have (the one recorded, or the last commit's when this process runs
    /// another); none after `reanalysed`, or when the index holds nothing.
    pub(crate) fn older_analysis(&self, reanalysed: bool) -> Option<String> {
        if reanalysed || self.doc_count() == 0 {
            return None;
        }
        let info = self.commit_info();
        let now = analysis_name(model_stamp(self.analyzer.info()));
        let last = analysis_name(info.entity_model);
        match info.entity_model_older {
            // Back to the older analysis: the other one is the last commit's.
            Some(older) if older == now => (last != now).then_some(last),
            Some(older) => Some(older),
            None => (last != now).then_some(last),
        }
    }

    /// The last commit's time and opstamp.
    pub fn commit_info(&self) -> CommitInfo {
        if let Some(info) = self.commit.read().ok().and_then(|c| c.clone()) {
            return info;
        }
        let info = self.load_commit_info();
        if let Ok(mut c) = self.commit.write() {
            *c = Some(info.clone());
        }
        info
    }

    /// Forgets the cached commit metadata (after a commit).
    pub(crate) fn invalidate_commit_info(&self) {
        if let Ok(mut c) = self.commit.write() {
            *c = None;
        }
    }

    fn load_commit_info(&self) -> CommitInfo {
        let metas = self.index.load_metas().ok();
        let mut info = metas
            .as_ref()
            .and_then(|m| m.payload.as_deref())
            .and_then(|p| serde_json::from_str::<CommitInfo>(p).ok())
            .unwrap_or_default();
        if let Some(m) = metas {
            info.opstamp = m.opstamp;
        }
        info
    }

    /// Analyses an article once: entities (what is stored) and the morpheme
    /// tokens of its title and body (what is indexed), from one segmentation.
    pub fn analyse(&self, article: Article) -> Analysed {
        let hash = article.content_hash();
        self.analyse_hashed(article, hash)
    }

    /// [`Store::analyse`] of an article whose [`Article::content_hash`] is
    /// already known (the writer compares it with the stored one first).
    pub fn analyse_hashed(&self, article: Article, hash: String) -> Analysed {
        let mut by_name: BTreeMap<(EntityType, String), ArticleEntity> = BTreeMap::new();
        let (title_tokens, mut title_mentions) = self.analyzer.index_analysis(&article.title);
        let (body_tokens, mut body_mentions, body_normalized) =
            self.analyzer.index_analysis_normalized(&article.body);
        self.analyzer.resolve_short_names(
            title_mentions
                .iter_mut()
                .chain(body_mentions.iter_mut())
                .map(|m| (m.kind, &mut m.canonical)),
        );
        for (in_title, mentions) in [(true, title_mentions), (false, body_mentions)] {
            for m in mentions {
                let e = by_name
                    .entry((m.kind, m.canonical.clone()))
                    .or_insert_with(|| ArticleEntity {
                        canonical: m.canonical.clone(),
                        kind: m.kind,
                        count: 0,
                        title_spans: Vec::new(),
                        body_spans: Vec::new(),
                    });
                e.count += 1;
                if in_title {
                    e.title_spans.push((m.start, m.end));
                } else {
                    e.body_spans.push((m.start, m.end));
                }
            }
        }
        let mut entities: Vec<ArticleEntity> = by_name.into_values().collect();
        entities.sort_by(|a, b| b.count.cmp(&a.count).then(a.canonical.cmp(&b.canonical)));
        let signature = self
            .dedup
            .enabled
            .then(|| crate::dedup::Signature::of_normalized(&body_normalized))
            .flatten();
        Analysed {
            stored: StoredArticle {
                file: None,
                hash,
                article,
                entities,
            },
            title_tokens,
            body_tokens,
            signature,
        }
    }
}

/// An analysed article, ready for the writer.
pub struct Analysed {
    pub stored: StoredArticle,
    /// `ja` tokens of the title and body (tantivy takes them pre-tokenized).
    pub title_tokens: Vec<tantivy::tokenizer::Token>,
    pub body_tokens: Vec<tantivy::tokenizer::Token>,
    /// The body's near-duplicate signature (none when detection is off or
    /// the body is too short).
    pub signature: Option<crate::dedup::Signature>,
}

/// The terms of the `entity` field for an entity: every key of
/// [`entity_keys`] (what `entity=` finds), and `type:key` of its canonical
/// name alone (what `person=` … find: exactly the articles its facet
/// counts, so `person=ブッシュ` does not also find ジョージ・W・ブッシュ,
/// which `entity=ブッシュ` does).
pub fn entity_terms(canonical: &str, kind: EntityType) -> Vec<String> {
    let keys = entity_keys(canonical, kind);
    let mut terms = Vec::with_capacity(keys.len() + 1);
    terms.push(format!("{}:{}", kind.as_str(), keys[0]));
    terms.extend(keys);
    terms
}

/// The normalised keys under which an entity is found by `entity=`:
/// the canonical name, and for person names also the family name: the
/// last part of a `・`-joined name (ガブエフ finds アレクサンダー・ガブエフ),
/// the surname of a kanji one ([`kanji_surname`]: 小泉 finds 小泉純一郎).
pub fn entity_keys(canonical: &str, kind: EntityType) -> Vec<String> {
    let key = crate::analysis::entities::entity_key(canonical);
    let mut keys = vec![key.clone()];
    if kind == EntityType::Person {
        if key.contains('・') {
            if let Some((_, last)) = crate::analysis::short_names::split_last_part(&key) {
                keys.push(last.to_string());
            }
        } else if let Some(surname) = kanji_surname(&key) {
            keys.push(surname.to_string());
        }
    }
    keys
}

/// The surname of a kanji full name: its longest start that IPADIC knows
/// as a surname, before one to three more kanji (小泉 of 小泉純一郎, 佐々木 of
/// 佐々木晶三; none of a name of two kanji, mostly a surname alone: 小泉).
fn kanji_surname(name: &str) -> Option<&str> {
    use crate::analysis::{
        dictionary::is_surname, entities::is_kanji, short_names::GIVEN_NAME_KANJI,
    };
    if name.chars().count() < 3 || !name.chars().all(is_kanji) {
        return None;
    }
    let mut starts: Vec<usize> = name.char_indices().map(|(i, _)| i).skip(1).collect();
    starts.reverse();
    starts
        .into_iter()
        .take(*GIVEN_NAME_KANJI.end())
        .map(|at| &name[..at])
        .find(|surname| is_surname(surname))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_person_is_found_by_the_family_name_too() {
        let person = |name| entity_keys(name, EntityType::Person);
        assert_eq!(person("小泉純一郎"), ["小泉純一郎", "小泉"]);
        assert_eq!(person("佐々木晶三"), ["佐々木晶三", "佐々木"]);
        // (keys are folded as text is: アレクサンダー → アレクサンダ)
        assert_eq!(
            person("アレクサンダー・ガブエフ"),
            ["アレクサンダ・ガブエフ", "ガブエフ"]
        );
        // a surname alone, a name IPADIC knows no surname of, kana
        assert_eq!(person("小泉"), ["小泉"]);
        assert_eq!(person("舛添要一"), ["舛添要一", "舛添"]);
        assert_eq!(person("魑魅太郎"), ["魑魅太郎"]);
        assert_eq!(person("酒井のりこ"), ["酒井のりこ"]);
        assert_eq!(
            entity_keys("小泉純一郎", EntityType::Organization),
            ["小泉純一郎"]
        );
    }

    #[test]
    fn the_doc_store_cache_is_bounded_in_all() {
        let server = |n| doc_store_cache_blocks(n, DOC_STORE_CACHE_BUDGET);
        assert_eq!(server(1), DOC_STORE_CACHE_BLOCKS);
        assert_eq!(server(4), DOC_STORE_CACHE_BLOCKS);
        for segments in [5, 10, 40, 256] {
            assert!(segments * server(segments) <= DOC_STORE_CACHE_BUDGET);
        }
        assert_eq!(server(0), DOC_STORE_CACHE_BLOCKS);
        assert_eq!(server(1000), 4);
        let writer = |n| doc_store_cache_blocks(n, WRITER_DOC_STORE_CACHE_BUDGET);
        assert_eq!(writer(1), WRITER_DOC_STORE_CACHE_BUDGET);
        assert_eq!(writer(16), 4);
        // Every segment keeps at least the block it read last.
        assert_eq!(writer(1000), 1);
    }

    #[test]
    fn stored_text_reads_the_doc_store_layout() {
        // The stored field after another one (its id is not 0), as in the schema.
        let mut b = tantivy::schema::Schema::builder();
        let id = b.add_text_field("id", tantivy::schema::STRING);
        let doc_field = b.add_text_field("doc", tantivy::schema::STORED);
        let index = Index::create_in_ram(b.build());
        let mut writer: tantivy::IndexWriter =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        let long = "北朝鮮の派兵".repeat(100);
        for json in ["{}", long.as_str()] {
            let mut doc = TantivyDocument::new();
            doc.add_text(id, "x");
            doc.add_text(doc_field, json);
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let store = searcher.segment_readers()[0].get_store_reader(1).unwrap();
        for (doc, json) in [(0, "{}"), (1, long.as_str())] {
            let bytes = store.get_document_bytes(doc).unwrap();
            assert_eq!(stored_text(&bytes, doc_field), Some(json.as_bytes()));
            assert_eq!(stored_text(&bytes, id), None);
        }
        assert_eq!(vint(&[0x05 | 0x80]), Some((5, &[][..])));
        assert_eq!(vint(&[0x01, 0x01 | 0x80, 9]), Some((129, &[9u8][..])));
        assert_eq!(vint(&[0x01]), None);
    }
}
