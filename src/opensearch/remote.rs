//! kiji's API answered from the cluster (`kiji serve --backend opensearch`):
//! each request is translated ([`super::query`]), sent to the alias, and
//! the answer mapped back into kiji's own response types. Hits, snippets,
//! highlights and article views are built by kiji from the returned text
//! with the same code as the local backend ([`crate::search::hit_of`],
//! [`crate::search::ArticleView::of`], the timeline's and co-occurrence's
//! bucketing and ranking), so the JSON has the same shape.
//!
//! Where the cluster cannot give the same answer, the answer says so in its
//! notes (`backend.notes` in the HTTP response); `docs/scale-out.md` §7
//! lists every difference.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};

use super::client::Client;
use super::query::{DOCUMENTS_AGG, Translator};
use crate::analysis::Analyzer;
use crate::analysis::gazetteer::EntityType;
use crate::analysis::normalize::normalize_str;
use crate::article::Article;
use crate::config::OpenSearchConfig;
use crate::error::{Error, Result};
use crate::index::{ArticleEntity, CommitInfo, StoredArticle};
use crate::search::cooccurrence::{CoSort, Cooccurrence, EntityRef};
use crate::search::entities::{EntityCount, EntityDetail, Seen};
use crate::search::export::{ExportOptions, export_head, export_row};
use crate::search::facets::FacetCounts;
use crate::search::query::QueryPlan;
use crate::search::query::build::Ranking;
use crate::search::timeline::{Interval, Timeline};
use crate::search::{
    ArticleView, FacetValue, Highlighter, HitFields, IndexInfo, MAX_WINDOW, SearchRequest,
    SearchResponse, encode_cursor, hit_of,
};

/// The deepest page `offset` can reach on the cluster (its default
/// `index.max_result_window`); deeper pages go through `cursor`.
pub const MAX_OFFSET_WINDOW: usize = 10_000;

/// Articles per `_search` page of an export.
const EXPORT_PAGE: usize = 500;

/// What a note says when the ranking differs from the local one.
pub const NOTE_RANKING: &str = "ranking: OpenSearch BM25 over title and body (cross_fields, \
     statistics per shard), not kiji's BM25F with the lead sentence: the matched set is the \
     same, the order can differ";
/// What a note says about facet counts on a cluster.
pub const NOTE_FACETS: &str = "facets: terms aggregations, exact on one shard, approximate \
     (shard_size) across several";
/// What a note says about co-occurrence counts.
pub const NOTE_COOCCURRENCE: &str = "cooccurrence: counted over the 1000 most frequent names \
     per type among the articles mentioning the entity";
/// What a note says about an entity listing.
pub const NOTE_ENTITIES: &str = "entities: terms aggregations (approximate across shards); \
     a prefix matches names outside the gazetteer only as written";
/// What a note says about an export.
pub const NOTE_EXPORT: &str = "export: in id order, paged with search_after (not a snapshot: \
     articles written during the export may or may not appear)";

/// A value and the notes on how the cluster's answer differs from the
/// local backend's.
#[derive(Debug)]
pub struct Noted<T> {
    pub value: T,
    pub notes: Vec<&'static str>,
}

/// kiji's search API over an OpenSearch alias.
pub struct RemoteSearch {
    client: Client,
    alias: String,
    analyzer: Arc<Analyzer>,
    ranking: Ranking,
}

impl From<super::Error> for Error {
    fn from(e: super::Error) -> Error {
        match e {
            super::Error::Unavailable { .. } => {
                tracing::warn!(error = %e, "the cluster is unavailable");
                Error::BackendUnavailable("the cluster did not answer; try again later".into())
            }
            other => Error::Backend(other.to_string()),
        }
    }
}

/// A page position on the cluster: an offset, and the sort values of the
/// last hit before it (`search_after`) when it came from a cursor.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    pub offset: usize,
    pub after: Option<Value>,
}

