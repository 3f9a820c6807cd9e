//! Ingest: files and folders → parsed articles → the index, with a report of
//! what was added, updated, unchanged and rejected (file, line, reason).
//! A bad article rejects only itself; everything else still goes in.

use std::path::{Path, PathBuf};

use serde::Serialize;

use std::io::{BufRead, BufReader};

use crate::article::{
    Article, ArticleError, Format, Parsed, Rejection, parse_bytes, parse_json_line,
};
use crate::code::ErrorCode;
use crate::config::LimitsConfig;
use crate::error::{Error, Result};
use crate::index::{Outcome, Store, Writer};

/// A long ingest commits this often (and at the end), so a crash loses at
/// most this much work and readers see progress. Time, not an article
/// count: each commit closes segments that tantivy then merges, and
/// committing every 5,000 articles made a 49,440-article ingest take 40 %
/// longer (35.7 s against 25.5 s, `bench/run.sh` scale curve).
pub const COMMIT_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Articles analysed together (on all cores) before they are written.
const BATCH: usize = 256;

/// What one ingest did.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct IngestReport {
    pub files: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: Vec<Rejection>,
    /// Articles skipped because a later line (or item) of their file gives
    /// their id again: that later version is the one read.
    pub superseded: usize,
    /// Files in folders skipped because their extension is not an article format.
    pub skipped_files: Vec<String>,
    /// Bytes of input read.
    pub bytes: u64,
}

impl IngestReport {
    pub fn count(&mut self, outcome: Outcome) {
        count_metric(outcome);
        match outcome {
            Outcome::Added => self.added += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }

    /// Records a rejected article (or file).
    pub fn reject(&mut self, file: &str, line: Option<usize>, e: &ArticleError) {
        reject_metric(e);
        self.rejected.push(Rejection {
            file: file.to_string(),
            line,
            code: e.code().as_str().to_string(),
            reason: e.to_string(),
        });
    }

    /// One line: `added 3, updated 0, unchanged 5, rejected 1`.
    pub fn summary(&self) -> String {
        let superseded = if self.superseded > 0 {
            format!(
                ", superseded {} (a later line of the same file gives the id again)",
                self.superseded
            )
        } else {
            String::new()
        };
        format!(
            "added {}, updated {}, unchanged {}{superseded}, rejected {}",
            self.added,
            self.updated,
            self.unchanged,
            self.rejected.len()
        )
    }
}

fn count_metric(outcome: Outcome) {
    let label = match outcome {
        Outcome::Added => "added",
        Outcome::Updated => "updated",
        Outcome::Unchanged => "unchanged",
    };
    crate::metrics::metrics()
        .ingested
        .with_label_values(&[label])
        .inc();
}

fn reject_metric(e: &ArticleError) {
    crate::metrics::metrics()
        .rejected
        .with_label_values(&[e.code().as_str()])
        .inc();
}

/// The article files under `paths`: files as given, folders walked (hidden
/// folders left out; hidden files and non-article extensions skipped, and
/// listed, but for hidden files of no article format: an editor's swap file).
pub fn collect_files(paths: &[PathBuf], report: &mut IngestReport) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let hidden = |e: &walkdir::DirEntry| e.file_name().to_string_lossy().starts_with('.');
    for path in paths {
        if path.is_dir() {
            let walker = walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| e.depth() == 0 || !(e.file_type().is_dir() && hidden(e)));
            for entry in walker {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        let article = Format::from_path(e.path()).is_ok();
                        if article && !hidden(&e) {
                            files.push(e.into_path());
                        } else if article {
                            report
                                .skipped_files
                                .push(format!("{} (hidden)", e.path().display()));
                        } else if !hidden(&e) {
                            report.skipped_files.push(e.path().display().to_string());
                        }
                    }
                    Ok(_) => {}
                    Err(err) => report.reject(
                        &err.path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| path.display().to_string()),
                        None,
                        &ArticleError::Io(err.to_string()),
                    ),
                }
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            report.reject(
                &path.display().to_string(),
                None,
                &ArticleError::Io("no such file or folder".into()),
            );
        }
    }
    // One file reached twice (a symbolic link to a file also walked, or a
    // path given twice) is read once: its second path is listed as skipped.
    let mut seen: std::collections::HashMap<PathBuf, PathBuf> = Default::default();
    let mut listed = std::collections::HashSet::new();
    files.retain(|f| {
        let Ok(real) = std::fs::canonicalize(f) else {
            return true;
        };
        match seen.entry(real) {
            std::collections::hash_map::Entry::Occupied(first) => {
                // (A path given twice is listed once.)
                if f != first.get() && listed.insert(f.clone()) {
                    report.skipped_files.push(format!(
                        "{} (the same file as {})",
                        f.display(),
                        first.get().display()
                    ));
                }
                false
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(f.clone());
                true
            }
        }
    });
    files
}

