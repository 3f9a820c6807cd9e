//! `kiji serve --backend opensearch` against the in-process fake cluster
//! (tests/common/fake_opensearch.rs, filled by `kiji opensearch push` from
//! the sample corpus): the request bodies kiji sends for each API feature
//! (golden), what kiji makes of the answers, the same JSON shape as the
//! local backend for the README's curl examples, and the endpoints the
//! cluster backend refuses. The fake does not evaluate queries (every
//! search matches every document), so values are compared only where both
//! backends match every article.

use std::collections::BTreeMap;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{test, web};
use serde_json::{Value, json};

use crate::common::fake_opensearch::{FakeOpenSearch, dead_url};
use crate::common::{analyzer, get_json as get, get_text, sample_index, state};
use kiji::config::{Config, OpenSearchConfig};
use kiji::http::AppState;
use kiji::opensearch::{Provenance, RemoteSearch, Sink, template};

const SEED: &str = "2024-10-31-north-korea-troops-to-russia";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn os_config(url: &str, outbox: &std::path::Path) -> OpenSearchConfig {
    OpenSearchConfig {
        url: url.to_string(),
        outbox_path: outbox.to_path_buf(),
        retry_base_ms: 1,
        max_retries: 0,
        timeout_secs: 5,
        ..OpenSearchConfig::default()
    }
}

/// A fake cluster holding the sample corpus behind the default alias.
struct Cluster {
    fake: FakeOpenSearch,
    server: wiremock::MockServer,
    _outbox: tempfile::TempDir,
}

/// Started on a thread of its own (the fake runs a runtime of its own,
/// which cannot start inside the test's).
fn cluster() -> Cluster {
    std::thread::spawn(start_cluster).join().unwrap()
}

fn start_cluster() -> Cluster {
    let fake = FakeOpenSearch::default();
    let server = fake.start();
    let outbox = tempfile::tempdir().unwrap();
    let config = os_config(&server.uri(), outbox.path());
    let t = sample_index();
    let sink = Sink::new(&server.uri(), &config, Provenance::of(&analyzer())).unwrap();
    let tpl = template::index_template(&config, &analyzer());
    kiji::opensearch::push(&t.store, &sink, &tpl, false).unwrap();
    assert_eq!(fake.state().docs_of(&config.alias).len(), 5);
    fake.state().requests.clear();
    Cluster {
        fake,
        server,
        _outbox: outbox,
    }
}

/// The app state of a server answering from the cluster at `url`.
fn remote_state(url: &str) -> (web::Data<AppState>, tempfile::TempDir) {
    let t = sample_index();
    let mut config = Config::default();
    config.index.path = t.dir.path().join("index");
    config.server.api_token = "s3cret".into();
    config.opensearch = os_config(url, &t.dir.path().join("outbox"));
    config.server.backend = kiji::config::SearchBackend::OpenSearch;
    config.validate().unwrap();
    let remote = RemoteSearch::new(
        &config.opensearch,
        t.store.analyzer.clone(),
        config.ranking(),
    )
    .unwrap();
    let state = AppState::new(t.store, t.writer, Arc::new(config)).with_remote(remote);
    (web::Data::new(state), t.dir)
}

macro_rules! remote_app {
    ($url:expr) => {{
        let (st, dir) = remote_state($url);
        (test::init_service(kiji::http::app(st)).await, dir)
    }};
}

macro_rules! local_app {
    () => {{
        let (st, dir) = state(sample_index(), None, None);
        (test::init_service(kiji::http::app(st)).await, dir)
    }};
}

/// The `_search` bodies the fake received since the last call.
fn searches(fake: &FakeOpenSearch) -> Vec<Value> {
    let mut s = fake.state();
    let out = s
        .requests
        .iter()
        .filter(|(m, p, _)| m == "POST" && p.ends_with("/_search"))
        .map(|(_, _, b)| serde_json::from_str(b).unwrap())
        .collect();
    s.requests.clear();
    out
}

