//! The index folder as tantivy sees it: tantivy's [`MmapDirectory`] for
//! everything but reading, which goes through memory maps kiji keeps track
//! of, so that it can let go of their pages ([`MappedFiles::release`],
//! every 250 ms during `kiji ingest`, the doc stores every 10 ms: [`Releaser`]).
//!
//! Every page of a memory map that was read stays in the process's resident
//! set until the map goes. A long ingest reads all over the index (the band
//! terms of small segments for duplicate candidates, whole segments for each
//! merge; large segments' band postings and signatures are read from files of
//! the writer's own, [`crate::dedup::files`]), so its resident set grew with
//! the archive (1.2 GB of mapped index at 300,000 articles, before both)
//! although the pages are the kernel's page cache,
//! shared and reclaimable. Released pages stay in the page cache; the next
//! read of one maps it again (a minor fault), so nothing is read twice from
//! disk and the maps stay valid for the readers that hold them.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use tantivy::directory::error::{
    DeleteError, LockError, OpenDirectoryError, OpenReadError, OpenWriteError,
};
use tantivy::directory::{
    Directory, DirectoryLock, FileHandle, Lock, MmapDirectory, OwnedBytes, WatchCallback,
    WatchHandle, WritePtr,
};

/// The memory maps of the index's files that are open: by path, and those
/// of files deleted while a reader still holds them.
#[derive(Default)]
pub struct MappedFiles {
    maps: Mutex<Maps>,
    /// Set by [`MappedFiles::expect_long_reads`].
    long_reads: AtomicBool,
}

#[derive(Default)]
struct Maps {
    by_path: HashMap<PathBuf, Weak<memmap2::Mmap>>,
    /// Maps of deleted files. A merge deletes its segments' files while the
    /// searcher of the last commit still reads them (the writer looks up ids
    /// and duplicate candidates in it until the next commit): their pages
    /// are released like the others' until the last reader lets go. (Left
    /// out, they held up to 163 MB, sampled, of a million-article ingest.)
    deleted: Vec<(PathBuf, Weak<memmap2::Mmap>)>,
}

/// Files whose reads are mostly long runs: the doc stores (`.store`), which
/// a merge copies whole (a segment's of 100,000 articles is ~130 MB) and
/// reads otherwise a block at a time. Their pages are released far more
/// often ([`Releaser`]): copied at page-cache speed, a whole store was
/// resident between two releases of all maps, the largest part of a long
/// ingest's peak once the writer's own memory was trimmed.
fn is_streamed(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "store")
}

/// Files a search reads a little of at a time, at scattered places: the
/// term dictionaries (`.term`), postings (`.idx`) and positions (`.pos`).
/// Their maps are read without readahead ([`MappedFiles::map`]). The doc
/// stores keep it (`/export` streams articles from them: 35,000-39,000
/// a second with it, 13,700 without, at 1M articles), and so do the fast fields,
/// whose columns facets and timelines decode whole, and the field norms.
fn is_read_at_random(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e == "term" || e == "idx" || e == "pos")
}

