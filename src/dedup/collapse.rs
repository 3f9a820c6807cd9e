//! `dedup=true`: one result per duplicate group. A collector finds, over the
//! whole matched set, each group's best-ranked article, its earliest
//! publication time and how many of its articles matched; memory is per
//! matched group, for the length of one request.

use std::collections::HashMap;
use std::sync::Arc;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::{DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// How the best article of a group is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// Highest score.
    Score,
    /// Latest publication time.
    Newest,
    /// Earliest publication time.
    Oldest,
}

/// A group among the matches.
#[derive(Debug, Clone, Copy)]
pub struct Group {
    /// The best-ranked article.
    pub best: DocAddress,
    /// Its score (for [`Rank::Score`]).
    pub score: Score,
    /// Its publication time (seconds), if dated.
    pub published: Option<i64>,
    /// The earliest publication time of the group's matched articles.
    pub earliest: Option<i64>,
    /// Matched articles of the group.
    pub matched: u64,
}

impl Group {
    fn key(&self, rank: Rank) -> (f64, DocAddress) {
        let v = match rank {
            Rank::Score => f64::from(self.score),
            Rank::Newest => self.published.map_or(f64::MIN, |p| p as f64),
            Rank::Oldest => self.published.map_or(f64::MIN, |p| -(p as f64)),
        };
        (v, self.best)
    }

    /// Whether `self` ranks before `other`.
    pub fn before(&self, other: &Group, rank: Rank) -> bool {
        let (a, da) = self.key(rank);
        let (b, db) = other.key(rank);
        a > b || (a == b && da < db)
    }

    fn absorb(&mut self, other: Group, rank: Rank) {
        let matched = self.matched + other.matched;
        let earliest = match (self.earliest, other.earliest) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if other.before(self, rank) {
            *self = other;
        }
        self.matched = matched;
        self.earliest = earliest;
    }
}

/// Collects the matched groups (key → [`Group`]; merged groups' keys
/// resolved through `aliases`). Articles without a group key (none in an
/// index written by this version) count as groups of their own.
pub struct GroupCollector {
    pub rank: Rank,
    pub aliases: Arc<super::Aliases>,
}

pub struct GroupSegment {
    rank: Rank,
    groups: KeyedSegment<Group>,
}

/// What a collector of groups keeps of one segment: a value per group
/// ordinal of its group column (keys resolved once, at harvest) and per
/// article without a key.
struct KeyedSegment<T> {
    aliases: Arc<super::Aliases>,
    segment: SegmentOrdinal,
    column: Option<StrColumn>,
    published: Column<i64>,
    by_ord: HashMap<u64, T>,
    loose: Vec<(DocId, T)>,
}

