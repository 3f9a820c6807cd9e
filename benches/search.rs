//! Search latency over HTTP on the Wikinews corpus: `cargo bench --bench search`.
//!
//! Ingests the corpus, starts the real actix app on a free loopback port in
//! this process, and times a fixed query set (total + top 10 with snippets)
//! over one keep-alive connection: 1 warm-up round, then 20 rounds.

#[path = "common.rs"]
mod common;

use std::time::Instant;

use kiji::config::Config;

const QUERIES: &[&str] = &[
    "北朝鮮",
    "ロシア",
    "地震",
    "選挙",
    "大統領",
    "首相",
    "台風",
    "戦争",
    "経済産業省",
    "国際宇宙ステーション",
    "ウイルス",
    "インターネット",
    "サッカー",
    "コンピュータ",
    "北朝鮮の核",
    "東日本大震災",
    "小泉純一郎",
    "オバマ",
    "金正日",
    "北朝",
    "NHK",
    "G20",
    "ワールドカップ",
    "原子力発電所",
    "円高",
];

fn main() -> anyhow::Result<()> {
    if !common::under_cargo_bench() {
        return Ok(());
    }
    let Some(path) = common::wikinews() else {
        return Ok(());
    };
    let (_dir, base, ingested) = common::serve_fresh(Config::default(), Some(&path))?;
    let agent = ureq::AgentBuilder::new().build();
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); QUERIES.len()];
    let mut all = Vec::new();
    for round in 0..21 {
        for (i, q) in QUERIES.iter().enumerate() {
            let started = Instant::now();
            let body: serde_json::Value = agent
                .get(&format!("{base}/search"))
                .query("q", q)
                .query("limit", "10")
                .call()?
                .into_json()?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            assert!(body["total"].as_u64().unwrap_or(0) > 0, "no hits for {q}");
            if round > 0 {
                per_query[i].push(ms);
                all.push(ms);
            }
        }
    }
    all.sort_by(f64::total_cmp);
    let mut text = format!(
        "# kiji search latency over HTTP\n\n{} articles, {} queries × 20 rounds, top 10 with snippets, one keep-alive connection on 127.0.0.1\n\n\
         | measure | ms |\n|---|---|\n| median | {:.2} |\n| p99 | {:.2} |\n| max | {:.2} |\n\n| query | median ms |\n|---|---|\n",
        ingested,
        QUERIES.len(),
        common::percentile(&all, 50.0),
        common::percentile(&all, 99.0),
        all.last().copied().unwrap_or(0.0)
    );
    for (q, times) in QUERIES.iter().zip(per_query.iter_mut()) {
        times.sort_by(f64::total_cmp);
        text.push_str(&format!(
            "| {q} | {:.2} |\n",
            common::percentile(times, 50.0)
        ));
    }
    common::report("search.md", &text);
    Ok(())
}
