//! The search layer: an [`Engine`] over an open index ([`Store`]) owns
//! search, articles with highlights, entities, timeline, co-occurrence and
//! export; requests ([`SearchRequest`]), the query language ([`query`]),
//! snippets ([`snippet`]) and facets ([`facets`]). `index` opens and writes
//! and knows nothing of this layer.

pub mod cooccurrence;
pub mod entities;
pub mod export;
pub mod facets;
pub mod query;
pub mod related;
pub mod snippet;
pub mod timeline;
pub mod whole_index;

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use base64::Engine as _;
use chrono::{Datelike, Days, NaiveDate, TimeZone};
use rayon::prelude::*;
use serde::Serialize;
use tantivy::collector::{Collector, Count, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, EnableScoring, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, Executor, Order, Searcher, Term};
use utoipa::ToSchema;

use crate::analysis::DictionaryInfo;
use crate::analysis::entities::{Morpheme, entity_key, organization_core, organization_entry};
use crate::analysis::gazetteer::EntityType;
use crate::analysis::normalize::{Normalized, floor_char_boundary, normalize};
use crate::article::{Article, tokyo};
use crate::error::{Error, Result};
use crate::index::{CommitInfo, EntityView, HitSource, Store};
use facets::FacetCollector;
use query::build::Ranking;
use query::{Operator, ParsedQuery, QueryPlan, Scope, highlight_terms};
use snippet::{Mark, Snippet, SnippetOptions, find_matches, spans_of};

/// Searches an open index: what `GET /search`, `/articles/{id}`,
/// `/entities`, `/timeline`, `/cooccurrence`, `/export` and `kiji search`
/// run. It reads the index through its [`Store`] (to which it derefs).
pub struct Engine {
    store: Arc<Store>,
    /// How matches rank (`[search]` of the configuration).
    pub ranking: Ranking,
    /// Searches running now, and the threads that build the hits of a
    /// search that runs alone (see [`Engine::search`]).
    searches: SearchSlots,
    /// Whole-index denominators of `/timeline` and `/cooccurrence`.
    whole_index: whole_index::WholeIndex,
}

impl Engine {
    pub fn new(store: Arc<Store>, ranking: Ranking) -> Engine {
        Engine {
            store,
            ranking,
            searches: SearchSlots::default(),
            whole_index: Default::default(),
        }
    }

    /// The index searched.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }
}

impl std::ops::Deref for Engine {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

/// Largest `limit`.
pub const MAX_LIMIT: usize = 100;
/// Deepest page: `offset + limit` may not exceed this.
pub const MAX_WINDOW: usize = 100_000;

/// Result order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    Relevance,
    Newest,
    Oldest,
}

/// The parameters that select articles (`/search`, `/timeline`, `/export`,
/// `/cooccurrence` share them).
pub const FILTER_PARAMS: [&str; 12] = [
    "q",
    "op",
    "min_match",
    "entity",
    "person",
    "organization",
    "place",
    "type",
    "from",
    "to",
    "source",
    "dedup",
];

/// The parameters of `/search` beyond the filters: order, page, snippets, facets.
pub const PAGE_PARAMS: [&str; 10] = [
    "sort",
    "limit",
    "offset",
    "cursor",
    "fragment_size",
    "fragments",
    "pre_tag",
    "post_tag",
    "facets",
    "facet_limit",
];

/// The facet fields that can be requested.
pub const FACETS: [&str; 4] = ["person", "organization", "place", "source"];

/// A validated search request (from `GET /search`, `kiji search`, `/export`, `/timeline`).
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: ParsedQuery,
    pub q: String,
    pub op: Operator,
    /// Entity filters (any type), ANDed.
    pub entities: Vec<String>,
    /// Typed entity filters, ANDed.
    pub typed_entities: Vec<(EntityType, String)>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Sources, ORed.
    pub sources: Vec<String>,
    pub sort: Sort,
    pub limit: usize,
    pub offset: usize,
    pub snippet: SnippetOptions,
    pub facets: Vec<String>,
    pub facet_limit: usize,
    /// One hit per duplicate group, counts of groups (`dedup=true`; `crate::dedup`).
    pub dedup: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: ParsedQuery::default(),
            q: String::new(),
            op: Operator::And,
            entities: Vec::new(),
            typed_entities: Vec::new(),
            from: None,
            to: None,
            sources: Vec::new(),
            sort: Sort::Relevance,
            limit: 10,
            offset: 0,
            snippet: SnippetOptions::default(),
            facets: Vec::new(),
            facet_limit: 10,
            dedup: false,
        }
    }
}

fn parse_usize(name: &str, v: &str, min: usize, max: usize) -> Result<usize> {
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|_| Error::param(name, format!("{v:?} is not a whole number")))?;
    if n < min as i64 || n > max as i64 {
        return Err(Error::param(
            name,
            format!("{n} is out of range (allowed {min}..={max})"),
        ));
    }
    Ok(n as usize)
}