/// The API features, each as a request (the README's examples among them).
fn features() -> Vec<(&'static str, String)> {
    vec![
        ("keyword", format!("/search?q={}", enc("北朝鮮"))),
        ("phrase", format!("/search?q={}", enc("\"北朝鮮の派兵\""))),
        ("and", format!("/search?q={}", enc("北朝鮮のロシア派兵"))),
        (
            "or",
            format!("/search?op=or&q={}", enc("北朝鮮 ロシア派兵")),
        ),
        (
            "min_match",
            format!("/search?min_match=2&q={}", enc("北朝鮮 ロシア 派兵")),
        ),
        ("not", format!("/search?q={}", enc("北朝鮮 -中国"))),
        (
            "title_or",
            format!("/search?q={}", enc("title:プーチン OR 金正恩")),
        ),
        ("single_character", format!("/search?q={}", enc("露"))),
        (
            "character_at_an_end",
            format!("/search?q={}", enc("2008年")),
        ),
        (
            "or_single_character",
            format!("/search?op=or&q={}", enc("露 北朝鮮")),
        ),
        (
            "inflected",
            format!("/search?q={}", enc("会議を行っている")),
        ),
        ("entity", format!("/search?entity={}", enc("ロシア"))),
        (
            "entities_typed",
            format!("/search?entity={}&person={}", enc("CSIS"), enc("金正恩")),
        ),
        (
            "dates_sort",
            format!(
                "/search?q={}&from=2024-11-01&to=2024-11-30&sort=newest",
                enc("ロシア")
            ),
        ),
        (
            "source",
            format!("/search?source={}&source={}", enc("大紀元"), enc("NHK")),
        ),
        (
            "facets",
            format!(
                "/search?q={}&facets=person,organization,place,source&facet_limit=5",
                enc("ロシア")
            ),
        ),
        ("page", "/search?limit=2&offset=2&sort=oldest".to_string()),
        (
            "timeline",
            format!(
                "/timeline?q={}&interval=week&from=2024-10-01&to=2024-11-30",
                enc("北朝鮮")
            ),
        ),
        (
            "cooccurrence",
            format!(
                "/cooccurrence?entity={}&sort=lift&q={}",
                enc("金正恩"),
                enc("ロシア")
            ),
        ),
        (
            "export",
            format!("/export?format=ndjson&q={}", enc("北朝鮮")),
        ),
        (
            "entities",
            format!("/entities?prefix={}&limit=5", enc("金")),
        ),
        ("entity_detail", "/entities/CSIS".to_string()),
    ]
}

