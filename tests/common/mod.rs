//! Shared helpers: one analyser for all tests, temporary indexes built from
//! the repository's sample `corpus/`, the test app, and the optional Wikinews
//! corpus from `../shared` (tests that need it skip with a printed reason).

#![allow(dead_code)]

pub mod fake_opensearch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use actix_web::web;
use kiji::analysis::Analyzer;
use kiji::config::Config;
use kiji::http::AppState;
use kiji::index::{Store, Writer};
use kiji::ingest::{self, IngestReport, Quiet};

/// The analyser (dictionary + gazetteer), built once per test binary.
/// Fails the test with the command's standard error unless it succeeded.
pub fn assert_success(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn analyzer() -> Arc<Analyzer> {
    static A: OnceLock<Arc<Analyzer>> = OnceLock::new();
    A.get_or_init(|| Analyzer::new(None).expect("the analyser loads"))
        .clone()
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample corpus shipped in the repository.
pub fn sample_corpus() -> PathBuf {
    repo().join("corpus")
}

/// The seed article's text.
pub fn seed_text() -> String {
    std::fs::read_to_string(sample_corpus().join("2024-10-31-north-korea-troops-to-russia.txt"))
        .expect("the seed article is in corpus/")
}

/// Creates the folder `name` inside `dir` and returns its path.
pub fn folder(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::create_dir(&path).unwrap();
    path
}

/// An index in a temporary folder, with `paths` ingested.
pub struct TestIndex {
    pub dir: tempfile::TempDir,
    pub store: Arc<Store>,
    pub writer: Writer,
    pub report: IngestReport,
}

impl TestIndex {
    /// The search layer over this index (default ranking).
    pub fn engine(&self) -> kiji::search::Engine {
        kiji::search::Engine::new(self.store.clone(), Default::default())
    }
}

pub fn index_with(paths: &[PathBuf]) -> TestIndex {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("index"), analyzer()).unwrap());
    let mut writer = Writer::new(&store, 64).unwrap();
    let mut report = IngestReport::default();
    let files = ingest::collect_files(paths, &mut report);
    ingest::ingest_files(
        &store,
        &mut writer,
        &files,
        &Default::default(),
        &Quiet,
        &mut report,
    )
    .unwrap();
    TestIndex {
        dir,
        store,
        writer,
        report,
    }
}

/// The sample corpus, indexed.
pub fn sample_index() -> TestIndex {
    index_with(&[sample_corpus()])
}

/// App state over a test index; `token` enables writes.
pub fn state(
    t: TestIndex,
    token: Option<&str>,
    max_body: Option<usize>,
) -> (web::Data<AppState>, tempfile::TempDir) {
    let mut config = Config::default();
    config.index.path = t.dir.path().join("index");
    if let Some(tok) = token {
        config.server.api_token = tok.to_string();
    }
    if let Some(m) = max_body {
        config.limits.body_bytes = m;
    }
    (
        web::Data::new(AppState::new(t.store, t.writer, Arc::new(config))),
        t.dir,
    )
}

/// `../shared/corpus/wikinews/articles.jsonl` (or `$KIJI_WIKINEWS`), if present.
pub fn wikinews() -> Option<PathBuf> {
    let path = std::env::var_os("KIJI_WIKINEWS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/corpus/wikinews/articles.jsonl"));
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: the Wikinews corpus is not at {} (set KIJI_WIKINEWS to its articles.jsonl)",
            path.display()
        );
        None
    }
}

/// The Wikinews articles, parsed (id, title, body).
pub fn wikinews_articles(path: &Path) -> Vec<kiji::article::Article> {
    let bytes = std::fs::read(path).unwrap();
    kiji::article::parse_bytes(kiji::article::Format::JsonLines, &bytes, "")
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

/// `GET uri` on a test service: the status and the body as text.
pub async fn get_text(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    uri: &str,
) -> (actix_web::http::StatusCode, String) {
    let req = actix_web::test::TestRequest::get().uri(uri).to_request();
    let resp = actix_web::test::call_service(app, req).await;
    let status = resp.status();
    let body = actix_web::test::read_body(resp).await;
    (status, String::from_utf8_lossy(&body).to_string())
}

/// `GET uri` on a test service: the status and the body parsed as JSON
/// (`Null` when it is not JSON).
pub async fn get_json(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    uri: &str,
) -> (actix_web::http::StatusCode, serde_json::Value) {
    let (status, body) = get_text(app, uri).await;
    (
        status,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    )
}