/// A day as `YYYY-MM-DD` (a day of Asia/Tokyo): nothing else, so a time or
/// a zone (`2024-12-01T00:00:00Z`, which a day cannot honour) is an error
/// rather than dropped, and so is `2024-1-5`.
fn parse_day(name: &str, v: &str) -> Result<NaiveDate> {
    let bad = || {
        Error::param(
            name,
            format!("{v:?} is not a date (use YYYY-MM-DD, a day in Asia/Tokyo, without a time)"),
        )
    };
    let t = v.as_bytes();
    let shape = t.len() == 10
        && t.iter().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !shape {
        return Err(bad());
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()))
        .ok_or_else(bad)
}

/// The parameters that may be given more than once (each value counts).
const REPEATABLE: [&str; 6] = [
    "entity",
    "person",
    "organization",
    "place",
    "type",
    "source",
];

/// A parameter that takes one value given twice is an error (which one
/// should win?), and so is an empty entity or source (it would match
/// nothing: leave the parameter out instead).
fn check_repeats(pairs: &[(String, String)]) -> Result<()> {
    let mut seen: Vec<&str> = Vec::new();
    for (k, v) in pairs {
        let k = k.as_str();
        if k.starts_with('_') {
            continue;
        }
        if REPEATABLE.contains(&k) {
            if v.trim().is_empty() {
                return Err(Error::param(
                    k,
                    "is empty: give a name, or leave the parameter out",
                ));
            }
            continue;
        }
        if seen.contains(&k) {
            return Err(Error::param(
                k,
                format!(
                    "is given more than once; it takes one value (only {} repeat)",
                    REPEATABLE.join(", ")
                ),
            ));
        }
        seen.push(k);
    }
    Ok(())
}

/// Encodes a page position as an opaque cursor.
pub fn encode_cursor(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

/// A cursor's offset; only offsets this API can return (at most
/// [`MAX_WINDOW`]) decode.
fn decode_cursor(c: &str) -> Result<usize> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("o:").and_then(|n| n.parse::<usize>().ok()))
        .filter(|&n| n <= MAX_WINDOW)
        .ok_or_else(|| Error::param("cursor", "not a cursor returned by this API"))
}

impl SearchRequest {
    /// [`SearchRequest::from_pairs`] for endpoints that honour only the
    /// filters ([`FILTER_PARAMS`]) and `extra`: `limit`, `sort` and the
    /// other parameters of `/search` are unknown there (400), not ignored.
    pub fn filters_from_pairs(pairs: &[(String, String)], extra: &[&str]) -> Result<SearchRequest> {
        if let Some((k, _)) = pairs.iter().find(|(k, _)| {
            !(k.starts_with('_')
                || FILTER_PARAMS.contains(&k.as_str())
                || extra.contains(&k.as_str()))
        }) {
            return Err(Error::param(k, "unknown parameter"));
        }
        Self::from_pairs(pairs, extra)
    }

    /// Builds a request from query-string pairs; `extra` names parameters the
    /// caller handles itself (e.g. `format` for /export). Unknown parameters
    /// are an error (a typo should not silently widen a search); names that
    /// start with `_` are ignored (cache busters).
    pub fn from_pairs(pairs: &[(String, String)], extra: &[&str]) -> Result<SearchRequest> {
        check_repeats(pairs)?;
        let mut r = SearchRequest::default();
        let mut cursor = None;
        let mut min_match = None;
        for (k, v) in pairs {
            match k.as_str() {
                "q" => r.q = v.clone(),
                "op" => {
                    r.op = match v.trim().to_ascii_lowercase().as_str() {
                        "and" | "" => Operator::And,
                        "or" => Operator::Or,
                        _ => return Err(Error::param("op", format!("{v:?}: use `and` or `or`"))),
                    }
                }
                "min_match" => min_match = Some(parse_min_match(v)?),
                "entity" => r.entities.push(v.clone()),
                "person" | "organization" | "place" => {
                    let kind = EntityType::parse(k).expect("the three type names parse");
                    r.typed_entities.push((kind, v.clone()));
                }
                "type" => {
                    // `type=person&entity=X` scopes the preceding untyped entities.
                    let kind = EntityType::parse(v).ok_or_else(|| {
                        Error::param("type", format!("{v:?}: use person, organization or place"))
                    })?;
                    for e in r.entities.drain(..) {
                        r.typed_entities.push((kind, e));
                    }
                }
                "from" => r.from = Some(parse_day("from", v)?),
                "to" => r.to = Some(parse_day("to", v)?),
                "source" => r.sources.push(v.clone()),
                "sort" => {
                    r.sort = match v.trim() {
                        "relevance" | "" => Sort::Relevance,
                        "newest" => Sort::Newest,
                        "oldest" => Sort::Oldest,
                        _ => {
                            return Err(Error::param(
                                "sort",
                                format!("{v:?}: use relevance, newest or oldest"),
                            ));
                        }
                    }
                }
                "limit" => r.limit = parse_usize("limit", v, 0, MAX_LIMIT)?,
                "offset" => r.offset = parse_usize("offset", v, 0, MAX_WINDOW)?,
                "cursor" => cursor = Some(decode_cursor(v)?),
                "fragment_size" => {
                    r.snippet.fragment_chars = parse_usize("fragment_size", v, 10, 2000)?
                }
                "fragments" => r.snippet.fragments = parse_usize("fragments", v, 0, 10)?,
                "pre_tag" => r.snippet.pre_tag = tag("pre_tag", v)?,
                "post_tag" => r.snippet.post_tag = tag("post_tag", v)?,
                "facets" => {
                    for f in v.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                        if !FACETS.contains(&f) {
                            return Err(Error::param(
                                "facets",
                                format!("unknown facet {f:?} (use {})", FACETS.join(", ")),
                            ));
                        }
                        if !r.facets.iter().any(|x| x == f) {
                            r.facets.push(f.to_string());
                        }
                    }
                }
                "facet_limit" => r.facet_limit = parse_usize("facet_limit", v, 1, 1000)?,
                "dedup" => r.dedup = parse_bool("dedup", v)?,
                other if other.starts_with('_') || extra.contains(&other) => {}
                other => {
                    return Err(Error::param(other, "unknown parameter"));
                }
            }
        }
        if let Some(o) = cursor {
            if pairs.iter().any(|(k, _)| k == "offset") {
                return Err(Error::param(
                    "cursor",
                    "comes with `offset`: a cursor says where the page starts; give one of the two",
                ));
            }
            r.offset = o;
        }
        if let Some(m) = min_match {
            r.op = m;
        }
        if r.offset.saturating_add(r.limit) > MAX_WINDOW {
            return Err(Error::param(
                "offset",
                format!("offset + limit may not exceed {MAX_WINDOW}; use /export for everything"),
            ));
        }
        if let (Some(f), Some(t)) = (r.from, r.to)
            && f > t
        {
            return Err(Error::param(
                "from",
                format!("from ({f}) is after to ({t})"),
            ));
        }
        r.query = query::parse(&r.q)?;
        Ok(r)
    }
}