/// Progress callbacks for a long ingest (the CLI draws a bar with them).
pub trait Progress {
    /// Total input bytes, once known.
    fn start(&self, _total_bytes: u64) {}
    /// `bytes` more input handled.
    fn advance(&self, _bytes: u64) {}
    /// A file that is being read.
    fn file(&self, _path: &Path) {}
}

/// No progress output.
pub struct Quiet;
impl Progress for Quiet {}

/// Whether an article may go in: its id (non-empty, at most
/// `limits.id_bytes`) and its size (the bytes of its text fields, at most
/// `limits.article_bytes`). Every way in (files, the watcher, `--server`,
/// `POST /articles`) passes its articles through here.
pub fn check_article(article: &Article, limits: &LimitsConfig) -> Result<(), ArticleError> {
    if article.id.trim().is_empty() {
        return Err(ArticleError::BadField("id", "a non-empty string"));
    }
    if article.id.len() > limits.id_bytes {
        return Err(ArticleError::IdTooLong {
            len: article.id.len(),
            limit: limits.id_bytes,
        });
    }
    let size = article.text_bytes() as u64;
    if size > limits.article_bytes {
        return Err(ArticleError::TooLarge {
            size,
            limit: limits.article_bytes,
        });
    }
    Ok(())
}

/// An article read from a file, with its line (JSON Lines) or position (JSON array).
#[derive(Debug, Clone)]
pub struct Sourced {
    pub article: Article,
    pub line: Option<usize>,
}

/// A 64-bit hash of an article id (the ids of one file are told apart by it).
fn id_hash(id: &str) -> u64 {
    let h = blake3::hash(id.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// For a JSON Lines or JSON file: the place (line, or position in an
/// array) where each id the file gives more than once is given last, by
/// [`id_hash`]; ids given once are not kept. A first pass over the file
/// reads only each line's id ([`crate::article::line_id`]); 16 bytes an
/// article while it runs. A file that cannot be read gives nothing here (the main
/// pass reports it).
fn last_of_repeated_ids(
    file: &Path,
    format: Format,
    max: u64,
) -> rustc_hash::FxHashMap<u64, usize> {
    let mut seen: Vec<(u64, usize)> = Vec::new();
    if format == Format::JsonLines {
        let Ok(f) = std::fs::File::open(file) else {
            return Default::default();
        };
        let mut reader = BufReader::new(f);
        let mut line = Vec::new();
        let mut line_no = 0;
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    line_no += 1;
                    if n as u64 <= max
                        && let Some(id) = crate::article::line_id(&line)
                    {
                        seen.push((id_hash(&id), line_no));
                    }
                }
            }
        }
    } else if let Ok(bytes) = std::fs::read(file) {
        let items = parse_bytes(format, &bytes, "");
        let positions = items.len() > 1;
        for (n, item) in items.into_iter().enumerate() {
            if let (Ok(a), true) = (item, positions) {
                seen.push((id_hash(&a.id), n + 1));
            }
        }
    }
    seen.sort_unstable();
    seen.chunk_by(|a, b| a.0 == b.0)
        .filter(|run| run.len() > 1)
        .map(|run| run[run.len() - 1])
        .collect()
}

