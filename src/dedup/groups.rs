//! Duplicate groups, kept by the writer.
//!
//! Every article carries a group key (`dedup_group`, exact and fast). An
//! article whose signature is a near-duplicate ([`Settings::is_duplicate`]) of
//! an indexed one joins that article's group; one that is a near-duplicate
//! of none founds a group keyed `id@hash` (its id and content hash: a later
//! article with a reused id never lands in a dead group by accident). Groups
//! are single-linkage: an article that joins two groups merges them. The key
//! is only a name: the group's *representative* (its earliest article) is
//! found when asked for, so deleting or back-dating a representative
//! rewrites nothing.
//!
//! Candidates come from the LSH bands, indexed as terms (`dedup_band_v3`), for
//! committed articles (in large segments read from the writer's band tables,
//! [`super::band_table`]), and from a map of the articles written since the
//! last commit (cleared by the commit, so memory does not grow with the corpus).
//!
//! When groups merge, the merged group's key becomes an alias of the
//! surviving one ([`super::aliases`]): no article is written again, and
//! readers resolve keys through the aliases. What cannot be decided article
//! by article is fixed after the commit ([`crate::index::Writer::commit`]):
//! groups that lost an article (deleted or changed) are checked for a split,
//! each part but the one holding the founder (or the largest) getting a key
//! of its own (its articles are written again).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use tantivy::collector::DocSetCollector;
use tantivy::query::{TermQuery, TermSetQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{DocAddress, DocSet, Searcher, Term};

use super::aliases::{AliasLog, Aliases};
use super::band_table::BandTable;
use super::files;
use super::group_file::GroupFile;
use super::pending_bands::PendingBands;
use super::signature::{Signature, Similarity};
use super::signature_file::SignatureFile;
use crate::error::Result;
use crate::index::Store;
use crate::index::term_filter::{TermFilters, key_hash};

/// Estimated Jaccard index below which two bodies are never duplicates,
/// however much of the shorter one the longer one holds (a one-paragraph
/// brief quoted inside a long feature is not a copy of it).
pub const MIN_JACCARD: f64 = 0.3;

/// `[dedup]` of the configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Compute signatures and groups at ingest (off: every article is its
    /// own group).
    pub enabled: bool,
    /// Two articles are duplicates when at least this share of the shorter
    /// one's shingles (5 characters of the normalised body) is estimated to
    /// occur in the other, and their estimated Jaccard index is at least
    /// [`MIN_JACCARD`].
    pub threshold: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            enabled: true,
            threshold: 0.7,
        }
    }
}

impl Settings {
    pub fn is_duplicate(&self, s: Similarity) -> bool {
        s.containment >= self.threshold && s.jaccard >= MIN_JACCARD
    }
}

/// A group key for an article that founds a group.
pub fn founder_key(id: &str, hash: &str) -> String {
    let short: String = hash.chars().take(12).collect();
    format!("{id}@{short}")
}

/// An article written since the last commit.
struct PendingDoc {
    signature: Signature,
    group: String,
}

/// Candidates (committed articles sharing a band) compared per article, at
/// most: those sharing the most bands first. A wire story printed thousands
/// of times shares bands with all its copies; one comparison with a copy in
/// a group settles that group, and this bounds the rest, so the cost of an
/// article does not grow with the archive.
pub const MAX_COMPARED: usize = 64;

/// Postings read per band, at most (the same bound for the search of
/// candidates: a band shared by thousands of copies is read in part). 32
/// a band still offer up to 17 × 32 articles for the [`MAX_COMPARED`]
/// most similar. Each bound was measured at a million generated articles:
/// 256 read each band in up to four times as many segments as 64, and
/// grouped the articles the same (89,488 merges against 89,656); 64 read
/// 82 blocks of band tables per new article, 32 read 61, and 30,000 new
/// articles merged 1,727 groups against 64's 1,722 (the Wikinews copies'
/// scores are unchanged).
pub const MAX_POSTINGS_PER_BAND: usize = 32;

