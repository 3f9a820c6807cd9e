//! Near-duplicate detection on syndicated copies of the Wikinews corpus
//! (`bench/dedup.sh` runs it and writes `bench/DEDUP.md`).
//!
//! ```sh
//! cargo run --release --example dedup_eval                      # the evaluation (Markdown on stdout)
//! cargo run --release --example dedup_eval -- --ingest-only on  --limit 600   # for callgrind
//! cargo run --release --example dedup_eval -- --ingest-only off --limit 600
//! ```
//!
//! Copies of `--sources` (default 300) articles are made by
//! `kiji::dedup::synth` (seed `--seed`, default 16); the copies and the whole
//! untouched corpus (the distractors) are ingested through kiji's writer, and
//! the duplicate groups it keeps are scored as pairs: a pair is true when both
//! articles are the same original or its copies. Also: the same scores from
//! all-pairs signature comparison at several thresholds (what LSH loses), the
//! groups that join two different Wikinews articles (to check by hand), and
//! the ingest time with detection on and off, in the same run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use kiji::analysis::Analyzer;
use kiji::article::Article;
use kiji::dedup::{Settings, Signature, synth};
use kiji::index::{Store, Writer};

struct Args {
    corpus: PathBuf,
    sources: usize,
    seed: u64,
    limit: Option<usize>,
    /// `on` / `off`: only ingest, detection on or off; `none`: prepare
    /// the articles and stop (the fixed cost, subtracted under callgrind).
    ingest_only: Option<String>,
    /// Timed ingests of each kind (off, on, off, on, …): the report gives
    /// their medians (one run of either varies by ±5 % on a shared machine).
    timing_runs: usize,
}

fn args() -> anyhow::Result<Args> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut a = Args {
        corpus: std::env::var_os("KIJI_WIKINEWS")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("../shared/corpus/wikinews/articles.jsonl")),
        sources: 300,
        seed: 16,
        limit: None,
        ingest_only: None,
        timing_runs: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--corpus" => a.corpus = value()?.into(),
            "--sources" => a.sources = value()?.parse()?,
            "--seed" => a.seed = value()?.parse()?,
            "--limit" => a.limit = Some(value()?.parse()?),
            "--ingest-only" => a.ingest_only = Some(value()?),
            "--timing-runs" => a.timing_runs = value()?.parse::<usize>()?.max(1),
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    Ok(a)
}

fn load(corpus: &Path) -> anyhow::Result<Vec<Article>> {
    let bytes = std::fs::read(corpus)?;
    Ok(
        kiji::article::parse_bytes(kiji::article::Format::JsonLines, &bytes, "")
            .into_iter()
            .filter_map(|r| r.ok())
            .collect(),
    )
}

/// Originals and copies interleaved deterministically (copies arrive while
/// their original is both committed and not yet committed).
fn corpus_with_copies(args: &Args) -> anyhow::Result<(Vec<Article>, HashMap<String, String>)> {
    let originals = load(&args.corpus)?;
    let copies = synth::make_copies(&originals, args.sources, args.seed);
    let mut truth: HashMap<String, String> = originals
        .iter()
        .map(|a| (a.id.clone(), a.id.clone()))
        .collect();
    for (c, i) in &copies {
        truth.insert(c.id.clone(), originals[*i].id.clone());
    }
    let mut all: Vec<Article> = originals;
    all.extend(copies.into_iter().map(|(c, _)| c));
    let mut rng = synth::Rng::new(args.seed ^ 0x5eed);
    for i in (1..all.len()).rev() {
        let j = rng.below(i + 1);
        all.swap(i, j);
    }
    if let Some(limit) = args.limit {
        all.truncate(limit);
    }
    Ok((all, truth))
}

/// Ingests `articles` into a fresh index (commits every 1,000); returns the
/// seconds taken and the group key of each id.
fn ingest(
    articles: &[Article],
    analyzer: &Arc<Analyzer>,
    enabled: bool,
) -> anyhow::Result<(f64, HashMap<String, String>)> {
    let dir = tempfile::tempdir()?;
    let mut store = Store::open(&dir.path().join("index"), analyzer.clone())?;
    store.dedup = Settings {
        enabled,
        ..Settings::default()
    };
    let mut writer = Writer::new(&store, 128)?;
    let t0 = Instant::now();
    for chunk in articles.chunks(1000) {
        for batch in chunk.chunks(256) {
            writer.upsert_many(&store, batch.to_vec(), None)?;
        }
        writer.commit(&store)?;
    }
    let secs = t0.elapsed().as_secs_f64();
    let searcher = store.searcher();
    let mut groups = HashMap::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        for doc in segment.doc_ids_alive() {
            let addr = tantivy::DocAddress::new(ord as u32, doc);
            let id = store.load(&searcher, addr)?.article.id;
            let group = kiji::dedup::groups::group_at(&store, &searcher, addr).unwrap_or_default();
            groups.insert(id, group);
        }
    }
    writer.close()?;
    Ok((secs, groups))
}