impl<T> KeyedSegment<T> {
    fn open(
        aliases: &Arc<super::Aliases>,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<KeyedSegment<T>> {
        Ok(KeyedSegment {
            aliases: aliases.clone(),
            segment,
            column: reader.fast_fields().str("dedup_group")?,
            published: reader.fast_fields().i64("published")?,
            by_ord: HashMap::new(),
            loose: Vec::new(),
        })
    }

    /// The value of `doc`'s group in this segment (`new` makes it for the
    /// group's first article; an article without a key has one of its own).
    fn value(&mut self, doc: DocId, new: impl FnOnce() -> T) -> &mut T {
        match self.column.as_ref().and_then(|c| c.term_ords(doc).next()) {
            Some(ord) => self.by_ord.entry(ord).or_insert_with(new),
            None => {
                self.loose.push((doc, new()));
                &mut self.loose.last_mut().expect("just pushed").1
            }
        }
    }

    /// The segment's groups by key: those of its group column's ordinals
    /// under their canonical keys (the keys of one merged group come
    /// together, joined by `merge`), then each article without a key as a
    /// group of its own.
    fn harvest(self, mut merge: impl FnMut(&mut T, T)) -> HashMap<String, T> {
        let mut out: HashMap<String, T> =
            HashMap::with_capacity(self.by_ord.len() + self.loose.len());
        if let Some(column) = &self.column {
            let mut key = String::new();
            for (ord, g) in self.by_ord {
                if column.ord_to_str(ord, &mut key).unwrap_or(false) {
                    let canonical = self.aliases.canonical(&key);
                    match out.get_mut(canonical) {
                        Some(have) => merge(have, g),
                        None => {
                            out.insert(canonical.to_string(), g);
                        }
                    }
                }
            }
        }
        for (doc, g) in self.loose {
            out.insert(format!("\u{0}{}:{doc}", self.segment), g);
        }
        out
    }
}

impl Collector for GroupCollector {
    type Fruit = HashMap<String, Group>;
    type Child = GroupSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<GroupSegment> {
        Ok(GroupSegment {
            rank: self.rank,
            groups: KeyedSegment::open(&self.aliases, segment, reader)?,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.rank == Rank::Score
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(merge_keyed(fruits, |have, g| have.absorb(g, self.rank)))
    }
}

/// The groups of all segments, by key (`merge` joins what two segments hold
/// of one group).
fn merge_keyed<T>(
    fruits: Vec<HashMap<String, T>>,
    mut merge: impl FnMut(&mut T, T),
) -> HashMap<String, T> {
    let mut out: HashMap<String, T> = HashMap::new();
    for fruit in fruits {
        for (k, g) in fruit {
            match out.get_mut(&k) {
                Some(have) => merge(have, g),
                None => {
                    out.insert(k, g);
                }
            }
        }
    }
    out
}

impl SegmentCollector for GroupSegment {
    type Fruit = HashMap<String, Group>;

    fn collect(&mut self, doc: DocId, score: Score) {
        let published = self.groups.published.first(doc);
        let mut g = Some(Group {
            best: DocAddress::new(self.groups.segment, doc),
            score,
            published,
            earliest: published,
            matched: 1,
        });
        let have = self.groups.value(doc, || g.take().expect("taken once"));
        if let Some(g) = g {
            have.absorb(g, self.rank);
        }
    }

    fn harvest(self) -> Self::Fruit {
        let rank = self.rank;
        self.groups.harvest(|have, g| have.absorb(g, rank))
    }
}

/// Collects the publication times of each matched group's dated articles
/// (key → times, in no order; keys resolved as [`GroupCollector`]'s):
/// `/timeline?dedup=true` counts in a bucket's total every group with an
/// article in it.
pub struct GroupTimesCollector {
    pub aliases: Arc<super::Aliases>,
}

pub struct GroupTimesSegment(KeyedSegment<Vec<i64>>);

impl Collector for GroupTimesCollector {
    type Fruit = HashMap<String, Vec<i64>>;
    type Child = GroupTimesSegment;

    fn for_segment(
        &self,
        segment: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<GroupTimesSegment> {
        Ok(GroupTimesSegment(KeyedSegment::open(
            &self.aliases,
            segment,
            reader,
        )?))
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Self::Fruit>) -> tantivy::Result<Self::Fruit> {
        Ok(merge_keyed(fruits, |have, times| have.extend(times)))
    }
}

impl SegmentCollector for GroupTimesSegment {
    type Fruit = HashMap<String, Vec<i64>>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(published) = self.0.published.first(doc) {
            self.0.value(doc, Vec::new).push(published);
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.0.harvest(|have, times| have.extend(times))
    }
}

/// The groups in result order.
pub fn ranked(groups: HashMap<String, Group>, rank: Rank) -> Vec<(String, Group)> {
    let mut v: Vec<(String, Group)> = groups.into_iter().collect();
    v.sort_by(|a, b| {
        if a.1.before(&b.1, rank) {
            std::cmp::Ordering::Less
        } else if b.1.before(&a.1, rank) {
            std::cmp::Ordering::Greater
        } else {
            std::cmp::Ordering::Equal
        }
    });
    v
}

/// Facet counts over the given articles only (each group's best-ranked
/// article: `dedup=true` counts groups, not copies).
pub fn facet_counts(
    searcher: &tantivy::Searcher,
    fields: &[String],
    addrs: &[DocAddress],
) -> crate::search::facets::FacetCounts {
    let mut out: crate::search::facets::FacetCounts = HashMap::new();
    let mut by_segment: HashMap<SegmentOrdinal, Vec<DocId>> = HashMap::new();
    for a in addrs {
        by_segment.entry(a.segment_ord).or_default().push(a.doc_id);
    }
    for (segment, docs) in by_segment {
        let reader = searcher.segment_reader(segment);
        for name in fields {
            let Ok(Some(column)) = reader.fast_fields().str(name) else {
                continue;
            };
            let slot = out.entry(name.clone()).or_default();
            let mut value = String::new();
            for &doc in &docs {
                for ord in column.term_ords(doc) {
                    if column.ord_to_str(ord, &mut value).unwrap_or(false) {
                        *slot.entry(value.clone()).or_default() += 1;
                    }
                }
            }
        }
    }
    out
}

/// The other articles of each group (ids, earliest first, at most `cap`) and
/// the group's size less one, for the hits of a `dedup=true` page.
pub fn others(
    store: &crate::index::Store,
    searcher: &tantivy::Searcher,
    group: &str,
    me: DocAddress,
    cap: usize,
) -> crate::error::Result<(usize, Vec<String>)> {
    if group.starts_with('\u{0}') {
        return Ok((0, Vec::new()));
    }
    let members = super::groups::members(store, searcher, group)?;
    let mut articles = Vec::new();
    for addr in members.into_iter().filter(|a| *a != me) {
        articles.push(store.load(searcher, addr)?.article);
    }
    articles.sort_by(super::lookup::earliest_first);
    let n = articles.len();
    Ok((n, articles.into_iter().take(cap).map(|a| a.id).collect()))
}

/// Matched articles and facet counts over them; with `dedup`, matched
/// groups and facets over each group's earliest article.
pub fn count_and_facets(
    searcher: &tantivy::Searcher,
    executor: &tantivy::Executor,
    query: &dyn tantivy::query::Query,
    fields: Vec<String>,
    dedup: Option<&Arc<super::Aliases>>,
) -> crate::error::Result<(usize, crate::search::facets::FacetCounts)> {
    use crate::search::collect;
    let Some(aliases) = dedup else {
        let facets = crate::search::facets::FacetCollector::all(fields);
        return Ok(collect(
            searcher,
            executor,
            query,
            &(tantivy::collector::Count, facets),
        )?);
    };
    let groups = oldest_first_groups(searcher, executor, query, aliases)?;
    let best: Vec<DocAddress> = groups.values().map(|g| g.best).collect();
    Ok((best.len(), facet_counts(searcher, &fields, &best)))
}

/// The matched groups, each with its earliest matched article as `best`.
pub fn oldest_first_groups(
    searcher: &tantivy::Searcher,
    executor: &tantivy::Executor,
    query: &dyn tantivy::query::Query,
    aliases: &Arc<super::Aliases>,
) -> tantivy::Result<HashMap<String, Group>> {
    let collector = GroupCollector {
        rank: Rank::Oldest,
        aliases: aliases.clone(),
    };
    crate::search::collect(searcher, executor, query, &collector)
}

/// The earliest matched article of each matched group, in index order.
pub fn earliest_of_groups(
    searcher: &tantivy::Searcher,
    query: &dyn tantivy::query::Query,
    aliases: &Arc<super::Aliases>,
) -> crate::error::Result<Vec<DocAddress>> {
    let groups = oldest_first_groups(
        searcher,
        &tantivy::Executor::single_thread(),
        query,
        aliases,
    )?;
    let mut best: Vec<DocAddress> = groups.values().map(|g| g.best).collect();
    best.sort();
    Ok(best)
}