/// Reads the articles of `files` — the one reading path of `kiji ingest`,
/// the watcher and `kiji ingest --server`: format by extension, the size
/// limit per file (per line for JSON Lines, which is streamed), parsing,
/// [`check_article`]; rejections go to `report`. The articles are handed to
/// `sink` in batches of up to `batch` with the file they came from.
/// `text_ids` holds the ids of the text files read so far with their files
/// (the watcher keeps it between scans): two files named alike in different
/// folders (a/article.txt, b/article.txt) would replace each other's
/// article at every run, so the later one is rejected.
pub fn read_files(
    files: &[PathBuf],
    limits: &LimitsConfig,
    batch_size: usize,
    progress: &dyn Progress,
    report: &mut IngestReport,
    text_ids: &mut std::collections::HashMap<String, String>,
    mut sink: impl FnMut(&str, Vec<Sourced>, &mut IngestReport) -> Result<()>,
) -> Result<()> {
    let max = limits.article_bytes;
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .collect();
    progress.start(sizes.iter().sum());
    for (file, &size) in files.iter().zip(&sizes) {
        progress.file(file);
        report.files += 1;
        let name = file.display().to_string();
        let mut batch: Vec<Sourced> = Vec::new();
        let format = match Format::from_path(file) {
            Ok(f) => f,
            Err(e) => {
                report.reject(&name, None, &e);
                progress.advance(size);
                continue;
            }
        };
        // An id a file gives again (a correction appended to a feed) is an
        // update of the article: its last version is the one read, and the
        // earlier ones are skipped, so a second run finds every article
        // unchanged (writing each version in turn rewrote the article twice
        // at every run).
        let last = match format {
            Format::JsonLines | Format::Json => last_of_repeated_ids(file, format, max),
            Format::PlainText => Default::default(),
        };
        // One parsed item at `at` (line or array position, where known).
        let mut handle = |item: Parsed,
                          at: Option<usize>,
                          report: &mut IngestReport,
                          batch: &mut Vec<Sourced>|
         -> Result<()> {
            let checked =
                item.and_then(|a| check_article(&a, limits).map(|()| a).map_err(|e| (at, e)));
            if let Ok(a) = &checked
                && let Some(&later) = last.get(&id_hash(&a.id))
                && Some(later) != at
            {
                report.superseded += 1;
                return Ok(());
            }
            match checked {
                Ok(article) => {
                    batch.push(Sourced { article, line: at });
                    if batch.len() >= batch_size {
                        return sink(&name, std::mem::take(batch), report);
                    }
                }
                Err((line, e)) => report.reject(&name, line.or(at), &e),
            }
            Ok(())
        };
        if format == Format::JsonLines {
            // Streamed: the size limit applies to each line (one article),
            // so an archive of any size goes in.
            let f = match std::fs::File::open(file) {
                Ok(f) => f,
                Err(e) => {
                    report.reject(&name, None, &ArticleError::Io(e.to_string()));
                    progress.advance(size);
                    continue;
                }
            };
            let mut reader = BufReader::new(f);
            let mut line = Vec::new();
            let mut line_no = 0;
            loop {
                line.clear();
                let n = match reader.read_until(b'\n', &mut line) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) => {
                        report.reject(&name, Some(line_no + 1), &ArticleError::Io(e.to_string()));
                        break;
                    }
                };
                line_no += 1;
                report.bytes += n as u64;
                progress.advance(n as u64);
                let item = if n as u64 > max {
                    Some(Err((
                        Some(line_no),
                        ArticleError::TooLarge {
                            size: n as u64,
                            limit: max,
                        },
                    )))
                } else {
                    parse_json_line(&line, line_no)
                };
                if let Some(item) = item {
                    handle(item, Some(line_no), report, &mut batch)?;
                }
            }
        } else if format == Format::Json && size > limits.body_bytes as u64 {
            // A JSON file (an object or an array) is read whole: at most
            // what one POST may send; each article is then checked alone.
            let limit = limits.body_bytes as u64;
            report.reject(&name, None, &ArticleError::FileTooLarge { size, limit });
            progress.advance(size);
            continue;
        } else if format != Format::Json && size > max {
            // A text file is one article, which the limit applies to as a whole.
            report.reject(&name, None, &ArticleError::TooLarge { size, limit: max });
            progress.advance(size);
            continue;
        } else {
            let bytes = match std::fs::read(file) {
                Ok(b) => b,
                Err(e) => {
                    report.reject(&name, None, &ArticleError::Io(e.to_string()));
                    progress.advance(size);
                    continue;
                }
            };
            report.bytes += bytes.len() as u64;
            let stem = file
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let items = parse_bytes(format, &bytes, &stem);
            let positions = items.len() > 1;
            for (n, item) in items.into_iter().enumerate() {
                let item = match item {
                    Ok(a) if format == Format::PlainText => match text_ids.entry(a.id.clone()) {
                        std::collections::hash_map::Entry::Occupied(other)
                            if *other.get() != name =>
                        {
                            Err((
                                None,
                                ArticleError::IdTaken {
                                    id: a.id,
                                    other: other.get().clone(),
                                },
                            ))
                        }
                        entry => {
                            entry.or_insert_with(|| name.clone());
                            Ok(a)
                        }
                    },
                    item => item,
                };
                handle(item, positions.then_some(n + 1), report, &mut batch)?;
            }
            progress.advance(size);
        }
        if !batch.is_empty() {
            sink(&name, batch, report)?;
        }
    }
    Ok(())
}

