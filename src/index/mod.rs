//! The index: one schema ([`schema`]), opening and reading ([`Store`]), and
//! the single writer ([`writer`]).

pub mod merge;
pub mod rebuild;
pub mod schema;
pub mod writer;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term};
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

/// Commit metadata kept in tantivy's commit payload.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct CommitInfo {
    /// RFC 3339 time of the last commit.
    pub committed_at: Option<String>,
    /// tantivy's operation stamp of the last commit.
    pub opstamp: u64,
    /// The entity model that analysed the last commit's articles
    /// (`name version hash`; absent: the gazetteer and rules alone, or an
    /// index written before models). `kiji ingest --reanalyze` brings every
    /// article up to the running model and records it here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_model: Option<String>,
}

/// Decompressed doc-store blocks kept per segment (16 KiB each, so at most
/// 16 MiB a segment): every hit loads its stored article, and tantivy's
/// default of 100 blocks made most of those loads decompress a block again.
const DOC_STORE_CACHE_BLOCKS: usize = 1024;

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
}

impl Store {
    /// Opens the index at `path`, creating it when the folder is empty.
    pub fn open(path: &Path, analyzer: Arc<Analyzer>) -> Result<Store> {
        std::fs::create_dir_all(path).map_err(|e| Error::IndexOpen {
            path: path.into(),
            message: format!("cannot create the folder: {e}"),
        })?;
        let (schema, fields) = schema::build();
        let dir = MmapDirectory::open(path).map_err(|e| Error::IndexOpen {
            path: path.into(),
            message: e.to_string(),
        })?;
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
            .doc_store_cache_num_blocks(DOC_STORE_CACHE_BLOCKS)
            .try_into()?;
        Ok(Store {
            index,
            reader,
            fields,
            analyzer,
            path: path.to_path_buf(),
            commit: std::sync::RwLock::new(None),
            dedup: Default::default(),
            max_merge_docs: merge::DEFAULT_MAX_MERGE_DOCS,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn searcher(&self) -> Searcher {
        self.reader.searcher()
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
    pub fn address(&self, searcher: &Searcher, id: &str) -> Result<Option<DocAddress>> {
        let q = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        Ok(searcher
            .search(&q, &TopDocs::with_limit(1).order_by_score())?
            .first()
            .map(|(_, a)| *a))
    }

    /// The stored article at an address.
    pub fn load(&self, searcher: &Searcher, addr: DocAddress) -> Result<StoredArticle> {
        self.with_stored_json(searcher, addr, |json| {
            serde_json::from_str(json).map_err(|e| Error::Corrupt(e.to_string()))
        })
    }

    /// Hands the stored JSON of the article at an address to `f`.
    fn with_stored_json<T>(
        &self,
        searcher: &Searcher,
        addr: DocAddress,
        f: impl FnOnce(&str) -> Result<T>,
    ) -> Result<T> {
        let doc: TantivyDocument = searcher.doc(addr)?;
        let json = doc
            .get_first(self.fields.doc)
            .and_then(|v| v.as_str())
            .ok_or_else(|| Error::Corrupt(format!("document {addr:?} has no stored article")))?;
        f(json)
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
        let searcher = self.searcher();
        match self.address(&searcher, id)? {
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
        let mut by_name: BTreeMap<(EntityType, String), ArticleEntity> = BTreeMap::new();
        let (title_tokens, title_mentions) = self.analyzer.index_analysis(&article.title);
        let (body_tokens, body_mentions, body_normalized) =
            self.analyzer.index_analysis_normalized(&article.body);
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
                hash: article.content_hash(),
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

/// The normalised keys under which an entity is found by `entity=`:
/// the canonical name, and for `・`-joined person names also the last part
/// (ガブエフ finds アレクサンダー・ガブエフ).
pub fn entity_keys(canonical: &str, kind: EntityType) -> Vec<String> {
    let key = crate::analysis::entities::entity_key(canonical);
    let mut keys = vec![key.clone()];
    if kind == EntityType::Person
        && let Some((_, last)) = key.rsplit_once('・')
        && last.chars().count() >= 2
    {
        keys.push(last.to_string());
    }
    keys
}
