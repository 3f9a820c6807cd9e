//! `GET /articles/{id}/related`: other coverage of the story an article
//! tells — not its copies. The article's most distinctive words (tantivy's
//! `MoreLikeThisQuery`: the title's and body's morphemes and the keys of its
//! entities, weighted by frequency in the article × rarity in the index)
//! make a query; the article's own duplicate group is left out, and the
//! usual filters apply.

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
/// Shortest word taken, in bytes: a single kana or kanji (3 bytes) is mostly
/// a particle or a fragment of a name.
const MIN_WORD_BYTES: usize = 4;

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
    /// How related (the more-like-this score: the shared distinctive words'
    /// weights; comparable within one answer only).
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
        let keys: Vec<OwnedValue> = me
            .entities
            .iter()
            .flat_map(|e| entity_keys(&e.canonical, e.kind))
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
            // A word only this article has finds nothing; one in a fifth
            // of the archive tells little.
            .with_min_doc_frequency(2)
            .with_max_doc_frequency((num_docs / 5).max(3))
            .with_min_term_frequency(1)
            .with_min_word_length(MIN_WORD_BYTES)
            .with_max_query_terms(MAX_QUERY_TERMS)
            .with_boost_factor(1.0)
            .with_document_fields(fields);
        let own: Box<dyn Query> = match crate::dedup::groups::group_at(&searcher, addr) {
            Some(group) => Box::new(TermQuery::new(
                Term::from_field_text(f.dedup_group, &group),
                IndexRecordOption::Basic,
            )),
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
        // With dedup, more than `limit` are read so that `limit` groups remain.
        let window = if r.dedup { limit * 4 } else { limit };
        let top: Vec<(f32, DocAddress)> =
            searcher.search(&query, &TopDocs::with_limit(window).order_by_score())?;
        let mine: Vec<&str> = me.entities.iter().map(|e| e.canonical.as_str()).collect();
        let mut groups_seen = std::collections::HashSet::new();
        let mut articles = Vec::new();
        for (score, other) in top {
            if articles.len() == limit {
                break;
            }
            if r.dedup
                && let Some(g) = crate::dedup::groups::group_at(&searcher, other)
                && !groups_seen.insert(g)
            {
                continue;
            }
            let s = self.load(&searcher, other)?;
            let mut shared_entities: Vec<String> = s
                .entities
                .iter()
                .filter(|e| mine.contains(&e.canonical.as_str()))
                .map(|e| e.canonical.clone())
                .collect();
            shared_entities.dedup();
            articles.push(RelatedArticle {
                id: s.article.id,
                title: s.article.title,
                published: s.article.published,
                source: s.article.source,
                score,
                shared_entities,
            });
        }
        Ok(Some(Related {
            id: me.article.id,
            articles,
        }))
    }
}