/// Pairs of ids in the same group.
fn pairs(groups: &HashMap<String, String>) -> Vec<(String, String)> {
    let mut by_group: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, g) in groups {
        by_group.entry(g).or_default().push(id);
    }
    let mut out = Vec::new();
    for ids in by_group.values_mut() {
        ids.sort_unstable();
        for i in 0..ids.len() {
            for j in i + 1..ids.len() {
                out.push((ids[i].to_string(), ids[j].to_string()));
            }
        }
    }
    out
}

struct Score {
    precision: f64,
    recall: f64,
    predicted: usize,
    truth: usize,
}

fn score(groups: &HashMap<String, String>, truth: &HashMap<String, String>) -> Score {
    let predicted = pairs(groups);
    let true_pairs = pairs(
        &truth
            .iter()
            .filter(|(id, _)| groups.contains_key(*id))
            .map(|(a, b)| (a.clone(), b.clone()))
            .collect(),
    );
    let correct = predicted
        .iter()
        .filter(|(a, b)| truth[a] == truth[b])
        .count();
    Score {
        precision: if predicted.is_empty() {
            1.0
        } else {
            correct as f64 / predicted.len() as f64
        },
        recall: if true_pairs.is_empty() {
            1.0
        } else {
            correct as f64 / true_pairs.len() as f64
        },
        predicted: predicted.len(),
        truth: true_pairs.len(),
    }
}

/// Groups by all-pairs comparison of signatures at `threshold` (no LSH).
fn all_pairs_groups(
    sigs: &[(String, Option<Signature>)],
    threshold: f64,
) -> HashMap<String, String> {
    let settings = Settings {
        enabled: true,
        threshold,
    };
    let parts =
        kiji::dedup::groups::components(sigs.len(), |i, j| match (&sigs[i].1, &sigs[j].1) {
            (Some(a), Some(b)) => settings.is_duplicate(a.similarity(b)),
            _ => false,
        });
    let mut out = HashMap::new();
    for part in parts {
        let key = sigs[part[0]].0.clone();
        for i in part {
            out.insert(sigs[i].0.clone(), key.clone());
        }
    }
    out
}

