//! The band postings of a large segment, copied once into a file of their
//! own and read with `pread`, for the writer's search of candidates.
//!
//! Each new article's [`BANDS`] band keys are looked up in every committed
//! segment that may hold them (after the in-memory filter of
//! [`crate::index::term_filter`]). Through tantivy, a look-up walks the
//! field's term dictionary (an FST) and reads the postings, both at random
//! places of memory-mapped files, each touch mapping the 64 KiB around it:
//! at a million articles about 160 MB of the ingest's resident set (stop 29's
//! probe: `.term` 117 MB, `.idx` 44 MB at the peak), the part of it that
//! still grew with the archive once the signatures were read from files
//! ([`super::signature_file`]).
//!
//! A table (`index/dedup/<segment>.bands`, see [`super::files`]) holds every
//! (band key, document) pair of the segment's band field, sorted by key then
//! document, 12 bytes each (key and document, little endian); then the key of
//! every [`BLOCK`]-th pair (the sparse index, read into memory when the table
//! is opened: 8 bytes per 32 pairs), the number of pairs and a magic number.
//! A look-up finds its block in the sparse index and reads it (and the next,
//! while the key runs on) with one `pread` each: 384 bytes, most of a
//! million-article ingest's kernel time being these reads (blocks of 128
//! pairs copied four times the bytes). A table written with another block
//! size fails the length check and is written again.
//!
//! The block is found in two steps: in every 16th key of the sparse index
//! (a copy small enough to stay in cache), then in the 16 keys it points to.
//! One binary search over a million-article segment's sparse index (~66,000
//! keys, 530 KB) missed the cache at nearly every step: at a million
//! articles it was 80 % of the writer's own time in the search of candidates
//! (4 % of the ingest's CPU time); the two steps took 5 % off the CPU time
//! of an ingest of 30,000 new articles into that index (blocks of 16 pairs
//! instead of 32 gained nothing more).
//!
//! [`BANDS`]: super::signature::BANDS

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocSet, SegmentReader, TERMINATED};

use super::files;

/// Bytes of one (key, document) pair.
const PAIR: usize = 12;
/// Pairs per block of the sparse index.
pub const BLOCK: usize = 32;
/// The table's last eight bytes.
const MAGIC: u64 = u64::from_le_bytes(*b"kijiBND1");

/// The band postings of one segment, read with `pread`.
#[derive(Debug)]
pub struct BandTable {
    file: File,
    pairs: u64,
    /// The key of every [`BLOCK`]-th pair.
    first_keys: Vec<u64>,
    /// Every [`STRIDE`]-th of `first_keys`: the first steps of a look-up's
    /// search stay in this small array (in cache) instead of jumping
    /// across `first_keys`, a cache miss a step.
    top_keys: Vec<u64>,
}

/// Entries of `first_keys` per entry of `top_keys`.
const STRIDE: usize = 16;

