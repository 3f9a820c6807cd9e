//! Merged duplicate groups, kept as aliases of one key.
//!
//! When an article joins two groups, the groups become one. Their articles
//! keep the keys they were written with: the merged group's key becomes an
//! *alias* of the surviving group's key, and every reader resolves a stored
//! key through [`Aliases::canonical`]. A group's articles are those stored
//! with any of its keys ([`Aliases::keys`]). (Before, the merged group's
//! articles were written again with the surviving key, which meant analysing
//! them again: 41 % of a generated archive of 300,000 articles.)
//!
//! The table is kept as a log in the index folder ([`LOG_FILE`]): one JSON
//! line per merge, `["from","into"]`, or `[]` for a reset (the groups are
//! computed again from scratch). The writer appends and syncs the log before
//! the commit that needs it, and the commit records the log's length in its
//! payload ([`crate::index::CommitInfo::dedup_aliases`]). A reader replays
//! exactly the merges of the commit it reads; the writer, reading the log
//! on first use, cuts off what a crash left past the last commit.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The log's file name in the index folder.
pub const LOG_FILE: &str = "dedup-aliases.log";

/// Which group each merged key now belongs to.
#[derive(Debug, Clone, Default)]
pub struct Aliases {
    /// Alias → the key of its group (never itself an alias).
    root: HashMap<Arc<str>, Arc<str>>,
    /// A group's key → its aliases.
    aliases: HashMap<Arc<str>, Vec<Arc<str>>>,
}

impl Aliases {
    /// The key of the group `key` belongs to (`key` itself unless merged).
    pub fn canonical<'a>(&'a self, key: &'a str) -> &'a str {
        self.root.get(key).map_or(key, |r| r)
    }

    /// The keys of the group `key` belongs to: its key, then its aliases.
    pub fn keys<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        let root = self.canonical(key);
        std::iter::once(root).chain(
            self.aliases
                .get(root)
                .into_iter()
                .flatten()
                .map(|k| k.as_ref()),
        )
    }

    /// How many keys the group of `key` has.
    pub fn weight(&self, key: &str) -> usize {
        1 + self.aliases.get(self.canonical(key)).map_or(0, |a| a.len())
    }

    /// Whether `key` is an alias or a group key with aliases.
    pub fn knows(&self, key: &str) -> bool {
        self.root.contains_key(key) || self.aliases.contains_key(key)
    }

    /// Merged keys, in all.
    pub fn len(&self) -> usize {
        self.root.len()
    }

    pub fn is_empty(&self) -> bool {
        self.root.is_empty()
    }

    /// Merges the group of `from` into the group of `into` (whose key
    /// survives). Returns the two groups' keys, `None` if they were one.
    pub fn merge(&mut self, from: &str, into: &str) -> Option<(Arc<str>, Arc<str>)> {
        let (from, into) = (self.canonical(from), self.canonical(into));
        if from == into {
            return None;
        }
        let into: Arc<str> = self
            .aliases
            .get_key_value(into)
            .map_or_else(|| Arc::from(into), |(k, _)| k.clone());
        let from: Arc<str> = Arc::from(from);
        let mut moved = self.aliases.remove(&from).unwrap_or_default();
        moved.push(from.clone());
        for key in &moved {
            self.root.insert(key.clone(), into.clone());
        }
        self.aliases.entry(into.clone()).or_default().extend(moved);
        Some((from, into))
    }

    /// Applies log lines (whole lines only; see the module documentation).
    fn replay(&mut self, bytes: &[u8]) -> io::Result<()> {
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            let entry: Vec<String> = serde_json::from_slice(line).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("a line of {LOG_FILE} is not a merge: {e}"),
                )
            })?;
            match entry.as_slice() {
                [] => *self = Aliases::default(),
                [from, into] => {
                    self.merge(from, into);
                }
                _ => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("a line of {LOG_FILE} has {} keys, not 2", entry.len()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The aliases of the index in `index` as its commit left them: the
    /// first `len` bytes of the log (none when there is no log).
    pub fn read(index: &Path, len: u64) -> io::Result<Aliases> {
        let mut aliases = Aliases::default();
        aliases.read_more(index, 0, len)?;
        Ok(aliases)
    }

    /// Applies the log's bytes `from..to`.
    pub fn read_more(&mut self, index: &Path, from: u64, to: u64) -> io::Result<()> {
        if to <= from {
            return Ok(());
        }
        let mut file = match File::open(index.join(LOG_FILE)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{LOG_FILE} is missing, though the last commit recorded {to} bytes"),
                ));
            }
            Err(e) => return Err(e),
        };
        file.seek(SeekFrom::Start(from))?;
        let mut bytes = Vec::with_capacity((to - from) as usize);
        file.take(to - from).read_to_end(&mut bytes)?;
        if (bytes.len() as u64) < to - from {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "{LOG_FILE} holds {} bytes, the last commit recorded {to}",
                    from + bytes.len() as u64
                ),
            ));
        }
        self.replay(&bytes)
    }
}

