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

/// What the watcher knows of the folder between scans: each file's size
/// and time, and which articles each file it read holds (by a hash of the
/// id), so that removing a file deletes only the articles no other file
/// holds (a file renamed or moved holds the same articles under its new
/// name; two files may hold the same article).
#[derive(Debug, Default)]
pub struct Watched {
    snapshot: Snapshot,
    ids_of: HashMap<String, Vec<String>>,
    /// How many files hold each article.
    holders: HashMap<u64, u32>,
    /// Whether the folder has been scanned once (the first scan also
    /// finds the files removed while the server was down).
    scanned: bool,
}

fn id_hash(id: &str) -> u64 {
    crate::index::term_filter::key_hash(id.as_bytes())
}

impl Watched {
    /// Records that `file` now holds exactly `ids`.
    fn hold(&mut self, file: &str, ids: Vec<String>) {
        self.release(file);
        for id in &ids {
            *self.holders.entry(id_hash(id)).or_default() += 1;
        }
        self.ids_of.insert(file.to_string(), ids);
    }

    /// Forgets what `file` held, and returns it.
    fn release(&mut self, file: &str) -> Vec<String> {
        let ids = self.ids_of.remove(file).unwrap_or_default();
        for id in &ids {
            let h = id_hash(id);
            if let Some(n) = self.holders.get_mut(&h) {
                *n -= 1;
                if *n == 0 {
                    self.holders.remove(&h);
                }
            }
        }
        ids
    }

    /// Whether some file read holds article `id`.
    fn held(&self, id: &str) -> bool {
        self.holders.contains_key(&id_hash(id))
    }
}

/// Compares `dir` with what `watched` saw, ingests new and changed files,
/// deletes the articles of removed files that no other file holds (if
/// asked), and updates `watched`. A file that could not be read is tried
/// again at the next scan.
pub fn apply_changes(
    store: &Store,
    writer: &Mutex<Writer>,
    dir: &Path,
    watched: &mut Watched,
    delete_removed: bool,
    limits: &LimitsConfig,
) -> Result<Changes> {
    let now = scan(dir);
    let settle = SystemTime::now() - Duration::from_secs(1);
    let mut changed: Vec<PathBuf> = now
        .iter()
        .filter(|(p, meta)| watched.snapshot.get(*p) != Some(meta) && meta.1 <= settle)
        .map(|(p, _)| p.clone())
        .collect();
    changed.sort();
    // A file still being written may be a removed one's new copy: the
    // removals wait for it.
    let settling = now
        .iter()
        .any(|(p, meta)| watched.snapshot.get(p) != Some(meta) && meta.1 > settle);
    let mut removed: Vec<String> = watched
        .snapshot
        .keys()
        .filter(|p| !settling && !now.contains_key(*p))
        .map(|p| p.display().to_string())
        .collect();
    if !watched.scanned && delete_removed && !settling {
        // Files of this folder that articles were read from, gone while
        // the server was down.
        let prefix = dir.display().to_string();
        let present: std::collections::HashSet<String> =
            now.keys().map(|p| p.display().to_string()).collect();
        removed.extend(
            store
                .files()?
                .into_iter()
                .filter(|f| f.starts_with(&prefix) && !present.contains(f)),
        );
    }
    let mut changes = Changes::default();
    if changed.is_empty() && (removed.is_empty() || !delete_removed) {
        for p in &removed {
            watched.snapshot.remove(Path::new(p));
            watched.release(p);
        }
        watched.scanned |= !settling;
        return Ok(changes);
    }
    let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
    if !changed.is_empty() {
        let mut seen: HashMap<String, Vec<String>> = HashMap::new();
        ingest::ingest_files_noting(
            store,
            &mut w,
            &changed,
            limits,
            &Quiet,
            &mut changes.report,
            &mut |file, id| {
                seen.entry(file.to_string())
                    .or_default()
                    .push(id.to_string())
            },
        )?;
        // A file that cannot be opened (permissions) is not recorded: the
        // next scan tries it again (a file that is read but bad is not).
        for p in &changed {
            let name = p.display().to_string();
            if !seen.contains_key(&name) && std::fs::File::open(p).is_err() {
                continue;
            }
            watched.snapshot.insert(p.clone(), now[p]);
            watched.hold(&name, seen.remove(&name).unwrap_or_default());
        }
    }
    for p in removed {
        watched.snapshot.remove(Path::new(&p));
        // What the file held: as read (an unchanged article keeps the
        // file it was first read from in the index) and as stored.
        let mut ids = watched.release(&p);
        if delete_removed {
            ids.extend(store.ids_from_file(&p)?);
            ids.sort();
            ids.dedup();
            for id in ids {
                if !watched.held(&id) && w.delete(store, &id)? {
                    changes.deleted += 1;
                }
            }
        }
    }
    if changes.deleted > 0 {
        w.commit(store)?;
    }
    watched.scanned |= !settling;
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
            let mut watched = Watched::default();
            tracing::info!(folder = %dir.display(), "watching for new and changed articles");
            loop {
                std::thread::sleep(interval);
                let cfg = state.config();
                match apply_changes(
                    state.store(),
                    state.writer(),
                    &dir,
                    &mut watched,
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
