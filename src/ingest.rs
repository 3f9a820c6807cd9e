//! Ingest: files and folders → parsed articles → the index, with a report of
//! what was added, updated, unchanged and rejected (file, line, reason).
//! A bad article rejects only itself; everything else still goes in.

use std::path::{Path, PathBuf};

use serde::Serialize;

use std::io::{BufRead, BufReader};

use crate::article::{ArticleError, Format, Parsed, Rejection, parse_bytes, parse_json_line};
use crate::error::Result;
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
    /// Files in folders skipped because their extension is not an article format.
    pub skipped_files: Vec<String>,
    /// Bytes of input read.
    pub bytes: u64,
}

impl IngestReport {
    pub fn count(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Added => self.added += 1,
            Outcome::Updated => self.updated += 1,
            Outcome::Unchanged => self.unchanged += 1,
        }
    }

    /// One line: `added 3, updated 0, unchanged 5, rejected 1`.
    pub fn summary(&self) -> String {
        format!(
            "added {}, updated {}, unchanged {}, rejected {}",
            self.added,
            self.updated,
            self.unchanged,
            self.rejected.len()
        )
    }
}

/// The article files under `paths`: files as given, folders walked (hidden
/// entries and non-article extensions skipped and listed).
pub fn collect_files(paths: &[PathBuf], report: &mut IngestReport) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let walker = walkdir::WalkDir::new(path)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                });
            for entry in walker {
                match entry {
                    Ok(e) if e.file_type().is_file() => {
                        if Format::from_path(e.path()).is_ok() {
                            files.push(e.into_path());
                        } else {
                            report.skipped_files.push(e.path().display().to_string());
                        }
                    }
                    Ok(_) => {}
                    Err(err) => report.rejected.push(Rejection {
                        file: err
                            .path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| path.display().to_string()),
                        line: None,
                        reason: ArticleError::Io(err.to_string()).to_string(),
                    }),
                }
            }
        } else if path.exists() {
            files.push(path.clone());
        } else {
            report.rejected.push(Rejection {
                file: path.display().to_string(),
                line: None,
                reason: "no such file or folder".into(),
            });
        }
    }
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

/// Ingests files into the index through `writer`, committing every
/// [`COMMIT_EVERY`] and at the end.
pub fn ingest_files(
    store: &Store,
    writer: &mut Writer,
    files: &[PathBuf],
    max_file_bytes: u64,
    progress: &dyn Progress,
    report: &mut IngestReport,
) -> Result<()> {
    let sizes: Vec<u64> = files
        .iter()
        .map(|f| f.metadata().map(|m| m.len()).unwrap_or(0))
        .collect();
    progress.start(sizes.iter().sum());
    let mut last_commit = std::time::Instant::now();
    for (file, &size) in files.iter().zip(&sizes) {
        progress.file(file);
        report.files += 1;
        let name = file.display().to_string();
        let reject = |report: &mut IngestReport, line: Option<usize>, e: ArticleError| {
            report.rejected.push(Rejection {
                file: file.display().to_string(),
                line,
                reason: e.to_string(),
            })
        };
        let format = match Format::from_path(file) {
            Ok(f) => f,
            Err(e) => {
                reject(report, None, e);
                progress.advance(size);
                continue;
            }
        };
        // JSON Lines is streamed: the size limit applies to each line (one
        // article), so an archive of any size goes in. Other formats hold
        // one document, which the limit applies to as a whole.
        // Articles are written in batches, so that analysis runs on all cores.
        let mut batch: Vec<crate::article::Article> = Vec::new();
        let mut flush =
            |batch: &mut Vec<crate::article::Article>, report: &mut IngestReport| -> Result<()> {
                if batch.is_empty() {
                    return Ok(());
                }
                for outcome in writer.upsert_many(store, std::mem::take(batch), Some(&name))? {
                    report.count(outcome);
                }
                if last_commit.elapsed() >= COMMIT_EVERY {
                    writer.commit(store)?;
                    last_commit = std::time::Instant::now();
                }
                Ok(())
            };
        let mut handle = |item: Parsed,
                          report: &mut IngestReport,
                          batch: &mut Vec<crate::article::Article>|
         -> Result<()> {
            match item {
                Ok(article) => {
                    batch.push(article);
                    if batch.len() >= BATCH {
                        flush(batch, report)?;
                    }
                }
                Err((line, e)) => report.rejected.push(Rejection {
                    file: name.clone(),
                    line,
                    reason: e.to_string(),
                }),
            }
            Ok(())
        };
        if format == Format::JsonLines {
            let f = match std::fs::File::open(file) {
                Ok(f) => f,
                Err(e) => {
                    reject(report, None, ArticleError::Io(e.to_string()));
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
                        reject(report, Some(line_no + 1), ArticleError::Io(e.to_string()));
                        break;
                    }
                };
                line_no += 1;
                report.bytes += n as u64;
                progress.advance(n as u64);
                if n as u64 > max_file_bytes {
                    let e = ArticleError::TooLarge {
                        size: n as u64,
                        limit: max_file_bytes,
                    };
                    handle(Err((Some(line_no), e)), report, &mut batch)?;
                    continue;
                }
                if let Some(item) = parse_json_line(&line, line_no) {
                    handle(item, report, &mut batch)?;
                }
            }
            flush(&mut batch, report)?;
            continue;
        }
        if size > max_file_bytes {
            reject(
                report,
                None,
                ArticleError::TooLarge {
                    size,
                    limit: max_file_bytes,
                },
            );
            progress.advance(size);
            continue;
        }
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) => {
                reject(report, None, ArticleError::Io(e.to_string()));
                progress.advance(size);
                continue;
            }
        };
        report.bytes += bytes.len() as u64;
        let stem = file
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        for item in parse_bytes(format, &bytes, &stem) {
            handle(item, report, &mut batch)?;
        }
        flush(&mut batch, report)?;
        progress.advance(size);
    }
    writer.commit(store)?;
    Ok(())
}