/// Golden: the request body kiji sends for each feature, and for the page
/// after a cursor (`search_after` the last hit's sort values).
#[actix_web::test]
async fn request_bodies_for_each_feature_are_golden() {
    let c = cluster();
    let (app, _dir) = remote_app!(&c.server.uri());
    let mut sent: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (name, uri) in features() {
        let (status, body) = get_text(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        sent.insert(name.to_string(), searches(&c.fake));
    }
    let (status, first) = get(&app, "/search?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    searches(&c.fake);
    let (status, second) = get(&app, &format!("/search?limit=2&cursor={cursor}")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let bodies = searches(&c.fake);
    assert_eq!(
        bodies[0]["search_after"],
        json!([9.0, first["hits"][1]["id"]])
    );
    assert!(bodies[0].get("from").is_none());
    sent.insert("cursor".into(), bodies);
    // The pages follow each other: no hit twice.
    let ids = |b: &Value| -> Vec<String> {
        b["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(ids(&second).iter().all(|id| !ids(&first).contains(id)));
    insta::assert_json_snapshot!("opensearch_query_bodies", sent);
}

/// The JSON type of every key, recursively (arrays: their first element);
/// null fits any type (values may be absent on one backend).
fn same_shape(path: &str, local: &Value, remote: &Value, out: &mut Vec<String>) {
    match (local, remote) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().filter(|k| *k != "backend").collect();
            if ka != kb {
                out.push(format!("{path}: keys {ka:?} vs {kb:?}"));
            }
            for (k, v) in a {
                if let Some(w) = b.get(k) {
                    same_shape(&format!("{path}.{k}"), v, w, out);
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(x), Some(y)) = (a.first(), b.first()) {
                same_shape(&format!("{path}[0]"), x, y, out);
            }
        }
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        _ => out.push(format!("{path}: {local} vs {remote}")),
    }
}

/// Golden comparison: the README's curl examples give the same JSON shape
/// from the cluster as from the local index (the cluster's answer adds
/// `backend`, with its notes).
#[actix_web::test]
async fn readme_examples_have_the_local_backends_shape() {
    let c = cluster();
    let (remote, _d1) = remote_app!(&c.server.uri());
    let (local, _d2) = local_app!();
    let examples = vec![
        format!("/search?q={}", enc("北朝鮮")),
        format!("/search?q={}", enc("\"北朝鮮の派兵\"")),
        format!("/search?q={}", enc("北朝鮮 -中国")),
        format!("/search?q={}", enc("title:プーチン OR 金正恩")),
        format!("/search?entity={}", enc("ロシア")),
        format!("/search?entity=CSIS&entity={}", enc("北朝鮮")),
        format!(
            "/search?q={}&from=2024-10-01&to=2024-11-30&sort=newest",
            enc("ロシア")
        ),
        format!(
            "/search?q={}&facets=person,organization,place,source",
            enc("ロシア")
        ),
        format!("/articles/{SEED}?q={}", enc("プーチン")),
        format!("/timeline?entity={}&interval=month", enc("ロシア")),
        format!("/cooccurrence?entity={}", enc("金正恩")),
        "/entities?type=person&limit=20".to_string(),
        "/entities/CSIS".to_string(),
        format!("/entities/{}", enc("北朝鮮")),
    ];
    let mut differences = Vec::new();
    for uri in &examples {
        let (ls, lbody) = get(&local, uri).await;
        let (rs, rbody) = get(&remote, uri).await;
        assert_eq!((ls, rs), (StatusCode::OK, StatusCode::OK), "{uri}: {rbody}");
        if rbody.is_object() {
            assert_eq!(rbody["backend"]["name"], "opensearch", "{uri}");
            assert!(lbody.get("backend").is_none(), "{uri}");
        }
        for key in ["hits", "buckets", "items"] {
            if let Some(l) = lbody.get(key) {
                let n = l.as_array().unwrap().len();
                assert!(
                    n > 0 && !rbody[key].as_array().unwrap().is_empty(),
                    "{uri}: {key}"
                );
            }
        }
        same_shape(uri, &lbody, &rbody, &mut differences);
    }
    assert!(differences.is_empty(), "{differences:#?}");
    // /export: the same CSV header, and NDJSON lines of the same shape.
    let q = enc("北朝鮮");
    let (_, lcsv) = get_text(&local, &format!("/export?q={q}")).await;
    let (_, rcsv) = get_text(&remote, &format!("/export?q={q}")).await;
    assert_eq!(lcsv.lines().next(), rcsv.lines().next());
    assert_eq!(
        rcsv.lines().count(),
        6,
        "the header and the fake's 5 articles"
    );
    let (_, lnd) = get_text(&local, &format!("/export?q={q}&format=ndjson&kwic=true")).await;
    let (_, rnd) = get_text(&remote, &format!("/export?q={q}&format=ndjson&kwic=true")).await;
    let first = |t: &str| serde_json::from_str::<Value>(t.lines().next().unwrap()).unwrap();
    same_shape("export", &first(&lnd), &first(&rnd), &mut differences);
    assert!(differences.is_empty(), "{differences:#?}");
}

/// What kiji makes of the answers: where both backends match every
/// article (no `q`), the values are the local ones too — totals, facets,
/// timelines — and highlights built from the cluster's text and entity
/// spans are the local ones, character for character.
#[actix_web::test]
async fn answers_become_kijis_own_json() {
    let c = cluster();
    let (remote, _d1) = remote_app!(&c.server.uri());
    let (local, _d2) = local_app!();
    for uri in [
        "/search?facets=person,organization,place,source&limit=0".to_string(),
        "/timeline?interval=month".to_string(),
        format!(
            "/articles/{SEED}?q={}&entity={}",
            enc("プーチン"),
            enc("ロシア")
        ),
        "/entities?limit=1000".to_string(),
        format!("/entities?prefix={}", enc("ロ")),
        "/entities?prefix=csis&type=organization".to_string(),
    ] {
        let (_, mut l) = get(&local, &uri).await;
        let (_, mut r) = get(&remote, &uri).await;
        for body in [&mut l, &mut r] {
            if let Some(o) = body.as_object_mut() {
                for volatile in ["took_ms", "index", "backend"] {
                    o.remove(volatile);
                }
            }
        }
        assert!(l.as_array().is_none_or(|a| !a.is_empty()), "{uri}");
        assert_eq!(l, r, "{uri}");
    }
    let (_, csis) = get(&remote, "/entities?prefix=csis").await;
    assert_eq!(
        csis[0]["name"], "戦略国際問題研究所",
        "found through its alias"
    );
    // Hits: kiji's snippets over the cluster's text.
    let (_, r) = get(&remote, &format!("/search?q={}", enc("北朝鮮"))).await;
    let hits = r["hits"].as_array().unwrap();
    assert_eq!(r["total"], 5);
    let seed = hits.iter().find(|h| h["id"] == SEED).unwrap();
    assert!(
        seed["title_html"]
            .as_str()
            .unwrap()
            .contains("<mark>北朝鮮</mark>"),
        "{seed}"
    );
    let snippet = &seed["snippets"][0];
    let text: Vec<char> = snippet["text"].as_str().unwrap().chars().collect();
    let [s, e] = [0, 1].map(|i| snippet["highlights"][0][i].as_u64().unwrap() as usize);
    assert_eq!(text[s..e].iter().collect::<String>(), "北朝鮮");
    assert!(seed["score"].is_number());
    // The same article's hit from the local index: the same highlights,
    // snippets and entities (only the score differs).
    let (_, l) = get(&local, &format!("/search?q={}", enc("北朝鮮"))).await;
    let local_seed = l["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == SEED)
        .unwrap();
    for key in [
        "title_html",
        "snippets",
        "entities",
        "published",
        "source",
        "url",
    ] {
        assert_eq!(seed[key], local_seed[key], "{key}");
    }
    let notes = r["backend"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().starts_with("ranking"))
    );
    // Sorted by date: no score, as locally.
    let (_, r) = get(&remote, "/search?sort=newest").await;
    assert!(r["hits"][0]["score"].is_null());
}

/// What only kiji's index has is a clear 501, and so are writes; an
/// article the cluster does not have is a 404, a cluster that is down a 503.
#[actix_web::test]
async fn the_cluster_backend_says_what_it_cannot_do() {
    let c = cluster();
    let (app, _dir) = remote_app!(&c.server.uri());
    for uri in [
        format!("/articles/{SEED}/duplicates"),
        format!("/articles/{SEED}/related"),
        format!("/search?q={}&dedup=true", enc("北朝鮮")),
        "/timeline?dedup=true".to_string(),
        "/export?dedup=true".to_string(),
    ] {
        let (status, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::NOT_IMPLEMENTED, "{uri}: {body}");
        assert_eq!(body["error"]["code"], "not_supported_by_backend", "{uri}");
    }
    let req = test::TestRequest::post()
        .uri("/articles")
        .insert_header(("Authorization", "Bearer s3cret"))
        .set_json(json!({"id": "a1", "title": "見出し", "body": "本文。"}))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::NOT_IMPLEMENTED);
    let (status, body) = get(&app, "/articles/no-such-article").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "article_not_found");
    let (status, body) = get(&app, "/search?offset=9995&limit=10").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cursor")
    );
    // The analyser is local: /analyze still answers.
    let (status, _) = get(&app, &format!("/analyze?text={}", enc("露朝"))).await;
    assert_eq!(status, StatusCode::OK);

    let (down, _d) = remote_app!(&dead_url());
    let (status, body) = get(&down, &format!("/search?q={}", enc("北朝鮮"))).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "backend_unavailable");
}