/// A yes/no parameter: `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`,
/// in any case; empty is false).
pub fn parse_bool(name: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" | "" => Ok(false),
        _ => Err(Error::param(name, format!("{v:?}: use true or false"))),
    }
}

/// `min_match`: a number of units (`3`) or a share of them (`75%`).
fn parse_min_match(v: &str) -> Result<Operator> {
    let v = v.trim();
    let bad = || {
        Error::param(
            "min_match",
            format!("{v:?}: use a number of words (e.g. 2) or a percentage (e.g. 75%)"),
        )
    };
    match v.strip_suffix('%') {
        Some(p) => {
            let p: u8 = p.trim().parse().map_err(|_| bad())?;
            if !(1..=100).contains(&p) {
                return Err(Error::param(
                    "min_match",
                    format!("{v:?}: between 1% and 100%"),
                ));
            }
            Ok(Operator::Percent(p))
        }
        None => {
            let n: usize = v.parse().map_err(|_| bad())?;
            if n == 0 {
                return Err(Error::param("min_match", "at least 1"));
            }
            Ok(Operator::AtLeast(n))
        }
    }
}

fn tag(name: &str, v: &str) -> Result<String> {
    if v.chars().count() > 200 {
        return Err(Error::param(name, "longer than 200 characters"));
    }
    Ok(v.to_string())
}

/// Entities of a hit, grouped by type (canonical names, most mentioned first).
#[derive(Debug, Clone, Default, Serialize, ToSchema, PartialEq)]
pub struct EntitiesByType {
    pub person: Vec<String>,
    pub organization: Vec<String>,
    pub place: Vec<String>,
}

impl EntitiesByType {
    pub fn of<E: EntityView>(entities: &[E]) -> Self {
        let mut out = EntitiesByType::default();
        for e in entities {
            let name = e.canonical().to_string();
            match e.kind() {
                EntityType::Person => out.person.push(name),
                EntityType::Organization => out.organization.push(name),
                EntityType::Place => out.place.push(name),
            }
        }
        out
    }
}

/// One search hit.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Hit {
    pub id: String,
    pub title: String,
    /// The title, HTML-escaped, with highlights.
    pub title_html: String,
    #[schema(value_type = Option<String>)]
    pub published: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub source: Option<String>,
    pub url: Option<String>,
    /// Relevance score (null when sorted by date).
    pub score: Option<f32>,
    pub snippets: Vec<Snippet>,
    pub entities: EntitiesByType,
    /// With `dedup=true`: how many other articles are in this hit's
    /// duplicate group (syndicated copies), and their ids (earliest first,
    /// at most 20).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_ids: Option<Vec<String>>,
}

/// A facet value and how many matched articles have it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct FacetValue {
    pub value: String,
    pub count: u64,
}

/// Which index state and dictionary answered (provenance).
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct IndexInfo {
    pub documents: u64,
    pub dictionary: DictionaryInfo,
    pub commit: CommitInfo,
}

/// The `GET /search` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Articles matching, in all.
    pub total: usize,
    pub took_ms: f64,
    pub hits: Vec<Hit>,
    /// Requested facets: top values with counts over the whole matched set.
    pub facets: BTreeMap<String, Vec<FacetValue>>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
    pub index: IndexInfo,
}

impl Engine {
    /// Provenance of answers given now.
    pub fn index_info(&self, searcher: &Searcher) -> IndexInfo {
        IndexInfo {
            documents: searcher.num_docs(),
            dictionary: self.analyzer.info().clone(),
            commit: self.commit_info(),
        }
    }

