//! Watching the corpus folder: new and changed article files are ingested
//! within a few seconds; deleted files delete their articles when
//! `server.delete_removed_files` is on.
//!
//! The watcher polls (every `interval`), comparing each file's size and
//! modification time with the last scan. Polling works on every filesystem
//! (network mounts, bind mounts in containers) and a scan of a news folder is
//! cheap. A file modified within the last second is left for the next scan,
//! so a file being written is not read half-way. The first scan after start
//! compares with nothing, so files added or changed while the server was down
//! are taken in too (unchanged articles are recognised by their content hash).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::article::Format;
use crate::config::{Config, LimitsConfig};
use crate::error::Result;
use crate::index::{Store, Writer};
use crate::ingest::{self, IngestReport, Quiet};

type Snapshot = HashMap<PathBuf, (u64, SystemTime)>;

/// Article files under `dir` with their size and modification time.
pub fn scan(dir: &Path) -> Snapshot {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && Format::from_path(e.path()).is_ok())
        .filter_map(|e| {
            let m = e.metadata().ok()?;
            Some((e.into_path(), (m.len(), m.modified().ok()?)))
        })
        .collect()
}

/// What one scan changed.
#[derive(Debug, Default)]
pub struct Changes {
    pub report: IngestReport,
    pub deleted: usize,
}

/// Compares `dir` with `previous`, ingests new and changed files, deletes
/// the articles of removed files (if asked), and updates `previous`.
pub fn apply_changes(
    store: &Store,
    writer: &Mutex<Writer>,
    dir: &Path,
    previous: &mut Snapshot,
    delete_removed: bool,
    limits: &LimitsConfig,
) -> Result<Changes> {
    let now = scan(dir);
    let settle = SystemTime::now() - Duration::from_secs(1);
    let mut changed: Vec<PathBuf> = now
        .iter()
        .filter(|(p, meta)| previous.get(*p) != Some(meta) && meta.1 <= settle)
        .map(|(p, _)| p.clone())
        .collect();
    changed.sort();
    let removed: Vec<PathBuf> = previous
        .keys()
        .filter(|p| !now.contains_key(*p))
        .cloned()
        .collect();
    let mut changes = Changes::default();
    if changed.is_empty() && (removed.is_empty() || !delete_removed) {
        for p in removed {
            previous.remove(&p);
        }
        return Ok(changes);
    }
    let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
    if !changed.is_empty() {
        ingest::ingest_files(store, &mut w, &changed, limits, &Quiet, &mut changes.report)?;
        for p in &changed {
            previous.insert(p.clone(), now[p]);
        }
    }
    for p in removed {
        if delete_removed {
            for id in store.ids_from_file(&p.display().to_string())? {
                if w.delete(store, &id)? {
                    changes.deleted += 1;
                }
            }
        }
        previous.remove(&p);
    }
    if changes.deleted > 0 {
        w.commit(store)?;
    }
    Ok(changes)
}

/// What the watcher writes to: the index, its one writer and the settings
/// (the running service's state; the watcher knows nothing of HTTP).
pub trait Target: Send + Sync + 'static {
    fn store(&self) -> &Store;
    fn writer(&self) -> &Mutex<Writer>;
    fn config(&self) -> &Config;
}

/// Runs the watcher on its own thread until the process ends.
pub fn spawn<T: Target>(
    state: Arc<T>,
    dir: PathBuf,
    interval: Duration,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("kiji-watch".into())
        .spawn(move || {
            // Start from an empty snapshot: the first scan takes in whatever
            // changed while the server was down (unchanged articles are skipped
            // by their content hash), so nothing dropped in meanwhile is missed.
            let mut snapshot = Snapshot::new();
            tracing::info!(folder = %dir.display(), "watching for new and changed articles");
            loop {
                std::thread::sleep(interval);
                let cfg = state.config();
                match apply_changes(
                    state.store(),
                    state.writer(),
                    &dir,
                    &mut snapshot,
                    cfg.server.delete_removed_files,
                    &cfg.limits,
                ) {
                    Ok(c) => {
                        let r = &c.report;
                        if r.files > 0 || c.deleted > 0 {
                            tracing::info!(files = r.files, deleted = c.deleted, "watch: {}", r.summary());
                        }
                        for rej in &r.rejected {
                            tracing::warn!(file = %rej.file, line = ?rej.line, reason = %rej.reason, "watch: rejected");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "watch: ingest failed; will retry"),
                }
            }
        })
        .expect("can start the watcher thread")
}
