//! Ingest throughput on the Wikinews corpus: `cargo bench --bench ingest`.
//!
//! Ingests all articles into a fresh index three times (median reported),
//! then times entity extraction alone over the same articles, and reports
//! MB/s, articles/s, peak memory and the share of ingest spent on entities.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use kiji::analysis::Analyzer;
use kiji::index::{Store, Writer};
use kiji::ingest::{self, IngestReport, Quiet};

fn main() -> anyhow::Result<()> {
    if !common::under_cargo_bench() {
        return Ok(());
    }
    let Some(path) = common::wikinews() else {
        return Ok(());
    };
    let analyzer = Analyzer::new(None)?;
    let bytes = std::fs::metadata(&path)?.len() as f64;
    let mut runs = Vec::new();
    let mut articles = 0;
    for _ in 0..3 {
        let dir = tempfile::tempdir()?;
        let store = Store::open(&dir.path().join("index"), analyzer.clone())?;
        let mut writer = Writer::new(&store, 256)?;
        let mut report = IngestReport::default();
        let started = Instant::now();
        ingest::ingest_files(
            &store,
            &mut writer,
            std::slice::from_ref(&path),
            &Default::default(),
            &Quiet,
            &mut report,
        )?;
        writer.close()?;
        runs.push(started.elapsed().as_secs_f64());
        articles = report.added;
        assert_eq!(report.rejected.len(), 0);
    }
    runs.sort_by(f64::total_cmp);
    let median = runs[1];

    // Entity extraction alone: the rules over morphemes that indexing
    // computes anyway (one segmentation serves both), over the same texts.
    let parsed =
        kiji::article::parse_bytes(kiji::article::Format::JsonLines, &std::fs::read(&path)?, "");
    let mut entity_secs = 0.0;
    let mut segment_secs = 0.0;
    let mut mentions = 0;
    for a in parsed.iter().flatten() {
        for text in [&a.title, &a.body] {
            let norm = kiji::analysis::normalize::normalize(text);
            let t0 = Instant::now();
            let ms = analyzer.morphemes(&norm.text);
            let t1 = Instant::now();
            mentions +=
                kiji::analysis::entities::extract(&norm.text, &ms, analyzer.gazetteer()).len();
            entity_secs += t1.elapsed().as_secs_f64();
            segment_secs += (t1 - t0).as_secs_f64();
        }
    }

    let text = format!(
        "# kiji ingest benchmark\n\n\
         corpus: {} ({:.2} MB, {} articles)\n\n\
         | measure | value |\n|---|---|\n\
         | wall time (median of 3) | {:.2} s (runs: {:.2} / {:.2} / {:.2}) |\n\
         | throughput | {:.2} MB/s, {:.0} articles/s |\n\
         | peak RSS of the process | {:.0} MiB |\n\
         | entity extraction alone (rules over the morphemes) | {:.2} s ({} mentions) = {:.0} % of ingest wall time |\n\
         | IPADIC segmentation of the same texts (shared by indexing and entities) | {:.2} s |\n",
        path.display(),
        bytes / 1e6,
        articles,
        median,
        runs[0],
        runs[1],
        runs[2],
        bytes / 1e6 / median,
        articles as f64 / median,
        common::peak_rss_mib(),
        entity_secs,
        mentions,
        100.0 * entity_secs / median,
        segment_secs,
    );
    common::report("ingest.md", &text);
    Ok(())
}