    /// The normalised `entity` keys a name given in a query stands for.
    pub fn resolve_entity(&self, name: &str) -> String {
        resolve_entity(&self.analyzer, name)
    }

    /// The tantivy query for the request's filters and text.
    pub fn build_query(&self, r: &SearchRequest) -> Result<Box<dyn Query>> {
        self.build_planned_query(r, &self.plan(r)?)
    }

    /// [`Engine::build_query`] for a request already analysed into `plan`.
    fn build_planned_query(&self, r: &SearchRequest, plan: &QueryPlan) -> Result<Box<dyn Query>> {
        let builder = query::QueryBuilder {
            analyzer: &self.analyzer,
            fields: &self.fields,
            ranking: &self.ranking,
        };
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(q) = builder.text_query(plan, r.op)? {
            must.push((Occur::Must, q));
        }
        let term = |s: String| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(self.fields.entity, &s),
                IndexRecordOption::Basic,
            ))
        };
        for e in &r.entities {
            must.push((Occur::Must, term(self.resolve_entity(e))));
        }
        for (kind, e) in &r.typed_entities {
            must.push((
                Occur::Must,
                term(format!("{}:{}", kind.as_str(), self.resolve_entity(e))),
            ));
        }
        if !r.sources.is_empty() {
            let any: Vec<(Occur, Box<dyn Query>)> = r
                .sources
                .iter()
                .map(|s| {
                    let q: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(self.fields.source, s),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, q)
                })
                .collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if r.from.is_some() || r.to.is_some() {
            let f = self.fields.published;
            let lower = r
                .from
                .map(|d| Bound::Included(Term::from_field_i64(f, day_start(d))))
                .unwrap_or(Bound::Unbounded);
            let upper =
                r.to.and_then(|d| d.checked_add_days(Days::new(1)))
                    .map(|d| Bound::Excluded(Term::from_field_i64(f, day_start(d))))
                    .unwrap_or(Bound::Unbounded);
            must.push((Occur::Must, Box::new(RangeQuery::new(lower, upper))));
        }
        Ok(match must.len() {
            0 => Box::new(AllQuery),
            // Alone, as it is (a `BooleanQuery` scores it the same but
            // walks it a document at a time: see `query::window`).
            1 => must.pop().expect("one clause").1,
            _ => Box::new(BooleanQuery::new(must)),
        })
    }

    /// Runs a search.
    pub fn search(&self, r: &SearchRequest) -> Result<SearchResponse> {
        let started = Instant::now();
        let _running = self.searches.enter();
        let searcher = self.searcher();
        let plan = self.plan(r)?;
        let query = self.build_planned_query(r, &plan)?;
        let facet_collector = FacetCollector::top(r.facets.clone(), r.facet_limit);
        if r.dedup {
            return self.search_groups(started, &searcher, r, &plan, query.as_ref());
        }
        let executor = self.searches.executor(&searcher);
        let window = TopDocs::with_limit(r.limit.max(1)).and_offset(r.offset);
        let (total, top, facet_counts): (usize, Vec<(Option<f32>, DocAddress)>, _) = match r.sort {
            // No hits asked for (counts and facets): nothing is scored.
            _ if r.limit == 0 => {
                let (n, f) = collect(&searcher, &executor, &query, &(Count, facet_collector))?;
                (n, Vec::new(), f)
            }
            Sort::Relevance => {
                let (n, top, f) = collect(
                    &searcher,
                    &executor,
                    &query,
                    &(Count, window.order_by_score(), facet_collector),
                )?;
                (n, top.into_iter().map(|(s, a)| (Some(s), a)).collect(), f)
            }
            Sort::Newest | Sort::Oldest => {
                let order = if r.sort == Sort::Newest {
                    Order::Desc
                } else {
                    Order::Asc
                };
                let (n, top, f) = collect(
                    &searcher,
                    &executor,
                    &query,
                    &(
                        Count,
                        window.order_by_fast_field::<i64>("published", order),
                        facet_collector,
                    ),
                )?;
                (n, top.into_iter().map(|(_, a)| (None, a)).collect(), f)
            }
        };
        let hits = self.hits(&searcher, top, r, &plan)?;
        self.response(started, &searcher, r, total, hits, facet_counts)
    }

    /// `dedup=true`: one hit per duplicate group (its best-ranked article),
    /// totals and facets counting groups.
    fn search_groups(
        &self,
        started: Instant,
        searcher: &Searcher,
        r: &SearchRequest,
        plan: &QueryPlan,
        query: &dyn Query,
    ) -> Result<SearchResponse> {
        use crate::dedup::collapse::{self, GroupCollector, Rank};
        let rank = match r.sort {
            Sort::Relevance => Rank::Score,
            Sort::Newest => Rank::Newest,
            Sort::Oldest => Rank::Oldest,
        };
        let executor = self.searches.executor(searcher);
        let groups = collapse::ranked(
            collect(
                searcher,
                &executor,
                query,
                &GroupCollector {
                    rank,
                    aliases: self.aliases(),
                },
            )?,
            rank,
        );
        let total = groups.len();
        let facet_counts = if r.facets.is_empty() {
            Default::default()
        } else {
            let best: Vec<DocAddress> = groups.iter().map(|(_, g)| g.best).collect();
            collapse::facet_counts(searcher, &r.facets, &best)
        };
        let page: Vec<(String, collapse::Group)> =
            groups.into_iter().skip(r.offset).take(r.limit).collect();
        let top = page
            .iter()
            .map(|(_, g)| ((rank == Rank::Score).then_some(g.score), g.best))
            .collect();
        let mut hits = self.hits(searcher, top, r, plan)?;
        for (hit, (key, g)) in hits.iter_mut().zip(&page) {
            let (n, ids) = collapse::others(self, searcher, key, g.best, 20)?;
            hit.duplicates = Some(n);
            hit.duplicate_ids = Some(ids);
        }
        self.response(started, searcher, r, total, hits, facet_counts)
    }

    fn response(
        &self,
        started: Instant,
        searcher: &Searcher,
        r: &SearchRequest,
        total: usize,
        hits: Vec<Hit>,
        facet_counts: facets::FacetCounts,
    ) -> Result<SearchResponse> {
        let mut facets = BTreeMap::new();
        for name in &r.facets {
            let mut values: Vec<FacetValue> = facet_counts
                .get(name)
                .map(|m| {
                    m.iter()
                        .map(|(v, &n)| FacetValue {
                            value: v.clone(),
                            count: n,
                        })
                        .collect()
                })
                .unwrap_or_default();
            values.sort_by(|a, b| {
                facets::most_counted_first((a.value.as_str(), a.count), (b.value.as_str(), b.count))
            });
            values.truncate(r.facet_limit);
            facets.insert(name.clone(), values);
        }
        let next = r.offset + r.limit;
        Ok(SearchResponse {
            total,
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
            hits,
            facets,
            next_cursor: (r.limit > 0 && next < total && next < MAX_WINDOW)
                .then(|| encode_cursor(next)),
            index: self.index_info(searcher),
        })
    }

    /// Loads and highlights the hits. A search that runs alone builds them
    /// on all cores (most of a search's time is here: loading the stored
    /// articles, finding and marking matches); under concurrent load each
    /// search keeps to its own thread, which serves more searches per second.
    fn hits(
        &self,
        searcher: &Searcher,
        top: Vec<(Option<f32>, DocAddress)>,
        r: &SearchRequest,
        plan: &QueryPlan,
    ) -> Result<Vec<Hit>> {
        let highlighter = self.planned_highlighter(r, plan);
        let build = |(score, addr): (Option<f32>, DocAddress)| -> Result<Hit> {
            self.with_hit_source(searcher, addr, |source| {
                self.hit(&source, score, r, &highlighter)
            })
        };
        match self.searches.pool() {
            Some(pool) if top.len() > 1 && self.searches.running() == 1 => {
                pool.install(|| top.into_par_iter().map(build).collect())
            }
            _ => top.into_iter().map(build).collect(),
        }
    }

    /// The request's `q`, analysed into units.
    pub fn plan(&self, r: &SearchRequest) -> Result<QueryPlan> {
        QueryPlan::new(&self.analyzer, &r.query)
    }

    /// What `r` highlights, worked out once for all the articles it shows.
    pub fn highlighter(&self, r: &SearchRequest) -> Highlighter {
        self.planned_highlighter(r, &self.plan(r).unwrap_or_default())
    }

    /// [`Engine::highlighter`] for a request already analysed into `plan`.
    fn planned_highlighter(&self, r: &SearchRequest, plan: &QueryPlan) -> Highlighter {
        Highlighter::new(&self.analyzer, r, plan)
    }

    fn hit(
        &self,
        source: &HitSource<'_>,
        score: Option<f32>,
        r: &SearchRequest,
        highlighter: &Highlighter,
    ) -> Hit {
        let a = &source.article;
        let fields = HitFields {
            id: &a.id,
            title: &a.title,
            body: &a.body,
            published: a.published,
            source: a.source.as_deref(),
            url: a.url.as_deref(),
        };
        hit_of(&fields, &source.entities, score, r, highlighter)
    }
}