/// The cursor of a page that starts after the hit with sort values `after`.
pub fn encode_after(offset: usize, after: &Value) -> String {
    let text = format!("a:{}", json!({ "o": offset, "after": after }));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// A cursor this backend (`a:`) or the local one (`o:`) gave.
pub fn decode_position(cursor: &str) -> Result<Position> {
    let bad = || Error::param("cursor", "not a cursor returned by this API");
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    if let Some(n) = text.strip_prefix("o:") {
        let offset = n.parse::<usize>().map_err(|_| bad())?;
        return (offset <= MAX_WINDOW)
            .then_some(Position {
                offset,
                after: None,
            })
            .ok_or_else(bad);
    }
    let v: Value = text
        .strip_prefix("a:")
        .and_then(|j| serde_json::from_str(j).ok())
        .ok_or_else(bad)?;
    let offset = v["o"].as_u64().ok_or_else(bad)? as usize;
    let after = v["after"].clone();
    let scalars = after.as_array().is_some_and(|a| {
        (1..=2).contains(&a.len()) && a.iter().all(|x| !x.is_object() && !x.is_array())
    });
    if !scalars {
        return Err(bad());
    }
    Ok(Position {
        offset,
        after: Some(after),
    })
}

/// The documents' `_source` as kiji reads it.
#[derive(Debug, Deserialize)]
struct Source {
    id: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    published: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(default)]
    updated: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    author: Option<String>,
    #[serde(default)]
    author_profile: Option<String>,
    #[serde(default)]
    credits: Option<Vec<String>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
    #[serde(default)]
    cited_outlets: Option<Vec<String>>,
    #[serde(default)]
    person: Vec<String>,
    #[serde(default)]
    organization: Vec<String>,
    #[serde(default)]
    place: Vec<String>,
    #[serde(default)]
    entity_spans: Vec<Span>,
}

#[derive(Debug, Deserialize)]
struct Span {
    canonical: String,
    #[serde(rename = "type")]
    kind: EntityType,
    field: String,
    start: usize,
    end: usize,
}

/// Byte offsets of each code point of `text` (and of its end).
fn char_starts(text: &str) -> Vec<usize> {
    text.char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .collect()
}

impl Source {
    /// The stored article the document was made from: the article, and its
    /// entities (in the order of their first span, which is the stored
    /// order; `count` is the number of spans) with byte spans from the
    /// code-point spans.
    fn stored(self) -> StoredArticle {
        let (title_at, body_at) = (char_starts(&self.title), char_starts(&self.body));
        let mut entities: Vec<ArticleEntity> = Vec::new();
        let slot =
            |entities: &mut Vec<ArticleEntity>, canonical: &str, kind: EntityType| match entities
                .iter()
                .position(|e| e.canonical == canonical && e.kind == kind)
            {
                Some(i) => i,
                None => {
                    entities.push(ArticleEntity {
                        canonical: canonical.to_string(),
                        kind,
                        count: 0,
                        title_spans: Vec::new(),
                        body_spans: Vec::new(),
                    });
                    entities.len() - 1
                }
            };
        for s in &self.entity_spans {
            let at = if s.field == "title" {
                &title_at
            } else {
                &body_at
            };
            let (Some(&start), Some(&end)) = (at.get(s.start), at.get(s.end)) else {
                continue;
            };
            if start >= end {
                continue;
            }
            let i = slot(&mut entities, &s.canonical, s.kind);
            let e = &mut entities[i];
            e.count += 1;
            if s.field == "title" {
                e.title_spans.push((start, end));
            } else {
                e.body_spans.push((start, end));
            }
        }
        for (kind, names) in [
            (EntityType::Person, &self.person),
            (EntityType::Organization, &self.organization),
            (EntityType::Place, &self.place),
        ] {
            for n in names {
                slot(&mut entities, n, kind);
            }
        }
        StoredArticle {
            article: Article {
                id: self.id,
                title: self.title,
                published: self.published,
                updated: self.updated,
                source: self.source,
                url: self.url,
                author: self.author,
                author_profile: self.author_profile,
                body: self.body,
                credits: self.credits.unwrap_or_default(),
                tags: self.tags.unwrap_or_default(),
                cited_outlets: self.cited_outlets.unwrap_or_default(),
            },
            entities,
            hash: String::new(),
            file: None,
        }
    }
}

fn protocol(what: &str) -> Error {
    Error::Backend(format!("unexpected answer from the cluster: {what}"))
}

/// `hits.hits` of a `_search` answer: (score, sort values, source).
fn hits_of(answer: &Value) -> Result<Vec<(Option<f32>, Value, StoredArticle)>> {
    let hits = answer["hits"]["hits"]
        .as_array()
        .ok_or_else(|| protocol("no hits.hits"))?;
    hits.iter()
        .map(|h| {
            let source: Source = serde_json::from_value(h["_source"].clone())
                .map_err(|e| protocol(&format!("a hit's _source: {e}")))?;
            let score = h["_score"].as_f64().map(|s| s as f32);
            Ok((score, h["sort"].clone(), source.stored()))
        })
        .collect()
}

