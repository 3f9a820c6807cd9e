//! Counts over the whole index — no query, no filter — kept for the index
//! generation they were counted on. They are the denominators of
//! `/timeline` (all articles per day) and `/cooccurrence` (articles per
//! entity in scope), and the same for every request until the next commit
//! becomes visible; counting them walks every document, which at a million
//! articles cost more than the rest of the request.
//!
//! Bounded: one value per kind and `dedup` setting (per interval for the
//! groups of each timeline bucket), for the newest generation only (a new generation replaces the old entries).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tantivy::Searcher;

use super::facets::FacetCounts;
use super::timeline::Interval;
use crate::error::Result;

/// Articles per Asia/Tokyo day, and undated articles.
pub type DayCounts = (BTreeMap<NaiveDate, u64>, u64);
/// Articles, and the values of some facet fields over them.
pub type EntityCounts = (usize, FacetCounts);

/// One cached value per key (the `dedup` setting, or a timeline's
/// interval), for one generation.
struct Slot<T, K = bool> {
    entries: Mutex<Vec<(u64, K, Arc<T>)>>,
}

impl<T, K> Default for Slot<T, K> {
    fn default() -> Self {
        Slot {
            entries: Mutex::new(Vec::new()),
        }
    }
}

impl<T, K: Copy + PartialEq> Slot<T, K> {
    /// The value for this searcher's generation and `key`, computed by
    /// `count` if it is not there. Concurrent callers wait for one count.
    fn get(
        &self,
        searcher: &Searcher,
        key: K,
        count: impl FnOnce() -> Result<T>,
    ) -> Result<Arc<T>> {
        let generation = searcher.generation().generation_id();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, _, v)) = entries
            .iter()
            .find(|(g, k, _)| *g == generation && *k == key)
        {
            return Ok(v.clone());
        }
        let value = Arc::new(count()?);
        // Older generations are never asked for again (searchers only move forward).
        entries.retain(|(g, _, _)| *g >= generation);
        entries.push((generation, key, value.clone()));
        Ok(value)
    }
}

/// The whole-index counts of one engine.
#[derive(Default)]
pub struct WholeIndex {
    days: Slot<DayCounts>,
    group_buckets: Slot<BTreeMap<NaiveDate, u64>, Interval>,
    entities: Slot<EntityCounts>,
}

impl WholeIndex {
    /// All articles per day (see [`Slot::get`]).
    pub fn days(
        &self,
        searcher: &Searcher,
        dedup: bool,
        count: impl FnOnce() -> Result<DayCounts>,
    ) -> Result<Arc<DayCounts>> {
        self.days.get(searcher, dedup, count)
    }

    /// The duplicate groups with an article in each bucket of `interval`
    /// (see [`Slot::get`]).
    pub fn group_buckets(
        &self,
        searcher: &Searcher,
        interval: Interval,
        count: impl FnOnce() -> Result<BTreeMap<NaiveDate, u64>>,
    ) -> Result<Arc<BTreeMap<NaiveDate, u64>>> {
        self.group_buckets.get(searcher, interval, count)
    }

    /// All articles and their entity facet counts (see [`Slot::get`]).
    pub fn entities(
        &self,
        searcher: &Searcher,
        dedup: bool,
        count: impl FnOnce() -> Result<EntityCounts>,
    ) -> Result<Arc<EntityCounts>> {
        self.entities.get(searcher, dedup, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::schema::{STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    #[test]
    fn counts_once_per_generation_and_dedup_setting() {
        let mut builder = Schema::builder();
        let id = builder.add_text_field("id", STRING);
        let index = Index::create_in_ram(builder.build());
        let reader = index.reader().unwrap();
        let mut writer = index.writer_with_num_threads(1, 20_000_000).unwrap();
        let cache = WholeIndex::default();
        let calls = std::cell::Cell::new(0);
        let count = |n| {
            calls.set(calls.get() + 1);
            Ok((n, FacetCounts::new()))
        };
        let s1 = reader.searcher();
        assert_eq!(cache.entities(&s1, false, || count(1)).unwrap().0, 1);
        assert_eq!(cache.entities(&s1, false, || count(9)).unwrap().0, 1);
        assert_eq!(cache.entities(&s1, true, || count(2)).unwrap().0, 2);
        assert_eq!(calls.get(), 2);
        // A commit made visible: a new generation counts again.
        let mut doc = TantivyDocument::default();
        doc.add_text(id, "a");
        writer.add_document(doc).unwrap();
        writer.commit().unwrap();
        reader.reload().unwrap();
        let s2 = reader.searcher();
        assert_ne!(
            s1.generation().generation_id(),
            s2.generation().generation_id()
        );
        assert_eq!(cache.entities(&s2, false, || count(3)).unwrap().0, 3);
        assert_eq!(calls.get(), 3);
        // Entries of the older generation are gone (bounded).
        assert_eq!(cache.entities.entries.lock().unwrap().len(), 1);
        // An error is not cached.
        let fails = cache.days(&s2, false, || Err(crate::error::Error::param("x", "y")));
        assert!(fails.is_err());
        assert!(cache.days.entries.lock().unwrap().is_empty());
    }
}