/// The writer's dedup state between commits: the articles written since the
/// last commit (their signatures and band keys), cleared by the commit, so it
/// grows with the articles of one commit, never with the archive; and the
/// aliases of merged groups, kept.
pub struct Pending {
    /// Pending articles; `None` once replaced or deleted again.
    docs: Vec<Option<PendingDoc>>,
    /// Id → index in `docs`.
    ids: HashMap<String, u32>,
    /// Band key → indices in `docs`.
    bands: PendingBands,
    /// Pending articles per group (by its key; which group of a merge
    /// with as many keys is the larger).
    joined: HashMap<String, u64>,
    /// Groups that lost an article.
    check: BTreeSet<String>,
    /// The group columns of the last searcher read (kept across articles).
    columns: Option<Columns>,
    /// Which band keys each committed segment holds (kept across commits;
    /// candidates' signatures are read from their fixed-width column each
    /// time, 32 words, cheaper than a cache's look-up and memory).
    band_filters: TermFilters,
    /// The band tables of large committed segments (kept across commits).
    band_tables: BandTables,
    /// Merged groups (kept across commits).
    aliases: AliasLog,
}

/// The band tables ([`BandTable`]) of the large segments the writer looked
/// up, by segment (`None`: it has none, and is read through the index).
#[derive(Default)]
struct BandTables {
    map: rustc_hash::FxHashMap<tantivy::index::SegmentId, Option<BandTable>>,
    /// The segments of the searcher last retained (most calls find the same).
    live: Vec<tantivy::index::SegmentId>,
}

impl BandTables {
    /// The table of `segment`, written or opened on first use; `None` for a
    /// small segment or one whose table cannot be written.
    fn segment(
        &mut self,
        folder: Option<&Path>,
        segment: &tantivy::SegmentReader,
        field: tantivy::schema::Field,
    ) -> Option<&BandTable> {
        let folder = folder.filter(|_| segment.max_doc() >= files::MIN_DOCS)?;
        self.map
            .entry(segment.segment_id())
            .or_insert_with(|| {
                files::open_or_warn("band table", folder, segment, |_| {
                    BandTable::open_or_write(folder, segment, field)
                })
            })
            .as_ref()
    }

    /// Drops the tables of segments `searcher` no longer has.
    fn retain(&mut self, searcher: &Searcher) {
        if !crate::index::term_filter::update_live(&mut self.live, searcher) {
            return;
        }
        let live = &self.live;
        self.map.retain(|id, _| live.contains(id));
    }
}

/// An article about to be written, as group assignment sees it.
pub struct Incoming<'a> {
    pub id: &'a str,
    /// Its content hash (a group it founds is named `id@hash`).
    pub hash: &'a str,
    /// Whether `id` may be in a segment (false when the writer knows it is
    /// new, which spares a lookup of it in every segment).
    pub committed: bool,
    pub signature: Option<&'a Signature>,
}

/// What the commit has to fix.
#[derive(Debug, Default)]
pub struct Fixups {
    /// Groups to check for a split (keys after the merges).
    pub checks: BTreeSet<String>,
}

impl Fixups {
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }
}

impl Pending {
    /// The writer's state for the index in `index`, whose last commit holds
    /// `aliases` bytes of the alias log (read on first use, cutting off what
    /// a crash left).
    pub fn open(index: &Path, aliases: u64) -> Pending {
        Pending::with_log(AliasLog::open(index, aliases))
    }

    fn with_log(aliases: AliasLog) -> Pending {
        Pending {
            docs: Vec::new(),
            ids: HashMap::new(),
            bands: Default::default(),
            joined: HashMap::new(),
            check: BTreeSet::new(),
            columns: None,
            band_filters: Default::default(),
            band_tables: Default::default(),
            aliases,
        }
    }

    /// The merged groups, as written so far (committed or not).
    pub fn aliases(&self) -> &Aliases {
        self.aliases.aliases()
    }

    fn find(&self, key: &str) -> String {
        self.aliases().canonical(key).to_string()
    }

