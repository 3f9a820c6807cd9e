//! Which terms of a field a committed segment holds, answered from memory.
//!
//! The writer looks up, in every segment, each new article's id (is it an
//! update?) and its LSH band keys ([`BANDS`] of them: candidate
//! duplicates). Nearly all of those look-ups miss (a fresh ingest updates
//! nothing; most articles are nobody's copy), and each miss still costs a
//! term-dictionary search (an FST walk and a compressed block read): at a
//! million articles in a few dozen segments the band look-ups were a third
//! of the writer's time, and the id look-ups grew with the archive the same
//! way. A binary fuse filter (`xorf`, ~9 bits a term, 0.4 % false
//! positives, no false negatives) per segment and field answers "certainly
//! not here" without touching the index; only terms it may hold are looked
//! up. A segment never changes, so its filters stay true while it lives;
//! filters of segments gone (merged) are dropped.
//!
//! A large segment's keys are split by their top bits into parts of at most
//! [`PART_KEYS`], each with a filter of its own: building a filter takes
//! ~25 bytes a key while it runs, which for a merged segment of 90,000
//! articles (1.5 million band keys) was ~40 MB at once, in the middle of an
//! ingest; a part takes ~6 MB. A look-up probes the one part its key falls
//! in, so the answers and their cost are the same.
//!
//! [`BANDS`]: crate::dedup::signature::BANDS

use rustc_hash::FxHashMap;
use tantivy::index::SegmentId;
use tantivy::schema::Field;
use tantivy::{Searcher, SegmentReader};
use xorf::{BinaryFuse8, Filter};

/// Most keys a filter part is built from ([`SegmentTerms::Keys`]).
pub const PART_KEYS: usize = 1 << 18;

/// The term filters of the segments seen lately, by segment and field.
#[derive(Default)]
pub struct TermFilters {
    map: FxHashMap<(SegmentId, Field), SegmentTerms>,
    /// The segments of the searcher last retained (most calls find the same).
    live: Vec<SegmentId>,
}

/// What a segment holds of one field's terms.
pub enum SegmentTerms {
    /// The segment holds no term of the field.
    Empty,
    /// The filters of the keys whose top `bits` bits are 0, 1, … (one
    /// filter when `bits` is 0; `None`: no key of the segment falls there).
    Keys {
        bits: u32,
        parts: Vec<Option<BinaryFuse8>>,
    },
    /// The filter could not be built: every key may be there.
    Unknown,
}

impl SegmentTerms {
    /// Whether the segment may hold the term whose value hashes to `key`
    /// ([`key_hash`]; false: certainly not).
    #[inline]
    pub fn may_hold(&self, key: u64) -> bool {
        match self {
            SegmentTerms::Empty => false,
            SegmentTerms::Keys { bits, parts } => {
                let part = if *bits == 0 { 0 } else { key >> (64 - bits) };
                parts[part as usize]
                    .as_ref()
                    .is_some_and(|filter| filter.contains(&key))
            }
            SegmentTerms::Unknown => true,
        }
    }
}

impl TermFilters {
    /// Drops the filters of segments `searcher` no longer has.
    pub fn retain(&mut self, searcher: &Searcher) {
        if !update_live(&mut self.live, searcher) {
            return;
        }
        let ids = &self.live;
        self.map.retain(|(id, _), _| ids.contains(id));
    }

    /// The filter of `field` in `segment`, built on first use.
    pub fn segment(&mut self, segment: &SegmentReader, field: Field) -> &SegmentTerms {
        self.map
            .entry((segment.segment_id(), field))
            .or_insert_with(|| SegmentTerms::of(segment, field))
    }

    /// Whether `segment` may hold the term of `field` with these value
    /// bytes (false: certainly not). Builds the segment's filter of the
    /// field on first use.
    pub fn may_hold(&mut self, segment: &SegmentReader, field: Field, value: &[u8]) -> bool {
        self.may_hold_hashed(segment, field, key_hash(value))
    }

    /// [`TermFilters::may_hold`] for a value hashed once by [`key_hash`]
    /// (one value looked for in many segments).
    pub fn may_hold_hashed(&mut self, segment: &SegmentReader, field: Field, key: u64) -> bool {
        self.segment(segment, field).may_hold(key)
    }

    /// Filters (segments × fields) now.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

impl SegmentTerms {
    /// Reads every term of the field in the segment once, in dictionary order.
    fn of(segment: &SegmentReader, field: Field) -> SegmentTerms {
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
            Ok(keys) if keys.is_empty() => SegmentTerms::Empty,
            Ok(mut keys) => {
                // Distinct terms can share a 64-bit hash only by accident;
                // the filter wants distinct keys.
                keys.sort_unstable();
                keys.dedup();
                SegmentTerms::of_keys(&keys).unwrap_or_else(|e| {
                    tracing::warn!("term filter of segment {}: {e}", segment.segment_id());
                    SegmentTerms::Unknown
                })
            }
            Err(e) => {
                tracing::warn!("term filter of segment {}: {e}", segment.segment_id());
                SegmentTerms::Unknown
            }
        }
    }

