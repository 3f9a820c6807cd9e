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
    // Generous: the first start ingests the corpus (the Wikinews test: 3,090 articles in a debug build).
    let deadline = Instant::now() + Duration::from_secs(600);
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
    let corpus = crate::common::folder(&dir, "corpus");
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

fn search_total(base: &str, q: &str) -> u64 {
    let v: serde_json::Value = ureq::get(&format!("{base}/search"))
        .query("q", q)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    v["total"].as_u64().unwrap()
}

fn wait_for(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn watch_takes_in_new_changed_and_deleted_files() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = crate::common::folder(&dir, "corpus");
    std::fs::write(
        corpus.join("a.txt"),
        "最初の記事\n2024/11/01\n\n東京で会議が開かれた。\n",
    )
    .unwrap();
    let server = start(
        &dir.path().join("index"),
        &corpus,
        &[("KIJI_WATCH", "1"), ("KIJI_DELETE_REMOVED_FILES", "1")],
    );
    assert_eq!(search_total(&server.base, "会議"), 1);
    std::fs::write(
        corpus.join("b.jsonl"),
        "{\"id\":\"w1\",\"title\":\"新着\",\"body\":\"大阪で台風の被害。\"}\n",
    )
    .unwrap();
    wait_for("a new file", 15, || search_total(&server.base, "台風") == 1);
    std::fs::write(
        corpus.join("a.txt"),
        "最初の記事\n2024/11/01\n\n名古屋で講演があった。\n",
    )
    .unwrap();
    wait_for("a changed file", 15, || {
        search_total(&server.base, "講演") == 1 && search_total(&server.base, "会議") == 0
    });
    std::fs::remove_file(corpus.join("b.jsonl")).unwrap();
    wait_for("a deleted file", 15, || {
        search_total(&server.base, "台風") == 0
    });
}

#[test]
fn sigkill_mid_batch_loses_no_acknowledged_article_and_resending_converges() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let empty = crate::common::folder(&dir, "empty");
    let token = [("KIJI_API_TOKEN", "t0ken")];
    let batches: Vec<String> = (0..40)
        .map(|b| {
            (0..100)
                .map(|i| {
                    let n = b * 100 + i;
                    format!(
                        "{{\"id\":\"k{n}\",\"title\":\"記事{n}\",\"published\":\"2020-01-01\",\"body\":\"第{n}号の本文。北朝鮮とロシアについて。{}\"}}\n",
                        "長い説明。".repeat(50)
                    )
                })
                .collect()
        })
        .collect();
    let post = |base: &str, body: &str| {
        ureq::post(&format!("{base}/articles"))
            .set("Authorization", "Bearer t0ken")
            .set("Content-Type", "application/x-ndjson")
            .send_string(body)
            .map_err(Box::new)
    };
    let mut server = start(&index, &empty, &token);
    let base = server.base.clone();
    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sender = {
        let acked = acked.clone();
        let batches = batches.clone();
        std::thread::spawn(move || {
            for batch in &batches {
                match post(&base, batch) {
                    Ok(r) => {
                        let v: serde_json::Value = r.into_json().unwrap();
                        let ids = v["added"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|i| i.as_str().unwrap().to_string());
                        acked.lock().unwrap().extend(ids);
                    }
                    Err(_) => break, // the server died mid-request: not acknowledged
                }
            }
        })
    };
    wait_for("some acknowledged batches", 60, || {
        acked.lock().unwrap().len() >= 500
    });
    server.child.kill().unwrap(); // SIGKILL
    server.child.wait().unwrap();
    sender.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() < 4000,
        "the kill came too late to test anything"
    );

    let server = start(&index, &empty, &token);
    for id in &acked {
        let r = ureq::get(&format!("{}/articles/{id}", server.base)).call();
        assert!(r.is_ok(), "acknowledged article {id} lost after SIGKILL");
    }
    for batch in &batches {
        post(&server.base, batch).unwrap();
    }
    let stats: serde_json::Value = ureq::get(&format!("{}/stats", server.base))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(stats["documents"], 4000, "exactly one copy of each article");
    assert_eq!(search_total(&server.base, "北朝鮮"), 4000);
    eprintln!(
        "kill test: {} of 4000 articles acknowledged before SIGKILL; all present after restart",
        acked.len()
    );
}

#[test]
fn ingest_hands_articles_to_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let server = start(&index, &sample_corpus(), &[("KIJI_API_TOKEN", "tok")]);
    let extra = dir.path().join("extra.jsonl");
    std::fs::write(
        &extra,
        "{\"id\":\"s1\",\"title\":\"追加\",\"body\":\"札幌で雪祭りが始まった。\"}\n{bad json\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiji"))
        .args(["ingest", "--json", "--server", &server.base])
        .arg(&extra)
        .env("KIJI_API_TOKEN", "tok")
        .env("KIJI_LOG", "error")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], 1);
    assert_eq!(report["rejected"][0]["line"], 2);
    assert_eq!(search_total(&server.base, "雪祭り"), 1);
    // The same reading path as `kiji ingest`: JSON Lines are limited per line,
    // not as one file, and ids over limits.id_bytes are rejected with their line.
    let lines = dir.path().join("lines.jsonl");
    let long_id = "x".repeat(513);
    std::fs::write(
        &lines,
        format!(
            "{{\"id\":\"s2\",\"title\":\"追加\",\"body\":\"函館で朝市が開かれた。\"}}\n\
             {{\"id\":\"s3\",\"title\":\"追加\",\"body\":\"小樽で運河祭りが開かれた。\"}}\n\
             {{\"id\":\"{long_id}\",\"title\":\"t\",\"body\":\"本文。\"}}\n"
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiji"))
        .args(["ingest", "--json", "--server", &server.base])
        .arg(&lines)
        .env("KIJI_API_TOKEN", "tok")
        .env("KIJI_MAX_FILE_BYTES", "600")
        .env("KIJI_LOG", "error")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], 2, "{report}");
    assert_eq!(report["rejected"][0]["line"], 3, "{report}");
    assert!(
        report["rejected"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("limits.id_bytes"),
        "{report}"
    );
    // a wrong token is refused with the server's message
    let out = Command::new(env!("CARGO_BIN_EXE_kiji"))
        .args(["ingest", "--server", &server.base])
        .arg(&extra)
        .env("KIJI_API_TOKEN", "wrong")
        .env("KIJI_LOG", "error")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("401"));
}

#[test]
fn watch_catches_up_on_files_added_while_the_server_was_down() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let corpus = crate::common::folder(&dir, "corpus");
    std::fs::write(
        corpus.join("a.txt"),
        "記事\n2024/11/01\n\n京都で祭りがあった。\n",
    )
    .unwrap();
    let server = start(&index, &corpus, &[("KIJI_WATCH", "1")]);
    drop(server);
    std::fs::write(
        corpus.join("b.txt"),
        "記事二\n2024/11/02\n\n奈良で鹿が増えた。\n",
    )
    .unwrap();
    let server = start(&index, &corpus, &[("KIJI_WATCH", "1")]);
    wait_for("the file added while down", 15, || {
        search_total(&server.base, "鹿") == 1
    });
    assert_eq!(search_total(&server.base, "祭り"), 1);
}
