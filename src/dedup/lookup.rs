//! Reading duplicate groups: an article's group, its representative (the
//! earliest article) and the other copies.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use utoipa::ToSchema;

use super::groups;
use crate::article::Article;
use crate::error::Result;
use crate::index::Store;

/// `GET /articles/{id}/duplicates`.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct Duplicates {
    /// The id of the group's representative: its earliest article (by
    /// publication time; undated articles last, then by id).
    pub group: String,
    /// The group's other articles, earliest first.
    pub articles: Vec<DuplicateArticle>,
}

/// A copy of the article asked about.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct DuplicateArticle {
    pub id: String,
    pub title: String,
    #[schema(value_type = Option<String>)]
    pub published: Option<DateTime<FixedOffset>>,
    pub source: Option<String>,
    /// Estimated share of the shorter body's 5-character shingles found in
    /// the other body (0–1; what `[dedup] threshold` compares). An article
    /// linked to this one only through another copy may be below the threshold.
    pub similarity: f64,
}

/// Orders articles earliest first: by publication time, undated last, then by id.
pub fn earliest_first(a: &Article, b: &Article) -> Ordering {
    match (a.published, b.published) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.id.cmp(&b.id))
}

/// The duplicate group of the article `id`; `None` if there is no such article.
pub fn duplicates(store: &Store, id: &str) -> Result<Option<Duplicates>> {
    let searcher = store.searcher();
    let Some(addr) = store.address(&searcher, id)? else {
        return Ok(None);
    };
    let me = store.load(&searcher, addr)?.article;
    let columns = groups::Columns::new(&searcher);
    let Some(group) = columns.group(&searcher, addr) else {
        return Ok(Some(Duplicates {
            group: me.id,
            articles: Vec::new(),
        }));
    };
    let signature = columns.signature(&searcher, addr);
    let mut all = vec![me.clone()];
    let mut articles = Vec::new();
    for other in groups::members(store, &searcher, &group)? {
        if other == addr {
            continue;
        }
        let a = store.load(&searcher, other)?.article;
        let similarity = match (&signature, columns.signature(&searcher, other)) {
            (Some(x), Some(y)) => (x.similarity(&y).containment * 1000.0).round() / 1000.0,
            _ => 0.0,
        };
        articles.push((a.clone(), similarity));
        all.push(a);
    }
    let representative = all
        .iter()
        .min_by(|a, b| earliest_first(a, b))
        .map(|a| a.id.clone())
        .unwrap_or_else(|| me.id.clone());
    articles.sort_by(|a, b| earliest_first(&a.0, &b.0));
    Ok(Some(Duplicates {
        group: representative,
        articles: articles
            .into_iter()
            .map(|(a, similarity)| DuplicateArticle {
                id: a.id,
                title: a.title,
                published: a.published,
                source: a.source,
                similarity,
            })
            .collect(),
    }))
}
