//! `GET /articles/{id}/related`: other coverage of the story an article
//! tells — not its copies. The article's most distinctive words (tantivy's
//! `MoreLikeThisQuery`: the title's and body's morphemes and the keys of its
//! entities, weighted by frequency in the article × rarity in the index)
//! make a query; the article's own duplicate group is left out, and the
//! usual filters apply. The candidates are ranked again by how alike their
//! entities are (cosine of mentions × rarity): coverage of the same story
//! names the same actors, the rarer ones above all, where an article merely
//! sharing vocabulary (a Russia story for an article about North Korean
//! troops in Russia) names others.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, ConstScoreQuery, MoreLikeThisQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, OwnedValue};
use tantivy::{DocAddress, Term};
use utoipa::ToSchema;

use super::{Engine, SearchRequest};
use crate::error::Result;
use crate::index::entity_keys;

/// Words of the article that make the query (the most distinctive first).
pub const MAX_QUERY_TERMS: usize = 40;
/// Candidates ranked again: `limit` × this, within [`MIN_POOL`, `MAX_POOL`].
const POOL_FACTOR: usize = 5;
const MIN_POOL: usize = 50;
const MAX_POOL: usize = 500;
/// Added to the entity cosine: a candidate sharing no entity keeps this
/// share of its word score.
const ENTITY_FLOOR: f32 = 0.1;

/// `GET /articles/{id}/related`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Related {
    /// The article asked about.
    pub id: String,
    /// Other articles about the same event or subject, most related first;
    /// never the article's own duplicates.
    pub articles: Vec<RelatedArticle>,
}

/// An article related to the one asked about.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct RelatedArticle {
    pub id: String,
    pub title: String,
    #[schema(value_type = Option<String>)]
    pub published: Option<DateTime<FixedOffset>>,
    pub source: Option<String>,
    /// How related, comparable within one answer only: the more-like-this
    /// score (shared distinctive words, relative to the best candidate) ×
    /// (0.1 + the cosine of the two articles' entity profiles, an entity
    /// weighing its mentions × its rarity).
    pub score: f32,
    /// Canonical names of the entities both articles mention.
    pub shared_entities: Vec<String>,
}