    /// Writes and syncs the merges made since the last commit, before the
    /// next; returns the length of the log for the commit to record.
    pub fn sync_aliases(&mut self) -> std::io::Result<u64> {
        self.aliases.sync()
    }

    /// Forgets every merge (before the groups are computed again).
    pub fn reset_aliases(&mut self) {
        self.aliases.reset();
    }

    /// The group for an article about to be written (its committed and
    /// pending older versions, if any, count as removed). `stale(id)`: the
    /// committed version of `id` is replaced or deleted by an uncommitted
    /// write; `None` when no committed article is (then a new article needs
    /// no look-up of the ids of its candidates).
    pub fn assign(
        &mut self,
        store: &Store,
        settings: &Settings,
        article: Incoming<'_>,
        stale: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<String> {
        let searcher = store.searcher();
        let columns = match self.columns.take() {
            Some(c) if c.of(&searcher) => c,
            _ => Columns::for_writer(&searcher, store.path()),
        };
        let group = self.assign_with(store, &searcher, &columns, settings, article, stale);
        self.columns = Some(columns);
        group
    }

    fn assign_with(
        &mut self,
        store: &Store,
        searcher: &Searcher,
        columns: &Columns,
        settings: &Settings,
        article: Incoming<'_>,
        stale: Option<&dyn Fn(&str) -> bool>,
    ) -> Result<String> {
        let Incoming {
            id,
            hash,
            committed,
            signature,
        } = article;
        self.forget(store, searcher, columns, id, committed)?;
        let Some(sig) = signature else {
            return Ok(founder_key(id, hash));
        };
        let mut groups = BTreeSet::new();
        let mut seen: HashSet<u32> = HashSet::new();
        for band in sig.bands() {
            self.bands.each(band, |other| {
                if seen.insert(other)
                    && let Some(d) = &self.docs[other as usize]
                    && settings.is_duplicate(sig.similarity(&d.signature))
                {
                    groups.insert(self.find(&d.group));
                }
            });
        }
        // A candidate is committed: it can be the article itself only if
        // that is committed, and stale only if some committed article is.
        let take = |other: &str| other != id && !stale.is_some_and(|stale| stale(other));
        let take: Option<&dyn Fn(&str) -> bool> = (committed || stale.is_some()).then_some(&take);
        let lookup = Lookup {
            filters: &mut self.band_filters,
            tables: &mut self.band_tables,
            folder: columns.files.as_deref(),
        };
        for group in committed_groups(store, searcher, columns, lookup, settings, sig, take)? {
            groups.insert(self.find(&group));
        }
        // The group with the most keys keeps its key, then the one with the
        // most pending articles, then the smallest key; the others become
        // its aliases (merging by keys bounds the aliases ever moved).
        let group = groups
            .iter()
            .max_by_key(|g| {
                (
                    self.aliases().weight(g),
                    self.joined.get(*g).copied().unwrap_or(0),
                    std::cmp::Reverse(*g),
                )
            })
            .cloned();
        if let Some(group) = &group {
            let mut grew = 1;
            for other in &groups {
                if other != group {
                    grew += self.joined.remove(other).unwrap_or(0);
                    self.aliases.merge(other, group);
                }
            }
            *self.joined.entry(group.clone()).or_default() += grew;
        }
        let group = group.unwrap_or_else(|| founder_key(id, hash));
        let index = self.docs.len() as u32;
        for band in sig.bands() {
            self.bands.insert(band, index);
        }
        self.docs.push(Some(PendingDoc {
            signature: sig.clone(),
            group: group.clone(),
        }));
        self.ids.insert(id.to_string(), index);
        Ok(group)
    }

    /// Notes that the article `id` (if indexed or pending) goes away: its
    /// group may split.
    pub fn removed(&mut self, store: &Store, searcher: &Searcher, id: &str) -> Result<()> {
        self.forget(store, searcher, &Columns::new(searcher), id, true)
    }

    fn forget(
        &mut self,
        store: &Store,
        searcher: &Searcher,
        columns: &Columns,
        id: &str,
        committed: bool,
    ) -> Result<()> {
        if let Some(index) = self.ids.remove(id)
            && let Some(old) = self.docs[index as usize].take()
        {
            self.check.insert(old.group);
        }
        if committed
            && let Some(addr) = store.address(searcher, id)?
            && let Some(group) = columns.group(searcher, addr)
        {
            self.check.insert(group);
        }
        Ok(())
    }

    /// Hands over what the commit must fix, and forgets the pending articles.
    pub fn take(&mut self) -> Fixups {
        let checks = self.check.iter().map(|k| self.find(k)).collect();
        *self = Pending {
            band_filters: std::mem::take(&mut self.band_filters),
            band_tables: std::mem::take(&mut self.band_tables),
            ..Pending::with_log(std::mem::take(&mut self.aliases))
        };
        Fixups { checks }
    }
}

/// Where the writer looks up band keys: the in-memory filters of every
/// segment, then the band tables of large ones (in `folder`, the writer's),
/// else the index.
struct Lookup<'a> {
    filters: &'a mut TermFilters,
    tables: &'a mut BandTables,
    folder: Option<&'a Path>,
}