/// Ingests files into the index through `writer`, committing every
/// [`COMMIT_EVERY`] and at the end.
pub fn ingest_files(
    store: &Store,
    writer: &mut Writer,
    files: &[PathBuf],
    limits: &LimitsConfig,
    progress: &dyn Progress,
    report: &mut IngestReport,
) -> Result<()> {
    ingest_files_noting(
        store,
        writer,
        files,
        limits,
        progress,
        report,
        Noting {
            text_ids: &mut Default::default(),
            keep: &mut |_, _, _| true,
        },
    )
}

/// What [`ingest_files_noting`] keeps between calls and asks of each
/// article: the text ids of [`read_files`], and `keep(file, article,
/// report)`, whether to write it (a `false` may record why in the report).
pub struct Noting<'a> {
    pub text_ids: &'a mut std::collections::HashMap<String, String>,
    pub keep: &'a mut dyn FnMut(&str, &Article, &mut IngestReport) -> bool,
}

/// [`ingest_files`], as [`Noting`] says: the watcher keeps the text ids
/// between scans, notes which files hold which articles, and leaves alone
/// the ones a file holds as it did before.
pub fn ingest_files_noting(
    store: &Store,
    writer: &mut Writer,
    files: &[PathBuf],
    limits: &LimitsConfig,
    progress: &dyn Progress,
    report: &mut IngestReport,
    noting: Noting<'_>,
) -> Result<()> {
    let Noting { text_ids, keep } = noting;
    let mut last_commit = std::time::Instant::now();
    read_files(
        files,
        limits,
        BATCH,
        progress,
        report,
        text_ids,
        |file, batch, report| {
            let articles: Vec<Article> = batch
                .into_iter()
                .map(|s| s.article)
                .filter(|a| keep(file, a, report))
                .collect();
            for outcome in writer.upsert_many(store, articles, Some(file))? {
                report.count(outcome);
            }
            if last_commit.elapsed() >= COMMIT_EVERY && writer.has_changes() {
                writer.commit(store)?;
                last_commit = std::time::Instant::now();
            }
            Ok(())
        },
    )?;
    // The articles are analysed: what the analysis threads keep from text
    // to text goes before the commit, the ingest's peak of memory.
    crate::analysis::release_pool_memory();
    // An ingest that changed nothing leaves the index as it was (no new
    // commit, no new commit time).
    if writer.has_changes() {
        writer.commit(store)?;
    }
    Ok(())
}