/// Re-extracts the entities of every stored article (after the gazetteer
/// changed) and rewrites them; with near-duplicate detection on, every
/// article is rewritten so that duplicate groups are computed again (after
/// the threshold changed). Returns how many articles were rewritten.
pub fn reanalyze(store: &Store, writer: &mut Writer, progress: &dyn Progress) -> Result<usize> {
    let searcher = store.searcher();
    progress.start(searcher.num_docs());
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
}

/// An article of a batch that was not taken.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct BatchRejection {
    /// 1-based position in the batch (array index or NDJSON line).
    pub position: usize,
    pub code: String,
    pub message: String,
}

/// A rejection code for an article error.
pub fn rejection_code(e: &ArticleError) -> &'static str {
    match e {
        ArticleError::InvalidUtf8(_) => "invalid_utf8",
        ArticleError::EmptyBody => "empty_body",
        ArticleError::BadDate { .. } => "invalid_date",
        ArticleError::Json(_) => "invalid_json",
        ArticleError::UnknownFormat(_) => "unknown_format",
        ArticleError::TooLarge { .. } => "too_large",
        ArticleError::Io(_) => "io_error",
        ArticleError::BadField(..) => "invalid_field",
    }
}

/// Upserts a parsed batch and commits it: on return, every taken article is durable.
pub fn ingest_batch(
    store: &Store,
    writer: &mut Writer,
    items: Vec<crate::article::Parsed>,
) -> Result<BatchReport> {
    let mut report = BatchReport::default();
    for (n, item) in items.into_iter().enumerate() {
        match item {
            Ok(article) => {
                let id = article.id.clone();
                match writer.upsert(store, article) {
                    Ok(Outcome::Added) => report.added.push(id),
                    Ok(Outcome::Updated) => report.updated.push(id),
                    Ok(Outcome::Unchanged) => report.unchanged.push(id),
                    Err(e) => {
                        writer.rollback(store)?;
                        return Err(e);
                    }
                }
            }
            Err((line, e)) => report.rejected.push(BatchRejection {
                position: line.unwrap_or(n + 1),
                code: rejection_code(&e).to_string(),
                message: e.to_string(),
            }),
        }
    }
    if !(report.added.is_empty() && report.updated.is_empty()) {
        writer.commit(store)?;
    }
    Ok(report)
}
