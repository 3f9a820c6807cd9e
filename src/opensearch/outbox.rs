//! The durable outbox: writes for the cluster that it has not acknowledged.
//!
//! A folder of files, each one batch of operations (`pending-<seq>.ndjson`,
//! one [`Op`] per line), written to a temporary name, synced and renamed,
//! so a batch is on disk whole or not at all before it is sent. A batch
//! file is removed when every operation in it is done, rewritten with the
//! ones left when only some are, and read again after a restart, in order.
//! Operations the cluster refused for good are appended to
//! `rejected.ndjson` with the reason: kept, never silently dropped.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::bulk::Op;
use super::error::{Error, Result};

/// The file refused operations are appended to, in the outbox folder.
pub const REJECTED_FILE: &str = "rejected.ndjson";

/// An operation the cluster refused, as recorded in `rejected.ndjson`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rejected {
    pub id: String,
    pub op: &'static str,
    pub reason: String,
}

/// The outbox folder.
pub struct Outbox {
    dir: PathBuf,
    next: AtomicU64,
    /// Operations per stored batch (read once at opening, then kept up to
    /// date), so counting what waits does not read the files again.
    counts: Mutex<BTreeMap<u64, usize>>,
}

impl Outbox {
    /// Opens (creating) the outbox at `dir`; forgets half-written temporary files.
    pub fn open(dir: &Path) -> Result<Outbox> {
        fs::create_dir_all(dir).map_err(|e| Error::outbox(dir, format!("cannot create: {e}")))?;
        let mut last = 0;
        for entry in fs::read_dir(dir).map_err(|e| Error::outbox(dir, e))? {
            let path = entry.map_err(|e| Error::outbox(dir, e))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".tmp") {
                fs::remove_file(&path).map_err(|e| Error::outbox(&path, e))?;
            } else if let Some(seq) = seq_of(name) {
                last = last.max(seq);
            }
        }
        let outbox = Outbox {
            dir: dir.to_path_buf(),
            next: AtomicU64::new(last + 1),
            counts: Mutex::default(),
        };
        let mut counts = BTreeMap::new();
        for seq in outbox.batches()? {
            counts.insert(seq, outbox.read(seq)?.len());
        }
        *outbox.counts() = counts;
        Ok(outbox)
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, usize>> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self, seq: u64) -> PathBuf {
        self.dir.join(format!("pending-{seq:020}.ndjson"))
    }

    /// Stores a batch durably; returns its sequence number.
    pub fn push(&self, ops: &[Op]) -> Result<u64> {
        let seq = self.next.fetch_add(1, Ordering::SeqCst);
        self.write(seq, ops)?;
        self.counts().insert(seq, ops.len());
        Ok(seq)
    }

    fn write(&self, seq: u64, ops: &[Op]) -> Result<()> {
        let path = self.file(seq);
        let tmp = path.with_extension("tmp");
        let mut text = Vec::new();
        for op in ops {
            serde_json::to_writer(&mut text, op).expect("operations always serialise");
            text.push(b'\n');
        }
        let mut f = File::create(&tmp).map_err(|e| Error::outbox(&tmp, e))?;
        f.write_all(&text)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::outbox(&tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::outbox(&path, e))?;
        self.sync_dir()
    }

    /// Makes renames and removals in the folder durable.
    fn sync_dir(&self) -> Result<()> {
        #[cfg(unix)]
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| Error::outbox(&self.dir, e))?;
        Ok(())
    }

    /// The sequence numbers of the stored batches, oldest first.
    pub fn batches(&self) -> Result<Vec<u64>> {
        let mut seqs = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(|e| Error::outbox(&self.dir, e))? {
            let entry = entry.map_err(|e| Error::outbox(&self.dir, e))?;
            if let Some(seq) = entry.file_name().to_str().and_then(seq_of) {
                seqs.push(seq);
            }
        }
        seqs.sort_unstable();
        Ok(seqs)
    }

    /// The operations of batch `seq`.
    pub fn read(&self, seq: u64) -> Result<Vec<Op>> {
        let path = self.file(seq);
        let f = File::open(&path).map_err(|e| Error::outbox(&path, e))?;
        let mut ops = Vec::new();
        for (n, line) in BufReader::new(f).lines().enumerate() {
            let line = line.map_err(|e| Error::outbox(&path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            ops.push(
                serde_json::from_str(&line)
                    .map_err(|e| Error::outbox(&path, format!("line {}: {e}", n + 1)))?,
            );
        }
        Ok(ops)
    }

    /// Records what is left of batch `seq` (removing it when nothing is).
    pub fn settle(&self, seq: u64, left: &[Op]) -> Result<()> {
        if left.is_empty() {
            let path = self.file(seq);
            fs::remove_file(&path).map_err(|e| Error::outbox(&path, e))?;
            self.sync_dir()?;
            self.counts().remove(&seq);
        } else {
            self.write(seq, left)?;
            self.counts().insert(seq, left.len());
        }
        Ok(())
    }

    /// Operations waiting, over all batches.
    pub fn pending(&self) -> usize {
        self.counts().values().sum()
    }

    /// Appends refused operations to `rejected.ndjson` (synced).
    pub fn reject(&self, rejected: &[Rejected]) -> Result<()> {
        if rejected.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(REJECTED_FILE);
        let at = chrono::Utc::now().to_rfc3339();
        let mut text = Vec::new();
        for r in rejected {
            let line = serde_json::json!({ "at": at, "id": r.id, "op": r.op, "reason": r.reason });
            serde_json::to_writer(&mut text, &line).expect("JSON values always serialise");
            text.push(b'\n');
        }
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::outbox(&path, e))?;
        f.write_all(&text)
            .and_then(|_| f.sync_all())
            .map_err(|e| Error::outbox(&path, e))
    }
}

