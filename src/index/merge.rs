//! Which segments tantivy merges: its `LogMergePolicy` (segments of similar
//! size, eight at a time), with one bound added — **a merge never reads
//! more than `max_docs` documents**.
//!
//! Without the bound, segments merge into ever larger ones: at 300,000
//! articles one merge read most of the index, the ingest's resident memory
//! (the merged segments are memory-mapped) reached 2.4 GB, and the CPU per
//! article grew with the corpus. With it, the work per article and the
//! memory of a merge stay flat; the index keeps more segments of about
//! `max_docs` each (searches visit every segment; a few dozen cost little).
//! (`LogMergePolicy::set_max_docs_before_merge` alone does not bound a
//! merge: eight segments just under the limit still merge into one eight
//! times larger.)
//!
//! A second rule keeps each article from being merged twice: the
//! segments tantivy offers are packed into merges of at most `max_docs`,
//! and what is left over — **a few segments that would merge into one well
//! under the bound — waits** for the next segments of their size instead.
//! Merged at once, the leftover became a segment of, say, a third of the
//! bound, which a later merge reads and writes again once eight of its size
//! have gathered. At a million generated articles (flushes of ~16,700,
//! packed five to a merge of ~83,500) the leftovers were one or two
//! segments of ~33,000 (3–7 % of the articles), not yet merged again: the
//! second merge comes at a few million. A leftover of many segments (tiny
//! ones, from small batches) is merged as before, so the segments waiting
//! stay few.
//!
//! **When a batch ingest finishes** ([`finish`], `kiji ingest`), the
//! small segments its last commits flushed (each commit closes every
//! indexing thread's segment, full or not) are merged, at most `max_docs`
//! articles a merge, when there are at least [`MIN_FINISH_SEGMENTS`] of
//! them under an eighth of the bound. Every search visits every segment:
//! one ingest of a million generated articles ended with 6 such segments
//! of its 21, for 4 % of the articles; merging them took 2.8 s and a rare
//! keyword's search about a tenth less time. Larger segments are left as
//! they are: with every segment under half the bound merged (the rule
//! first tried), a 100k ingest's seven became one, a second merge of every
//! article it had just written.

use tantivy::index::SegmentId;
use tantivy::index::SegmentMeta;
use tantivy::indexer::{LogMergePolicy, MergeCandidate, MergePolicy};

/// `index.max_merge_docs` when the configuration does not say.
pub const DEFAULT_MAX_MERGE_DOCS: u32 = 100_000;

/// A segment with more than this share of deleted documents is merged
/// (alone if need be) to drop them.
const DELETED_RATIO: f32 = 0.3;

/// Segments of a size that tantivy's policy waits for before it offers
/// them for merging (its default, set here so that the leftover rule
/// reads the same number). A leftover merge (the last of a level's,
/// smaller than the bound) of fewer segments than this, that would write
/// fewer than [`FULL_SHARE`] of the bound, waits for more segments of its
/// size, so at most this many less one wait at a time.
const MIN_NUM_SEGMENTS: usize = 8;

/// The share of `max_docs` from which a merge is worth making now.
const FULL_SHARE: f64 = 0.75;

/// When an ingest finishes, the fewest small segments worth merging. Fewer
/// are left as they are, so a small ingest into a large index does not
/// merge its one segment with the last ingest's every time.
pub const MIN_FINISH_SEGMENTS: usize = 4;

/// Segments under `max_docs / FINISH_SHARE` are small when an ingest
/// finishes.
const FINISH_SHARE: u32 = 8;

#[derive(Debug)]
pub struct BoundedMergePolicy {
    inner: LogMergePolicy,
    max_docs: u32,
}

impl BoundedMergePolicy {
    pub fn new(max_docs: u32) -> BoundedMergePolicy {
        let mut inner = LogMergePolicy::default();
        inner.set_max_docs_before_merge(max_docs as usize);
        inner.set_min_num_segments(MIN_NUM_SEGMENTS);
        // Updated and deleted articles are dropped for good when a segment
        // with many of them is merged (alone, if need be).
        inner.set_del_docs_ratio_before_merge(DELETED_RATIO);
        BoundedMergePolicy { inner, max_docs }
    }
}