/// Re-extracts the entities of every stored article (after the gazetteer
/// changed) and rewrites them; with near-duplicate detection on, every
/// article is rewritten so that duplicate groups are computed again (after
/// the threshold changed). Returns how many articles were rewritten.
pub fn reanalyze(store: &Store, writer: &mut Writer, progress: &dyn Progress) -> Result<usize> {
    let searcher = store.searcher();
    progress.start(searcher.num_docs());
    if store.dedup.enabled {
        // Merges made under the old settings do not carry over.
        writer.reset_duplicate_groups();
    }
    let mut n = 0;
    store.for_each_article(&searcher, |stored| {
        let mut fresh = store.analyse(stored.article);
        fresh.stored.file = stored.file;
        if fresh.stored.entities != stored.entities || store.dedup.enabled {
            writer.put(store, fresh)?;
            n += 1;
        }
        progress.advance(1);
        Ok(())
    })?;
    writer.mark_reanalysed();
    writer.commit(store)?;
    Ok(n)
}

/// The outcome of one article of a `POST /articles` batch.
#[derive(Debug, Default, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct BatchReport {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: Vec<String>,
    pub rejected: Vec<BatchRejection>,
    /// Articles a later one of the batch gives again (by id): only the
    /// last version of an id is read, as `kiji ingest` reads a file.
    #[serde(skip_serializing_if = "is_zero")]
    pub superseded: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// An article of a batch that was not taken.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct BatchRejection {
    /// 1-based position in the batch (array index or NDJSON line).
    pub position: usize,
    pub code: String,
    pub message: String,
}

/// The error for a batch of which nothing could be taken.
fn nothing_taken(rejected: &[BatchRejection], codes: &[ErrorCode]) -> Error {
    let Some(first) = rejected.first() else {
        return Error::InvalidBody {
            code: ErrorCode::InvalidBody,
            message: "no article in the body (send a JSON object, an array of them, or JSON Lines)"
                .into(),
        };
    };
    let code = match codes.split_first() {
        Some((c, rest)) if rest.iter().all(|r| r == c) => *c,
        _ => ErrorCode::InvalidBody,
    };
    let more = match rejected.len() {
        1 => String::new(),
        n => format!(" (and {} more rejected)", n - 1),
    };
    Error::InvalidBody {
        code,
        message: format!(
            "no article in the body could be taken: position {}: {}{more}",
            first.position, first.message
        ),
    }
}

/// Upserts a parsed batch (`POST /articles`) and commits it: on return,
/// every taken article is durable. Each article passes [`check_article`];
/// a batch with no article that could be read is an
/// [`Error::InvalidBody`] (400), naming the first problem.
pub fn ingest_batch(
    store: &Store,
    writer: &mut Writer,
    items: Vec<Parsed>,
    limits: &LimitsConfig,
) -> Result<BatchReport> {
    let mut report = BatchReport::default();
    let mut articles = Vec::new();
    let mut codes = Vec::new();
    for (n, item) in items.into_iter().enumerate() {
        let item = item.and_then(|a| check_article(&a, limits).map(|()| a).map_err(|e| (None, e)));
        match item {
            Ok(article) => articles.push(article),
            Err((line, e)) => {
                reject_metric(&e);
                codes.push(e.code());
                report.rejected.push(BatchRejection {
                    position: line.unwrap_or(n + 1),
                    code: e.code().as_str().to_string(),
                    message: e.to_string(),
                })
            }
        }
    }
    if articles.is_empty() {
        return Err(nothing_taken(&report.rejected, &codes));
    }
    // An id given again: its last version is the article (each id is
    // reported once).
    let given = articles.len();
    let mut seen = std::collections::HashSet::new();
    articles.reverse();
    articles.retain(|a| seen.insert(a.id.clone()));
    articles.reverse();
    report.superseded = given - articles.len();
    let ids: Vec<String> = articles.iter().map(|a| a.id.clone()).collect();
    let outcomes = match writer.upsert_many(store, articles, None) {
        Ok(o) => o,
        Err(e) => {
            writer.rollback(store)?;
            return Err(e);
        }
    };
    for (id, outcome) in ids.into_iter().zip(outcomes) {
        count_metric(outcome);
        match outcome {
            Outcome::Added => report.added.push(id),
            Outcome::Updated => report.updated.push(id),
            Outcome::Unchanged => report.unchanged.push(id),
        }
    }
    if !(report.added.is_empty() && report.updated.is_empty()) {
        writer.commit(store)?;
    }
    Ok(report)
}
