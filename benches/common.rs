//! Shared by the bench binaries: where the corpus is, peak memory, percentiles.

#![allow(dead_code)]

use std::path::PathBuf;

/// The allocator the `kiji` binary uses, so the benches measure what runs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// True under `cargo bench` (which passes `--bench`); `cargo test
/// --all-targets` also runs bench binaries, and then they only say so.
pub fn under_cargo_bench() -> bool {
    let yes = std::env::args().any(|a| a == "--bench");
    if !yes {
        eprintln!("not under `cargo bench`: nothing measured (run `cargo bench --bench NAME`)");
    }
    yes
}

/// The Wikinews corpus (`$KIJI_WIKINEWS` or `../shared/corpus/wikinews/articles.jsonl`).
pub fn wikinews() -> Option<PathBuf> {
    let path = std::env::var_os("KIJI_WIKINEWS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/corpus/wikinews/articles.jsonl")
        });
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: no Wikinews corpus at {} (set KIJI_WIKINEWS)",
            path.display()
        );
        None
    }
}

/// Peak resident memory of this process so far, in MiB (VmHWM).
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(0.0)
}

/// The p-th percentile (0..=100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Writes a report under `target/kiji-bench/` and prints it.
pub fn report(name: &str, text: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/kiji-bench");
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(name);
    let _ = std::fs::write(&path, text);
    println!("{text}\n(written to {})", path.display());
}

/// Serves the real app for `state` on a free loopback port in a background
/// thread; returns the base URL once `/health` answers.
pub fn serve(state: actix_web::web::Data<kiji::http::AppState>) -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || kiji::http::app(state.clone()))
                .bind(("127.0.0.1", port))
                .expect("bind")
                .run()
                .await
        })
    });
    let base = format!("http://127.0.0.1:{port}");
    while ureq::get(&format!("{base}/health")).call().is_err() {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    base
}

/// A fresh index in a temporary folder (with `preload` ingested, if given),
/// served by the real app; returns the folder (keep it alive), the base URL
/// and how many articles were ingested.
pub fn serve_fresh(
    config: kiji::config::Config,
    preload: Option<&std::path::Path>,
) -> anyhow::Result<(tempfile::TempDir, String, usize)> {
    use std::sync::Arc;
    let dir = tempfile::tempdir()?;
    let store = Arc::new(kiji::index::Store::open(
        &dir.path().join("index"),
        kiji::analysis::Analyzer::new(None)?,
    )?);
    let mut writer = kiji::index::Writer::new(&store, 256)?;
    let mut report = kiji::ingest::IngestReport::default();
    if let Some(path) = preload {
        kiji::ingest::ingest_files(
            &store,
            &mut writer,
            &[path.to_path_buf()],
            &Default::default(),
            &kiji::ingest::Quiet,
            &mut report,
        )?;
    }
    let state =
        actix_web::web::Data::new(kiji::http::AppState::new(store, writer, Arc::new(config)));
    Ok((dir, serve(state), report.added))
}