impl Engine {
    /// Articles related to the article `id`, at most `limit`, among those
    /// `r`'s filters select (with `r.dedup`, one per duplicate group);
    /// `None` if there is no such article.
    pub fn related(&self, id: &str, r: &SearchRequest, limit: usize) -> Result<Option<Related>> {
        let searcher = self.searcher();
        let Some(addr) = self.address(&searcher, id)? else {
            return Ok(None);
        };
        let me = self.load(&searcher, addr)?;
        let f = &self.fields;
        // Each entity key as often as the article mentions the entity: its
        // weight is its frequency here × its rarity in the index, as for words.
        let keys: Vec<OwnedValue> = me
            .entities
            .iter()
            .flat_map(|e| {
                entity_keys(&e.canonical, e.kind)
                    .into_iter()
                    .flat_map(move |k| std::iter::repeat_n(k, e.count))
            })
            .map(OwnedValue::Str)
            .collect();
        let mut fields = vec![
            (f.title, vec![OwnedValue::Str(me.article.title.clone())]),
            (f.body, vec![OwnedValue::Str(me.article.body.clone())]),
        ];
        if !keys.is_empty() {
            fields.push((f.entity, keys));
        }
        let num_docs = searcher.num_docs();
        let like = MoreLikeThisQuery::builder()
            // A word only this article has finds nothing; one in a tenth of
            // the archive tells little (small indexes: no such limit, the
            // article's own copies alone may hold a word).
            .with_min_doc_frequency(2)
            .with_max_doc_frequency((num_docs / 10).max(20))
            .with_min_term_frequency(1)
            .with_max_query_terms(MAX_QUERY_TERMS)
            .with_boost_factor(1.0)
            .with_document_fields(fields);
        let own: Box<dyn Query> = match crate::dedup::groups::group_at(self, &searcher, addr) {
            Some(group) => crate::dedup::groups::group_query(self, &group),
            None => Box::new(TermQuery::new(
                Term::from_field_text(f.id, id),
                IndexRecordOption::Basic,
            )),
        };
        let filter = self.build_query(r)?;
        let query = BooleanQuery::new(vec![
            (Occur::Must, Box::new(like) as Box<dyn Query>),
            // Filters select; they do not rank.
            (Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))),
            (Occur::MustNot, own),
        ]);
        // More than `limit` are read: they are ranked again, and with dedup
        // `limit` groups must remain.
        let pool = (limit * POOL_FACTOR).clamp(MIN_POOL, MAX_POOL);
        let top: Vec<(f32, DocAddress)> =
            searcher.search(&query, &TopDocs::with_limit(pool).order_by_score())?;
        let best = top.first().map_or(1.0, |t| t.0).max(f32::MIN_POSITIVE);
        // Entities weigh their mentions × their rarity (tf-idf); two
        // articles' entity profiles are compared by cosine.
        let mut idf_cache: HashMap<String, f32> = HashMap::new();
        let mut idf = |canonical: &str, kind| -> f32 {
            if let Some(&v) = idf_cache.get(canonical) {
                return v;
            }
            let key = entity_keys(canonical, kind).swap_remove(0);
            let df = searcher
                .doc_freq(&Term::from_field_text(f.entity, &key))
                .unwrap_or(0);
            let v = (1.0 + num_docs as f32 / (df.max(1) as f32)).ln();
            idf_cache.insert(canonical.to_string(), v);
            v
        };
        let profile = |entities: &[crate::index::ArticleEntity],
                       idf: &mut dyn FnMut(&str, crate::analysis::gazetteer::EntityType) -> f32|
         -> HashMap<String, f32> {
            let mut v: HashMap<String, f32> = HashMap::new();
            for e in entities {
                *v.entry(e.canonical.clone()).or_default() +=
                    e.count as f32 * idf(&e.canonical, e.kind);
            }
            v
        };
        let norm = |v: &HashMap<String, f32>| v.values().map(|x| x * x).sum::<f32>().sqrt();
        let mine = profile(&me.entities, &mut idf);
        let my_norm = norm(&mine).max(f32::MIN_POSITIVE);
        let mut ranked = Vec::with_capacity(top.len());
        for (score, other) in top {
            let s = self.load(&searcher, other)?;
            let theirs = profile(&s.entities, &mut idf);
            let dot: f32 = theirs
                .iter()
                .filter_map(|(e, w)| mine.get(e).map(|m| m * w))
                .sum();
            let cosine = dot / (my_norm * norm(&theirs).max(f32::MIN_POSITIVE));
            let mut shared_entities: Vec<(f32, String)> = theirs
                .iter()
                .filter_map(|(e, w)| mine.get(e).map(|m| (m * w, e.clone())))
                .collect();
            shared_entities.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let shared_entities = shared_entities.into_iter().map(|(_, e)| e).collect();
            // Words make the candidates; the entities they share with the
            // article rank them: the same story has the same actors.
            let score = score / best * (ENTITY_FLOOR + cosine);
            ranked.push((score, other, s, shared_entities));
        }
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut groups_seen = HashSet::new();
        let columns = crate::dedup::groups::Columns::new(&searcher);
        let aliases = self.aliases();
        let mut articles = Vec::new();
        for (score, other, s, shared_entities) in ranked {
            if articles.len() == limit {
                break;
            }
            if r.dedup
                && let Some(g) = columns.group(&searcher, other)
                && !groups_seen.insert(aliases.canonical(&g).to_string())
            {
                continue;
            }
            articles.push(RelatedArticle {
                id: s.article.id,
                title: s.article.title,
                published: s.article.published,
                source: s.article.source,
                score: (score * 1000.0).round() / 1000.0,
                shared_entities,
            });
        }
        Ok(Some(Related {
            id: me.article.id,
            articles,
        }))
    }
}
