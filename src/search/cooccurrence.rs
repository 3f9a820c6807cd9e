//! Co-occurring entities (`/cooccurrence`): who and what is mentioned in the
//! same articles as an entity X, with counts and **lift**:
//!
//! `lift(Y) = P(Y | X) / P(Y) = (n(X∧Y) / n(X)) / (n(Y) / N)`
//!
//! over the articles in scope (the `q`, `from` and `to` filters apply to all
//! four counts). Lift 1 means "as often as anywhere"; `pmi = log2(lift)`.
//! Items are ranked by count, or by lift with `sort=lift` (then entities
//! seen fewer than `min_count` times together are left out: lift of rare
//! pairs is noise).

use serde::Serialize;
use utoipa::ToSchema;

use super::{IndexInfo, SearchRequest};
use crate::analysis::gazetteer::EntityType;
use crate::error::{Error, Result};

/// One co-occurring entity.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct CoEntity {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    /// Articles mentioning both.
    pub count: u64,
    /// Articles in scope mentioning this entity.
    pub documents: u64,
    pub lift: f64,
    pub pmi: f64,
}

/// The entity asked about.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct EntityRef {
    pub canonical: String,
    #[serde(rename = "type")]
    pub kind: Option<EntityType>,
}

/// The `/cooccurrence` response.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cooccurrence {
    pub entity: EntityRef,
    /// Articles in scope mentioning the entity.
    pub documents: usize,
    /// Articles in scope.
    pub scope_documents: usize,
    pub items: Vec<CoEntity>,
    pub index: IndexInfo,
}

/// How to rank co-occurring entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoSort {
    Count,
    Lift,
}

impl super::Engine {
    /// Entities co-occurring with `entity` within the scope of `r` (q, dates).
    pub fn cooccurrence(
        &self,
        entity: &str,
        kind: Option<EntityType>,
        r: &SearchRequest,
        limit: usize,
        sort: CoSort,
        min_count: u64,
    ) -> Result<Cooccurrence> {
        let _running = self.searches.enter();
        let searcher = self.searcher();
        let executor = self.searches.executor(&searcher);
        let scope_query = self.build_query(r)?;
        let mut with_x = r.clone();
        match kind {
            Some(k) => with_x.typed_entities.push((k, entity.to_string())),
            None => with_x.entities.push(entity.to_string()),
        }
        let x_query = self.build_query(&with_x)?;
        let types: Vec<EntityType> = EntityType::ALL.to_vec();
        let fields: Vec<String> = types.iter().map(|t| t.as_str().to_string()).collect();
        let aliases = r.dedup.then(|| self.aliases());
        let (n_x, joint) = crate::dedup::collapse::count_and_facets(
            &searcher,
            &executor,
            x_query.as_ref(),
            fields.clone(),
            aliases.as_ref(),
        )?;
        if n_x == 0 && self.analyzer.gazetteer().lookup(entity).is_none() {
            return Err(Error::EntityNotFound(entity.to_string()));
        }
        let count_scope = || {
            crate::dedup::collapse::count_and_facets(
                &searcher,
                &executor,
                scope_query.as_ref(),
                fields,
                aliases.as_ref(),
            )
        };
        // With nothing to narrow the scope, the counts are the whole index's.
        let scope = if scope_query.is::<tantivy::query::AllQuery>() {
            self.whole_index.entities(&searcher, r.dedup, count_scope)?
        } else {
            std::sync::Arc::new(count_scope()?)
        };
        let (n, overall) = (scope.0, &scope.1);
        let key = self.resolve_entity(entity);
        let entity = EntityRef::of(self.analyzer.gazetteer(), entity, kind, &joint);
        Ok(Cooccurrence {
            entity,
            documents: n_x,
            scope_documents: n,
            items: rank(&key, &joint, overall, n_x, n, limit, sort, min_count),
            index: self.index_info(&searcher),
        })
    }
}

impl EntityRef {
    /// The entity a `/cooccurrence` asks about: its gazetteer entry's name
    /// (else the name as facets show it: 小澤 is 小沢) and the type asked for; with none asked,
    /// the one type its articles (`joint`) mention it under (none when they
    /// mention it under several, which the counts then all hold: 川崎 the
    /// team and the city), else its gazetteer entry's. Every backend builds
    /// it here.
    pub fn of(
        gazetteer: &crate::analysis::gazetteer::Gazetteer,
        entity: &str,
        kind: Option<EntityType>,
        joint: &super::facets::FacetCounts,
    ) -> EntityRef {
        let entry = gazetteer.lookup(entity);
        let canonical = entry
            .map(|e| e.canonical.clone())
            .unwrap_or_else(|| crate::analysis::display_name(entity));
        let mentioned: Vec<EntityType> = EntityType::ALL
            .into_iter()
            .filter(|k| {
                joint
                    .get(k.as_str())
                    .is_some_and(|v| v.contains_key(&canonical))
            })
            .collect();
        let kind = kind.or(match mentioned.as_slice() {
            [one] => Some(*one),
            [] => entry.map(|e| e.kind),
            _ => None,
        });
        EntityRef { canonical, kind }
    }
}

/// The co-occurring entities of the entity with key `key`: `joint` counts
/// (per type and name) the articles mentioning both, `overall` the articles in scope (`n` of
/// them, `n_x` mentioning the entity). Every backend ranks here.
#[allow(clippy::too_many_arguments)]
pub fn rank(
    key: &str,
    joint: &super::facets::FacetCounts,
    overall: &super::facets::FacetCounts,
    n_x: usize,
    n: usize,
    limit: usize,
    sort: CoSort,
    min_count: u64,
) -> Vec<CoEntity> {
    let mut items = Vec::new();
    for t in EntityType::ALL {
        let Some(values) = joint.get(t.as_str()) else {
            continue;
        };
        let all = overall.get(t.as_str());
        for (name, &count) in values {
            if sort == CoSort::Lift && count < min_count {
                continue;
            }
            let documents = all.and_then(|m| m.get(name)).copied().unwrap_or(count);
            let lift = if n_x == 0 || documents == 0 {
                0.0
            } else {
                (count as f64 / n_x as f64) / (documents as f64 / n.max(1) as f64)
            };
            items.push((name, t, count, documents, lift));
        }
    }
    type Item<'a> = (&'a String, EntityType, u64, u64, f64);
    let order = |a: &Item, b: &Item| match sort {
        CoSort::Count => b.2.cmp(&a.2).then(b.4.total_cmp(&a.4)).then(a.0.cmp(b.0)),
        CoSort::Lift => b.4.total_cmp(&a.4).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)),
    };
    // The entity itself (under any of its names) is left out. Ordering only
    // the first `limit + 1` is enough when at most one of them is the
    // entity: a large archive gives tens of thousands of co-occurring names.
    let is_self =
        |(name, t, ..): &Item| crate::index::entity_keys(name, *t).iter().any(|k| k == key);
    if items.len() > limit + 1 {
        items.select_nth_unstable_by(limit, order);
        if items[..=limit].iter().filter(|i| is_self(i)).count() <= 1 {
            items.truncate(limit + 1);
        }
    }
    items.sort_by(order);
    items
        .into_iter()
        .filter(|i| !is_self(i))
        .take(limit)
        .map(|(name, kind, count, documents, lift)| CoEntity {
            name: name.clone(),
            kind,
            count,
            documents,
            lift,
            pmi: if lift > 0.0 {
                lift.log2()
            } else {
                f64::NEG_INFINITY.max(-99.0)
            },
        })
        .collect()
}
