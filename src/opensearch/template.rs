//! The index template, generated from kiji's configuration and analyser, and
//! the names of the versioned indices behind the alias.
//!
//! * `title` and `body` are analysed by `kiji_ja`: kiji's normalisation
//!   (a `mapping` char filter, see [`super::normalization`]) then kuromoji in
//!   search mode with the user dictionary from kiji's gazetteer (inline, so
//!   no file has to be copied to the nodes). Their `.bigram` sub-fields are
//!   analysed by `kiji_bigram` (the same char filter, the standard tokenizer,
//!   `cjk_bigram`): overlapping CJK bigrams with increasing positions, so a
//!   phrase query on them is an exact-substring match, as kiji's `ja_bigram`.
//!   Their `.base` sub-fields hold kuromoji's dictionary forms
//!   (`kuromoji_baseform`), which queries use for inflected words.
//! * `published`/`updated` are dates; kiji sends them with their offset
//!   (+09:00, Asia/Tokyo, when the source gave none) and queries and
//!   histograms must use `time_zone: Asia/Tokyo`.
//! * entities: `entity` (normalised keys `name` and `type:name`, for
//!   filters), `person`/`organization`/`place` (canonical names, for
//!   facets), and `entity_spans` (nested: canonical, type, surface, field,
//!   start, end in code points).
//! * `kiji.*`: provenance (dictionary, gazetteer hash, model version, content hash).
//!
//! Needs the `analysis-kuromoji` plugin on every node; nothing else.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::document::Provenance;
use super::normalization;
use super::user_dictionary;
use crate::analysis::Analyzer;
use crate::config::OpenSearchConfig;

/// The analyser of `title` and `body`.
pub const MORPH_ANALYZER: &str = "kiji_ja";
/// The analyser of their `.bigram` sub-fields.
pub const BIGRAM_ANALYZER: &str = "kiji_bigram";
/// The analyser of their `.base` sub-fields: kuromoji's dictionary forms, so
/// an inflected word of a query matches every inflection (as kiji's `ja`
/// field, which indexes the dictionary form beside the surface).
pub const BASE_ANALYZER: &str = "kiji_ja_base";

/// The name of the index a rebuild started at `at` creates: `<alias>-v<UTC time>`.
pub fn versioned_index(alias: &str, at: DateTime<Utc>) -> String {
    format!("{alias}-v{}", at.format("%Y%m%d-%H%M%S-%3f"))
}

/// The pattern every versioned index of `alias` matches (the template's).
pub fn index_pattern(alias: &str) -> String {
    format!("{alias}-v*")
}

/// The char filters both analysers start with: kiji's normalisation, then
/// its context rules (none today).
fn char_filters() -> (Value, Vec<String>) {
    let mut filters = serde_json::Map::new();
    let mappings: Vec<String> = normalization::rules()
        .iter()
        .map(normalization::mapping_rule)
        .collect();
    filters.insert(
        "kiji_normalize".into(),
        json!({ "type": "mapping", "mappings": mappings }),
    );
    let mut names = vec!["kiji_normalize".to_string()];
    for (i, (pattern, replacement)) in normalization::CONTEXT_RULES.iter().enumerate() {
        let name = format!("kiji_context_{i}");
        filters.insert(
            name.clone(),
            json!({ "type": "pattern_replace", "pattern": pattern, "replacement": replacement }),
        );
        names.push(name);
    }
    (Value::Object(filters), names)
}

/// The analysis settings: char filters, tokenizers, analysers.
pub fn analysis(analyzer: &Analyzer) -> Value {
    let (char_filter, names) = char_filters();
    json!({
        "char_filter": char_filter,
        "tokenizer": {
            "kiji_kuromoji": {
                "type": "kuromoji_tokenizer",
                "mode": "search",
                "discard_punctuation": true,
                "discard_compound_token": false,
                "user_dictionary_rules": user_dictionary::rules(analyzer.gazetteer()),
            }
        },
        "filter": {
            "kiji_bigrams": {
                "type": "cjk_bigram",
                "ignored_scripts": [],
                "output_unigrams": false,
            }
        },
        "analyzer": {
            MORPH_ANALYZER: {
                "type": "custom",
                "char_filter": names,
                "tokenizer": "kiji_kuromoji",
                "filter": [],
            },
            BIGRAM_ANALYZER: {
                "type": "custom",
                "char_filter": names,
                "tokenizer": "standard",
                "filter": ["kiji_bigrams"],
            },
            BASE_ANALYZER: {
                "type": "custom",
                "char_filter": names,
                "tokenizer": "kiji_kuromoji",
                "filter": ["kuromoji_baseform"],
            }
        }
    })
}

/// The mappings: every field kiji sends, and nothing else (`dynamic: strict`).
pub fn mappings(provenance: &Provenance) -> Value {
    let text = json!({
        "type": "text",
        "analyzer": MORPH_ANALYZER,
        "fields": {
            "bigram": { "type": "text", "analyzer": BIGRAM_ANALYZER },
            "base": { "type": "text", "analyzer": BASE_ANALYZER },
        }
    });
    let keyword = json!({ "type": "keyword" });
    let date = json!({ "type": "date", "format": "strict_date_optional_time||epoch_second" });
    json!({
        "dynamic": "strict",
        "_meta": { "kiji": provenance, "offsets": "code points of the field, [start, end)" },
        "properties": {
            "id": keyword,
            "title": text,
            "body": text,
            "published": date,
            "updated": date,
            "source": keyword,
            "url": { "type": "keyword", "index": false },
            "author": keyword,
            "author_profile": { "type": "text", "analyzer": MORPH_ANALYZER },
            "credits": { "type": "text", "analyzer": MORPH_ANALYZER },
            "tags": keyword,
            "cited_outlets": keyword,
            "entity": keyword,
            "person": keyword,
            "organization": keyword,
            "place": keyword,
            "entity_spans": {
                "type": "nested",
                "properties": {
                    "canonical": keyword,
                    "type": keyword,
                    "surface": keyword,
                    "field": keyword,
                    "start": { "type": "integer" },
                    "end": { "type": "integer" },
                }
            },
            "kiji": {
                "properties": {
                    "dictionary": keyword,
                    "gazetteer_hash": keyword,
                    "model_version": keyword,
                    "content_hash": keyword,
                }
            }
        }
    })
}

/// The composable index template (`PUT _index_template/<alias>`).
pub fn index_template(config: &OpenSearchConfig, analyzer: &Analyzer) -> Value {
    let provenance = Provenance::of(analyzer);
    json!({
        "index_patterns": [index_pattern(&config.alias)],
        "priority": 100,
        "_meta": {
            "generated_by": concat!("kiji ", env!("CARGO_PKG_VERSION")),
            "alias": config.alias,
            "kiji": provenance,
        },
        "template": {
            "settings": {
                "index": {
                    "number_of_shards": config.shards,
                    "number_of_replicas": config.replicas,
                },
                "analysis": analysis(analyzer),
            },
            "mappings": mappings(&provenance),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_sort_by_time_and_match_the_pattern() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let a = versioned_index("kiji-articles", t("2024-10-31T09:00:00.5Z"));
        let b = versioned_index("kiji-articles", t("2024-11-01T00:00:00Z"));
        assert_eq!(a, "kiji-articles-v20241031-090000-500");
        assert!(a < b);
        assert!(a.starts_with(index_pattern("kiji-articles").trim_end_matches('*')));
    }
}