/// `hits.total.value` (exact: every request asks `track_total_hits: true`).
fn total_of(answer: &Value) -> Result<usize> {
    answer["hits"]["total"]["value"]
        .as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| protocol("no hits.total.value"))
}

/// `key → doc_count` of a terms aggregation.
fn terms_of(agg: &Value) -> Vec<(String, u64)> {
    agg["buckets"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|b| Some((b["key"].as_str()?.to_string(), b["doc_count"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default()
}

/// Bucket start → doc_count of a date histogram (keys formatted yyyy-MM-dd).
fn days_of(agg: &Value) -> BTreeMap<NaiveDate, u64> {
    agg["buckets"]
        .as_array()
        .map(|b| {
            b.iter()
                .filter_map(|b| {
                    let day = b["key_as_string"].as_str()?.get(..10)?;
                    Some((day.parse().ok()?, b["doc_count"].as_u64()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

impl RemoteSearch {
    /// Searches the alias of `config` at `config.url`.
    pub fn new(
        config: &OpenSearchConfig,
        analyzer: Arc<Analyzer>,
        ranking: Ranking,
    ) -> super::Result<RemoteSearch> {
        if config.url.trim().is_empty() {
            return Err(super::Error::Config(
                "server.backend = \"opensearch\" needs opensearch.url (KIJI_OPENSEARCH_URL)".into(),
            ));
        }
        Ok(RemoteSearch {
            client: Client::new(&config.url, config)?,
            alias: config.alias.clone(),
            analyzer,
            ranking,
        })
    }

    /// Counts the documents under the alias, trying once (no retries): what
    /// `kiji serve` checks at start.
    pub fn check(&self) -> super::Result<u64> {
        let path = format!("/{}/_count", self.alias);
        let v = self.client.once().json("GET", &path, None)?;
        Ok(v["count"].as_u64().unwrap_or(0))
    }

    /// The alias searched.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// The translator of this backend's requests.
    pub fn translator(&self) -> Translator<'_> {
        Translator {
            analyzer: &self.analyzer,
            ranking: &self.ranking,
        }
    }

    /// The request's `q`, analysed into units (as the local backend does).
    pub fn plan(&self, r: &SearchRequest) -> Result<QueryPlan> {
        QueryPlan::new(&self.analyzer, &r.query)
    }

    fn no_dedup(r: &SearchRequest) -> Result<()> {
        if r.dedup {
            return Err(Error::NotSupportedByBackend(
                "dedup=true needs kiji's local index: duplicate groups are not sent to the \
                 OpenSearch cluster (serve with --backend local)"
                    .into(),
            ));
        }
        Ok(())
    }

    fn search_raw(&self, body: &Value) -> Result<Value> {
        Ok(self
            .client
            .json("POST", &format!("/{}/_search", self.alias), Some(body))?)
    }

    /// Provenance of an answer: the alias's size (from the `global`
    /// aggregation), the local analyser's dictionary; no commit (the
    /// cluster has none to report).
    fn index_info(&self, answer: &Value) -> IndexInfo {
        IndexInfo {
            documents: answer["aggregations"][DOCUMENTS_AGG]["doc_count"]
                .as_u64()
                .unwrap_or(0),
            dictionary: self.analyzer.info().clone(),
            commit: CommitInfo::default(),
        }
    }

    /// `GET /search` from its query-string pairs: the cursor may be one of
    /// this backend's (`search_after`) or an offset.
    pub fn search_pairs(&self, pairs: &[(String, String)]) -> Result<Noted<SearchResponse>> {
        let mut rest = Vec::with_capacity(pairs.len());
        let mut position = None;
        for (k, v) in pairs {
            if k == "cursor" {
                position = Some(decode_position(v)?);
            } else {
                rest.push((k.clone(), v.clone()));
            }
        }
        let mut r = SearchRequest::from_pairs(&rest, &[])?;
        let after = match position {
            Some(p) => {
                r.offset = p.offset;
                p.after
            }
            None => None,
        };
        self.search(&r, after.as_ref())
    }

    /// Runs a search; `after` continues after a cursor's last hit.
    pub fn search(
        &self,
        r: &SearchRequest,
        after: Option<&Value>,
    ) -> Result<Noted<SearchResponse>> {
        let started = Instant::now();
        Self::no_dedup(r)?;
        if after.is_none() && r.offset + r.limit > MAX_OFFSET_WINDOW {
            return Err(Error::param(
                "offset",
                format!(
                    "offset + limit may not exceed {MAX_OFFSET_WINDOW} on the OpenSearch backend; \
                     page with cursor (next_cursor) or use /export"
                ),
            ));
        }
        let plan = self.plan(r)?;
        let body = self.translator().search_body(r, &plan, after);
        let answer = self.search_raw(&body)?;
        let total = total_of(&answer)?;
        let hits = hits_of(&answer)?;
        let last_sort = hits.last().map(|(_, sort, _)| sort.clone());
        let highlighter = Highlighter::new(&self.analyzer, r, &plan);
        let hits = hits
            .into_iter()
            .take(r.limit)
            .map(|(score, _, stored)| {
                let a = &stored.article;
                let fields = HitFields {
                    id: &a.id,
                    title: &a.title,
                    body: &a.body,
                    published: a.published,
                    source: a.source.as_deref(),
                    url: a.url.as_deref(),
                };
                let score = if r.sort == crate::search::Sort::Relevance {
                    score
                } else {
                    None
                };
                hit_of(&fields, &stored.entities, score, r, &highlighter)
            })
            .collect();
        let mut facets = BTreeMap::new();
        for name in &r.facets {
            let mut values: Vec<FacetValue> = terms_of(&answer["aggregations"][name])
                .into_iter()
                .map(|(value, count)| FacetValue { value, count })
                .collect();
            values.sort_by(|a, b| b.count.cmp(&a.count).then(a.value.cmp(&b.value)));
            values.truncate(r.facet_limit);
            facets.insert(name.clone(), values);
        }
        let next = r.offset + r.limit;
        let next_cursor = match &last_sort {
            Some(sort) if r.limit > 0 && next < total && sort.is_array() => {
                Some(encode_after(next, sort))
            }
            _ if r.limit > 0 && next < total && next < MAX_OFFSET_WINDOW => {
                Some(encode_cursor(next))
            }
            _ => None,
        };
        let mut notes = Vec::new();
        if r.sort == crate::search::Sort::Relevance && !plan.groups.is_empty() {
            notes.push(NOTE_RANKING);
        }
        if !r.facets.is_empty() {
            notes.push(NOTE_FACETS);
        }
        Ok(Noted {
            value: SearchResponse {
                total,
                took_ms: started.elapsed().as_secs_f64() * 1000.0,
                hits,
                facets,
                next_cursor,
                index: self.index_info(&answer),
            },
            notes,
        })
    }

    /// `GET /articles/{id}`: the document (`GET <alias>/_doc/<id>`), with
    /// highlights when `r` is given.
    pub fn article_view(&self, id: &str, r: Option<&SearchRequest>) -> Result<ArticleView> {
        let path = format!(
            "/{}/_doc/{}",
            self.alias,
            percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        );
        let answer = self.client.send("GET", &path, None)?;
        let v: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
        if answer.status == 404 || v["found"] == false {
            return Err(Error::ArticleNotFound(id.to_string()));
        }
        if !answer.is_success() {
            return Err(Error::Backend(format!(
                "GET {path}: HTTP {}",
                answer.status
            )));
        }
        let source: Source = serde_json::from_value(v["_source"].clone())
            .map_err(|e| protocol(&format!("the document's _source: {e}")))?;
        let stored = source.stored();
        let highlight = match r {
            Some(r) => Some((r, Highlighter::new(&self.analyzer, r, &self.plan(r)?))),
            None => None,
        };
        Ok(ArticleView::of(stored, highlight.as_ref()))
    }

    /// `GET /timeline`: one request, a date histogram of all articles in
    /// the date range and one of the matched ones, bucketed by kiji.
    pub fn timeline(&self, r: &SearchRequest, interval: Interval) -> Result<Noted<Timeline>> {
        Self::no_dedup(r)?;
        let plan = self.plan(r)?;
        let answer = self.search_raw(&self.translator().timeline_body(r, &plan, interval))?;
        let aggs = &answer["aggregations"];
        let matched = days_of(&aggs["matched"]["days"]);
        let all = days_of(&aggs["all"]);
        Ok(Noted {
            value: Timeline {
                interval,
                buckets: crate::search::timeline::series(interval, r, &matched, &all)?,
                undated: aggs["matched"]["undated"]["doc_count"]
                    .as_u64()
                    .unwrap_or(0),
                index: self.index_info(&answer),
            },
            notes: Vec::new(),
        })
    }

    /// `GET /cooccurrence`: the entities of the articles mentioning X, then
    /// how many articles in scope mention each of them; lift as locally.
    pub fn cooccurrence(
        &self,
        entity: &str,
        kind: Option<EntityType>,
        r: &SearchRequest,
        limit: usize,
        sort: CoSort,
        min_count: u64,
    ) -> Result<Noted<Cooccurrence>> {
        Self::no_dedup(r)?;
        let plan = self.plan(r)?;
        let t = self.translator();
        let answer = self.search_raw(&t.cooccurrence_body(r, &plan, kind, entity))?;
        let n = total_of(&answer)?;
        let x = &answer["aggregations"]["x"];
        let n_x = x["doc_count"].as_u64().unwrap_or(0) as usize;
        let gazetteer = self.analyzer.gazetteer();
        if n_x == 0 && gazetteer.lookup(entity).is_none() {
            return Err(Error::EntityNotFound(entity.to_string()));
        }
        let mut joint: FacetCounts = HashMap::new();
        let mut names = Vec::new();
        for k in EntityType::ALL {
            let values = terms_of(&x[k.as_str()]);
            names.push((k, values.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()));
            joint.insert(k.as_str().to_string(), values.into_iter().collect());
        }
        let mut overall: FacetCounts = HashMap::new();
        if names.iter().any(|(_, v)| !v.is_empty()) {
            let counts = self.search_raw(&t.cooccurrence_counts_body(r, &plan, &names))?;
            for k in EntityType::ALL {
                overall.insert(
                    k.as_str().to_string(),
                    terms_of(&counts["aggregations"][k.as_str()])
                        .into_iter()
                        .collect(),
                );
            }
        }
        let key = crate::search::resolve_entity(&self.analyzer, entity);
        let items = crate::search::cooccurrence::rank(
            &key, &joint, &overall, n_x, n, limit, sort, min_count,
        );
        Ok(Noted {
            value: Cooccurrence {
                entity: EntityRef::of(gazetteer, entity, kind, &joint),
                documents: n_x,
                scope_documents: n,
                items,
                index: self.index_info(&answer),
            },
            notes: vec![NOTE_COOCCURRENCE],
        })
    }

    /// `GET /entities`: names per type with their numbers of articles,
    /// from terms aggregations over the whole alias; a `prefix` matches as
    /// locally (the name or, for the gazetteer's entities, an alias, after
    /// normalisation) — names outside the gazetteer only as written.
    pub fn list_entities(
        &self,
        kind: Option<EntityType>,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Noted<Vec<EntityCount>>> {
        let kinds: Vec<EntityType> = match kind {
            Some(k) => vec![k],
            None => EntityType::ALL.to_vec(),
        };
        let prefix = prefix.filter(|p| !normalize_str(p).is_empty());
        let norm = prefix.map(normalize_str);
        let gazetteer = self.analyzer.gazetteer();
        let starts = |name: &str| {
            norm.as_deref()
                .is_none_or(|p| normalize_str(name).starts_with(p))
        };
        let known: Vec<(EntityType, Vec<String>)> = kinds
            .iter()
            .map(|k| {
                let names = match prefix {
                    None => Vec::new(),
                    Some(_) => gazetteer
                        .entries()
                        .iter()
                        .filter(|e| {
                            e.kind == *k
                                && (starts(&e.canonical) || e.aliases.iter().any(|a| starts(a)))
                        })
                        .map(|e| e.canonical.clone())
                        .collect(),
                };
                (*k, names)
            })
            .collect();
        let body = self
            .translator()
            .entities_body(&kinds, prefix, &known, limit);
        let answer = self.search_raw(&body)?;
        let mut out: Vec<EntityCount> = Vec::new();
        for k in &kinds {
            let aggs = &answer["aggregations"];
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for agg in [k.as_str().to_string(), format!("{}_known", k.as_str())] {
                counts.extend(terms_of(&aggs[agg.as_str()]));
            }
            for (name, documents) in counts {
                let matches = starts(&name)
                    || gazetteer
                        .lookup(&name)
                        .is_some_and(|e| e.aliases.iter().any(|a| starts(a)));
                if matches {
                    out.push(EntityCount {
                        name,
                        kind: *k,
                        documents,
                    });
                }
            }
        }
        out.sort_by(|a, b| b.documents.cmp(&a.documents).then(a.name.cmp(&b.name)));
        out.truncate(limit);
        Ok(Noted {
            value: out,
            notes: vec![NOTE_ENTITIES],
        })
    }

    /// `GET /entities/{name}`: the gazetteer's entry (or, for a name found
    /// by part of speech, the name and type an article gives it), the
    /// number of articles, the first and last dates seen.
    pub fn entity_detail(&self, name: &str) -> Result<EntityDetail> {
        let answer = self.search_raw(&self.translator().entity_detail_body(name))?;
        let documents = total_of(&answer)?;
        let first = hits_of(&answer)?.into_iter().next();
        let first_seen = first
            .as_ref()
            .and_then(|(_, _, stored)| stored.article.published);
        let last_seen = answer["aggregations"]["last"]["hits"]["hits"][0]["_source"]["published"]
            .as_str()
            .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok());
        let seen = Seen {
            documents,
            first_seen,
            last_seen,
        };
        EntityDetail::of(self.analyzer.gazetteer(), name, seen, || {
            let key = crate::search::resolve_entity(&self.analyzer, name);
            Ok(first.and_then(|(_, _, stored)| {
                stored
                    .entities
                    .into_iter()
                    .find(|e| crate::index::entity_keys(&e.canonical, e.kind).contains(&key))
                    .map(|e| (e.canonical, e.kind))
            }))
        })
    }

    /// `GET /export`: every match, in pages of 500 (`search_after` the last
    /// id), each row made by kiji's export code. Stops when `sink` returns
    /// false; returns the number of articles written.
    pub fn export(
        &self,
        r: &SearchRequest,
        opts: &ExportOptions,
        mut sink: impl FnMut(Vec<u8>) -> bool,
    ) -> Result<u64> {
        Self::no_dedup(r)?;
        let plan = self.plan(r)?;
        let head = export_head(opts);
        if !head.is_empty() && !sink(head) {
            return Ok(0);
        }
        let highlighter = Highlighter::new(&self.analyzer, r, &plan);
        let t = self.translator();
        let mut after: Option<String> = None;
        let mut n = 0;
        loop {
            let answer =
                self.search_raw(&t.export_body(r, &plan, EXPORT_PAGE, after.as_deref()))?;
            let page = hits_of(&answer)?;
            let full = page.len() >= EXPORT_PAGE;
            for (_, _, stored) in page {
                after = Some(stored.article.id.clone());
                n += 1;
                if !sink(export_row(&stored, &highlighter, opts)) {
                    return Ok(n);
                }
            }
            if !full {
                return Ok(n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_this_api_did_not_give() {
        let after = json!([3.5, "a-1"]);
        let p = decode_position(&encode_after(20, &after)).unwrap();
        assert_eq!(
            p,
            Position {
                offset: 20,
                after: Some(after)
            }
        );
        assert_eq!(decode_position(&encode_cursor(40)).unwrap().offset, 40);
        for bad in [
            "x",
            &encode_after(1, &json!({"a": 1})),
            &encode_after(1, &json!([[1], 2])),
            &encode_after(1, &json!([])),
        ] {
            assert!(decode_position(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn code_point_spans_become_byte_spans() {
        let doc = json!({
            "id": "a", "title": "露朝の協力", "body": "北朝鮮とロシア。",
            "place": ["ロシア", "北朝鮮"],
            "entity_spans": [
                { "canonical": "北朝鮮", "type": "place", "surface": "北朝鮮", "field": "body", "start": 0, "end": 3 },
                { "canonical": "ロシア", "type": "place", "surface": "露", "field": "title", "start": 0, "end": 1 },
                { "canonical": "ロシア", "type": "place", "surface": "ロシア", "field": "body", "start": 4, "end": 7 },
                { "canonical": "ロシア", "type": "place", "surface": "?", "field": "body", "start": 40, "end": 41 }
            ]
        });
        let stored = serde_json::from_value::<Source>(doc).unwrap().stored();
        let names: Vec<&str> = stored
            .entities
            .iter()
            .map(|e| e.canonical.as_str())
            .collect();
        assert_eq!(
            names,
            ["北朝鮮", "ロシア"],
            "the order of their first spans"
        );
        let russia = &stored.entities[1];
        assert_eq!(russia.count, 2);
        assert_eq!(russia.title_spans, [(0, 3)]);
        assert_eq!(russia.body_spans, [(12, 21)]);
        assert_eq!(&stored.article.body[12..21], "ロシア");
    }
}