/// The normalised `entity` key a name given in a query stands for (its
/// canonical name's when the gazetteer knows it).
pub fn resolve_entity(analyzer: &crate::analysis::Analyzer, name: &str) -> String {
    let gazetteer = analyzer.gazetteer();
    if let Some(e) = gazetteer.lookup(name) {
        return entity_key(&e.canonical);
    }
    // ヤフー株式会社 is indexed as ヤフー, 京セラ(株) as 京セラ, as the
    // analysis names them (`canonical_organizations`, `display_canonical`).
    let key = entity_key(name);
    match organization_entry(&key, gazetteer) {
        Some(e) => entity_key(&e.canonical),
        None => match organization_core(&key) {
            Some(core) => core.to_string(),
            None => key,
        },
    }
}

/// The fields of an article a hit shows (from the local index or a cluster).
pub struct HitFields<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub published: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub source: Option<&'a str>,
    pub url: Option<&'a str>,
}

/// One hit with its highlighted title and snippets: the same code for every
/// backend, so hits look the same wherever the article was found.
pub fn hit_of<E: EntityView>(
    a: &HitFields<'_>,
    entities: &[E],
    score: Option<f32>,
    r: &SearchRequest,
    highlighter: &Highlighter,
) -> Hit {
    let title_spans = spans_of(&highlighter.marks(a.title, true, entities));
    let snippets = if r.snippet.fragments == 0 {
        Vec::new()
    } else {
        let body_marks = highlighter.marks(a.body, false, entities);
        snippet::snippets(a.body, &body_marks, &r.snippet)
    };
    Hit {
        id: a.id.to_string(),
        title: a.title.to_string(),
        title_html: snippet::highlight(a.title, &title_spans, &r.snippet).html,
        published: a.published,
        source: a.source.map(String::from),
        url: a.url.map(String::from),
        score,
        snippets,
        entities: EntitiesByType::of(entities),
        duplicates: None,
        duplicate_ids: None,
    }
}

