//! kiji's query, translated for the cluster: the units of a parsed query
//! ([`crate::search::query`]) become an OpenSearch `bool` query over the
//! fields the template defines ([`super::template`]), the filters become
//! `term`/`terms`/`range` filters, and facets, timelines and co-occurrence
//! become aggregations. Only request bodies are built here (pure functions,
//! golden-tested); [`super::remote`] sends them and reads the answers.
//!
//! | kiji | cluster |
//! |---|---|
//! | a unit's morpheme phrase | `match_phrase` on `title` / `body` (kuromoji with kiji's user dictionary and normalisation) |
//! | an inflected word's dictionary form | `match` on `title.base` / `body.base` (kuromoji + `kuromoji_baseform`) |
//! | a unit as an exact substring | `match_phrase` on `title.bigram` / `body.bigram`; one CJK character: `regexp` `c.?\|.c` there; a CJK character alone at a unit's end: `span_near` of `span_multi` `regexp`s |
//! | matching apart from ranking | the units in `filter` (no score), the ranking in `should` |
//! | BM25F of the units' words (+ a fifth of their bigrams) | `multi_match` `cross_fields` over `title`, `body` (+ `.bigram` with the bigram weight); no lead field |
//! | `entity`, `person=` … | `term` on `entity` (keys `name` and `type:name`, as the local index) |
//! | `from` / `to` (Asia/Tokyo days) | `range` on `published`, `[from 00:00+09:00, to + 1 day 00:00+09:00)` |
//! | `source` (ORed) | `terms` on `source` |

use chrono::{Days, NaiveDate, TimeZone};
use serde_json::{Value, json};

use crate::analysis::Analyzer;
use crate::analysis::gazetteer::EntityType;
use crate::analysis::normalize::normalize;
use crate::analysis::tokenizer::BigramTokenizer;
use crate::article::tokyo;
use crate::search::query::build::{Ranking, edge_pattern, stem_alone};
use crate::search::query::units::Unit;
use crate::search::query::{Operator, QueryPlan, Scope};
use crate::search::timeline::Interval;
use crate::search::{SearchRequest, Sort, day_start, resolve_entity};

/// The fields a hit, an article view or an export row reads from `_source`.
pub const SOURCE_FIELDS: [&str; 10] = [
    "id",
    "title",
    "body",
    "published",
    "source",
    "url",
    "person",
    "organization",
    "place",
    "entity_spans",
];

/// The aggregation every request adds to learn how many documents the
/// alias holds (`global`: the whole index, whatever the query).
pub const DOCUMENTS_AGG: &str = "kiji_documents";

/// Values per entity type that `/cooccurrence` asks the cluster for.
pub const COOCCURRENCE_TERMS: usize = 1000;

/// Translates kiji requests into OpenSearch request bodies.
pub struct Translator<'a> {
    pub analyzer: &'a Analyzer,
    pub ranking: &'a Ranking,
}

/// The text fields of a scope.
fn scope_fields(scope: Scope) -> &'static [&'static str] {
    match scope {
        Scope::Any => &["title", "body"],
        Scope::Title => &["title"],
        Scope::Body => &["body"],
    }
}

/// A query that matches as `q` does, with no score of its own (a `bool`
/// with only a `filter` scores 0).
fn zero(q: Value) -> Value {
    json!({ "bool": { "filter": [q] } })
}

/// A `bool` query of the non-empty clause lists.
fn bool_of(clauses: &[(&str, Vec<Value>)]) -> Value {
    let map: serde_json::Map<String, Value> = clauses
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), Value::Array(v.clone())))
        .collect();
    json!({ "bool": map })
}

fn any_of(should: Vec<Value>) -> Value {
    json!({ "bool": { "should": should, "minimum_should_match": 1 } })
}