/// Committed articles sharing at least one band with `sig`, the most shared
/// bands first, at most [`MAX_COMPARED`].
fn candidates(
    store: &Store,
    searcher: &Searcher,
    lookup: Lookup<'_>,
    sig: &Signature,
) -> Result<Vec<DocAddress>> {
    let Lookup {
        filters,
        tables,
        folder,
    } = lookup;
    let field = store.fields.dedup_band;
    // Every posting read (an article once per band it shares), counted
    // after a sort: no hashing, a few hundred entries at most.
    let mut shared: Vec<DocAddress> = Vec::new();
    let mut read = [0usize; super::signature::BANDS];
    filters.retain(searcher);
    tables.retain(searcher);
    let keys: Vec<(Term, u64, u64)> = sig
        .bands()
        .map(|band| {
            let term = Term::from_field_u64(field, band);
            let key = key_hash(term.serialized_value_bytes());
            (term, key, band)
        })
        .collect();
    let mut docs = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let holds = filters.segment(segment, field);
        let table = tables.segment(folder, segment, field);
        // Opened at the segment's first key that may be there (most have none).
        let mut index = None;
        let alive = segment.alive_bitset();
        for ((term, key, band), read) in keys.iter().zip(read.iter_mut()) {
            if *read >= MAX_POSTINGS_PER_BAND || !holds.may_hold(*key) {
                continue; // this band's share is read, or it is not here: no look-up
            }
            if let Some(table) = table {
                docs.clear();
                let found = table.postings(*band, |doc| {
                    if alive.is_none_or(|a| a.is_alive(doc)) {
                        docs.push(doc);
                    }
                    *read + docs.len() < MAX_POSTINGS_PER_BAND
                });
                match found {
                    Ok(()) => {
                        shared.extend(docs.iter().map(|&doc| DocAddress::new(ord as u32, doc)));
                        *read += docs.len();
                        continue;
                    }
                    Err(e) => tracing::warn!(
                        "cannot read the band table of segment {}: {e}; its index is read",
                        segment.segment_id()
                    ),
                }
            }
            let index = match &index {
                Some(index) => index,
                None => index.insert(segment.inverted_index(field)?),
            };
            let Some(mut postings) = index.read_postings(term, IndexRecordOption::Basic)? else {
                continue;
            };
            let mut doc = postings.doc();
            while doc != tantivy::TERMINATED && *read < MAX_POSTINGS_PER_BAND {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    shared.push(DocAddress::new(ord as u32, doc));
                    *read += 1;
                }
                doc = postings.advance();
            }
        }
    }
    shared.sort_unstable();
    let mut found: Vec<(DocAddress, u32)> = shared
        .chunk_by(|a, b| a == b)
        .map(|run| (run[0], run.len() as u32))
        .collect();
    crate::metrics::metrics()
        .dedup_candidates
        .with_label_values(&["shared_band"])
        .inc_by(found.len() as u64);
    found.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    found.truncate(MAX_COMPARED);
    Ok(found.into_iter().map(|(a, _)| a).collect())
}

