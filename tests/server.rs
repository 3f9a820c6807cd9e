//! The real `kiji serve` process, over HTTP on a free port.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::sample_corpus;

pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `kiji serve` on a free port with its own index and waits for /health.
pub fn start(index: &Path, corpus: &Path, envs: &[(&str, &str)]) -> Server {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiji"));
    cmd.arg("--index")
        .arg(index)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("KIJI_CORPUS", corpus)
        .env("KIJI_LOG", "warn")
        .env_remove("KIJI_INDEX")
        .env_remove("KIJI_API_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[kiji serve] {line}");
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if ureq::get(&format!("{base}/health")).call().is_ok() {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("kiji serve exited early: {status}");
        }
        assert!(Instant::now() < deadline, "kiji serve did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    Server { child, base }
}

#[test]
fn serve_ingests_an_empty_index_and_answers_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let server = start(&index, &sample_corpus(), &[]);

    let body: serde_json::Value = ureq::get(&format!("{}/search", server.base))
        .query("q", "北朝鮮")
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert!(body["total"].as_u64().unwrap() >= 2);
    let html = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["snippets"].as_array().unwrap().iter())
        .map(|s| s["html"].as_str().unwrap())
        .collect::<String>();
    assert!(html.contains("<mark>北朝鮮</mark>"), "{html}");

    match ureq::get(&format!("{}/search?limit=-1", server.base)).call() {
        Err(ureq::Error::Status(400, r)) => {
            let v: serde_json::Value = r.into_json().unwrap();
            assert_eq!(v["error"]["code"], "invalid_parameter");
        }
        other => panic!("expected a 400, got {other:?}"),
    }

    // A second writer is refused with a message that says what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_kiji"))
        .arg("--index")
        .arg(&index)
        .arg("ingest")
        .arg(sample_corpus())
        .env("KIJI_LOG", "error")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--server"), "{err}");
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start(&dir.path().join("index"), &sample_corpus(), &[]);
    let pid = server.child.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "kiji serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn export_of_every_wikinews_article_streams_in_flat_memory() {
    let Some(wikinews) = crate::common::wikinews() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir(&corpus).unwrap();
    std::os::unix::fs::symlink(&wikinews, corpus.join("articles.jsonl")).unwrap();
    let server = start(&dir.path().join("index"), &corpus, &[]);
    let pid = server.child.id();
    // warm up: one export, then measure a second one
    let read_all = |url: &str| {
        let mut body = String::new();
        use std::io::Read;
        ureq::get(url)
            .call()
            .unwrap()
            .into_reader()
            .read_to_string(&mut body)
            .unwrap();
        body
    };
    let url = format!("{}/export?format=csv&kwic=true&q={}", server.base, "日本");
    let _ = read_all(&url);
    let before = rss_kib(pid);
    let all = read_all(&format!("{}/export?format=ndjson", server.base));
    let after = rss_kib(pid);
    assert_eq!(all.lines().count(), 3090);
    eprintln!("export of 3090 articles: server RSS {before} KiB before, {after} KiB after");
    assert!(
        after < before + 30 * 1024,
        "RSS grew from {before} to {after} KiB"
    );
}