    /// The filters of sorted, distinct `keys` (not empty), in parts of at
    /// most about [`PART_KEYS`] (a power of two of them, by top bits).
    fn of_keys(keys: &[u64]) -> Result<SegmentTerms, &'static str> {
        let parts = keys.len().div_ceil(PART_KEYS).next_power_of_two();
        let bits = parts.trailing_zeros();
        let mut rest = keys;
        let parts = (0..parts as u64)
            .map(|part| {
                let end = if bits == 0 {
                    rest.len()
                } else {
                    rest.partition_point(|&k| k >> (64 - bits) == part)
                };
                let (these, after) = rest.split_at(end);
                rest = after;
                match these {
                    [] => Ok(None),
                    these => BinaryFuse8::try_from(these).map(Some),
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SegmentTerms::Keys { bits, parts })
    }
}

/// Sets `live` to the ids of `searcher`'s segments; false when it held
/// them already (most calls: nothing to drop).
pub fn update_live(live: &mut Vec<SegmentId>, searcher: &Searcher) -> bool {
    let segments = searcher.segment_readers();
    if segments.len() == live.len()
        && segments
            .iter()
            .zip(live.iter())
            .all(|(s, id)| s.segment_id() == *id)
    {
        return false;
    }
    *live = segments.iter().map(|s| s.segment_id()).collect();
    true
}

/// The filter's key for a term's value bytes (8 bytes for a `u64` term,
/// the UTF-8 of a text term; hashed so that any length works the same on
/// both sides).
pub fn key_hash(bytes: &[u8]) -> u64 {
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
        let mut filters = TermFilters::default();
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

    /// A segment with more keys than a part holds gets several filters
    /// (by the keys' top bits), each built on its own, and answers as one
    /// filter does: every key found, few others.
    #[test]
    fn large_key_sets_are_filtered_in_parts() {
        let key = |i: u64| i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17);
        let mut keys: Vec<u64> = (0..(PART_KEYS as u64 * 5 / 2)).map(key).collect();
        keys.sort_unstable();
        let terms = SegmentTerms::of_keys(&keys).unwrap();
        let SegmentTerms::Keys { bits, parts } = &terms else {
            panic!("keys give filters");
        };
        assert_eq!((*bits, parts.len()), (2, 4));
        assert!(parts.iter().all(Option::is_some));
        assert!(keys.iter().all(|&k| terms.may_hold(k)));
        let others = (1u64 << 40..(1 << 40) + 100_000)
            .filter(|&i| terms.may_hold(key(i)))
            .count();
        assert!(others < 1_000, "{others} of 100,000");

        // Keys all in one part leave the others empty, which hold nothing.
        let low: Vec<u64> = (0..PART_KEYS as u64 + 1).collect();
        let terms = SegmentTerms::of_keys(&low).unwrap();
        let SegmentTerms::Keys { parts, .. } = &terms else {
            panic!("keys give filters");
        };
        assert_eq!(parts.iter().filter(|p| p.is_some()).count(), 1);
        assert!(low.iter().all(|&k| terms.may_hold(k)));
        assert!(!terms.may_hold(u64::MAX));
    }

    /// Each field of a segment has its own filter: text terms (ids) are
    /// found in their field and not in another.
    #[test]
    fn text_terms_by_field() {
        let mut builder = Schema::builder();
        let id = builder.add_text_field("id", tantivy::schema::STRING);
        let other = builder.add_text_field("other", tantivy::schema::STRING);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for d in 0..1_000 {
            let mut doc = TantivyDocument::default();
            doc.add_text(id, format!("記事-{d}"));
            doc.add_text(other, format!("別-{d}"));
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let segment = searcher.segment_reader(0);
        let mut filters = TermFilters::default();
        for d in 0..1_000 {
            let key = key_hash(format!("記事-{d}").as_bytes());
            assert!(filters.may_hold_hashed(segment, id, key), "記事-{d}");
        }
        let in_other = (0..1_000)
            .filter(|d| filters.may_hold(segment, other, format!("記事-{d}").as_bytes()))
            .count();
        assert!(in_other < 50, "{in_other} of 1,000");
        assert!(filters.may_hold(segment, other, "別-7".as_bytes()));
        assert_eq!(filters.len(), 2);
    }
}