/// The groups of committed articles that are near-duplicates of `sig` and
/// that `take(id)` accepts (all when `take` is `None`: their ids are not
/// read). Once an article of a group matched, the group's
/// other candidates are not compared.
fn committed_groups(
    store: &Store,
    searcher: &Searcher,
    columns: &Columns,
    lookup: Lookup<'_>,
    settings: &Settings,
    sig: &Signature,
    take: Option<&dyn Fn(&str) -> bool>,
) -> Result<BTreeSet<String>> {
    let mut found = BTreeSet::new();
    // Groups found, by (segment, term ordinal): no dictionary lookup to skip
    // a candidate whose group is known.
    let mut found_ords: HashSet<(u32, u64)> = HashSet::new();
    let mut compared = 0;
    for addr in candidates(store, searcher, lookup, sig)? {
        let ord = columns
            .group_ord(searcher, addr)
            .map(|o| (addr.segment_ord, o));
        if ord.is_some_and(|o| found_ords.contains(&o)) {
            continue;
        }
        let Some(other) = columns.signature(searcher, addr) else {
            continue;
        };
        compared += 1;
        if settings.is_duplicate(sig.similarity(&other))
            && let Some(group) = columns.group(searcher, addr)
            && match take {
                Some(take) => take(&store.load(searcher, addr)?.article.id),
                None => true,
            }
        {
            found.insert(group);
            found_ords.extend(ord);
        }
    }
    crate::metrics::metrics()
        .dedup_candidates
        .with_label_values(&["compared"])
        .inc_by(compared);
    Ok(found)
}

/// The duplicate-group fast fields (group key, signature) of a searcher's
/// segments, each opened the first time it is read and then kept. Opening a
/// column reads its block index, which grows with the segment: opened once
/// per candidate, it made each article's ingest cost grow with the archive
/// (at 300,000 articles the writer spent most of its time there).
pub struct Columns {
    generation: u64,
    segments: Vec<SegmentColumns>,
    /// Where the signatures of large segments are read from files instead
    /// of their columns (the writer's; see [`super::signature_file`]).
    files: Option<PathBuf>,
    /// The fewest documents of a segment read from a file.
    min_docs: u32,
    /// Group keys read, by segment and term ordinal (reading one decodes a
    /// block of the column's dictionary; a story's articles keep finding the
    /// same few groups). Bounded by the groups one searcher generation meets.
    keys: std::sync::Mutex<rustc_hash::FxHashMap<(u32, u64), String>>,
}

#[derive(Default)]
struct SegmentColumns {
    group: std::sync::OnceLock<Option<tantivy::columnar::StrColumn>>,
    signature: std::sync::OnceLock<Option<tantivy::columnar::Column<u64>>>,
    file: std::sync::OnceLock<Option<SignatureFile>>,
    groups: std::sync::OnceLock<Option<GroupFile>>,
}

impl Columns {
    /// The columns of `searcher`'s segments (none opened yet).
    pub fn new(searcher: &Searcher) -> Columns {
        Columns {
            generation: searcher.generation().generation_id(),
            segments: (0..searcher.segment_readers().len())
                .map(|_| SegmentColumns::default())
                .collect(),
            files: None,
            min_docs: files::MIN_DOCS,
            keys: Default::default(),
        }
    }

    /// [`Columns::new`] for the writer of the index in `index`: the
    /// signatures of segments of at least [`files::MIN_DOCS`] documents are
    /// read from their files, written on first use; the files of segments
    /// no longer in `searcher` are removed ([`files`]).
    pub fn for_writer(searcher: &Searcher, index: &Path) -> Columns {
        Self::with_files(searcher, index, files::MIN_DOCS)
    }

