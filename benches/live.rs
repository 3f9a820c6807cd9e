//! Re-indexing while the service answers: `cargo bench --bench live`.
//!
//! Starts the real app in-process on a loopback port, then
//! 1. posts single articles and measures the time from the POST request to
//!    the article being found by `/search` (50 samples);
//! 2. posts the whole Wikinews corpus through `POST /articles` (NDJSON
//!    batches of 200) while another thread searches without pause, and
//!    reports ingest throughput through the API and the search latency
//!    (p50 / p99) and errors during the bulk ingest, next to the latency of
//!    the same queries when idle.

#[path = "common.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kiji::config::Config;

const QUERIES: &[&str] = &[
    "北朝鮮",
    "ロシア",
    "地震",
    "選挙",
    "大統領",
    "台風",
    "サッカー",
    "東日本大震災",
];

fn main() -> anyhow::Result<()> {
    if !common::under_cargo_bench() {
        return Ok(());
    }
    let Some(path) = common::wikinews() else {
        return Ok(());
    };
    let lines: Vec<String> = std::fs::read_to_string(&path)?
        .lines()
        .map(String::from)
        .collect();
    let mut config = Config::default();
    config.server.api_token = "bench".into();
    let (_dir, base, _) = common::serve_fresh(config, None)?;
    let agent = ureq::AgentBuilder::new().build();
    let post = |agent: &ureq::Agent, body: &str| -> anyhow::Result<()> {
        agent
            .post(&format!("{base}/articles"))
            .set("Authorization", "Bearer bench")
            .set("Content-Type", "application/x-ndjson")
            .send_string(body)?;
        Ok(())
    };
    let search_total = |agent: &ureq::Agent, q: &str| -> anyhow::Result<u64> {
        let v: serde_json::Value = agent
            .get(&format!("{base}/search"))
            .query("q", q)
            .call()?
            .into_json()?;
        Ok(v["total"].as_u64().unwrap_or(0))
    };

    // 1. POST → searchable.
    let mut visible = Vec::new();
    for i in 0..50 {
        let word = format!("ベンチ記事{i:03}号");
        let started = Instant::now();
        post(
            &agent,
            &format!("{{\"id\":\"live-{i}\",\"title\":\"{word}\",\"body\":\"{word}の本文。\"}}\n"),
        )?;
        while search_total(&agent, &word)? == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        visible.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    visible.sort_by(f64::total_cmp);

    // Idle latency of the query set (on the small index first, then again after the bulk load).
    let latency_round = |agent: &ureq::Agent, rounds: usize| -> anyhow::Result<Vec<f64>> {
        let mut out = Vec::new();
        for _ in 0..rounds {
            for q in QUERIES {
                let t = Instant::now();
                search_total(agent, q)?;
                out.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        Ok(out)
    };

    // 2. Bulk ingest through the API while searching.
    let done = Arc::new(AtomicBool::new(false));
    let searcher = {
        let done = done.clone();
        let base = base.clone();
        std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new().build();
            let (mut times, mut errors) = (Vec::new(), 0usize);
            let mut i = 0;
            while !done.load(Ordering::Relaxed) {
                let q = QUERIES[i % QUERIES.len()];
                i += 1;
                let t = Instant::now();
                match agent.get(&format!("{base}/search")).query("q", q).call() {
                    Ok(r) if r.status() == 200 => times.push(t.elapsed().as_secs_f64() * 1000.0),
                    _ => errors += 1,
                }
            }
            (times, errors)
        })
    };
    let started = Instant::now();
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    for chunk in lines.chunks(200) {
        post(&agent, &(chunk.join("\n") + "\n"))?;
    }
    let ingest_secs = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let (mut during, errors) = searcher.join().expect("searcher thread");
    during.sort_by(f64::total_cmp);
    let mut idle = latency_round(&agent, 20)?;
    idle.sort_by(f64::total_cmp);

    let text = format!(
        "# kiji: re-indexing while answering\n\n\
         | measure | value |\n|---|---|\n\
         | POST → searchable, median of 50 | {:.1} ms (p90 {:.1} ms, max {:.1} ms) |\n\
         | ingest through POST /articles ({} articles, NDJSON batches of 200) | {:.1} s = {:.0} articles/s, {:.2} MB/s |\n\
         | searches during the bulk ingest | {} searches, {} errors |\n\
         | search latency during ingest | p50 {:.2} ms, p99 {:.2} ms |\n\
         | search latency idle (after ingest, same queries) | p50 {:.2} ms, p99 {:.2} ms |\n",
        common::percentile(&visible, 50.0),
        common::percentile(&visible, 90.0),
        visible.last().copied().unwrap_or(0.0),
        lines.len(),
        ingest_secs,
        lines.len() as f64 / ingest_secs,
        bytes as f64 / 1e6 / ingest_secs,
        during.len(),
        errors,
        common::percentile(&during, 50.0),
        common::percentile(&during, 99.0),
        common::percentile(&idle, 50.0),
        common::percentile(&idle, 99.0),
    );
    common::report("live.md", &text);
    Ok(())
}