/// The writer's aliases and their log: read on first use (not when the
/// writer opens: `kiji serve` starts without reading it), merges applied at
/// once and written to the log by [`AliasLog::sync`], before the commit.
/// (`Default`: an empty placeholder, attached to no file.)
#[derive(Debug, Default)]
pub struct AliasLog {
    path: PathBuf,
    /// The log's length the last commit recorded, when opened.
    committed: u64,
    loaded: OnceLock<Loaded>,
    /// Bytes appended since it was read.
    appended: u64,
    /// Lines not yet written.
    unsynced: Vec<u8>,
}

#[derive(Debug)]
struct Loaded {
    aliases: Aliases,
    /// The file's length when read (after cutting it back to the commit).
    base: u64,
}

impl AliasLog {
    /// The log of the index in `index`, whose last commit recorded
    /// `committed` bytes of it. Reading it (on first use) cuts off anything
    /// past them, what a crash before a commit left.
    pub fn open(index: &Path, committed: u64) -> AliasLog {
        AliasLog {
            path: index.join(LOG_FILE),
            committed,
            ..AliasLog::default()
        }
    }

    fn loaded(&self) -> &Loaded {
        self.loaded.get_or_init(|| self.load())
    }

    fn loaded_mut(&mut self) -> &mut Loaded {
        if self.loaded.get().is_none() {
            let loaded = self.load();
            let _ = self.loaded.set(loaded);
        }
        self.loaded.get_mut().expect("read just now")
    }