/// Segments packed smallest first into bins of at most `max_docs`
/// documents (a bin closes when the next segment would overflow it; one
/// segment over the bound is a bin of its own), each with its documents.
fn pack(
    mut sized: Vec<(u32, SegmentId)>,
    max_docs: u32,
) -> impl Iterator<Item = (Vec<SegmentId>, u64)> {
    sized.sort();
    let mut bins: Vec<(Vec<SegmentId>, u64)> = Vec::new();
    for (n, id) in sized {
        match bins.last_mut() {
            Some((bin, docs)) if *docs + u64::from(n) <= u64::from(max_docs) => {
                bin.push(id);
                *docs += u64::from(n);
            }
            _ => bins.push((vec![id], u64::from(n))),
        }
    }
    bins.into_iter()
}

/// The merges that finish a batch ingest, each with its documents: when at
/// least [`MIN_FINISH_SEGMENTS`] segments are under an eighth of
/// `max_docs`, those segments [`pack`]ed into merges of at most `max_docs`
/// (module docs).
pub fn finishing_merges(segments: &[SegmentMeta], max_docs: u32) -> Vec<(Vec<SegmentId>, u64)> {
    let small: Vec<(u32, SegmentId)> = segments
        .iter()
        .filter(|s| s.max_doc() < max_docs / FINISH_SHARE)
        .map(|s| (s.max_doc(), s.id()))
        .collect();
    if small.len() < MIN_FINISH_SEGMENTS {
        return Vec::new();
    }
    pack(small, max_docs)
        .filter(|(bin, _)| bin.len() >= 2)
        .collect()
}

/// What [`finish`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Finished {
    /// Segments before and after.
    pub segments: (usize, usize),
    /// Segments merged.
    pub merged_segments: usize,
    /// Articles the merges read.
    pub merged_docs: u64,
}

/// Merges the small segments a batch ingest leaves ([`finishing_merges`]),
/// with a writer of its own, and removes their files: call it once the
/// ingest's writer is closed (its merges done) and no searcher holds the
/// index's segments (tantivy keeps the files of any segment still held).
pub fn finish(index: &tantivy::Index, max_docs: u32) -> tantivy::Result<Finished> {
    let (before, merges) = {
        let metas = index.searchable_segment_metas()?;
        (metas.len(), finishing_merges(&metas, max_docs))
    };
    let mut done = Finished {
        segments: (before, before),
        ..Finished::default()
    };
    if merges.is_empty() {
        return Ok(done);
    }
    // Merging needs no indexing memory: tantivy's smallest budget.
    let mut writer: tantivy::IndexWriter<tantivy::TantivyDocument> =
        index.writer_with_num_threads(1, 15_000_000)?;
    writer.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    for (ids, docs) in &merges {
        writer.merge(ids).wait()?;
        done.merged_segments += ids.len();
        done.merged_docs += docs;
    }
    // The merged segments' files go now, not when a writer next commits.
    writer.garbage_collect_files().wait()?;
    writer.wait_merging_threads()?;
    done.segments.1 = index.searchable_segment_metas()?.len();
    Ok(done)
}

impl MergePolicy for BoundedMergePolicy {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let size = |id: &SegmentId| {
            segments
                .iter()
                .find(|s| s.id() == *id)
                .map_or(0, |s| s.max_doc())
        };
        let mut out = Vec::new();
        for candidate in self.inner.compute_merge_candidates(segments) {
            let sized = candidate.0.iter().map(|id| (size(id), *id)).collect();
            let mut bins = pack(sized, self.max_docs).peekable();
            let mut last = (Vec::new(), 0);
            while let Some(bin) = bins.next() {
                if bins.peek().is_none() {
                    last = bin;
                } else {
                    close(&mut out, bin.0, segments);
                }
            }
            let (bin, docs) = last;
            // The leftover: merged now only if it is many segments or
            // fills most of a merge (a segment with many deletes is still
            // merged alone).
            let waits = bin.len() > 1
                && bin.len() < MIN_NUM_SEGMENTS
                && (docs as f64) < FULL_SHARE * f64::from(self.max_docs);
            if !waits {
                close(&mut out, bin, segments);
            }
        }
        out
    }
}

