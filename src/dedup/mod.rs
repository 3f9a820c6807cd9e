//! Near-duplicate detection: syndicated copies (the same wire story with
//! another headline, a trimmed end, a reworded sentence, an `更新:` line)
//! and re-saved updates are put in one *duplicate group* at ingest.
//!
//! * [`signature`] — MinHash over 5-character shingles of the normalised
//!   body, and its LSH bands.
//! * [`groups`] — how the writer assigns groups (bands indexed as terms find
//!   candidates, never all pairs) and keeps them right after merges, deletes
//!   and changes.
//! * [`aliases`] — merged groups: the keys that now name another group,
//!   kept in a log beside the index and resolved by every reader.
//! * [`files`], [`signature_file`], [`band_table`], [`group_file`] — the
//!   writer reads the signatures, band postings and group keys of large
//!   segments from files of their own with `pread` (not through the index's
//!   memory maps, which kept them resident; not through the group column's
//!   compressed dictionary, which made a zstd context per key).
//! * [`pending_bands`] — which articles written since the last commit hold
//!   a band key (a compact table: a commit window holds ~1.3 million pairs).
//! * [`lookup`] — a group's articles and representative (`/articles/{id}/duplicates`).

pub mod aliases;
pub mod band_table;
pub mod collapse;
pub mod files;
pub mod group_file;
pub mod groups;
pub mod lookup;
pub mod pending_bands;
pub mod signature;
pub mod signature_file;
pub mod synth;

pub use aliases::Aliases;
pub use groups::{Pending, Settings, founder_key};
pub use lookup::{DuplicateArticle, Duplicates};
pub use signature::{Signature, Similarity};

use crate::error::Result;
use crate::index::{Store, Writer};

/// Groups larger than this are not checked for a split after a delete
/// (pairwise comparison; a wire story printed this often is one group anyway).
const MAX_SPLIT_CHECK: usize = 2_000;

/// After a commit: splits groups that fell apart (each part but one gets a
/// key of its own: its articles are written again), and commits again.
/// Merged groups need nothing here: their keys are aliases
/// ([`aliases`]), synced with the commit. Returns the last opstamp.
pub(crate) fn fix_groups(
    writer: &mut Writer,
    store: &Store,
    fixups: groups::Fixups,
    mut opstamp: u64,
) -> Result<u64> {
    let started = std::time::Instant::now();
    let mut split = 0usize;
    for group in &fixups.checks {
        let searcher = store.searcher();
        let keys: Vec<String> = writer.aliases().keys(group).map(String::from).collect();
        let addrs = groups::members_of(store, &searcher, &keys)?;
        if addrs.len() < 2 || addrs.len() > MAX_SPLIT_CHECK {
            continue;
        }
        let columns = groups::Columns::new(&searcher);
        let articles = addrs
            .iter()
            .map(|&a| Ok((store.load(&searcher, a)?, columns.signature(&searcher, a))))
            .collect::<Result<Vec<_>>>()?;
        let parts = groups::components(articles.len(), |i, j| {
            match (&articles[i].1, &articles[j].1) {
                (Some(a), Some(b)) => store.dedup.is_duplicate(a.similarity(b)),
                _ => false,
            }
        });
        if parts.len() < 2 {
            continue;
        }
        let founder = |i: &usize| {
            let s = &articles[*i].0;
            founder_key(&s.article.id, &s.hash) == *group
        };
        let keep = parts
            .iter()
            .position(|p| p.iter().any(founder))
            .or_else(|| (0..parts.len()).max_by_key(|&k| (parts[k].len(), std::cmp::Reverse(k))))
            .unwrap_or(0);
        let mut moves = Vec::new();
        for (k, part) in parts.iter().enumerate() {
            if k == keep {
                continue;
            }
            let first = part
                .iter()
                .map(|&i| &articles[i].0)
                .min_by(|a, b| lookup::earliest_first(&a.article, &b.article))
                .expect("a part is never empty");
            let key = fresh_key(
                writer.aliases(),
                group,
                founder_key(&first.article.id, &first.hash),
            );
            moves.extend(part.iter().map(|&i| (addrs[i], key.clone())));
        }
        split += moves.len();
        writer.rewrite_many(store, &searcher, moves)?;
    }
    if split > 0 {
        opstamp = writer.commit_writes(store)?;
    }
    tracing::debug!(
        checked_groups = fixups.checks.len(),
        split,
        took_ms = started.elapsed().as_millis(),
        "duplicate groups checked for splits after a commit"
    );
    Ok(opstamp)
}

/// The key for a part split off `group`: its first article's founder key,
/// unless that names a group already (the key of a group merged into
/// `group` is its alias): then with a suffix that does not.
fn fresh_key(aliases: &Aliases, group: &str, founder: String) -> String {
    let mut key = founder.clone();
    let mut n = 1;
    while key == group || aliases.knows(&key) {
        key = format!("{founder}~{n}");
        n += 1;
    }
    key
}
