//! kiji's own files of derived duplicate-detection data, one or more per
//! large segment, in `index/dedup/`: the signatures ([`super::signature_file`])
//! and the band postings ([`super::band_table`]) the writer reads with
//! `pread` instead of through the index's memory maps. Each is made from its
//! segment alone (segments never change), written to a temporary file,
//! synced and renamed into place (whole or absent), and removed once its
//! segment is gone. Deleting the folder is safe: the files are written again
//! on first use.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// Segments with fewer documents are read through the index (their pages
/// are few; a fresh commit's segment is read only until it is merged).
pub const MIN_DOCS: u32 = 16_384;

/// The folder of these files inside an index folder.
pub fn folder(index: &Path) -> PathBuf {
    index.join("dedup")
}

/// Opens `folder/<segment>.<kind>` when it exists, is whole by `whole`, and
/// otherwise writes it with `write` first.
pub fn open_or_write(
    folder: &Path,
    segment: &str,
    kind: &str,
    whole: impl Fn(&File) -> io::Result<bool>,
    write: impl FnOnce(&File) -> io::Result<()>,
) -> io::Result<File> {
    let path = folder.join(format!("{segment}.{kind}"));
    if let Ok(file) = File::open(&path)
        && whole(&file)?
    {
        return Ok(file);
    }
    std::fs::create_dir_all(folder)?;
    let tmp = tempfile::NamedTempFile::new_in(folder)?;
    write(tmp.as_file())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&path).map_err(|e| e.error)
}

/// Opens (writing it first if need be) the `kind` file of `segment` in
/// `folder` with `open(segment id)`; `None`, with a warning, when it cannot
/// be written (the reader then reads the index instead).
pub fn open_or_warn<T>(
    kind: &str,
    folder: &Path,
    segment: &tantivy::SegmentReader,
    open: impl FnOnce(&str) -> io::Result<T>,
) -> Option<T> {
    let id = segment.segment_id().uuid_string();
    open(&id)
        .inspect_err(|e| {
            tracing::warn!(
                "cannot write the {kind} file of segment {id} in {}: {e}; the index is read instead",
                folder.display()
            )
        })
        .ok()
}

/// Removes the files in `folder` of segments not in `live` (segment ids),
/// and temporary files left by an interrupted write.
pub fn remove_stale(folder: &Path, live: &HashSet<String>) -> io::Result<usize> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let keep = name
            .split_once('.')
            .is_some_and(|(segment, _)| !segment.is_empty() && live.contains(segment));
        if !keep {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}