/// The index of the first of `keys` that is at least `key` (as
/// `keys.partition_point(|&k| k < key)`), searching `top` (every
/// [`STRIDE`]-th of `keys`) first and then one stride of `keys`.
fn first_at_least(keys: &[u64], top: &[u64], key: u64) -> usize {
    // keys[STRIDE * t] >= key for the first time at t = `t`, so the answer
    // is in (STRIDE * (t - 1), STRIDE * t].
    let t = top.partition_point(|&k| k < key);
    if t == 0 {
        return 0;
    }
    let start = STRIDE * (t - 1) + 1;
    let end = (STRIDE * t).min(keys.len());
    start + keys[start..end].partition_point(|&k| k < key)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

impl BandTable {
    /// Opens the band table of `segment` (its reader) for `field` in
    /// `folder`, writing it first when it is missing or not whole.
    pub fn open_or_write(
        folder: &Path,
        segment: &SegmentReader,
        field: Field,
    ) -> io::Result<BandTable> {
        let id = segment.segment_id().uuid_string();
        let whole = |f: &File| Ok(Self::read(f).is_ok());
        let write = |f: &File| Self::write(f, segment, field);
        let file = files::open_or_write(folder, &id, "bands", whole, write)?;
        Self::read(&file).map(|(pairs, first_keys)| BandTable {
            file,
            pairs,
            top_keys: first_keys.iter().step_by(STRIDE).copied().collect(),
            first_keys,
        })
    }

    /// The pair count and sparse index of a whole table.
    fn read(file: &File) -> io::Result<(u64, Vec<u64>)> {
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
        let len = file.metadata()?.len();
        if len < 16 {
            return Err(bad("band table too short"));
        }
        let mut tail = [0u8; 16];
        file.read_exact_at(&mut tail, len - 16)?;
        let (pairs, magic) = (u64_at(&tail, 0), u64_at(&tail, 8));
        let blocks = pairs.div_ceil(BLOCK as u64);
        if magic != MAGIC || len != pairs * PAIR as u64 + blocks * 8 + 16 {
            return Err(bad("band table not whole"));
        }
        let mut index = vec![0u8; blocks as usize * 8];
        file.read_exact_at(&mut index, pairs * PAIR as u64)?;
        let first_keys = index.chunks_exact(8).map(|c| u64_at(c, 0)).collect();
        Ok((pairs, first_keys))
    }

    fn write(file: &File, segment: &SegmentReader, field: Field) -> io::Result<()> {
        let tantivy = |e: tantivy::TantivyError| io::Error::other(e.to_string());
        let index = segment.inverted_index(field).map_err(tantivy)?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut first_keys = Vec::new();
        let mut pairs = 0u64;
        let mut terms = index.terms().stream()?;
        while terms.advance() {
            let Ok(bytes) = <[u8; 8]>::try_from(terms.key()) else {
                continue; // not a u64 term
            };
            let key = u64::from_be_bytes(bytes);
            let mut postings =
                index.read_postings_from_terminfo(terms.value(), IndexRecordOption::Basic)?;
            let mut doc = postings.doc();
            while doc != TERMINATED {
                if pairs.is_multiple_of(BLOCK as u64) {
                    first_keys.push(key);
                }
                out.write_all(&key.to_le_bytes())?;
                out.write_all(&doc.to_le_bytes())?;
                pairs += 1;
                doc = postings.advance();
            }
        }
        for key in first_keys {
            out.write_all(&key.to_le_bytes())?;
        }
        out.write_all(&pairs.to_le_bytes())?;
        out.write_all(&MAGIC.to_le_bytes())?;
        out.flush()
    }

    /// Calls `f` with each document holding `key`, in document order, while
    /// it returns true.
    pub fn postings(&self, key: u64, mut f: impl FnMut(u32) -> bool) -> io::Result<()> {
        // The first block whose first key is at least `key`; the key's run
        // may start in the block before it.
        let mut block = first_at_least(&self.first_keys, &self.top_keys, key).saturating_sub(1);
        let mut buf = [0u8; BLOCK * PAIR];
        while (block as u64) * (BLOCK as u64) < self.pairs {
            let start = block as u64 * BLOCK as u64;
            let n = (self.pairs - start).min(BLOCK as u64) as usize;
            let bytes = &mut buf[..n * PAIR];
            self.file.read_exact_at(bytes, start * PAIR as u64)?;
            for pair in bytes.chunks_exact(PAIR) {
                let k = u64_at(pair, 0);
                if k < key {
                    continue;
                }
                if k > key {
                    return Ok(());
                }
                let doc = u32::from_le_bytes(pair[8..12].try_into().expect("4 bytes"));
                if !f(doc) {
                    return Ok(());
                }
            }
            block += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{INDEXED, Schema};
    use tantivy::{Index, TantivyDocument, Term};

    use super::*;

    /// The two-step search finds what one binary search of all keys finds,
    /// for keys before, between, on and after runs of equal keys, at every
    /// length around the stride.
    #[test]
    fn two_step_search_is_a_binary_search() {
        for n in [0, 1, 2, STRIDE - 1, STRIDE, STRIDE + 1, 5 * STRIDE + 3, 300] {
            // Even keys, each held 1–3 times (a run may cross a stride).
            let keys: Vec<u64> = (0..n as u64)
                .flat_map(|i| std::iter::repeat_n(2 * i, 1 + (i % 3) as usize))
                .collect();
            let top: Vec<u64> = keys.iter().step_by(STRIDE).copied().collect();
            for key in 0..=2 * n as u64 + 2 {
                assert_eq!(
                    first_at_least(&keys, &top, key),
                    keys.partition_point(|&k| k < key),
                    "{n} keys, key {key}"
                );
            }
        }
    }

    /// The table gives, for every key, the documents the index's postings
    /// give, in the same order (keys held by one document, by many across
    /// block boundaries, by none); the callback stops the read; a table
    /// that is not whole is written again.
    #[test]
    fn postings_are_the_index_postings() {
        let mut builder = Schema::builder();
        let band = builder.add_u64_field("band", INDEXED);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        let key = |i: u64| i.wrapping_mul(0xD1B5_4A32_D192_ED03);
        for d in 0..3_000u64 {
            let mut doc = TantivyDocument::default();
            doc.add_u64(band, key(d)); // one document
            doc.add_u64(band, key(1_000_000 + d % 7)); // ~430 documents
            doc.add_u64(band, key(2_000_000 + d % 300)); // 10 documents
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let segment = searcher.segment_reader(0);
        let inverted = segment.inverted_index(band).unwrap();
        let folder = tempfile::tempdir().unwrap();
        let table = BandTable::open_or_write(folder.path(), segment, band).unwrap();
        assert_eq!(table.pairs, 9_000);
        let from_index = |k: u64| -> Vec<u32> {
            let term = Term::from_field_u64(band, k);
            let Some(mut p) = inverted
                .read_postings(&term, IndexRecordOption::Basic)
                .unwrap()
            else {
                return Vec::new();
            };
            let mut docs = Vec::new();
            while p.doc() != TERMINATED {
                docs.push(p.doc());
                p.advance();
            }
            docs
        };
        let from_table = |t: &BandTable, k: u64| -> Vec<u32> {
            let mut docs = Vec::new();
            t.postings(k, |d| {
                docs.push(d);
                true
            })
            .unwrap();
            docs
        };
        let keys = (0..3_000)
            .chain(1_000_000..1_000_007)
            .chain(2_000_000..2_000_300)
            .chain(5_000_000..5_000_100) // held by none
            .map(key);
        for k in keys {
            assert_eq!(from_table(&table, k), from_index(k), "key {k}");
        }
        assert!(from_table(&table, key(1_000_003)).len() > 2 * BLOCK);
        // The callback stops the read.
        let mut seen = 0;
        table
            .postings(key(1_000_003), |_| {
                seen += 1;
                seen < 5
            })
            .unwrap();
        assert_eq!(seen, 5);
        // A table cut short (an interrupted write) is written again.
        let path = folder
            .path()
            .join(format!("{}.bands", segment.segment_id().uuid_string()));
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        let again = BandTable::open_or_write(folder.path(), segment, band).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        assert_eq!(
            from_table(&again, key(1_000_003)),
            from_index(key(1_000_003))
        );
    }
}
