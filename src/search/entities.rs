//! Entity listings: `/entities` (with document counts) and `/entities/{name}`.

use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{AllQuery, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Order, Term};
use utoipa::ToSchema;

use super::facets::FacetCollector;
use crate::analysis::gazetteer::{EntityType, Gazetteer};
use crate::analysis::normalize::normalize_str;
use crate::error::{Error, Result};

/// An entity with the number of articles that mention it.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct EntityCount {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub documents: u64,
}

/// Everything kiji knows about one entity.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct EntityDetail {
    pub canonical: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub aliases: Vec<String>,
    pub description: String,
    /// In the gazetteer (else found by part of speech only).
    pub in_gazetteer: bool,
    pub documents: usize,
    #[schema(value_type = Option<String>)]
    pub first_seen: Option<chrono::DateTime<chrono::FixedOffset>>,
    #[schema(value_type = Option<String>)]
    pub last_seen: Option<chrono::DateTime<chrono::FixedOffset>>,
}

/// The articles mentioning an entity: how many, the first and last dates.
pub struct Seen {
    pub documents: usize,
    pub first_seen: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub last_seen: Option<chrono::DateTime<chrono::FixedOffset>>,
}

impl EntityDetail {
    /// The detail of `name`: the gazetteer's entry when it has one, else the
    /// canonical name and type an article gives it (`mention`, asked only
    /// then; a name found by part of speech alone). Both backends build it so.
    pub fn of(
        gazetteer: &Gazetteer,
        name: &str,
        seen: Seen,
        mention: impl FnOnce() -> Result<Option<(String, EntityType)>>,
    ) -> Result<EntityDetail> {
        let Seen {
            documents,
            first_seen,
            last_seen,
        } = seen;
        if let Some(e) = gazetteer.lookup(name) {
            return Ok(EntityDetail {
                canonical: e.canonical.clone(),
                kind: e.kind,
                aliases: e.aliases.clone(),
                description: e.description.clone(),
                in_gazetteer: true,
                documents,
                first_seen,
                last_seen,
            });
        }
        let (canonical, kind) =
            mention()?.ok_or_else(|| Error::EntityNotFound(name.to_string()))?;
        Ok(EntityDetail {
            canonical,
            kind,
            aliases: Vec::new(),
            description: String::new(),
            in_gazetteer: false,
            documents,
            first_seen,
            last_seen,
        })
    }
}

impl super::Engine {
    /// Entities mentioned in the index, most documents first.
    pub fn list_entities(
        &self,
        kind: Option<EntityType>,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<EntityCount>> {
        let kinds: Vec<EntityType> = match kind {
            Some(k) => vec![k],
            None => EntityType::ALL.to_vec(),
        };
        let fields = kinds.iter().map(|k| k.as_str().to_string()).collect();
        let prefix = prefix.map(normalize_str).filter(|p| !p.is_empty());
        // Without a prefix, the `limit` first overall are among each type's
        // `limit` first.
        let collector = match prefix {
            Some(_) => FacetCollector::all(fields),
            None => FacetCollector::top(fields, limit),
        };
        let _running = self.searches.enter();
        let searcher = self.searcher();
        let executor = self.searches.executor(&searcher);
        let counts = super::collect(&searcher, &executor, &AllQuery, &collector)?;
        let mut out = Vec::new();
        for k in kinds {
            for (name, &n) in counts.get(k.as_str()).into_iter().flatten() {
                if let Some(p) = &prefix {
                    let matches = normalize_str(name).starts_with(p.as_str())
                        || self.analyzer.gazetteer().lookup(name).is_some_and(|e| {
                            e.aliases
                                .iter()
                                .any(|a| normalize_str(a).starts_with(p.as_str()))
                        });
                    if !matches {
                        continue;
                    }
                }
                out.push(EntityCount {
                    name: name.clone(),
                    kind: k,
                    documents: n,
                });
            }
        }
        out.sort_by(|a, b| b.documents.cmp(&a.documents).then(a.name.cmp(&b.name)));
        out.truncate(limit);
        Ok(out)
    }

    /// One entity by canonical name or alias.
    pub fn entity_detail(&self, name: &str) -> Result<EntityDetail> {
        let searcher = self.searcher();
        let key = self.resolve_entity(name);
        let q = TermQuery::new(
            Term::from_field_text(self.fields.entity, &key),
            IndexRecordOption::Basic,
        );
        let documents = searcher.search(&q, &Count)?;
        let date = |order| -> Result<Option<_>> {
            let top = searcher.search(
                &q,
                &TopDocs::with_limit(1).order_by_fast_field::<i64>("published", order),
            )?;
            match top.first() {
                Some((Some(_), addr)) => Ok(self.load(&searcher, *addr)?.article.published),
                _ => Ok(None),
            }
        };
        let seen = Seen {
            documents,
            first_seen: date(Order::Asc)?,
            last_seen: date(Order::Desc)?,
        };
        EntityDetail::of(self.analyzer.gazetteer(), name, seen, || {
            // Found by part of speech only: take name and type from an article.
            let top = searcher.search(&q, &TopDocs::with_limit(1).order_by_score())?;
            let Some((_, addr)) = top.first() else {
                return Ok(None);
            };
            let stored = self.load(&searcher, *addr)?;
            Ok(stored
                .entities
                .into_iter()
                .find(|e| crate::index::entity_keys(&e.canonical, e.kind).contains(&key))
                .map(|e| (e.canonical, e.kind)))
        })
    }
}