    fn with_files(searcher: &Searcher, index: &Path, min_docs: u32) -> Columns {
        let folder = files::folder(index);
        let live: HashSet<String> = searcher
            .segment_readers()
            .iter()
            .map(|s| s.segment_id().uuid_string())
            .collect();
        if let Err(e) = files::remove_stale(&folder, &live) {
            tracing::warn!(
                "cannot remove old duplicate-detection files in {}: {e}",
                folder.display()
            );
        }
        Columns {
            files: Some(folder),
            min_docs,
            ..Columns::new(searcher)
        }
    }

    /// Whether these are the columns of `searcher`'s segments.
    pub fn of(&self, searcher: &Searcher) -> bool {
        self.generation == searcher.generation().generation_id()
    }

    fn group_column<'a>(
        &'a self,
        searcher: &Searcher,
        addr: DocAddress,
    ) -> Option<&'a tantivy::columnar::StrColumn> {
        let slot = self.segments.get(addr.segment_ord as usize)?;
        slot.group
            .get_or_init(|| {
                let segment = searcher.segment_reader(addr.segment_ord);
                segment.fast_fields().str("dedup_group").ok().flatten()
            })
            .as_ref()
    }

    /// The term ordinal of the group key of the article at `addr` in its segment.
    pub fn group_ord(&self, searcher: &Searcher, addr: DocAddress) -> Option<u64> {
        self.group_column(searcher, addr)?
            .term_ords(addr.doc_id)
            .next()
    }

    /// The group key of the article at `addr`.
    pub fn group(&self, searcher: &Searcher, addr: DocAddress) -> Option<String> {
        let column = self.group_column(searcher, addr)?;
        let ord = column.term_ords(addr.doc_id).next()?;
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(group) = keys.get(&(addr.segment_ord, ord)) {
            return Some(group.clone());
        }
        let from_column = || {
            let mut group = String::new();
            column.ord_to_str(ord, &mut group).ok().map(|_| group)
        };
        let group = match self.group_file(searcher, addr, column).map(|f| f.get(ord)) {
            Some(Ok(key)) => key?,
            Some(Err(e)) => {
                tracing::warn!("cannot read a group-key file: {e}; the column is read");
                from_column()?
            }
            None => from_column()?,
        };
        keys.insert((addr.segment_ord, ord), group.clone());
        Some(group)
    }

    /// The group-key file of `addr`'s segment, if its keys are read from one.
    fn group_file<'a>(
        &'a self,
        searcher: &Searcher,
        addr: DocAddress,
        column: &tantivy::columnar::StrColumn,
    ) -> Option<&'a GroupFile> {
        let (folder, segment) = self.file_segment(searcher, addr)?;
        self.segments
            .get(addr.segment_ord as usize)?
            .groups
            .get_or_init(|| {
                files::open_or_warn("group-key", folder, segment, |id| {
                    GroupFile::open_or_write(folder, id, column)
                })
            })
            .as_ref()
    }

    /// The writer's folder of files and the segment of `addr`, when that
    /// segment's columns are read from files (see [`files::MIN_DOCS`]).
    fn file_segment<'s>(
        &self,
        searcher: &'s Searcher,
        addr: DocAddress,
    ) -> Option<(&Path, &'s tantivy::SegmentReader)> {
        let folder = self.files.as_deref()?;
        let segment = searcher.segment_reader(addr.segment_ord);
        (segment.max_doc() >= self.min_docs).then_some((folder, segment))
    }

    fn signature_column<'a>(
        &self,
        slot: &'a SegmentColumns,
        searcher: &Searcher,
        addr: DocAddress,
    ) -> Option<&'a tantivy::columnar::Column<u64>> {
        slot.signature
            .get_or_init(|| {
                let segment = searcher.segment_reader(addr.segment_ord);
                segment
                    .fast_fields()
                    .u64(crate::index::schema::SIGNATURE_FIELD)
                    .ok()
            })
            .as_ref()
    }

    /// The signature file of `addr`'s segment, if it is read from one.
    fn signature_file<'a>(
        &self,
        slot: &'a SegmentColumns,
        searcher: &Searcher,
        addr: DocAddress,
    ) -> Option<&'a SignatureFile> {
        let (folder, segment) = self.file_segment(searcher, addr)?;
        slot.file
            .get_or_init(|| {
                let column = self.signature_column(slot, searcher, addr)?;
                files::open_or_warn("signature", folder, segment, |id| {
                    SignatureFile::open_or_write(folder, id, segment.max_doc(), column)
                })
            })
            .as_ref()
    }

    /// The stored signature of the article at `addr`.
    pub fn signature(&self, searcher: &Searcher, addr: DocAddress) -> Option<Signature> {
        let slot = self.segments.get(addr.segment_ord as usize)?;
        if let Some(file) = self.signature_file(slot, searcher, addr) {
            match file.get(addr.doc_id) {
                Ok(signature) => return signature,
                Err(e) => tracing::warn!("cannot read a signature file: {e}; the column is read"),
            }
        }
        let column = self.signature_column(slot, searcher, addr)?;
        Signature::from_words(column.values_for_doc(addr.doc_id))
    }
}

