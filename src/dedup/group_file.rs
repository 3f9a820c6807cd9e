//! The group keys of a large segment, copied once into a file of their own
//! and read with `pread`, for the writer's candidate comparisons.
//!
//! When a committed candidate turns out to be a duplicate, the writer needs
//! its group's key. The key is in the segment's `dedup_group` column, whose
//! dictionary is an sstable of zstd-compressed blocks: reading one key
//! decompresses its block, and tantivy makes a new zstd context for each
//! read (~100 KB allocated and cleared). At a million articles that was
//! ~25 µs of each new article's CPU time (`ZSTD_createDCtx` and the page
//! clearing under it, an ingest of 30,000 new articles into the index).
//!
//! A file (`index/dedup/<segment>.groups`, see [`super::files`]) holds the
//! column's keys in term-ordinal order: their count (`u64`), the byte
//! offset of each key and the end of the last (`u32` each), then the keys'
//! UTF-8; all little endian. Made by streaming the dictionary once (a
//! decompression per block), it is read with two `pread`s per key.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use tantivy::columnar::StrColumn;

use super::files;

/// The group keys of one segment, by term ordinal, read with `pread`.
#[derive(Debug)]
pub struct GroupFile {
    file: File,
    keys: u64,
}

impl GroupFile {
    /// Opens the group-key file of `segment` (its id) in `folder`, writing
    /// it first from `column` when it is missing or not whole.
    pub fn open_or_write(
        folder: &Path,
        segment: &str,
        column: &StrColumn,
    ) -> io::Result<GroupFile> {
        let keys = column.num_terms() as u64;
        let whole = |f: &File| Self::is_whole(f, keys);
        let write = |f: &File| Self::write(f, column);
        let file = files::open_or_write(folder, segment, "groups", whole, write)?;
        Ok(GroupFile { file, keys })
    }

    /// Where the keys' bytes start.
    fn data_start(keys: u64) -> u64 {
        8 + 4 * (keys + 1)
    }

    fn is_whole(file: &File, keys: u64) -> io::Result<bool> {
        let len = file.metadata()?.len();
        if len < Self::data_start(keys) {
            return Ok(false);
        }
        let mut count = [0u8; 8];
        file.read_exact_at(&mut count, 0)?;
        let mut end = [0u8; 4];
        file.read_exact_at(&mut end, 8 + 4 * keys)?;
        Ok(u64::from_le_bytes(count) == keys
            && len == Self::data_start(keys) + u64::from(u32::from_le_bytes(end)))
    }

    fn write(file: &File, column: &StrColumn) -> io::Result<()> {
        let mut offsets = Vec::with_capacity(column.num_terms() + 1);
        let mut bytes = Vec::new();
        let mut stream = column.dictionary().stream()?;
        while stream.advance() {
            offsets.push(u32::try_from(bytes.len()).map_err(io::Error::other)?);
            bytes.extend_from_slice(stream.key());
        }
        offsets.push(u32::try_from(bytes.len()).map_err(io::Error::other)?);
        if offsets.len() != column.num_terms() + 1 {
            return Err(io::Error::other(
                "the dictionary streamed fewer keys than it holds",
            ));
        }
        let mut out = BufWriter::with_capacity(1 << 16, file);
        out.write_all(&(column.num_terms() as u64).to_le_bytes())?;
        for offset in offsets {
            out.write_all(&offset.to_le_bytes())?;
        }
        out.write_all(&bytes)?;
        out.flush()
    }

    /// The key of term ordinal `ord`; `None` past the last.
    pub fn get(&self, ord: u64) -> io::Result<Option<String>> {
        if ord >= self.keys {
            return Ok(None);
        }
        let mut range = [0u8; 8];
        self.file.read_exact_at(&mut range, 8 + 4 * ord)?;
        let start = u32::from_le_bytes(range[..4].try_into().expect("4 bytes"));
        let end = u32::from_le_bytes(range[4..].try_into().expect("4 bytes"));
        let len = end.checked_sub(start).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "group-key offsets out of order")
        })?;
        let mut key = vec![0u8; len as usize];
        self.file
            .read_exact_at(&mut key, Self::data_start(self.keys) + u64::from(start))?;
        String::from_utf8(key)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }
}

#[cfg(test)]
mod tests {
    use tantivy::schema::{FAST, STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    /// Every ordinal gives the key the column gives (Japanese and ASCII
    /// keys, repeated and not); a file cut short is written again.
    #[test]
    fn keys_are_the_column_keys() {
        let mut builder = Schema::builder();
        let group = builder.add_text_field("group", STRING | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for d in 0..500u32 {
            let mut doc = TantivyDocument::default();
            let key = match d % 3 {
                0 => format!("記事-{}@abc", d % 40),
                1 => format!("gen-{d}@0123456789ab"),
                _ => "北朝鮮-ロシア@派兵".to_string(),
            };
            doc.add_text(group, &key);
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let segment = searcher.segment_reader(0);
        let column = segment.fast_fields().str("group").unwrap().unwrap();
        let folder = tempfile::tempdir().unwrap();
        let file = GroupFile::open_or_write(folder.path(), "seg", &column).unwrap();
        let check = |file: &GroupFile| {
            for ord in 0..column.num_terms() as u64 {
                let mut want = String::new();
                assert!(column.ord_to_str(ord, &mut want).unwrap());
                assert_eq!(file.get(ord).unwrap(), Some(want), "ord {ord}");
            }
            assert_eq!(file.get(column.num_terms() as u64).unwrap(), None);
        };
        check(&file);
        let path = folder.path().join("seg.groups");
        let whole = std::fs::read(&path).unwrap();
        std::fs::write(&path, &whole[..whole.len() - 2]).unwrap();
        let again = GroupFile::open_or_write(folder.path(), "seg", &column).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        check(&again);
    }
}