    /// Reads the log up to the commit and cuts the file back to it. A log
    /// that cannot be read is set aside (`.damaged`) with a warning: its
    /// merged groups show apart, and the writer starts a new log.
    fn load(&self) -> Loaded {
        let folder = self.path.parent().unwrap_or(Path::new("."));
        let cut = || -> io::Result<()> {
            match OpenOptions::new().write(true).open(&self.path) {
                Ok(file) if file.metadata()?.len() > self.committed => {
                    tracing::info!(
                        "{}: dropping the duplicate-group merges past the last commit",
                        self.path.display()
                    );
                    file.set_len(self.committed)?;
                    file.sync_all()
                }
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        };
        match Aliases::read(folder, self.committed).and_then(|aliases| cut().map(|()| aliases)) {
            Ok(aliases) => Loaded {
                aliases,
                base: self.committed,
            },
            Err(e) => {
                let aside = self.path.with_extension("log.damaged");
                tracing::warn!(
                    "cannot read {}: {e}; it is moved to {} and merged duplicate groups show apart",
                    self.path.display(),
                    aside.display()
                );
                if let Err(e) = std::fs::rename(&self.path, &aside)
                    && e.kind() != io::ErrorKind::NotFound
                {
                    tracing::warn!("cannot move {}: {e}", self.path.display());
                }
                Loaded {
                    aliases: Aliases::default(),
                    base: 0,
                }
            }
        }
    }

    pub fn aliases(&self) -> &Aliases {
        &self.loaded().aliases
    }

    /// Merges the group of `from` into that of `into`.
    pub fn merge(&mut self, from: &str, into: &str) {
        if let Some((from, into)) = self.loaded_mut().aliases.merge(from, into) {
            self.append(&[&from, &into]);
        }
    }

    /// Forgets every merge (the groups are about to be computed again).
    pub fn reset(&mut self) {
        self.loaded_mut().aliases = Aliases::default();
        self.append(&[]);
    }

    fn append(&mut self, entry: &[&str]) {
        serde_json::to_writer(&mut self.unsynced, entry).expect("strings serialise");
        self.unsynced.push(b'\n');
    }

    /// Writes and syncs the merges made since the last call; returns the
    /// log's length, for the commit to record.
    pub fn sync(&mut self) -> io::Result<u64> {
        if !self.unsynced.is_empty() {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            file.write_all(&self.unsynced)?;
            file.sync_data()?;
            self.appended += self.unsynced.len() as u64;
            self.unsynced.clear();
        }
        Ok(match self.loaded.get() {
            Some(loaded) => loaded.base + self.appended,
            None => self.committed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(a: &Aliases, key: &str) -> Vec<String> {
        a.keys(key).map(String::from).collect()
    }

    #[test]
    fn merges_resolve_to_the_surviving_key_transitively() {
        let mut a = Aliases::default();
        assert_eq!(a.canonical("x"), "x");
        assert!(a.merge("b", "a").is_some());
        assert!(a.merge("c", "b").is_some());
        assert!(a.merge("c", "a").is_none(), "already one group");
        assert_eq!(a.canonical("c"), "a");
        assert_eq!(keys(&a, "b"), ["a", "b", "c"]);
        // A group with aliases merged into another brings them along.
        assert!(a.merge("a", "z").is_some());
        for k in ["a", "b", "c", "z"] {
            assert_eq!(a.canonical(k), "z", "{k}");
        }
        assert_eq!(keys(&a, "z"), ["z", "b", "c", "a"]);
        assert_eq!(a.weight("b"), 4);
        assert!(a.knows("z") && a.knows("a") && !a.knows("y"));
        assert_eq!(a.len(), 3);
    }

    #[test]
    fn the_log_replays_to_the_committed_length_and_drops_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AliasLog::open(dir.path(), 0);
        assert_eq!(log.sync().unwrap(), 0, "nothing written, no file");
        log.merge("記事@1", "記事@0");
        log.merge("c\t\"quoted\"\n", "記事@1");
        let committed = log.sync().unwrap();
        assert!(committed > 0);
        // Merges past the commit (a crash before it).
        log.merge("d", "e");
        log.reset();
        log.merge("f", "記事@0");
        let all = log.sync().unwrap();
        assert!(all > committed);
        let a = Aliases::read(dir.path(), committed).unwrap();
        assert_eq!(a.canonical("c\t\"quoted\"\n"), "記事@0");
        assert_eq!(a.canonical("d"), "d");
        let after = Aliases::read(dir.path(), all).unwrap();
        assert_eq!(after.canonical("記事@1"), "記事@1", "reset");
        assert_eq!(after.canonical("f"), "記事@0");
        // A writer reading the log cuts it back to the commit.
        let log = AliasLog::open(dir.path(), committed);
        assert_eq!(
            std::fs::metadata(dir.path().join(LOG_FILE)).unwrap().len(),
            all,
            "read on first use only"
        );
        assert_eq!(log.aliases().canonical("記事@1"), "記事@0");
        assert_eq!(
            std::fs::metadata(dir.path().join(LOG_FILE)).unwrap().len(),
            committed
        );
        // Incremental reading gives what reading at once gives.
        let mut a = Aliases::read(dir.path(), 0).unwrap();
        assert!(a.is_empty());
        a.read_more(dir.path(), 0, committed).unwrap();
        assert_eq!(keys(&a, "記事@0"), keys(log.aliases(), "記事@0"));
    }

    /// A log shorter than its commit says is set aside; the writer goes on
    /// with a new one, which the next commit records from its start.
    #[test]
    fn a_damaged_log_is_set_aside_and_a_new_one_started() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(LOG_FILE), "[\"a\",\"b\"]\n").unwrap();
        let mut log = AliasLog::open(dir.path(), 100);
        assert!(log.aliases().is_empty());
        assert!(dir.path().join("dedup-aliases.log.damaged").exists());
        log.merge("c", "d");
        let len = log.sync().unwrap();
        let a = Aliases::read(dir.path(), len).unwrap();
        assert_eq!(a.canonical("c"), "d");
        assert_eq!(a.canonical("a"), "a");
    }

    #[test]
    fn a_missing_or_short_log_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = Aliases::read(dir.path(), 10).unwrap_err();
        assert!(e.to_string().contains(LOG_FILE), "{e}");
        std::fs::write(dir.path().join(LOG_FILE), "[\"a\",\"b\"]\n").unwrap();
        let e = Aliases::read(dir.path(), 100).unwrap_err();
        assert!(e.to_string().contains("holds 10 bytes"), "{e}");
        std::fs::write(dir.path().join(LOG_FILE), "[\"a\"]\n").unwrap();
        let e = Aliases::read(dir.path(), 6).unwrap_err();
        assert!(e.to_string().contains("1 keys"), "{e}");
    }
}
