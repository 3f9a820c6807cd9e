//! Which band keys a committed segment holds, answered from memory.
//!
//! The writer looks up each new article's LSH band keys ([`BANDS`] of them)
//! in every segment to find candidate duplicates. Nearly all of those
//! look-ups miss (most articles are nobody's copy), and each miss still
//! costs a term-dictionary search (an FST walk and a compressed block read);
//! at a million articles in a few dozen segments that was a third of the
//! writer's time, and it grew with the archive. A binary fuse filter
//! (`xorf`, ~9 bits a key, 0.4 % false positives, no false negatives) per
//! segment answers "certainly not here" without touching the index; only
//! keys it may hold are looked up. A segment never changes, so its filter
//! stays true while it lives; filters of segments gone (merged) are dropped.
//!
//! [`BANDS`]: super::signature::BANDS

use std::collections::HashMap;

use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::{Searcher, SegmentReader};
use xorf::{BinaryFuse8, Filter};

/// The band filters of the segments seen lately.
#[derive(Default)]
pub struct BandFilters {
    map: HashMap<SegmentId, SegmentBands>,
}

enum SegmentBands {
    /// The segment holds no band key.
    Empty,
    Keys(BinaryFuse8),
    /// The filter could not be built: every key may be there.
    Unknown,
}

impl BandFilters {
    /// Drops the filters of segments `searcher` no longer has.
    pub fn retain(&mut self, searcher: &Searcher) {
        let live = searcher.segment_readers();
        self.map
            .retain(|id, _| live.iter().any(|s| s.segment_id() == *id));
    }

    /// Whether `segment` may hold the band term with these value bytes
    /// (false: certainly not). Builds the segment's filter on first use.
    pub fn may_hold(&mut self, segment: &SegmentReader, field: Field, key: &[u8]) -> bool {
        let bands = self
            .map
            .entry(segment.segment_id())
            .or_insert_with(|| SegmentBands::of(segment, field));
        match bands {
            SegmentBands::Empty => false,
            SegmentBands::Keys(filter) => filter.contains(&key_hash(key)),
            SegmentBands::Unknown => true,
        }
    }

    /// Segments with a filter now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl SegmentBands {
    /// Reads every band term of the segment once, in dictionary order.
    fn of(segment: &SegmentReader, field: Field) -> SegmentBands {
        let read = || -> tantivy::Result<Vec<u64>> {
            let index = segment.inverted_index(field)?;
            let mut keys = Vec::with_capacity(index.terms().num_terms());
            let mut stream = index.terms().stream()?;
            while stream.advance() {
                keys.push(key_hash(stream.key()));
            }
            Ok(keys)
        };
        match read() {
            Ok(keys) if keys.is_empty() => SegmentBands::Empty,
            Ok(mut keys) => {
                // Distinct terms can share a 64-bit hash only by accident;
                // the filter wants distinct keys.
                keys.sort_unstable();
                keys.dedup();
                match BinaryFuse8::try_from(&keys) {
                    Ok(filter) => SegmentBands::Keys(filter),
                    Err(e) => {
                        tracing::warn!("band filter of segment {}: {e}", segment.segment_id());
                        SegmentBands::Unknown
                    }
                }
            }
            Err(e) => {
                tracing::warn!("band filter of segment {}: {e}", segment.segment_id());
                SegmentBands::Unknown
            }
        }
    }
}

/// The filter's key for a band term's value bytes (8 bytes for a `u64`
/// term; hashed so that any length works the same on both sides).
fn key_hash(bytes: &[u8]) -> u64 {
    match <[u8; 8]>::try_from(bytes) {
        // Band keys are already hashes: spread them once more for the filter.
        Ok(b) => u64::from_be_bytes(b)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(29),
        Err(_) => {
            let h = blake3::hash(bytes);
            u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{INDEXED, Schema};
    use tantivy::{Index, TantivyDocument, Term};

    use super::*;

    /// Every key a segment holds is found; keys it does not hold are nearly
    /// all refused; an empty segment holds nothing; filters of merged-away
    /// segments are dropped.
    #[test]
    fn no_false_negatives_few_false_positives() {
        let mut builder = Schema::builder();
        let band = builder.add_u64_field("band", INDEXED);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let key = |i: u64| i.wrapping_mul(0xD1B5_4A32_D192_ED03);
        for d in 0..2_000u64 {
            let mut doc = TantivyDocument::default();
            for b in 0..5 {
                doc.add_u64(band, key(d * 5 + b));
            }
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let segment = searcher.segment_reader(0);
        let bytes = |k: u64| {
            Term::from_field_u64(band, k)
                .serialized_value_bytes()
                .to_vec()
        };
        let mut filters = BandFilters::default();
        for i in 0..10_000 {
            assert!(filters.may_hold(segment, band, &bytes(key(i))), "key {i}");
        }
        let false_positives = (10_000..110_000)
            .filter(|&i| filters.may_hold(segment, band, &bytes(key(i))))
            .count();
        assert!(false_positives < 1_000, "{false_positives} of 100,000");
        assert_eq!(filters.len(), 1);

        // A segment without the field's terms holds nothing.
        let mut builder = Schema::builder();
        let band = builder.add_u64_field("band", INDEXED);
        let empty = Index::create_in_ram(builder.build());
        let mut w = empty.writer_with_num_threads(1, 15_000_000).unwrap();
        w.add_document(TantivyDocument::default()).unwrap();
        w.commit().unwrap();
        let empty_searcher = empty.reader().unwrap().searcher();
        assert!(!filters.may_hold(empty_searcher.segment_reader(0), band, &bytes(key(1))));
        assert_eq!(filters.len(), 2);
        filters.retain(&searcher);
        assert_eq!(filters.len(), 1);
    }
}