/// Emits `bin` as a merge if it merges something: two segments or more, or
/// one segment with many deleted documents to drop.
fn close(out: &mut Vec<MergeCandidate>, bin: Vec<SegmentId>, segments: &[SegmentMeta]) {
    let expunges = bin.len() == 1
        && segments.iter().any(|s| {
            s.id() == bin[0]
                && s.max_doc() > 0
                && s.num_deleted_docs() as f32 > DELETED_RATIO * s.max_doc() as f32
        });
    if bin.len() >= 2 || expunges {
        out.push(MergeCandidate(bin));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::Index;
    use tantivy::schema::{STRING, Schema};

    fn metas(sizes: &[(u32, u32)]) -> Vec<SegmentMeta> {
        let mut b = Schema::builder();
        b.add_text_field("id", STRING);
        let index = Index::create_in_ram(b.build());
        sizes
            .iter()
            .map(|&(docs, deleted)| {
                let m = index.new_segment_meta(SegmentId::generate_random(), docs);
                if deleted > 0 {
                    m.with_delete_meta(deleted, 1)
                } else {
                    m
                }
            })
            .collect()
    }

    fn merged_sizes(policy: &BoundedMergePolicy, segments: &[SegmentMeta]) -> Vec<Vec<u32>> {
        let mut out: Vec<Vec<u32>> = policy
            .compute_merge_candidates(segments)
            .into_iter()
            .map(|c| {
                let mut v: Vec<u32> =
                    c.0.iter()
                        .map(|id| segments.iter().find(|s| s.id() == *id).unwrap().max_doc())
                        .collect();
                v.sort();
                v
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn small_segments_merge_as_tantivy_would() {
        let segments = metas(&[(1_000, 0); 8]);
        assert_eq!(
            merged_sizes(&BoundedMergePolicy::new(100_000), &segments),
            vec![vec![1_000; 8]]
        );
        // Fewer than eight of a size: nothing to do yet.
        assert!(merged_sizes(&BoundedMergePolicy::new(100_000), &segments[..7]).is_empty());
    }

    #[test]
    fn no_merge_reads_more_than_the_bound() {
        // Eight segments of 30,000: tantivy alone would merge them into
        // 240,000. Two merges of three; the two left over wait.
        let segments = metas(&[(30_000, 0); 8]);
        let merges = merged_sizes(&BoundedMergePolicy::new(100_000), &segments);
        assert_eq!(merges, vec![vec![30_000; 3], vec![30_000; 3]]);
        for m in &merges {
            assert!(m.iter().sum::<u32>() <= 100_000);
        }
        // Segments at the bound are left alone.
        let full = metas(&[(100_000, 0); 9]);
        assert!(merged_sizes(&BoundedMergePolicy::new(100_000), &full).is_empty());
    }

    #[test]
    fn a_few_segments_left_over_wait_for_more_of_their_size() {
        let policy = BoundedMergePolicy::new(100_000);
        // Eight flushes of ~16,700: five make a merge of ~83,500; the three
        // left over would make a segment of ~50,000 to be merged again.
        let flushed = metas(&[(16_700, 0); 8]);
        assert_eq!(merged_sizes(&policy, &flushed), vec![vec![16_700; 5]]);
        // With the next flushes they fill merges of their own.
        let more = metas(&[(16_700, 0); 10]);
        assert_eq!(
            merged_sizes(&policy, &more),
            vec![vec![16_700; 5], vec![16_700; 5]]
        );
        // A leftover that fills most of a merge is made now.
        let large = metas(&[(40_000, 0); 8]);
        assert_eq!(merged_sizes(&policy, &large), vec![vec![40_000; 2]; 4]);
        // Many small segments merge at once: they are never left waiting.
        let tiny = metas(&[(100, 0); 40]);
        assert_eq!(merged_sizes(&policy, &tiny), vec![vec![100; 40]]);
    }

    fn finishing_sizes(segments: &[SegmentMeta]) -> Vec<Vec<u32>> {
        finishing_merges(segments, 100_000)
            .iter()
            .map(|(ids, _)| {
                let mut v: Vec<u32> = ids
                    .iter()
                    .map(|id| segments.iter().find(|s| s.id() == *id).unwrap().max_doc())
                    .collect();
                v.sort();
                v
            })
            .collect()
    }

    #[test]
    fn a_finished_ingest_merges_the_small_segments_left() {
        // What a million generated articles left: ten merged segments, five
        // flushes waiting for more of their size, the last commits' six.
        let mut sizes = vec![(90_000, 0); 10];
        sizes.extend([(16_800, 0); 5]);
        sizes.extend([11_668, 7_886, 7_629, 6_160, 5_790, 1_469].map(|n| (n, 0)));
        // The last commits' six, under an eighth of the bound, into one.
        assert_eq!(
            finishing_sizes(&metas(&sizes)),
            vec![vec![1_469, 5_790, 6_160, 7_629, 7_886, 11_668]]
        );
        // After it, and after a small ingest: too few small segments.
        let after = metas(&[(90_000, 0), (40_608, 0), (500, 0), (40, 0)]);
        assert!(finishing_sizes(&after).is_empty());
        // A 100k ingest's six flushes and the rest: left as they are.
        let mut whole = vec![(16_600, 0); 6];
        whole.push((400, 0));
        assert!(finishing_sizes(&metas(&whole)).is_empty());
        // Many tiny segments fill merges up to the bound.
        assert_eq!(
            finishing_sizes(&metas(&[(12_000, 0); 10])),
            vec![vec![12_000; 8], vec![12_000; 2]]
        );
    }

    #[test]
    fn finishing_merges_the_small_segments_of_an_index() {
        let mut b = Schema::builder();
        let id = b.add_text_field("id", STRING | tantivy::schema::STORED);
        let index = Index::create_in_ram(b.build());
        let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        w.set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
        // Six commits: six segments of 20 articles, ids 記事-0 …
        for c in 0..6 {
            for i in 0..20 {
                w.add_document(tantivy::doc!(id => format!("記事-{}", c * 20 + i)))
                    .unwrap();
            }
            w.commit().unwrap();
        }
        drop(w);
        let done = finish(&index, 200).unwrap();
        // Under an eighth of 200: merged, at most 200 at a time.
        assert_eq!(
            done,
            Finished {
                segments: (6, 1),
                merged_segments: 6,
                merged_docs: 120
            }
        );
        // The merged segments' files are gone.
        let segment_files = index
            .directory()
            .list_managed_files()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "idx"))
            .count();
        assert_eq!(segment_files, 1);
        let reader = index.reader().unwrap();
        assert_eq!(reader.searcher().num_docs(), 120);
        let term = tantivy::Term::from_field_text(id, "記事-119");
        assert_eq!(reader.searcher().doc_freq(&term).unwrap(), 1);
        // Nothing left to do.
        assert_eq!(finish(&index, 200).unwrap().segments, (1, 1));
    }

    #[test]
    fn a_segment_with_many_deletes_is_merged_alone() {
        let segments = metas(&[(100_000, 40_000)]);
        assert_eq!(
            merged_sizes(&BoundedMergePolicy::new(100_000), &segments),
            vec![vec![100_000]]
        );
        // A few deletes are not worth rewriting a segment.
        let few = metas(&[(100_000, 1_000)]);
        assert!(merged_sizes(&BoundedMergePolicy::new(100_000), &few).is_empty());
    }
}