/// `2024-11-01T00:00:00+09:00`: the first instant of a day in Asia/Tokyo.
fn tokyo_midnight(d: NaiveDate) -> String {
    tokyo()
        .timestamp_opt(day_start(d), 0)
        .single()
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

/// `field^weight`.
fn weighted(field: &str, w: f32) -> String {
    format!("{field}^{w}")
}

impl Translator<'_> {
    /// One unit: its morpheme phrase, its dictionary form, or its exact
    /// substring, in any field of the scope.
    pub fn unit(&self, u: &Unit, scope: Scope) -> Value {
        let mut should = Vec::new();
        for f in scope_fields(scope) {
            should.push(json!({ "match_phrase": { *f: { "query": u.text } } }));
            if let Some(base) = &u.base {
                should.push(json!({ "match": { format!("{f}.base"): { "query": base } } }));
            }
            should.extend(self.bigram(f, u));
        }
        any_of(should)
    }

    /// The unit as an exact substring of `field`: a phrase of its bigrams;
    /// one CJK character is every bigram holding it (`regexp`); a CJK
    /// character alone at either end of a longer unit is also every bigram
    /// it starts (at the end) or ends (at the start), as locally
    /// (`crate::search::query`): a `span_near` of `span_multi` patterns.
    fn bigram(&self, field: &str, u: &Unit) -> Option<Value> {
        let norm = normalize(&u.text);
        if stem_alone(u, &norm.text) {
            return None;
        }
        let tokens = BigramTokenizer::tokens_of(&norm);
        let bigram_field = format!("{field}.bigram");
        let texts: Vec<&str> = tokens.iter().map(|t| t.text.as_str()).collect();
        let patterns: Vec<Option<String>> =
            (0..texts.len()).map(|i| edge_pattern(&texts, i)).collect();
        let consecutive = tokens
            .iter()
            .enumerate()
            .all(|(i, t)| t.position == tokens[0].position + i);
        match patterns.as_slice() {
            [] => None,
            [Some(pattern)] => Some(json!({ "regexp": { bigram_field: { "value": pattern } } })),
            _ if consecutive && patterns.iter().any(Option::is_some) => {
                let clauses: Vec<Value> = texts
                    .iter()
                    .zip(&patterns)
                    .map(|(t, pattern)| match pattern {
                        Some(p) => json!({ "span_multi": { "match": { "regexp": { bigram_field.clone(): { "value": p } } } } }),
                        None => json!({ "span_term": { bigram_field.clone(): t } }),
                    })
                    .collect();
                Some(json!({ "span_near": { "clauses": clauses, "slop": 0, "in_order": true } }))
            }
            _ => Some(json!({ "match_phrase": { bigram_field: { "query": norm.text } } })),
        }
    }

    /// Matches when every unit matches.
    fn all_units(&self, units: &[Unit], scope: Scope) -> Value {
        if let [u] = units {
            return self.unit(u, scope);
        }
        let must: Vec<Value> = units.iter().map(|u| self.unit(u, scope)).collect();
        json!({ "bool": { "filter": must } })
    }

    /// The ranking clauses: the units' words over the scope's fields as one
    /// field (`cross_fields`), and their bigrams weighted by `bigram`.
    fn ranking(&self, units: &[(&Unit, Scope, bool)]) -> (Vec<Value>, Vec<Value>) {
        let rank = self.ranking;
        let mut seen: Vec<(String, Scope, bool)> = Vec::new();
        let (mut words, mut bigrams) = (Vec::new(), Vec::new());
        for &(u, scope, whole) in units {
            let weights: Vec<(&str, f32)> = match scope {
                Scope::Any => vec![("title", rank.title), ("body", rank.body)],
                Scope::Title => vec![("title", 1.0)],
                Scope::Body => vec![("body", 1.0)],
            };
            let (text, suffix) = match &u.base {
                Some(b) => (b.clone(), ".base"),
                None => (u.text.clone(), ""),
            };
            if !seen.contains(&(text.clone(), scope, false)) {
                let fields: Vec<String> = weights
                    .iter()
                    .map(|(f, w)| weighted(&format!("{f}{suffix}"), *w))
                    .collect();
                let clause = json!({ "multi_match": {
                    "query": text, "type": "cross_fields", "fields": fields, "operator": "or"
                } });
                // A quoted phrase's words rank only (they match it whole).
                if whole {
                    bigrams.push(clause);
                } else {
                    words.push(clause);
                }
                seen.push((text, scope, false));
            }
            if rank.bigram > 0.0 && !seen.contains(&(u.text.clone(), scope, true)) {
                let fields: Vec<String> = weights
                    .iter()
                    .map(|(f, w)| weighted(&format!("{f}.bigram"), *w))
                    .collect();
                // As written in the configuration (0.2, not 0.20000000298…).
                let boost: f64 = rank.bigram.to_string().parse().unwrap_or(0.0);
                bigrams.push(json!({ "multi_match": {
                    "query": u.text, "type": "cross_fields", "fields": fields,
                    "operator": "or", "boost": boost
                } }));
                seen.push((u.text.clone(), scope, true));
            }
        }
        (words, bigrams)
    }

    /// The query for a plan's text (None when `q` is empty), as
    /// [`crate::search::query::QueryBuilder::text_query`] builds it locally.
    pub fn text_query(&self, plan: &QueryPlan, op: Operator) -> Option<Value> {
        let several = plan.positive_units().nth(1).is_some();
        let mut items: Vec<Value> = Vec::new();
        let mut excluded: Vec<Value> = Vec::new();
        let mut positive: Vec<(&Unit, Scope, bool)> = Vec::new();
        for group in &plan.groups {
            let mut alternatives = Vec::new();
            for c in group {
                let scope = c.clause.scope;
                if c.clause.negated {
                    excluded.push(self.all_units(&c.units, scope));
                    continue;
                }
                let whole = c.clause.quoted;
                positive.extend(c.units.iter().map(|u| (u, scope, whole)));
                if group.len() == 1 {
                    for u in &c.units {
                        if op == Operator::Or && several && !whole {
                            let subs: Vec<Value> = scope_fields(scope)
                                .iter()
                                .filter_map(|f| self.bigram(f, u))
                                .collect();
                            if !subs.is_empty() {
                                items.push(any_of(subs));
                            }
                        } else {
                            items.push(self.unit(u, scope));
                        }
                    }
                } else {
                    alternatives.push(self.all_units(&c.units, scope));
                }
            }
            if !alternatives.is_empty() {
                items.push(any_of(alternatives));
            }
        }
        if items.is_empty() {
            return (!excluded.is_empty()).then(|| json!({ "bool": { "must_not": excluded } }));
        }
        let (words, bigrams) = self.ranking(&positive);
        if op == Operator::Or {
            let mut any: Vec<Value> = items.into_iter().map(zero).collect();
            any.extend(words);
            return Some(bool_of(&[
                ("must", vec![any_of(any)]),
                ("should", bigrams),
                ("must_not", excluded),
            ]));
        }
        let n = items.len();
        let required = op.required(n);
        let matching = if n == 1 {
            items.into_iter().next().expect("one")
        } else if required == n {
            json!({ "bool": { "filter": items } })
        } else {
            json!({ "bool": { "should": items, "minimum_should_match": required } })
        };
        let mut should = words;
        should.extend(bigrams);
        Some(bool_of(&[
            ("filter", vec![matching]),
            ("should", should),
            ("must_not", excluded),
        ]))
    }

    /// The `entity` key of an entity filter (`type:key` when typed).
    pub fn entity_term(&self, kind: Option<EntityType>, name: &str) -> Value {
        let key = resolve_entity(self.analyzer, name);
        let key = match kind {
            Some(k) => format!("{}:{key}", k.as_str()),
            None => key,
        };
        json!({ "term": { "entity": key } })
    }

    /// The date range of `r` (None when it has none).
    pub fn date_filter(&self, r: &SearchRequest) -> Option<Value> {
        if r.from.is_none() && r.to.is_none() {
            return None;
        }
        let mut range = serde_json::Map::new();
        if let Some(f) = r.from {
            range.insert("gte".into(), json!(tokyo_midnight(f)));
        }
        if let Some(t) = r.to.and_then(|d| d.checked_add_days(Days::new(1))) {
            range.insert("lt".into(), json!(tokyo_midnight(t)));
        }
        Some(json!({ "range": { "published": range } }))
    }

    /// The filters of `r`: entities (ANDed), sources (ORed), dates.
    pub fn filters(&self, r: &SearchRequest) -> Vec<Value> {
        let mut out: Vec<Value> = r
            .entities
            .iter()
            .map(|e| self.entity_term(None, e))
            .chain(
                r.typed_entities
                    .iter()
                    .map(|(k, e)| self.entity_term(Some(*k), e)),
            )
            .collect();
        if !r.sources.is_empty() {
            out.push(json!({ "terms": { "source": r.sources } }));
        }
        out.extend(self.date_filter(r));
        out
    }

    /// The whole query of `r` (text, filters and `extra` filters).
    pub fn query(&self, r: &SearchRequest, plan: &QueryPlan, extra: Vec<Value>) -> Value {
        let mut filter = self.filters(r);
        filter.extend(extra);
        match self.text_query(plan, r.op) {
            Some(text) if filter.is_empty() => text,
            Some(text) => json!({ "bool": { "must": [text], "filter": filter } }),
            None if filter.is_empty() => json!({ "match_all": {} }),
            None => json!({ "bool": { "filter": filter } }),
        }
    }

    /// The body of a `/search`: `from`/`size` (or `search_after` a cursor),
    /// a sort ending on the `id` tiebreaker, exact totals, facets.
    pub fn search_body(&self, r: &SearchRequest, plan: &QueryPlan, after: Option<&Value>) -> Value {
        let sort = match r.sort {
            Sort::Relevance => json!([{ "_score": "desc" }, { "id": "asc" }]),
            Sort::Newest => {
                json!([{ "published": { "order": "desc", "missing": "_last" } }, { "id": "asc" }])
            }
            Sort::Oldest => {
                json!([{ "published": { "order": "asc", "missing": "_last" } }, { "id": "asc" }])
            }
        };
        let mut aggs = serde_json::Map::new();
        aggs.insert(DOCUMENTS_AGG.into(), json!({ "global": {} }));
        for f in &r.facets {
            aggs.insert(
                f.clone(),
                json!({ "terms": {
                    "field": f,
                    "size": r.facet_limit,
                    "shard_size": r.facet_limit * 3 / 2 + 10,
                    "order": [{ "_count": "desc" }, { "_key": "asc" }],
                } }),
            );
        }
        let mut body = json!({
            "query": self.query(r, plan, Vec::new()),
            "size": r.limit,
            "sort": sort,
            "track_total_hits": true,
            "_source": SOURCE_FIELDS,
            "aggs": aggs,
        });
        match after {
            Some(a) => body["search_after"] = a.clone(),
            None => body["from"] = json!(r.offset),
        }
        body
    }

    /// The body of a `/timeline`: articles per bucket in Asia/Tokyo, all
    /// of them (dates only) and the matched ones (a `filter` aggregation).
    pub fn timeline_body(&self, r: &SearchRequest, plan: &QueryPlan, interval: Interval) -> Value {
        let histogram = json!({ "date_histogram": {
            "field": "published",
            "calendar_interval": match interval {
                Interval::Day => "day",
                Interval::Week => "week",
                Interval::Month => "month",
                Interval::Year => "year",
            },
            "time_zone": "Asia/Tokyo",
            "format": "yyyy-MM-dd",
            "min_doc_count": 1,
        } });
        let dates: Vec<Value> = self.date_filter(r).into_iter().collect();
        json!({
            "size": 0,
            "track_total_hits": true,
            "query": if dates.is_empty() { json!({ "match_all": {} }) } else { json!({ "bool": { "filter": dates } }) },
            "aggs": {
                DOCUMENTS_AGG: { "global": {} },
                "all": histogram,
                "matched": {
                    "filter": self.query(r, plan, Vec::new()),
                    "aggs": {
                        "days": histogram,
                        "undated": { "missing": { "field": "published" } },
                    }
                }
            }
        })
    }

    /// The first body of a `/cooccurrence`: the articles in scope (their
    /// number is the total), and the entities of those that mention X.
    pub fn cooccurrence_body(
        &self,
        r: &SearchRequest,
        plan: &QueryPlan,
        kind: Option<EntityType>,
        entity: &str,
    ) -> Value {
        let mut per_type = serde_json::Map::new();
        for t in EntityType::ALL {
            per_type.insert(
                t.as_str().into(),
                json!({ "terms": { "field": t.as_str(), "size": COOCCURRENCE_TERMS } }),
            );
        }
        json!({
            "size": 0,
            "track_total_hits": true,
            "query": self.query(r, plan, Vec::new()),
            "aggs": {
                DOCUMENTS_AGG: { "global": {} },
                "x": { "filter": self.entity_term(kind, entity), "aggs": per_type },
            }
        })
    }

    /// The second body of a `/cooccurrence`: how many articles in scope
    /// mention each of `names` (per type), whether or not with X.
    pub fn cooccurrence_counts_body(
        &self,
        r: &SearchRequest,
        plan: &QueryPlan,
        names: &[(EntityType, Vec<String>)],
    ) -> Value {
        let mut aggs = serde_json::Map::new();
        for (t, values) in names {
            aggs.insert(
                t.as_str().into(),
                json!({ "terms": { "field": t.as_str(), "include": values, "size": values.len().max(1) } }),
            );
        }
        json!({
            "size": 0,
            "track_total_hits": false,
            "query": self.query(r, plan, Vec::new()),
            "aggs": aggs,
        })
    }

    /// The body of `/entities`: per type, the most mentioned names; with a
    /// `prefix`, those starting with it as written (`regex` on the keyword)
    /// and the gazetteer's entities whose name or alias starts with it
    /// (`known`: canonical names per type, exact).
    pub fn entities_body(
        &self,
        kinds: &[EntityType],
        prefix: Option<&str>,
        known: &[(EntityType, Vec<String>)],
        limit: usize,
    ) -> Value {
        let mut aggs = serde_json::Map::new();
        for k in kinds {
            let mut terms = json!({ "field": k.as_str(), "size": limit });
            if let Some(p) = prefix {
                let norm = crate::analysis::normalize::normalize_str(p);
                let mut alternatives = vec![format!("{}.*", lucene_regex_escape(p.trim()))];
                if norm != p.trim() {
                    alternatives.push(format!("{}.*", lucene_regex_escape(&norm)));
                }
                terms["include"] = json!(alternatives.join("|"));
            }
            aggs.insert(k.as_str().into(), json!({ "terms": terms }));
            if let Some((_, names)) = known.iter().find(|(t, n)| t == k && !n.is_empty()) {
                aggs.insert(
                    format!("{}_known", k.as_str()),
                    json!({ "terms": { "field": k.as_str(), "include": names, "size": names.len() } }),
                );
            }
        }
        json!({ "size": 0, "track_total_hits": false, "query": { "match_all": {} }, "aggs": aggs })
    }

    /// The body of `/entities/{name}`: the articles with the entity (their
    /// number), the earliest one (sort) and the latest (`top_hits`).
    pub fn entity_detail_body(&self, name: &str) -> Value {
        json!({
            "query": self.entity_term(None, name),
            "size": 1,
            "sort": [{ "published": { "order": "asc", "missing": "_last" } }, { "id": "asc" }],
            "track_total_hits": true,
            "_source": SOURCE_FIELDS,
            "aggs": {
                DOCUMENTS_AGG: { "global": {} },
                "last": { "top_hits": {
                    "size": 1,
                    "sort": [{ "published": { "order": "desc", "missing": "_last" } }],
                    "_source": ["published"],
                } },
            }
        })
    }

    /// One page of an `/export`: everything matching, in `id` order, after
    /// the last id of the previous page.
    pub fn export_body(
        &self,
        r: &SearchRequest,
        plan: &QueryPlan,
        page: usize,
        after: Option<&str>,
    ) -> Value {
        let mut body = json!({
            "query": self.query(r, plan, Vec::new()),
            "size": page,
            "sort": [{ "id": "asc" }],
            "track_total_hits": false,
            "_source": SOURCE_FIELDS,
        });
        if let Some(a) = after {
            body["search_after"] = json!([a]);
        }
        body
    }
}

/// `text` as a literal in Lucene's regular-expression syntax.
pub fn lucene_regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if ".?+*|{}[]()\"\\#@&<>~".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_literals_are_escaped() {
        assert_eq!(lucene_regex_escape("金正恩"), "金正恩");
        assert_eq!(lucene_regex_escape("a.b(c)"), "a\\.b\\(c\\)");
    }

    #[test]
    fn days_are_tokyo_midnights() {
        let d = NaiveDate::from_ymd_opt(2024, 11, 1).unwrap();
        assert_eq!(tokyo_midnight(d), "2024-11-01T00:00:00+09:00");
        assert_eq!(weighted("title", 0.2), "title^0.2");
        assert_eq!(weighted("body", 1.0), "body^1");
    }
}
