//! Rebuilding an index made by an older kiji: every article it stores is
//! analysed again into a fresh index with today's schema, which then takes
//! the old one's place. Nothing is lost: the old index stays where it was
//! until the new one is complete and committed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tantivy::schema::Value;
use tantivy::{DocAddress, Index, TantivyDocument};

use rayon::prelude::*;

use super::writer::Writer;
use super::{Store, StoredArticle};
use crate::analysis::Analyzer;
use crate::error::{Error, Result};

/// Re-analyses every article stored in the index at `path` (whatever schema
/// it has) into a new index that replaces it. `progress` hears of the total
/// first, then of each batch done. Returns the number of articles.
pub fn rebuild(
    path: &Path,
    analyzer: Arc<Analyzer>,
    dedup: crate::dedup::Settings,
    writer_memory_mb: usize,
    progress: &mut dyn FnMut(Progress),
) -> Result<usize> {
    let open_err = |message: String| Error::IndexOpen {
        path: path.to_path_buf(),
        message,
    };
    let old = Index::open_in_dir(path).map_err(|e| open_err(e.to_string()))?;
    let doc_field = old
        .schema()
        .get_field("doc")
        .map_err(|_| open_err("it stores no articles (no `doc` field): ingest again".into()))?;
    let reader = old.reader()?;
    let searcher = reader.searcher();
    let fresh_path = sibling(path, "rebuild");
    if fresh_path.exists() {
        std::fs::remove_dir_all(&fresh_path)?;
    }
    let mut store = Store::open(&fresh_path, analyzer)?;
    store.dedup = dedup;
    store.expect_long_reads();
    let mut writer = Writer::new(&store, writer_memory_mb)?;
    progress(Progress::Total(searcher.num_docs()));
    let mut n = 0;
    let mut batch = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        for doc in segment.doc_ids_alive() {
            let stored: TantivyDocument = searcher.doc(DocAddress::new(ord as u32, doc))?;
            let json = stored
                .get_first(doc_field)
                .and_then(|v| v.as_str())
                .ok_or_else(|| Error::Corrupt(format!("document {doc} has no stored article")))?;
            let article: StoredArticle =
                serde_json::from_str(json).map_err(|e| Error::Corrupt(e.to_string()))?;
            batch.push(article);
            if batch.len() == 256 {
                n += write_batch(&store, &mut writer, std::mem::take(&mut batch))?;
                progress(Progress::Done(256));
            }
        }
    }
    let last = batch.len() as u64;
    n += write_batch(&store, &mut writer, batch)?;
    progress(Progress::Done(last));
    writer.commit(&store)?;
    writer.close()?;
    drop(store);
    // Swap: the old index moves aside only once the new one is committed.
    let aside = sibling(path, "old");
    if aside.exists() {
        std::fs::remove_dir_all(&aside)?;
    }
    std::fs::rename(path, &aside)?;
    std::fs::rename(&fresh_path, path)?;
    std::fs::remove_dir_all(&aside)?;
    Ok(n)
}

/// How far a rebuild is.
#[derive(Debug, Clone, Copy)]
pub enum Progress {
    /// Articles to rebuild.
    Total(u64),
    /// This many more are done.
    Done(u64),
}

/// Analyses stored articles on all cores and writes them, keeping the file
/// each came from.
fn write_batch(store: &Store, writer: &mut Writer, batch: Vec<StoredArticle>) -> Result<usize> {
    let n = batch.len();
    let analysed: Vec<_> = batch
        .into_par_iter()
        .map(|stored| {
            let mut fresh = store.analyse(stored.article);
            fresh.stored.file = stored.file;
            fresh
        })
        .collect();
    for fresh in analysed {
        writer.put(store, fresh)?;
    }
    Ok(n)
}

/// `path` with a suffix on its last component (`index` → `index.rebuild`).
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    path.with_file_name(name)
}