/// Bytes of text analysed before and after the first character of an
/// inflected unit's dictionary form, to find its inflections (about 10 and
/// 20 Japanese characters).
const WINDOW_BEFORE: usize = 30;
const WINDOW_AFTER: usize = 60;

/// What a request highlights: the strings of its units (normalised, each
/// with its unit's number) for the title and for the body, and the entity
/// keys of its entity filters, whose mentions are highlighted too
/// (entity=ロシア marks 露 in 露朝); each filter counts as one more unit.
pub struct Highlighter {
    title_terms: Vec<(usize, String)>,
    body_terms: Vec<(usize, String)>,
    wanted: Vec<(Option<EntityType>, String)>,
    units: usize,
    /// The inflected units (number, dictionary form, scope): every
    /// inflection of theirs in a text is marked (見られる for 見た), found by
    /// analysing the text around them).
    inflected: Vec<(usize, String, Scope)>,
    analyzer: Arc<crate::analysis::Analyzer>,
}

impl Highlighter {
    /// What `r`, analysed into `plan`, highlights.
    pub fn new(
        analyzer: &Arc<crate::analysis::Analyzer>,
        r: &SearchRequest,
        plan: &QueryPlan,
    ) -> Highlighter {
        Highlighter {
            title_terms: highlight_terms(plan, Scope::Title),
            body_terms: highlight_terms(plan, Scope::Body),
            units: plan.positive_units().count(),
            inflected: plan
                .positive_units()
                .enumerate()
                .filter_map(|(n, (u, scope))| u.base.clone().map(|b| (n, b, scope)))
                .collect(),
            analyzer: analyzer.clone(),
            wanted: r
                .entities
                .iter()
                .map(|e| (None, resolve_entity(analyzer, e)))
                .chain(
                    r.typed_entities
                        .iter()
                        .map(|(k, e)| (Some(*k), resolve_entity(analyzer, e))),
                )
                .collect(),
        }
    }

    /// The matches of the request in `text`, the title or the body of an
    /// article with these entities, sorted by position.
    pub fn marks<E: EntityView>(&self, text: &str, in_title: bool, entities: &[E]) -> Vec<Mark> {
        let terms = if in_title {
            &self.title_terms
        } else {
            &self.body_terms
        };
        let inflected: Vec<&(usize, String, Scope)> = self
            .inflected
            .iter()
            .filter(|(_, _, s)| *s == Scope::Any || (*s == Scope::Title) == in_title)
            .collect();
        let mut marks = if terms.is_empty() && inflected.is_empty() {
            Vec::new()
        } else {
            let norm = normalize(text);
            let mut marks = find_matches(&norm, terms);
            if !inflected.is_empty() {
                marks.extend(self.inflections(&norm, &inflected));
                marks.sort_unstable();
                marks.dedup();
            }
            marks
        };
        if !self.wanted.is_empty() {
            for e in entities {
                let keys = crate::index::entity_keys(e.canonical(), e.kind());
                let wanted = self
                    .wanted
                    .iter()
                    .position(|(k, key)| k.is_none_or(|k| k == e.kind()) && keys.contains(key));
                if let Some(w) = wanted {
                    marks.extend(e.spans(in_title).into_iter().map(|(start, end)| Mark {
                        start,
                        end,
                        unit: self.units + w,
                    }));
                }
            }
            marks.sort_unstable();
        }
        marks
    }

    /// The inflections of `inflected` units in `norm`: only the text around
    /// each place a dictionary form's first character stands is analysed (a
    /// hit's body is thousands of characters; the rest of a search takes a
    /// fraction of a millisecond).
    fn inflections(&self, norm: &Normalized, inflected: &[&(usize, String, Scope)]) -> Vec<Mark> {
        let text = norm.text.as_str();
        let mut windows: Vec<(usize, usize)> = Vec::new();
        for (_, base, _) in inflected {
            let Some(first) = base.chars().next() else {
                continue;
            };
            for (at, _) in text.match_indices(first) {
                windows.push((
                    floor_char_boundary(text, at.saturating_sub(WINDOW_BEFORE)),
                    floor_char_boundary(text, (at + WINDOW_AFTER).min(text.len())),
                ));
            }
        }
        windows.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::new();
        for (from, to) in windows {
            match merged.last_mut() {
                Some(w) if from <= w.1 => w.1 = w.1.max(to),
                _ => merged.push((from, to)),
            }
        }
        let mut marks = Vec::new();
        for (from, to) in merged {
            let ms = self.analyzer.morphemes(&text[from..to]);
            for (i, m) in ms.iter().enumerate() {
                // A stem IPADIC cut out of a noun (高|さ, 着|順, 自|見) is no
                // inflection to mark (nor indexed as one).
                if Morpheme::stem_inside_noun(&ms, i) {
                    continue;
                }
                for (unit, base, _) in inflected {
                    if crate::search::query::units::inflects(m, base) {
                        let end = crate::search::query::units::typed_end(&ms, i + 1);
                        let (start, end) =
                            norm.original_range(from + m.start, from + ms[end - 1].end);
                        marks.push(Mark {
                            start,
                            end,
                            unit: *unit,
                        });
                    }
                }
            }
        }
        marks
    }

