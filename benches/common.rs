//! Shared by the bench binaries: where the corpus is, peak memory, percentiles.

#![allow(dead_code)]

use std::path::PathBuf;

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