/// The group key of the article at `addr`, resolved through the aliases of
/// merged groups (one look-up; many go through one [`Columns`]).
pub fn group_at(store: &Store, searcher: &Searcher, addr: DocAddress) -> Option<String> {
    let key = Columns::new(searcher).group(searcher, addr)?;
    Some(store.aliases().canonical(&key).to_string())
}

/// The live articles of a group (`group`: its key, or any of its aliases).
pub fn members(store: &Store, searcher: &Searcher, group: &str) -> Result<Vec<DocAddress>> {
    let aliases = store.aliases();
    let keys: Vec<&str> = aliases.keys(group).collect();
    members_of(store, searcher, &keys)
}

/// The live articles stored with any of `keys`.
pub fn members_of<S: AsRef<str>>(
    store: &Store,
    searcher: &Searcher,
    keys: &[S],
) -> Result<Vec<DocAddress>> {
    let q = keys_query(store, keys.iter().map(|k| k.as_ref()));
    let mut addrs: Vec<DocAddress> = searcher
        .search(&*q, &DocSetCollector)?
        .into_iter()
        .collect();
    addrs.sort();
    Ok(addrs)
}

/// A query for the articles of a group (`group`: its key or an alias).
pub fn group_query(store: &Store, group: &str) -> Box<dyn tantivy::query::Query> {
    keys_query(store, store.aliases().keys(group))
}

/// A query for the articles stored with any of `keys`.
fn keys_query<'a>(
    store: &Store,
    keys: impl Iterator<Item = &'a str>,
) -> Box<dyn tantivy::query::Query> {
    let field = store.fields.dedup_group;
    let terms: Vec<Term> = keys.map(|k| Term::from_field_text(field, k)).collect();
    match <[Term; 1]>::try_from(terms) {
        Ok([term]) => Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
        Err(terms) => Box::new(TermSetQuery::new(terms)),
    }
}

