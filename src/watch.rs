//! Watching the corpus folder: new and changed article files are ingested
//! within a few seconds; deleted files delete their articles when
//! `server.delete_removed_files` is on.
//!
//! The watcher polls (every `interval`), comparing each file's size and
//! modification time with the last scan. Polling works on every filesystem
//! (network mounts, bind mounts in containers) and a scan of a news folder is
//! cheap. A file modified within the last second is left for the next scan,
//! so a file being written is not read half-way (a writer that pauses for
//! longer has its file read as it stands, and read again when it changes).
//! What the watcher has read (each file's size and time) is kept in the
//! index folder (`watch-files.json`), so the first scan after a start takes
//! in only the files added or changed while the server was down: a file as
//! it was does not overwrite the articles written through the API since.

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
    /// The articles each file read holds: id, and a hash of the article as
    /// the file has it (a line the file still holds as it was is not
    /// written again: an API edit since stays).
    ids_of: HashMap<String, Vec<(String, u64)>>,
    /// The `.txt` file each text article's id was read from, for
    /// [`ingest::read_files`] across scans: a second file of the same name
    /// elsewhere is rejected, as `kiji ingest` does.
    text_owner: HashMap<String, String>,
    /// How many files hold each article.
    holders: HashMap<u64, u32>,
    /// Whether the folder has been scanned once (the first scan also
    /// finds the files removed while the server was down).
    scanned: bool,
    /// The files as the last run's watcher left them (first scan only).
    previous: Snapshot,
}

/// Whether `file` is a text file (its article's id may be its name).
fn is_text(file: &str) -> bool {
    Format::from_path(Path::new(file)) == Ok(Format::PlainText)
}

/// A hash of an article as a file has it.
fn version(a: &crate::article::Article) -> u64 {
    let hash = a.content_hash();
    u64::from_str_radix(&hash[..16], 16).unwrap_or(0)
}

/// The file in an index folder that keeps what the watcher has read.
const SNAPSHOT_FILE: &str = "watch-files.json";

/// One file as kept in [`SNAPSHOT_FILE`]: path, size, modification time
/// (seconds and nanoseconds since the epoch).
type Kept = (PathBuf, u64, u64, u32);

fn keep(snapshot: &Snapshot) -> Vec<Kept> {
    let mut kept: Vec<Kept> = snapshot
        .iter()
        .filter_map(|(p, (len, time))| {
            let t = time.duration_since(SystemTime::UNIX_EPOCH).ok()?;
            Some((p.clone(), *len, t.as_secs(), t.subsec_nanos()))
        })
        .collect();
    kept.sort();
    kept
}

/// Writes what the watcher has read (whole or not at all).
fn save(store: &Store, snapshot: &Snapshot) -> std::io::Result<()> {
    let path = store.path().join(SNAPSHOT_FILE);
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&keep(snapshot))?)?;
    std::fs::rename(tmp, path)
}

fn id_hash(id: &str) -> u64 {
    crate::index::term_filter::key_hash(id.as_bytes())
}

impl Watched {
    /// The watcher of an index that a watcher ran on before: its first
    /// scan takes in only what changed since (see the module docs).
    pub fn resume(store: &Store) -> Watched {
        let kept: Vec<Kept> = std::fs::read(store.path().join(SNAPSHOT_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let previous = kept
            .into_iter()
            .map(|(p, len, secs, nanos)| {
                let time = SystemTime::UNIX_EPOCH + Duration::new(secs, nanos);
                (p, (len, time))
            })
            .collect();
        Watched {
            previous,
            ..Watched::default()
        }
    }

    /// Records that `file` now holds exactly `ids` (with their hashes).
    fn hold(&mut self, file: &str, ids: Vec<(String, u64)>) {
        self.release(file);
        let text = is_text(file);
        for (id, _) in &ids {
            *self.holders.entry(id_hash(id)).or_default() += 1;
            if text {
                self.text_owner
                    .entry(id.clone())
                    .or_insert_with(|| file.to_string());
            }
        }
        self.ids_of.insert(file.to_string(), ids);
    }

    /// Forgets what `file` held, and returns the ids.
    fn release(&mut self, file: &str) -> Vec<String> {
        let ids: Vec<String> = self
            .ids_of
            .remove(file)
            .unwrap_or_default()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        if is_text(file) {
            self.text_owner.retain(|_, owner| owner != file);
        }
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
    let first = !watched.scanned;
    if first && !watched.previous.is_empty() {
        // Files as the last run left them: what they hold is noted (for
        // the removals), and nothing is written.
        let previous = std::mem::take(&mut watched.previous);
        let unchanged: Vec<PathBuf> = now
            .iter()
            .filter(|(p, meta)| previous.get(*p) == Some(meta))
            .map(|(p, _)| p.clone())
            .collect();
        let mut seen: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        ingest::read_files(
            &unchanged,
            limits,
            256,
            &Quiet,
            &mut IngestReport::default(),
            &mut watched.text_owner,
            |file, batch, _| {
                let ids = batch.into_iter().map(|s| {
                    let v = version(&s.article);
                    (s.article.id, v)
                });
                seen.entry(file.to_string()).or_default().extend(ids);
                Ok(())
            },
        )?;
        for p in unchanged {
            let name = p.display().to_string();
            watched.snapshot.insert(p.clone(), now[&p]);
            watched.hold(&name, seen.remove(&name).unwrap_or_default());
        }
    }
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
        if first || !removed.is_empty() {
            keep_snapshot(store, watched);
        }
        watched.scanned |= !settling;
        return Ok(changes);
    }
    let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
    if !changed.is_empty() {
        let mut seen: HashMap<String, Vec<(String, u64)>> = HashMap::new();
        // Every article version a file held when last read, whichever file
        // (a file renamed, moved or copied holds the same lines).
        let held: std::collections::HashSet<(u64, u64)> = watched
            .ids_of
            .values()
            .flatten()
            .map(|(id, v)| (id_hash(id), *v))
            .collect();
        ingest::ingest_files_noting(
            store,
            &mut w,
            &changed,
            limits,
            &Quiet,
            &mut changes.report,
            ingest::Noting {
                text_ids: &mut watched.text_owner,
                keep: &mut |file, a, report| {
                    let v = version(a);
                    seen.entry(file.to_string())
                        .or_default()
                        .push((a.id.clone(), v));
                    // As a file held it when last read (this one, or the one
                    // it was renamed, moved or copied from): what the index
                    // has (an API edit since) stays.
                    let as_before = held.contains(&(id_hash(&a.id), v));
                    if as_before {
                        report.unchanged += 1;
                    }
                    !as_before
                },
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
    drop(w);
    watched.scanned |= !settling;
    keep_snapshot(store, watched);
    Ok(changes)
}

/// Keeps what `watched` has read in the index folder (a failure costs only
/// a full read at the next start).
fn keep_snapshot(store: &Store, watched: &Watched) {
    if let Err(e) = save(store, &watched.snapshot) {
        tracing::warn!(error = %e, "watch: cannot keep the list of files read; a restart reads them all again");
    }
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
            // The first scan takes in whatever was added or changed while the
            // server was down (see the module docs).
            let mut watched = Watched::resume(state.store());
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
                            tracing::warn!(file = %rej.file, line = rej.line.unwrap_or(0), reason = %rej.reason, "watch: rejected");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "watch: ingest failed; will retry"),
                }
            }
        })
        .expect("can start the watcher thread")
}