impl MappedFiles {
    /// The process is about to read the index in long runs (an ingest: its
    /// merges copy whole segments, `--reanalyze` reads every article): the
    /// maps read at random so far, and those made from now on, get the
    /// kernel's readahead back.
    pub fn expect_long_reads(&self) {
        self.long_reads.store(true, Ordering::Relaxed);
        let maps = self.lock();
        for map in maps.by_path.values().filter_map(Weak::upgrade) {
            let _ = map.advise(memmap2::Advice::Normal);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops the pages of every open map from the process's resident set
    /// (they stay in the page cache). Readers are not disturbed: a page read
    /// again is mapped again.
    pub fn release(&self) {
        self.release_where(|_| true);
    }

    /// [`MappedFiles::release`] of the maps of files read as streams
    /// ([`is_streamed`]) only.
    pub fn release_streamed(&self) {
        self.release_where(is_streamed);
    }

    fn release_where(&self, which: impl Fn(&Path) -> bool) {
        let live: Vec<Arc<memmap2::Mmap>> = {
            let mut maps = self.lock();
            maps.by_path.retain(|_, map| map.strong_count() > 0);
            maps.deleted.retain(|(_, map)| map.strong_count() > 0);
            maps.by_path
                .iter()
                .chain(maps.deleted.iter().map(|(path, map)| (path, map)))
                .filter(|(path, _)| which(path))
                .filter_map(|(_, map)| map.upgrade())
                .collect()
        };
        for map in live {
            // SAFETY: the maps are read-only shared maps of files (made in
            // `map_file`), and held alive here: MADV_DONTNEED only drops
            // their page-table entries; the next read finds the same bytes
            // in the page cache or the file. (It would discard data only in
            // private or writable maps.)
            let _ = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }

    /// Maps open now (of deleted files too).
    pub fn count(&self) -> usize {
        let maps = self.lock();
        maps.by_path
            .values()
            .chain(maps.deleted.iter().map(|(_, map)| map))
            .filter(|m| m.strong_count() > 0)
            .count()
    }

    fn map(&self, path: &Path) -> Result<Option<Arc<memmap2::Mmap>>, OpenReadError> {
        let mut maps = self.lock();
        if let Some(map) = maps.by_path.get(path).and_then(Weak::upgrade) {
            return Ok(Some(map));
        }
        let Some(map) = map_file(path)? else {
            return Ok(None);
        };
        // Without this, the first read of a page of a map that is not in the
        // page cache reads the pages around it too, as many as the disk's
        // readahead (`/sys/block/*/queue/read_ahead_kb`: 8 MB on this
        // project's machines): a server starting on a million articles after
        // a reboot read hundreds of megabytes of postings, positions and
        // term dictionaries to open its segments and answer one search
        // (0.9-1.8 s; 0.4-0.5 s since). Reading these maps in long runs from disk is
        // slower without it, hence [`MappedFiles::expect_long_reads`].
        if !self.long_reads.load(Ordering::Relaxed) && is_read_at_random(path) {
            let _ = map.advise(memmap2::Advice::Random);
        }
        let map = Arc::new(map);
        maps.by_path
            .insert(path.to_path_buf(), Arc::downgrade(&map));
        Ok(Some(map))
    }

    /// The file at `path` is deleted: a new file there gets a map of its
    /// own, while this one is still released until it goes.
    fn forget(&self, path: &Path) {
        let mut maps = self.lock();
        if let Some(map) = maps.by_path.remove(path)
            && map.strong_count() > 0
        {
            maps.deleted.push((path.to_path_buf(), map));
        }
    }
}

/// Releases a directory's maps ([`MappedFiles::release`]) at an interval,
/// and those of the doc stores ([`MappedFiles::release_streamed`]) at a
/// shorter one, on a thread of its own, until dropped.
pub struct Releaser {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Releaser {
    /// Releases every map each `every`, and the maps of streamed files
    /// ([`is_streamed`]) each `streamed_every` (at most `every`) in between.
    pub fn start(
        mapped: Arc<MappedFiles>,
        every: std::time::Duration,
        streamed_every: std::time::Duration,
    ) -> Releaser {
        let tick = streamed_every
            .min(every)
            .max(std::time::Duration::from_millis(1));
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kiji-release-maps".into())
            .spawn(move || {
                let mut all = std::time::Instant::now();
                while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(tick)
                {
                    if all.elapsed() >= every {
                        mapped.release();
                        all = std::time::Instant::now();
                    } else {
                        mapped.release_streamed();
                    }
                }
            })
            .ok();
        Releaser {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Releaser {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A read-only map of the file at `path`; `None` for an empty file (which
/// cannot be mapped).
fn map_file(path: &Path) -> Result<Option<memmap2::Mmap>, OpenReadError> {
    let file = std::fs::File::open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            OpenReadError::FileDoesNotExist(path.to_path_buf())
        } else {
            OpenReadError::wrap_io_error(e, path.to_path_buf())
        }
    })?;
    let len = file
        .metadata()
        .map_err(|e| OpenReadError::wrap_io_error(e, path.to_path_buf()))?
        .len();
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: tantivy never modifies a segment file once written (files are
    // written whole, then only read and finally deleted), which is what
    // tantivy's own MmapDirectory relies on too.
    unsafe { memmap2::Mmap::map(&file) }
        .map(Some)
        .map_err(|e| OpenReadError::wrap_io_error(e, path.to_path_buf()))
}

/// The bytes of a map, for tantivy's [`OwnedBytes`].
struct MapBytes(Arc<memmap2::Mmap>);

impl Deref for MapBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

// SAFETY: the bytes are those of the map the Arc keeps alive; moving
// `MapBytes` does not move them.
unsafe impl stable_deref_trait::StableDeref for MapBytes {}

/// tantivy's [`MmapDirectory`], reading through [`MappedFiles`].
#[derive(Clone)]
pub struct IndexDirectory {
    inner: MmapDirectory,
    root: PathBuf,
    mapped: Arc<MappedFiles>,
}

impl fmt::Debug for IndexDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IndexDirectory({:?})", self.root)
    }
}

impl IndexDirectory {
    pub fn open(path: &Path) -> Result<IndexDirectory, OpenDirectoryError> {
        Ok(IndexDirectory {
            inner: MmapDirectory::open(path)?,
            root: path.to_path_buf(),
            mapped: Arc::default(),
        })
    }

    /// The maps this directory's readers read through.
    pub fn mapped(&self) -> Arc<MappedFiles> {
        self.mapped.clone()
    }
}

impl Directory for IndexDirectory {
    fn get_file_handle(&self, path: &Path) -> Result<Arc<dyn FileHandle>, OpenReadError> {
        let bytes = match self.mapped.map(&self.root.join(path))? {
            Some(map) => OwnedBytes::new(MapBytes(map)),
            None => OwnedBytes::empty(),
        };
        Ok(Arc::new(bytes))
    }

    fn delete(&self, path: &Path) -> Result<(), DeleteError> {
        self.mapped.forget(&self.root.join(path));
        self.inner.delete(path)
    }

    fn exists(&self, path: &Path) -> Result<bool, OpenReadError> {
        self.inner.exists(path)
    }

    fn open_write(&self, path: &Path) -> Result<WritePtr, OpenWriteError> {
        self.inner.open_write(path)
    }

    fn atomic_read(&self, path: &Path) -> Result<Vec<u8>, OpenReadError> {
        self.inner.atomic_read(path)
    }

    fn atomic_write(&self, path: &Path, data: &[u8]) -> io::Result<()> {
        self.inner.atomic_write(path, data)
    }

    fn sync_directory(&self) -> io::Result<()> {
        self.inner.sync_directory()
    }

    fn acquire_lock(&self, lock: &Lock) -> Result<DirectoryLock, LockError> {
        self.inner.acquire_lock(lock)
    }

    fn watch(&self, watch_callback: WatchCallback) -> tantivy::Result<WatchHandle> {
        self.inner.watch(watch_callback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lines of /proc/self/smaps about this process's maps of `path`.
    #[cfg(target_os = "linux")]
    fn smaps_of(path: &Path) -> Vec<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let path = path.to_string_lossy();
        let mut in_file = false;
        let mut lines = Vec::new();
        for line in smaps.lines() {
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or("");
            if first.contains('-') && !first.ends_with(':') {
                in_file = words.nth(4) == Some(path.as_ref());
            } else if in_file {
                lines.push(line.to_string());
            }
        }
        lines
    }

    /// Resident KB of this process's maps of `path` (Linux).
    #[cfg(target_os = "linux")]
    fn resident_kb(path: &Path) -> u64 {
        smaps_of(path)
            .iter()
            .filter_map(|l| l.strip_prefix("Rss:"))
            .map(|kb| {
                kb.split_whitespace()
                    .next()
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum()
    }

    /// Whether this process's map of `path` is read without readahead
    /// (`rr` among its VmFlags: madvise(MADV_RANDOM)).
    #[cfg(target_os = "linux")]
    fn read_at_random(path: &Path) -> bool {
        let flags: Vec<String> = smaps_of(path)
            .into_iter()
            .filter(|l| l.starts_with("VmFlags:"))
            .collect();
        assert_eq!(flags.len(), 1, "one map of {}", path.display());
        flags[0].split_whitespace().any(|f| f == "rr")
    }

    /// Postings, positions and term dictionaries are mapped without
    /// readahead, stores and fast fields with it, and all with it once long reads are
    /// expected (those mapped before and after).
    #[cfg(target_os = "linux")]
    #[test]
    fn scattered_reads_are_mapped_without_readahead_until_long_reads() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["s.term", "s.idx", "s.pos", "s.store", "s.fast", "t.idx"];
        let random = ["s.term", "s.idx", "s.pos"];
        for name in names {
            std::fs::write(dir.path().join(name), "中ロ".repeat(10_000)).unwrap();
        }
        let directory = IndexDirectory::open(dir.path()).unwrap();
        let open = |name: &str| directory.get_file_handle(Path::new(name)).unwrap();
        let handles: Vec<_> = names[..5].iter().map(|n| open(n)).collect();
        for name in &names[..5] {
            let path = dir.path().join(name);
            assert_eq!(read_at_random(&path), random.contains(name), "{name}");
        }
        directory.mapped().expect_long_reads();
        let later = open("t.idx");
        for name in names {
            assert!(!read_at_random(&dir.path().join(name)), "{name}");
        }
        drop((handles, later));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn released_pages_leave_the_resident_set_and_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let text = "北朝鮮のロシア派兵。".repeat(100_000);
        std::fs::write(dir.path().join("a.store"), &text).unwrap();
        let directory = IndexDirectory::open(dir.path()).unwrap();
        let handle = directory.get_file_handle(Path::new("a.store")).unwrap();
        let read = |h: &Arc<dyn FileHandle>| {
            std::hint::black_box(h.read_bytes(0..h.len()).unwrap().to_vec())
        };
        assert_eq!(read(&handle), text.as_bytes());
        let path = dir.path().join("a.store");
        assert!(resident_kb(&path) > 1_000, "{}", resident_kb(&path));
        directory.mapped().release();
        assert_eq!(resident_kb(&path), 0);
        // Read again, the same bytes; the same map serves a second opening.
        assert_eq!(read(&handle), text.as_bytes());
        let again = directory.get_file_handle(Path::new("a.store")).unwrap();
        assert_eq!(directory.mapped().count(), 1);
        assert_eq!(read(&again), text.as_bytes());
        drop((handle, again));
        assert_eq!(directory.mapped().count(), 0);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_releaser_releases_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.idx"), "派兵".repeat(200_000)).unwrap();
        let path = dir.path().join("b.idx");
        let directory = IndexDirectory::open(dir.path()).unwrap();
        let handle = directory.get_file_handle(Path::new("b.idx")).unwrap();
        // Reading the bytes (not only slicing them) maps their pages.
        let touch = |h: &Arc<dyn FileHandle>| {
            std::hint::black_box(h.read_bytes(0..h.len()).unwrap().to_vec())
        };
        touch(&handle);
        assert!(resident_kb(&path) > 1_000);
        let ms = std::time::Duration::from_millis;
        let releaser = Releaser::start(directory.mapped(), ms(10), ms(10));
        let waited = std::time::Instant::now();
        while resident_kb(&path) > 0 {
            assert!(waited.elapsed().as_secs() < 60, "never released");
            std::thread::sleep(ms(10));
        }
        drop(releaser);
        touch(&handle);
        std::thread::sleep(ms(50));
        assert!(resident_kb(&path) > 1_000, "released after the drop");
    }

    /// Doc stores are released at the short interval, other files only at
    /// the long one.
    #[cfg(target_os = "linux")]
    #[test]
    fn doc_stores_are_released_between_releases_of_all() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["d.store", "d.pos"] {
            std::fs::write(dir.path().join(name), "露朝".repeat(200_000)).unwrap();
        }
        let directory = IndexDirectory::open(dir.path()).unwrap();
        let touch = |name: &str| {
            let h = directory.get_file_handle(Path::new(name)).unwrap();
            std::hint::black_box(h.read_bytes(0..h.len()).unwrap().to_vec());
            h
        };
        let (store, pos) = (touch("d.store"), touch("d.pos"));
        let (store_path, pos_path) = (dir.path().join("d.store"), dir.path().join("d.pos"));
        assert!(resident_kb(&store_path) > 1_000 && resident_kb(&pos_path) > 1_000);
        let ms = std::time::Duration::from_millis;
        let releaser = Releaser::start(directory.mapped(), ms(3_600_000), ms(10));
        let waited = std::time::Instant::now();
        while resident_kb(&store_path) > 0 {
            assert!(
                waited.elapsed().as_secs() < 60,
                "the store was never released"
            );
            std::thread::sleep(ms(10));
        }
        assert!(resident_kb(&pos_path) > 1_000, "released before its time");
        drop(releaser);
        drop((store, pos));
    }

    /// A merge deletes files that the last commit's searcher still reads:
    /// their pages are released too, until the last reader lets go; a new
    /// file at the same path is mapped afresh.
    #[cfg(target_os = "linux")]
    #[test]
    fn maps_of_deleted_files_are_released_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let text = "中ロ首脳会談。".repeat(100_000);
        let path = dir.path().join("c.store");
        std::fs::write(&path, &text).unwrap();
        let directory = IndexDirectory::open(dir.path()).unwrap();
        let handle = directory.get_file_handle(Path::new("c.store")).unwrap();
        directory.delete(Path::new("c.store")).unwrap();
        assert!(!path.exists());
        let read = |h: &Arc<dyn FileHandle>| {
            std::hint::black_box(h.read_bytes(0..h.len()).unwrap().to_vec())
        };
        assert_eq!(read(&handle), text.as_bytes());
        assert!(resident_kb(&path) > 1_000, "{}", resident_kb(&path));
        directory.mapped().release();
        assert_eq!(resident_kb(&path), 0);
        assert_eq!(read(&handle), text.as_bytes());
        assert_eq!(directory.mapped().count(), 1);

        std::fs::write(&path, "米欧").unwrap();
        let fresh = directory.get_file_handle(Path::new("c.store")).unwrap();
        assert_eq!(read(&fresh), "米欧".as_bytes());
        assert_eq!(directory.mapped().count(), 2);
        drop(handle);
        directory.mapped().release();
        assert_eq!(directory.mapped().count(), 1);
    }

    #[test]
    fn an_empty_file_reads_as_no_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        let directory = IndexDirectory::open(dir.path()).unwrap();
        let handle = directory.get_file_handle(Path::new("empty")).unwrap();
        assert_eq!(handle.len(), 0);
        assert!(matches!(
            directory.get_file_handle(Path::new("missing")),
            Err(OpenReadError::FileDoesNotExist(_))
        ));
    }
}