/// Splits `n` articles into connected parts, given whether two are linked.
pub fn components(n: usize, linked: impl Fn(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            if root(&mut parent, i) != root(&mut parent, j) && linked(i, j) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                parent[b] = a;
            }
        }
    }
    let mut parts: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        parts.entry(r).or_default().push(i);
    }
    parts.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_follow_links_transitively() {
        // 0-1, 1-2 linked; 3 alone; 4-5 linked.
        let links = [(0, 1), (1, 2), (4, 5)];
        let parts = components(6, |i, j| links.contains(&(i, j)));
        assert_eq!(parts, vec![vec![0, 1, 2], vec![3], vec![4, 5]]);
    }

    /// Signatures go into the fixed-width column as words, and come back
    /// whole and in order, from fresh segments and from merged ones, read
    /// from the column and from the writer's signature files alike (articles
    /// without a signature: none from either).
    #[test]
    fn signatures_read_back_from_the_column_and_files_after_merges() {
        use crate::analysis::normalize::normalize_str;
        // The signature field as kiji's schema has it.
        let mut builder = tantivy::schema::Schema::builder();
        let signature_field =
            builder.add_u64_field(crate::index::schema::SIGNATURE_FIELD, tantivy::schema::FAST);
        let schema = builder.build();
        let (kiji, fields) = crate::index::schema::build();
        assert_eq!(
            schema.get_field_entry(signature_field),
            kiji.get_field_entry(fields.dedup_signature)
        );
        let index = tantivy::Index::create_in_ram(schema);
        let mut writer: tantivy::IndexWriter =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        let body = |i: usize| {
            format!(
                "北朝鮮兵{i}人がロシア西部クルスク州に派遣されたと、ゼレンスキー大統領が{i}日に述べた。露朝の軍事協力は深まっている。"
            )
        };
        let signature = |i: usize| Signature::of_normalized(&normalize_str(&body(i))).unwrap();
        // Every seventh article has no signature (too short a body).
        let signed = |i: usize| i % 7 != 3;
        for i in 0..30 {
            let mut doc = tantivy::TantivyDocument::default();
            if signed(i) {
                for word in signature(i).to_words() {
                    doc.add_u64(signature_field, word);
                }
            }
            writer.add_document(doc).unwrap();
            if i % 10 == 9 {
                writer.commit().unwrap();
            }
        }
        let reader = index.reader().unwrap();
        let folder = tempfile::tempdir().unwrap();
        let dir = files::folder(folder.path());
        let sig_files = || -> BTreeSet<String> {
            std::fs::read_dir(&dir)
                .map(|d| {
                    d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default()
        };
        // Every signed article's signature, equal to the one written (a word
        // out of place would match none), each once, by either reading.
        let check = |searcher: &Searcher, columns: &Columns| {
            let mut found = BTreeSet::new();
            let mut unsigned = 0;
            for (ord, segment) in searcher.segment_readers().iter().enumerate() {
                for doc in 0..segment.max_doc() {
                    let Some(got) = columns.signature(searcher, DocAddress::new(ord as u32, doc))
                    else {
                        unsigned += 1;
                        continue;
                    };
                    let i = (0..30)
                        .find(|&i| signed(i) && got == signature(i))
                        .expect("a signature written");
                    assert!(found.insert(i), "article {i} twice");
                }
            }
            assert_eq!(found.len(), 26);
            assert_eq!(unsigned, 4);
        };
        reader.reload().unwrap();
        let searcher = reader.searcher();
        assert_eq!(searcher.segment_readers().len(), 3);
        check(&searcher, &Columns::new(&searcher));
        check(&searcher, &Columns::with_files(&searcher, folder.path(), 0));
        assert_eq!(sig_files().len(), 3, "a file per segment");
        // A file cut short (an older or damaged one) is written again.
        let first = dir.join(format!(
            "{}.sig",
            searcher.segment_readers()[0].segment_id().uuid_string()
        ));
        let whole = std::fs::read(&first).unwrap();
        std::fs::write(&first, &whole[..100]).unwrap();
        check(&searcher, &Columns::with_files(&searcher, folder.path(), 0));
        assert_eq!(std::fs::read(&first).unwrap(), whole);
        // Segments under the floor are read from their columns.
        check(
            &searcher,
            &Columns::with_files(&searcher, folder.path(), 11),
        );
        let ids = index.searchable_segment_ids().unwrap();
        writer.merge(&ids).wait().unwrap();
        writer.wait_merging_threads().unwrap();
        reader.reload().unwrap();
        let searcher = reader.searcher();
        assert_eq!(searcher.segment_readers().len(), 1);
        check(&searcher, &Columns::new(&searcher));
        // The merged-away segments' files go; the merged segment gets one.
        check(&searcher, &Columns::with_files(&searcher, folder.path(), 0));
        let merged = searcher.segment_readers()[0].segment_id().uuid_string();
        assert_eq!(sig_files(), BTreeSet::from([format!("{merged}.sig")]));
    }

    #[test]
    fn founder_keys_carry_the_content_hash() {
        assert_eq!(founder_key("a1", "0123456789abcdef"), "a1@0123456789ab");
    }
}