/// The sequence number in a batch file's name.
fn seq_of(name: &str) -> Option<u64> {
    name.strip_prefix("pending-")?
        .strip_suffix(".ndjson")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn del(id: &str) -> Op {
        Op::Delete {
            id: id.into(),
            version: 1,
        }
    }

    #[test]
    fn batches_survive_reopening_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        let a = outbox.push(&[del("北朝鮮-1"), del("a2")]).unwrap();
        let b = outbox.push(&[del("a3")]).unwrap();
        std::fs::write(dir.path().join("pending-x.tmp"), "half").unwrap();
        drop(outbox);
        let outbox = Outbox::open(dir.path()).unwrap();
        assert_eq!(outbox.batches().unwrap(), vec![a, b]);
        assert_eq!(outbox.read(a).unwrap(), vec![del("北朝鮮-1"), del("a2")]);
        assert!(!dir.path().join("pending-x.tmp").exists());
        let c = outbox.push(&[del("a4")]).unwrap();
        assert!(c > b, "sequence numbers go on after a restart");
        outbox.settle(a, &[del("a2")]).unwrap();
        outbox.settle(b, &[]).unwrap();
        assert_eq!(outbox.batches().unwrap(), vec![a, c]);
        assert_eq!(outbox.pending(), 2);
        drop(outbox);
        assert_eq!(Outbox::open(dir.path()).unwrap().pending(), 2);
    }

    #[test]
    fn rejections_are_appended() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        let r = Rejected {
            id: "a1".into(),
            op: "index",
            reason: "HTTP 400 mapper_parsing_exception".into(),
        };
        outbox.reject(std::slice::from_ref(&r)).unwrap();
        outbox.reject(&[r]).unwrap();
        let text = std::fs::read_to_string(dir.path().join(REJECTED_FILE)).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains("\"id\":\"a1\""));
    }

    #[test]
    fn a_corrupt_batch_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        let seq = outbox.push(&[del("a1")]).unwrap();
        std::fs::write(outbox.file(seq), "{not json\n").unwrap();
        let err = outbox.read(seq).unwrap_err().to_string();
        assert!(err.contains("pending-") && err.contains("line 1"), "{err}");
    }
}