/// The real `kiji serve --backend opensearch` process: refused without a
/// cluster URL; with one, it answers from the cluster (and ingests nothing
/// into its own, empty index).
#[::std::prelude::v1::test]
fn kiji_serve_with_the_opensearch_backend() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kiji"))
        .arg("--index")
        .arg(dir.path().join("index"))
        .args(["serve", "--backend", "opensearch"])
        .env_remove("KIJI_OPENSEARCH_URL")
        .env_remove("KIJI_BACKEND")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("opensearch.url"), "{stderr}");

    let c = cluster();
    let url = c.server.uri();
    let outbox = dir.path().join("outbox");
    let server = crate::server::start(
        &dir.path().join("index"),
        &crate::common::sample_corpus(),
        &[
            ("KIJI_BACKEND", "opensearch"),
            ("KIJI_OPENSEARCH_URL", &url),
            ("KIJI_OPENSEARCH_OUTBOX", outbox.to_str().unwrap()),
        ],
    );
    let body: Value = ureq::get(&format!("{}/search?q={}", server.base, enc("北朝鮮")))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(body["backend"]["name"], "opensearch");
    assert_eq!(body["total"], 5, "the fake's articles");
    let stats: Value = ureq::get(&format!("{}/stats", server.base))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(stats["documents"], 0, "the corpus was not ingested locally");
    assert!(!searches(&c.fake).is_empty());
}
