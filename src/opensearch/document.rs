//! The OpenSearch document of an article: its fields, its entities as
//! keyword fields per type and as nested spans, and where its analysis came
//! from.
//!
//! Entity span offsets are **code points** (Unicode scalar values) into the
//! field they are in, `[start, end)` — the unit of kiji's own API. Java and
//! JavaScript index strings in UTF-16 units: use
//! `text.offsetByCodePoints(0, start)` / `Array.from(text)` there.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::analysis::gazetteer::EntityType;
use crate::analysis::{Analyzer, CharIndex};
use crate::index::{StoredArticle, entity_terms};

/// The version of kiji's entity extraction: the gazetteer, IPADIC part of
/// speech and the news-abbreviation rules of this kiji release.
pub const ENTITY_MODEL_VERSION: &str = concat!("kiji-rules-", env!("CARGO_PKG_VERSION"));

/// Where an article's analysis came from: stored with every document, so a
/// result from the cluster can be traced to the dictionary and entity model
/// that produced it (and re-exported when they change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The IPADIC build, e.g. `mecab-ipadic 2.7.0-20070801+main-3 (Debian)`.
    pub dictionary: String,
    /// The hash kiji reports for its gazetteer (shipped list + user file).
    pub gazetteer_hash: String,
    /// The entity extraction's version ([`ENTITY_MODEL_VERSION`]).
    pub model_version: String,
}

impl Provenance {
    pub fn of(analyzer: &Analyzer) -> Provenance {
        let info = analyzer.info();
        Provenance {
            dictionary: format!("{} {}", info.name, info.source),
            gazetteer_hash: info.gazetteer_hash.clone(),
            model_version: ENTITY_MODEL_VERSION.to_string(),
        }
    }
}

/// The document indexed for a stored article.
pub fn document(stored: &StoredArticle, provenance: &Provenance) -> Value {
    let a = &stored.article;
    let (title_chars, body_chars) = (CharIndex::new(&a.title), CharIndex::new(&a.body));
    let mut keys = Vec::new();
    let mut by_type: [Vec<&str>; 3] = Default::default();
    let mut spans = Vec::new();
    for e in &stored.entities {
        keys.extend(entity_terms(&e.canonical, e.kind));
        let slot = match e.kind {
            EntityType::Person => 0,
            EntityType::Organization => 1,
            EntityType::Place => 2,
        };
        by_type[slot].push(&e.canonical);
        for (field, text, chars, ranges) in [
            ("title", &a.title, &title_chars, &e.title_spans),
            ("body", &a.body, &body_chars, &e.body_spans),
        ] {
            for &(s, end) in ranges {
                let Some(surface) = text.get(s..end) else {
                    continue;
                };
                spans.push(json!({
                    "canonical": e.canonical,
                    "type": e.kind,
                    "surface": surface,
                    "field": field,
                    "start": chars.at(s),
                    "end": chars.at(end),
                }));
            }
        }
    }
    keys.sort();
    keys.dedup();
    let [person, organization, place] = by_type;
    json!({
        "id": a.id,
        "title": a.title,
        "body": a.body,
        "published": a.published,
        "updated": a.updated,
        "source": a.source,
        "url": a.url,
        "author": a.author,
        "author_profile": a.author_profile,
        "credits": a.credits,
        "tags": a.tags,
        "cited_outlets": a.cited_outlets,
        "entity": keys,
        "person": person,
        "organization": organization,
        "place": place,
        "entity_spans": spans,
        "kiji": {
            "dictionary": provenance.dictionary,
            "gazetteer_hash": provenance.gazetteer_hash,
            "model_version": provenance.model_version,
            "content_hash": stored.hash,
        },
    })
}