/// The median of timings (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> anyhow::Result<()> {
    let args = args()?;
    if !args.corpus.is_file() {
        eprintln!(
            "SKIPPED: no Wikinews corpus at {} (set KIJI_WIKINEWS)",
            args.corpus.display()
        );
        return Ok(());
    }
    let analyzer = Analyzer::new(None)?;
    let (articles, truth) = corpus_with_copies(&args)?;
    if let Some(mode) = &args.ingest_only {
        if mode == "none" {
            println!("prepared {} articles", articles.len());
            return Ok(());
        }
        let enabled = mode == "on";
        let (secs, _) = ingest(&articles, &analyzer, enabled)?;
        println!(
            "ingested {} articles, detection {}, {secs:.2} s",
            articles.len(),
            if enabled { "on" } else { "off" }
        );
        return Ok(());
    }
    let originals = truth.iter().filter(|(a, b)| a == b).count();
    println!("# Near-duplicate detection (`bench/dedup.sh`)\n");
    println!(
        "Test set: {} Wikinews articles (distractors, untouched) + {} synthetic copies of {} of them (seed {}, `kiji::dedup::synth`): {} articles.\n",
        originals,
        articles.len() - originals,
        args.sources,
        args.seed,
        articles.len()
    );
    // Ingest cost, same run: off, then on.
    let (off, _) = ingest(&articles, &analyzer, false)?;
    let mut offs = vec![off];
    let candidates = |stage: &str| {
        kiji::metrics::metrics()
            .dedup_candidates
            .with_label_values(&[stage])
            .get()
    };
    let before = (candidates("shared_band"), candidates("compared"));
    let (on, groups) = ingest(&articles, &analyzer, true)?;
    let (shared, compared) = (
        candidates("shared_band") - before.0,
        candidates("compared") - before.1,
    );
    let mut ons = vec![on];
    for _ in 1..args.timing_runs {
        offs.push(ingest(&articles, &analyzer, false)?.0);
        ons.push(ingest(&articles, &analyzer, true)?.0);
    }
    let s = score(&groups, &truth);
    let settings = Settings::default();
    println!(
        "## kiji's groups (LSH candidates, threshold {})\n",
        settings.threshold
    );
    println!("| pairs predicted | true pairs | pair precision | pair recall |\n|---|---|---|---|");
    println!(
        "| {} | {} | {:.4} | {:.4} |\n",
        s.predicted, s.truth, s.precision, s.recall
    );
    // The LSH step: how likely a pair becomes a candidate, and how many did.
    let (rows, bands) = (kiji::dedup::signature::ROWS, kiji::dedup::signature::BANDS);
    println!("## Candidates (LSH: {bands} bands of {rows} rows, `kiji::dedup::signature`)\n");
    println!(
        "Probability that a pair of Jaccard index J becomes a candidate, 1 − (1 − J^{rows})^{bands}:\n"
    );
    let js = [0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.7];
    println!(
        "| J | {} |\n|---|{}",
        js.map(|j| j.to_string()).join(" | "),
        "---|".repeat(js.len())
    );
    println!(
        "| P | {} |\n",
        js.map(|j| format!(
            "{:.3}",
            1.0 - (1.0 - f64::powi(j, rows as i32)).powi(bands as i32)
        ))
        .join(" | ")
    );
    let n = articles.len() as f64;
    println!(
        "Per article written with detection on (committed articles only; uncommitted ones are compared through a map): {:.2} articles shared a band, {:.2} signatures compared (bounds: {} postings a band, {} compared).\n",
        shared as f64 / n,
        compared as f64 / n,
        kiji::dedup::groups::MAX_POSTINGS_PER_BAND,
        kiji::dedup::groups::MAX_COMPARED,
    );
    // All pairs, several thresholds.
    let sigs: Vec<(String, Option<Signature>)> = articles
        .iter()
        .map(|a| (a.id.clone(), Signature::of_body(&a.body)))
        .collect();
    println!("## All-pairs signature comparison (no LSH), by threshold\n");
    println!("| threshold | pairs predicted | precision | recall |\n|---|---|---|---|");
    for t in [0.5, 0.6, 0.7, 0.8, 0.9] {
        let g = all_pairs_groups(&sigs, t);
        let s = score(&g, &truth);
        println!(
            "| {t} | {} | {:.4} | {:.4} |",
            s.predicted, s.precision, s.recall
        );
    }
    // Groups joining different Wikinews articles.
    println!("\n## Groups holding more than one original (to check by hand)\n");
    let mut by_group: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (id, g) in &groups {
        by_group.entry(g).or_default().push(id);
    }
    let title: HashMap<&str, &str> = articles
        .iter()
        .map(|a| (a.id.as_str(), a.title.as_str()))
        .collect();
    let mut mixed = 0;
    for ids in by_group.values() {
        let mut origs: Vec<&str> = ids.iter().map(|id| truth[*id].as_str()).collect();
        origs.sort_unstable();
        origs.dedup();
        if origs.len() > 1 {
            mixed += 1;
            let names: Vec<String> = origs
                .iter()
                .map(|o| format!("`{o}` {}", title.get(o).unwrap_or(&"?")))
                .collect();
            println!("* {}", names.join(" / "));
        }
    }
    if mixed == 0 {
        println!("none");
    }
    let missed: Vec<&str> = {
        let mut m = Vec::new();
        for (id, orig) in &truth {
            if id != orig && groups.get(id) != groups.get(orig) {
                m.push(id.as_str());
            }
        }
        m.sort_unstable();
        m
    };
    println!(
        "\nCopies not grouped with their original: {} ({})\n",
        missed.len(),
        missed
            .iter()
            .take(10)
            .copied()
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "## Ingest time, same run (wall clock; {} runs of each, alternating: their medians, and every run)\n",
        ons.len()
    );
    let (off, on) = (median(&offs), median(&ons));
    let runs = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("| detection off | detection on | on / off |\n|---|---|---|");
    println!("| {off:.2} s | {on:.2} s | {:.3} |\n", on / off);
    println!("Runs (s), off: {}; on: {}.", runs(&offs), runs(&ons));
    Ok(())
}