    /// Highlight spans (merged byte ranges) for `text`.
    pub fn spans<E: EntityView>(
        &self,
        text: &str,
        in_title: bool,
        entities: &[E],
    ) -> Vec<(usize, usize)> {
        spans_of(&self.marks(text, in_title, entities))
    }

    /// The matches in `text`, one byte range each (only overlapping ones
    /// merged): the lines of a KWIC export.
    pub fn matches<E: EntityView>(
        &self,
        text: &str,
        in_title: bool,
        entities: &[E],
    ) -> Vec<(usize, usize)> {
        let marks = self.marks(text, in_title, entities);
        snippet::merge_overlapping(marks.iter().map(|m| (m.start, m.end)).collect())
    }
}

/// Counts the searches running on a store, and owns the threads that build
/// the hits of a search running alone (created on first use; none on a
/// one-core machine).
#[derive(Default)]
pub struct SearchSlots {
    running: AtomicUsize,
    pool: OnceLock<Option<Arc<rayon::ThreadPool>>>,
}

/// A running search; counted until dropped.
pub struct Running<'a>(&'a AtomicUsize);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl SearchSlots {
    pub fn enter(&self) -> Running<'_> {
        self.running.fetch_add(1, Ordering::Relaxed);
        Running(&self.running)
    }

    /// Searches running now.
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    fn pool(&self) -> Option<&Arc<rayon::ThreadPool>> {
        self.pool
            .get_or_init(|| {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                (cores > 1)
                    .then(|| {
                        rayon::ThreadPoolBuilder::new()
                            .num_threads(cores.min(4))
                            .thread_name(|i| format!("kiji-search-{i}"))
                            .build()
                            .ok()
                    })
                    .flatten()
                    .map(Arc::new)
            })
            .as_ref()
    }

    /// Where the segments of a search are collected: on the search threads,
    /// side by side, when this search runs alone and the index has several
    /// segments (an archive of a million articles has a few dozen: a
    /// common word's matches, facets and timelines are counted on all
    /// cores); on the caller's thread when other searches run (they keep the
    /// cores busy already) or there is nothing to split.
    pub fn executor(&self, searcher: &Searcher) -> Executor {
        match self.pool() {
            Some(pool) if self.running() <= 1 && searcher.segment_readers().len() > 1 => {
                Executor::ThreadPool(pool.clone())
            }
            _ => Executor::SingleThread,
        }
    }
}

/// `searcher.search(query, collector)` with the segments collected by
/// `executor` (see [`SearchSlots::executor`]).
pub fn collect<C: Collector>(
    searcher: &Searcher,
    executor: &Executor,
    query: &dyn Query,
    collector: &C,
) -> tantivy::Result<C::Fruit> {
    let scoring = if collector.requires_scoring() {
        EnableScoring::enabled_from_searcher(searcher)
    } else {
        EnableScoring::disabled_from_searcher(searcher)
    };
    searcher.search_with_executor(query, collector, executor, scoring)
}

/// 00:00 Asia/Tokyo of a day, as seconds since the epoch.
pub fn day_start(d: NaiveDate) -> i64 {
    tokyo()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .map(|t| t.timestamp())
        .unwrap_or(i64::MIN)
}

/// An entity of an article, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct EntityMentions {
    pub canonical: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub count: usize,
}

/// `GET /articles/{id}`: the whole article, its entities, and (with `q` or
/// `entity`) the title and body with highlights.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ArticleView {
    #[serde(flatten)]
    pub article: Article,
    pub entities: Vec<EntityMentions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title_html: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
}

impl Engine {
    /// The article with this id; `r` (q, entity, tags) drives highlighting.
    pub fn article_view(&self, id: &str, r: Option<&SearchRequest>) -> Result<ArticleView> {
        let stored = self
            .get(id)?
            .ok_or_else(|| Error::ArticleNotFound(id.to_string()))?;
        Ok(ArticleView::of(
            stored,
            r.map(|r| (r, self.highlighter(r))).as_ref(),
        ))
    }
}

