//! The signatures of a large segment, copied once into a file of their own
//! and read with `pread`, for the writer's candidate comparisons.
//!
//! The writer compares each new article with up to
//! [`super::groups::MAX_COMPARED`] committed candidates, each at a random
//! place of some segment's signature column (256 bytes of a column of 256
//! bytes an article). Read through the index's memory maps, every such read
//! maps the 64 KiB around it (the kernel's fault-around), so within the
//! 250 ms between two releases of the maps ([`crate::index::directory`])
//! most of every large segment's column was resident: at a million articles
//! about 250 MB of the ingest's resident set, and the part of it that grew
//! with the archive (measured at stop 27). Read with `pread`, the same bytes
//! come from the page cache without being mapped into the process.
//!
//! A file (`index/dedup/<segment>.sig`, see [`super::files`]) holds one
//! 256-byte record per document of the segment, in document order
//! ([`Signature::to_words`] as little-endian bytes; zeros for an article
//! without a signature), made from the segment's column; a file of the wrong
//! size is written again.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::files;
use super::signature::{Signature, WORDS};

/// Bytes of one record.
const RECORD: usize = 8 * WORDS;

/// The signatures of one segment, read with `pread`.
#[derive(Debug)]
pub struct SignatureFile {
    file: File,
    docs: u32,
}

impl SignatureFile {
    /// Opens the signature file of `segment` (its id) in `folder`, writing it
    /// first from `column` when it is missing or not of `docs` records.
    pub fn open_or_write(
        folder: &Path,
        segment: &str,
        docs: u32,
        column: &tantivy::columnar::Column<u64>,
    ) -> io::Result<SignatureFile> {
        let expected = docs as u64 * RECORD as u64;
        let whole = |f: &File| Ok(f.metadata()?.len() == expected);
        let write = |f: &File| -> io::Result<()> {
            let mut out = BufWriter::with_capacity(1 << 16, f);
            let mut record = [0u8; RECORD];
            for doc in 0..docs {
                record.fill(0);
                let mut n = 0;
                for word in column.values_for_doc(doc) {
                    if let Some(slot) = record.get_mut(8 * n..8 * n + 8) {
                        slot.copy_from_slice(&word.to_le_bytes());
                    }
                    n += 1;
                }
                if n != WORDS {
                    record.fill(0); // no signature (or one of another shape)
                }
                out.write_all(&record)?;
            }
            out.flush()
        };
        let file = files::open_or_write(folder, segment, "sig", whole, write)?;
        Ok(SignatureFile { file, docs })
    }
    /// The signature of document `doc`; `None` if it has none.
    pub fn get(&self, doc: u32) -> io::Result<Option<Signature>> {
        if doc >= self.docs {
            return Ok(None);
        }
        let mut record = [0u8; RECORD];
        self.file
            .read_exact_at(&mut record, doc as u64 * RECORD as u64)?;
        if record[..4] == [0; 4] {
            return Ok(None); // a signature counts at least MIN_SHINGLES shingles
        }
        Ok(Signature::from_words(record.chunks_exact(8).map(|c| {
            u64::from_le_bytes(c.try_into().expect("8 bytes"))
        })))
    }
}