impl ArticleView {
    /// The view of a stored article, highlighted for `r` when given.
    pub fn of(
        stored: crate::index::StoredArticle,
        r: Option<&(&SearchRequest, Highlighter)>,
    ) -> ArticleView {
        let (title_html, body_html) = match r {
            Some((r, h)) => {
                let a = &stored.article;
                let html = |text: &str, in_title: bool| {
                    let spans = h.spans(text, in_title, &stored.entities);
                    Some(snippet::highlight(text, &spans, &r.snippet).html)
                };
                (html(&a.title, true), html(&a.body, false))
            }
            None => (None, None),
        };
        ArticleView {
            entities: stored
                .entities
                .iter()
                .map(|e| EntityMentions {
                    canonical: e.canonical.clone(),
                    kind: e.kind,
                    count: e.count,
                })
                .collect(),
            article: stored.article,
            title_html,
            body_html,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search alone on an index of several segments collects them on the
    /// search threads, one among others on its own thread; the answer is the
    /// same either way.
    #[test]
    fn a_search_alone_collects_its_segments_side_by_side_with_the_same_answer() {
        use tantivy::schema::{FAST, STRING, Schema, TEXT};
        let mut builder = Schema::builder();
        let text = builder.add_text_field("text", TEXT);
        let tag = builder.add_text_field("tag", STRING | FAST);
        let index = tantivy::Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        for segment in 0..4 {
            for i in 0..500u32 {
                let mut doc = tantivy::TantivyDocument::default();
                let words = ["north", "korea", "russia", "troops"];
                let n = (i as usize + segment) % 4 + 1;
                doc.add_text(text, words[..n].join(" "));
                doc.add_text(tag, if i % 3 == 0 { "a" } else { "b" });
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
        }
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 4);
        let slots = SearchSlots::default();
        let running = slots.enter();
        let alone = slots.executor(&searcher);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(matches!(alone, Executor::ThreadPool(_)), cores > 1);
        let second = slots.enter();
        assert!(matches!(slots.executor(&searcher), Executor::SingleThread));
        drop((second, running));
        let query = tantivy::query::QueryParser::for_index(&index, vec![text])
            .parse_query("russia troops")
            .unwrap();
        let collector = (
            Count,
            TopDocs::with_limit(25).order_by_score(),
            FacetCollector::all(vec!["tag".into()]),
        );
        let (n, top, facets) = collect(&searcher, &alone, &query, &collector).unwrap();
        let (n1, top1, facets1) = searcher.search(&query, &collector).unwrap();
        assert_eq!((n, &top, &facets), (n1, &top1, &facets1));
        assert_eq!(n, 1_000);
        assert_eq!(facets["tag"].values().sum::<u64>(), 1_000);
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn cursors_decode_only_to_offsets_this_api_gives() {
        assert_eq!(decode_cursor(&encode_cursor(20)).unwrap(), 20);
        assert_eq!(
            decode_cursor(&encode_cursor(MAX_WINDOW)).unwrap(),
            MAX_WINDOW
        );
        for n in [MAX_WINDOW + 1, usize::MAX - 3, usize::MAX] {
            assert!(decode_cursor(&encode_cursor(n)).is_err(), "{n}");
        }
        // offset + limit cannot overflow however the cursor was made.
        let huge = encode_cursor(usize::MAX);
        let err = SearchRequest::from_pairs(&pairs(&[("cursor", &huge), ("limit", "100")]), &[])
            .unwrap_err();
        assert_eq!(err.code(), crate::code::ErrorCode::InvalidParameter);
    }

    #[test]
    fn filter_endpoints_refuse_search_only_parameters() {
        for p in PAGE_PARAMS {
            let err = SearchRequest::filters_from_pairs(&pairs(&[("q", "a"), (p, "1")]), &[])
                .unwrap_err();
            assert!(err.to_string().contains(p), "{err}");
        }
        for p in FILTER_PARAMS {
            let v = match p {
                "from" | "to" => "2024-01-01",
                "type" => "person",
                "op" => "or",
                "min_match" => "1",
                "dedup" => "true",
                _ => "a",
            };
            SearchRequest::filters_from_pairs(&pairs(&[(p, v)]), &[]).unwrap();
        }
        SearchRequest::filters_from_pairs(
            &pairs(&[("interval", "day"), ("_", "1")]),
            &["interval"],
        )
        .unwrap();
    }

    #[test]
    fn one_value_parameters_once_and_names_not_empty() {
        let err = |list: &[(&str, &str)]| {
            SearchRequest::from_pairs(&pairs(list), &[])
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[("q", "北"), ("q", "南")]).contains("`q`: is given more than once"));
        assert!(err(&[("limit", "0"), ("limit", "3")]).contains("`limit`"));
        for p in ["entity", "person", "organization", "place", "source"] {
            assert!(err(&[(p, " ")]).contains("is empty"), "{p}");
        }
        let cursor = encode_cursor(10);
        assert!(err(&[("cursor", &cursor), ("offset", "20")]).contains("`cursor`"));
        for day in [
            "-2024-01-01",
            "+2024-01-01",
            "0000-01-01",
            "2024-12-01T00:00:00Z",
            "2024-1-5",
            "2024/01/05",
            "2024-02-30",
            " 2024-01-05",
            "2024-01-05 ",
        ] {
            assert!(err(&[("from", day)]).contains("not a date"), "{day}");
        }
        // repeatable ones repeat; `_` cache busters are anything
        let r = SearchRequest::from_pairs(
            &pairs(&[
                ("entity", "プーチン"),
                ("entity", "金正恩"),
                ("source", "a"),
                ("source", "b"),
                ("_", "1"),
                ("_", "2"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!((r.entities.len(), r.sources.len()), (2, 2));
    }
}
