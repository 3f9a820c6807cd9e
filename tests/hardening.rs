//! Issue 15: no request can hurt the service. Each numbered defect has a
//! test here; the error vocabulary is checked against the README; the HTTP
//! edge is fuzzed (no 5xx, every error in the one shape).

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{test, web};
use base64::Engine;
use serde_json::Value;

use crate::common::sample_index;
use kiji::code::ErrorCode;
use kiji::config::Config;
use kiji::http::AppState;

/// App state over the sample index, with `edit` applied to the config.
fn state_with(edit: impl FnOnce(&mut Config)) -> (web::Data<AppState>, tempfile::TempDir) {
    let t = sample_index();
    let mut config = Config::default();
    config.index.path = t.dir.path().join("index");
    config.server.api_token = "s3cret".into();
    edit(&mut config);
    (
        web::Data::new(AppState::new(t.store, t.writer, Arc::new(config))),
        t.dir,
    )
}

macro_rules! app {
    () => {
        app!(|_c: &mut Config| {})
    };
    ($edit:expr) => {{
        let (st, dir) = state_with($edit);
        (test::init_service(kiji::http::app(st)).await, dir)
    }};
}

/// Status and body of a request; asserts an error body has the one shape.
async fn call(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    req: test::TestRequest,
) -> (StatusCode, Value) {
    let resp = test::call_service(app, req.to_request()).await;
    let status = resp.status();
    let bytes = test::read_body(resp).await;
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    if status.as_u16() >= 400 {
        assert_error_shape(status, &body, &bytes);
    }
    (status, body)
}

fn assert_error_shape(status: StatusCode, body: &Value, raw: &[u8]) {
    let obj = body.as_object().unwrap_or_else(|| {
        panic!(
            "{status}: not a JSON object: {:?}",
            String::from_utf8_lossy(raw)
        )
    });
    assert_eq!(obj.len(), 1, "{body}");
    let err = body["error"].as_object().expect("error object");
    assert_eq!(err.len(), 2, "{body}");
    let code = err["code"].as_str().expect("code");
    assert!(err["message"].is_string(), "{body}");
    let known = ErrorCode::ALL
        .iter()
        .find(|c| c.as_str() == code)
        .unwrap_or_else(|| panic!("unknown code {code}"));
    assert_eq!(known.status(), status.as_u16(), "{code} with {status}");
    assert!(known.is_public(), "{code} is not for clients");
}

fn post(uri: &str) -> test::TestRequest {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(("Authorization", "Bearer s3cret"))
}

/// Each GET of `uris` is a 400 `invalid_parameter`.
async fn all_invalid_parameters(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    uris: &[&str],
) {
    for uri in uris {
        let (status, body) = call(app, test::TestRequest::get().uri(uri)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(code(&body), "invalid_parameter", "{uri}: {body}");
    }
}

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

/// Item 5: ids over `limits.id_bytes` are refused at every way in; GET and
/// DELETE of such an id are 400 invalid_id; a re-send converges.
#[actix_web::test]
async fn over_long_ids_are_refused_everywhere() {
    let (app, _dir) = app!();
    let long = "x".repeat(513);
    let one = format!(r#"{{"id":"{long}","title":"t","body":"本文。"}}"#);
    let (status, body) = call(&app, post("/articles").set_payload(one)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(code(&body), "invalid_id");
    // With another article that is fine: only the long one is rejected.
    let two = format!(
        r#"[{{"id":"{long}","title":"t","body":"本文。"}},{{"id":"ok-1","title":"t","body":"本文。"}}]"#
    );
    let (status, body) = call(&app, post("/articles").set_payload(two.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["added"], serde_json::json!(["ok-1"]));
    assert_eq!(body["rejected"][0]["code"], "invalid_id");
    assert_eq!(body["rejected"][0]["position"], 1);
    let (_, body) = call(&app, post("/articles").set_payload(two)).await;
    assert_eq!(body["unchanged"], serde_json::json!(["ok-1"]));
    // 512 bytes (here 170 three-byte characters + 2) is fine and can be fetched and deleted.
    let id = format!("{}ab", "記".repeat(170));
    assert_eq!(id.len(), 512);
    let doc = format!(r#"{{"id":"{id}","title":"t","body":"本文。"}}"#);
    let (status, _) = call(&app, post("/articles").set_payload(doc)).await;
    assert_eq!(status, StatusCode::OK);
    let enc: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
    let (status, _) = call(
        &app,
        test::TestRequest::get().uri(&format!("/articles/{enc}")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let uri = format!("/articles/{enc}");
    let (status, _) = call(
        &app,
        test::TestRequest::delete()
            .uri(&uri)
            .insert_header(("Authorization", "Bearer s3cret")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    for req in [
        test::TestRequest::get().uri(&format!("/articles/{long}")),
        test::TestRequest::delete()
            .uri(&format!("/articles/{long}"))
            .insert_header(("Authorization", "Bearer s3cret")),
    ] {
        let (status, body) = call(&app, req).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(code(&body), "invalid_id");
    }
}

/// Items 2 and 3: the per-article limit applies to the API; /analyze has its own limit.
#[actix_web::test]
async fn per_article_and_analyze_limits_apply_to_the_api() {
    let (app, _dir) = app!(|c: &mut Config| {
        c.limits.article_bytes = 1_000;
        c.limits.analyze_bytes = 1_000;
    });
    let big = format!(
        r#"{{"id":"big","title":"t","body":"{}"}}"#,
        "あ".repeat(400)
    );
    let (status, body) = call(&app, post("/articles").set_payload(big)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(code(&body), "too_large");
    let text = "露朝".repeat(200); // 1,200 bytes
    let (status, body) = call(
        &app,
        test::TestRequest::post()
            .uri("/analyze")
            .insert_header(("Content-Type", "text/plain"))
            .set_payload(text.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(code(&body), "payload_too_large");
    let enc: String = form_urlencoded::byte_serialize(text.as_bytes()).collect();
    let (status, _) = call(
        &app,
        test::TestRequest::get().uri(&format!("/analyze?text={enc}")),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = call(
        &app,
        test::TestRequest::post()
            .uri("/analyze")
            .set_payload("露朝の長期的な利害一致"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// Item 6: a crafted cursor is a 400, not an overflow.
#[actix_web::test]
async fn crafted_cursors_are_refused() {
    let (app, _dir) = app!();
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    for c in [
        b64(&format!("o:{}", usize::MAX)),
        b64(&format!("o:{}", usize::MAX - 5)),
        b64("o:100001"),
        b64("o:-1"),
        "!!!".to_string(),
    ] {
        let (status, body) = call(
            &app,
            test::TestRequest::get().uri(&format!("/search?q=%E5%8C%97&cursor={c}")),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{c}");
        assert_eq!(code(&body), "invalid_parameter");
    }
    let (status, _) = call(
        &app,
        test::TestRequest::get().uri(&format!("/search?q=%E5%8C%97&cursor={}", b64("o:1"))),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

/// Item 7: bodies with nothing readable, Content-Type, Bearer, /stats.
#[actix_web::test]
async fn unreadable_bodies_media_types_bearer_and_stats() {
    let (app, _dir) = app!();
    let deep = "[".repeat(100_000);
    for (payload, expected) in [
        (b"".to_vec(), "invalid_body"),
        (b"{not json".to_vec(), "invalid_json"),
        (vec![0xff, 0xfe, 0x00], "invalid_utf8"),
        (deep.into_bytes(), "invalid_json"),
        (
            br#"[{"title":"t","body":""},{"title":"u","body":""}]"#.to_vec(),
            "empty_body",
        ),
    ] {
        let (status, body) = call(&app, post("/articles").set_payload(payload)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(code(&body), expected);
    }
    let mixed = "{not json\n{\"title\":\"t\",\"body\":\"\"}\n";
    let (status, body) = call(
        &app,
        post("/articles")
            .insert_header(("Content-Type", "application/x-ndjson"))
            .set_payload(mixed),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "invalid_body");
    for ct in [
        "image/png",
        "text/html",
        "application/x-www-form-urlencoded",
    ] {
        let (status, body) = call(
            &app,
            post("/articles")
                .insert_header(("Content-Type", ct))
                .set_payload(r#"{"id":"a","title":"t","body":"本文。"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
        assert_eq!(code(&body), "unsupported_media_type");
    }
    let (status, _) = call(
        &app,
        test::TestRequest::post()
            .uri("/analyze")
            .insert_header(("Content-Type", "image/png"))
            .set_payload("x"),
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for auth in ["bearer s3cret", "BEARER s3cret", "Bearer  s3cret "] {
        let (status, body) = call(
            &app,
            test::TestRequest::post()
                .uri("/articles")
                .insert_header(("Authorization", auth))
                .insert_header(("Content-Type", "application/json; charset=utf-8"))
                .set_payload(r#"{"id":"b","title":"t","body":"本文。"}"#),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{auth}: {body}");
    }
    let resp = test::call_service(&app, test::TestRequest::get().uri("/stats").to_request()).await;
    let raw = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert_eq!(raw.matches("\"documents\"").count(), 1, "{raw}");
}

/// Item 7: every error in the one shape (CORS refusal, 405s, unknown
/// parameters on /export and /timeline), the Host check.
#[actix_web::test]
async fn every_error_has_the_shape_and_methods_are_405() {
    let (app, _dir) = app!();
    let (status, body) = call(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri("/search")
            .insert_header(("Origin", "https://evil.example"))
            .insert_header(("Access-Control-Request-Method", "GET")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "bad_request");
    for (method, uri) in [
        ("POST", "/timeline"),
        ("POST", "/cooccurrence"),
        ("DELETE", "/export"),
        ("POST", "/stats"),
        ("POST", "/health"),
        ("PUT", "/openapi.json"),
        ("POST", "/metrics"),
        ("PUT", "/articles/x"),
        ("POST", "/"),
    ] {
        let req = test::TestRequest::default()
            .method(method.parse().unwrap())
            .uri(uri);
        let (status, body) = call(&app, req).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(code(&body), "method_not_allowed");
    }
    all_invalid_parameters(
        &app,
        &[
            "/export?q=a&limit=5",
            "/export?q=a&sort=newest",
            "/timeline?q=a&facets=person",
            "/timeline?q=a&limit=1",
            "/timeline?q=a&fragments=0",
        ],
    )
    .await;
    let (status, _) = call(
        &app,
        test::TestRequest::get().uri("/timeline?q=a&interval=year"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // DNS rebinding: a page on evil.example resolving to 127.0.0.1.
    let (status, body) = call(
        &app,
        test::TestRequest::get()
            .uri("/stats")
            .insert_header(("Host", "evil.example:8080")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "invalid_host");
    for host in ["localhost:8080", "127.0.0.1:8080", "[::1]:8080"] {
        let (status, _) = call(
            &app,
            test::TestRequest::get()
                .uri("/stats")
                .insert_header(("Host", host)),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{host}");
    }
    let long = format!("/search?q={}", "a".repeat(kiji::http::MAX_URI_BYTES));
    let (status, body) = call(&app, test::TestRequest::get().uri(&long)).await;
    assert_eq!(status, StatusCode::URI_TOO_LONG);
    assert_eq!(code(&body), "uri_too_long");
}

/// The OpenAPI document lists every route with its methods, and every
/// listed route is served.
#[actix_web::test]
async fn openapi_lists_every_route() {
    let (app, _dir) = app!();
    let (_, doc) = call(&app, test::TestRequest::get().uri("/openapi.json")).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.insert((path.clone(), method.clone()));
        }
    }
    let mut routed = BTreeSet::new();
    for (path, methods) in kiji::http::API_ROUTES {
        for m in methods {
            routed.insert((path.to_string(), m.to_string()));
            let uri = path.replace("{id}", "x").replace("{name}", "x");
            let req = test::TestRequest::default()
                .method(m.to_uppercase().parse().unwrap())
                .uri(&uri);
            let resp = test::call_service(&app, req.to_request()).await;
            let status = resp.status();
            let body: Value =
                serde_json::from_slice(&test::read_body(resp).await).unwrap_or_default();
            assert!(
                !matches!(code(&body), "not_found" | "method_not_allowed"),
                "{m} {path} is not served: {status} {body}"
            );
        }
    }
    assert_eq!(documented, routed);
}

/// Every documented parameter is where the route reads it (a query
/// parameter is never declared in the path), and the routes that take the
/// filters of `/search` document each of them.
#[actix_web::test]
async fn openapi_parameters_are_where_they_are_read() {
    let (app, _dir) = app!();
    let (_, doc) = call(&app, test::TestRequest::get().uri("/openapi.json")).await;
    let names = |path: &str, method: &str| -> BTreeSet<String> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| p["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let (name, place) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
                let in_path = path.contains(&format!("{{{name}}}"));
                assert_eq!(
                    place,
                    if in_path { "path" } else { "query" },
                    "{method} {path} {name}"
                );
            }
        }
    }
    for path in ["/search", "/timeline", "/export"] {
        let documented = names(path, "get");
        for filter in kiji::search::FILTER_PARAMS {
            assert!(
                documented.contains(filter),
                "{path} does not document `{filter}`"
            );
        }
    }
    assert!(names("/analyze", "get").contains("text"));
    let body = &doc["paths"]["/articles"]["post"]["requestBody"]["content"];
    assert!(body["application/json"]["schema"].is_object(), "{body}");
    assert!(body["application/x-ndjson"].is_object(), "{body}");
    let responses = doc["paths"]["/articles"]["post"]["responses"]
        .as_object()
        .unwrap();
    for status in ["400", "413", "415"] {
        assert!(responses.contains_key(status), "POST /articles: {status}");
    }
}

/// The README lists exactly the codes an HTTP error body can carry.
#[core::prelude::v1::test]
fn readme_lists_the_error_vocabulary() {
    let readme = std::fs::read_to_string(crate::common::repo().join("README.md")).unwrap();
    let start = readme
        .find("<!-- error-codes -->")
        .expect("README marks its list of error codes");
    let end = readme[start..].find("<!-- /error-codes -->").unwrap() + start;
    let listed: BTreeSet<String> = readme[start..end]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(String::from)
        .collect();
    let public: BTreeSet<String> = ErrorCode::ALL
        .iter()
        .filter(|c| c.is_public())
        .map(|c| c.as_str().to_string())
        .collect();
    assert_eq!(listed, public);
    for line in readme[start..end].lines().filter(|l| l.starts_with("| `")) {
        let name = line[3..].split('`').next().unwrap();
        let code = ErrorCode::ALL.iter().find(|c| c.as_str() == name).unwrap();
        assert!(
            line.contains(&format!("| {} |", code.status())),
            "README gives {name} another status than {}",
            code.status()
        );
    }
}

/// Golden error bodies: one of each kind, as clients see them.
#[actix_web::test]
async fn golden_error_bodies() {
    let (app, _dir) = app!();
    let mut all = serde_json::Map::new();
    for (name, req) in [
        (
            "invalid_query",
            test::TestRequest::get().uri("/search?q=title%3A"),
        ),
        (
            "unknown_parameter",
            test::TestRequest::get().uri("/search?q=a&limt=3"),
        ),
        (
            "article_not_found",
            test::TestRequest::get().uri("/articles/nope"),
        ),
        ("not_found", test::TestRequest::get().uri("/nope")),
        (
            "method_not_allowed",
            test::TestRequest::default()
                .method(actix_web::http::Method::PATCH)
                .uri("/search"),
        ),
        ("unauthorized", test::TestRequest::post().uri("/articles")),
        (
            "invalid_host",
            test::TestRequest::get()
                .uri("/health")
                .insert_header(("Host", "evil.example")),
        ),
        (
            "cors_refused",
            test::TestRequest::default()
                .method(actix_web::http::Method::OPTIONS)
                .uri("/search")
                .insert_header(("Origin", "https://evil.example"))
                .insert_header(("Access-Control-Request-Method", "GET")),
        ),
        (
            "unsupported_media_type",
            post("/articles").insert_header(("Content-Type", "image/png")),
        ),
        ("empty_body", post("/articles")),
        (
            "invalid_id",
            test::TestRequest::get().uri(&format!("/articles/{}", "x".repeat(513))),
        ),
    ] {
        let (status, body) = call(&app, req).await;
        all.insert(
            name.to_string(),
            serde_json::json!({"status": status.as_u16(), "body": body}),
        );
    }
    insta::assert_json_snapshot!("error_bodies", all);
}

/// Metrics count the requests served, per route and status.
#[actix_web::test]
async fn metrics_count_requests_per_route_and_status() {
    let (app, _dir) = app!();
    call(&app, test::TestRequest::get().uri("/search?q=%E5%8C%97")).await;
    call(&app, test::TestRequest::get().uri("/articles/metrics-none")).await;
    let resp =
        test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(
        text.contains(r#"kiji_http_requests_total{method="GET",route="/search",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/articles/{id}",status="404""#),
        "{text}"
    );
    assert!(text.contains("kiji_index_documents "), "{text}");
    assert!(text.contains("kiji_index_commits_total"), "{text}");
}

/// A black-box review's findings (stop 41): text that is not UTF-8 is a
/// 400 on every route; a 405 says what is allowed and invented methods get
/// no series of their own; a timeline too long for one answer is refused,
/// not cut; an array of articles loses only the article with a bad byte; a
/// field of the wrong type is named.
#[actix_web::test]
async fn review_findings_are_answered_clearly() {
    let (app, _dir) = app!();
    all_invalid_parameters(
        &app,
        &[
            "/analyze?text=%E3%81%E9%9C%B2",
            "/entities?prefix=%E3%81",
            "/articles/%FF",
            "/entities/%E3%81",
            "/cooccurrence?entity=%E3%81",
            "/search?q=%E5%8C%97&q=%E5%8D%97",
            "/search?entity=",
            "/search?from=-2024-01-01",
            "/entities?limit=-1",
            "/timeline?interval=day&from=0001-01-01&to=9999-12-31",
        ],
    )
    .await;
    let (status, body) = call(
        &app,
        test::TestRequest::get().uri(
            "/cooccurrence?entity=%E3%83%AD%E3%82%B7%E3%82%A2&q=%E5%8C%97%E6%9C%9D%E9%AE%AE&op=or&source=x&dedup=true&min_match=1",
        ),
    )
    .await;
    assert!(
        status.is_success() || code(&body) == "entity_not_found",
        "{status} {body}"
    );
    for (uri, param) in [
        ("/cooccurrence", "entity"),
        ("/cooccurrence?entity=a&entity=b", "entity"),
        ("/cooccurrence?entity=a&limit=2&limit=3", "limit"),
        ("/cooccurrence?entity=a&size=3", "size"),
        ("/articles/x/duplicates?foo=1", "foo"),
    ] {
        let (status, body) = call(&app, test::TestRequest::get().uri(uri)).await;
        let message = body["error"]["message"].as_str().unwrap_or("");
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert!(message.contains(&format!("`{param}`")), "{uri}: {body}");
    }
    let long = format!("/articles/{}/duplicates", "x".repeat(600));
    let (status, body) = call(&app, test::TestRequest::get().uri(&long)).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (400, "invalid_id"),
        "{body}"
    );
    let (_, body) = call(&app, test::TestRequest::get().uri("/entities?limit=x")).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`limit`"),
        "{body}"
    );
    let (_, body) = call(
        &app,
        test::TestRequest::get().uri("/timeline?interval=day&from=0001-01-01&to=9999-12-31"),
    )
    .await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("3652059 buckets"),
        "{body}"
    );
    let (status, body) = call(&app, test::TestRequest::get().uri("/search?q=%22%22")).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (400, "invalid_query"),
        "{body}"
    );

    let resp = test::call_service(
        &app,
        test::TestRequest::put().uri("/articles/x").to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(resp.headers().get("allow").unwrap(), "GET, DELETE, HEAD");
    // HEAD works wherever GET does (RFC 9110), with no body.
    let resp = test::call_service(
        &app,
        test::TestRequest::default()
            .method(actix_web::http::Method::HEAD)
            .uri("/stats")
            .to_request(),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let invented = test::TestRequest::default()
        .method(actix_web::http::Method::from_bytes(b"FOOA").unwrap())
        .uri("/search");
    let (status, _) = call(&app, invented).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let resp =
        test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    let text = String::from_utf8(test::read_body(resp).await.to_vec()).unwrap();
    assert!(!text.contains("FOOA"), "{text}");
    assert!(text.contains(r#"method="other""#), "{text}");

    let mut array = r#"[{"id":"r1","title":"t","body":"露朝"},"#.as_bytes().to_vec();
    array.extend_from_slice(b"{\"id\":\"r2\",\"title\":\"t\",\"body\":\"\xff\"}]");
    let (status, body) = call(
        &app,
        post("/articles")
            .insert_header(("Content-Type", "application/json"))
            .set_payload(array),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["added"], serde_json::json!(["r1"]));
    assert_eq!(body["rejected"][0]["position"], 2);
    assert_eq!(body["rejected"][0]["code"], "invalid_utf8");
    let (status, body) = call(
        &app,
        post("/articles")
            .insert_header(("Content-Type", "application/json"))
            .set_payload(r#"{"id":"r3","title":5,"body":"本文"}"#),
    )
    .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (400, "invalid_field"),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`title`"),
        "{body}"
    );
}

/// The HTTP edge, fuzzed: whatever the query string or body, no 5xx and
/// every error in the one shape.
#[core::prelude::v1::test]
fn fuzzed_requests_never_get_a_5xx() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config as PtConfig, TestRunner};
    let rt = actix_web::rt::System::new();
    let (st, _dir) = state_with(|_| {});
    let app = rt.block_on(test::init_service(kiji::http::app(st)));
    let names = prop::sample::select(vec![
        "q",
        "op",
        "min_match",
        "entity",
        "person",
        "type",
        "from",
        "to",
        "source",
        "sort",
        "limit",
        "offset",
        "cursor",
        "fragment_size",
        "fragments",
        "pre_tag",
        "facets",
        "facet_limit",
        "interval",
        "format",
        "kwic",
        "kwic_width",
        "bom",
        "text",
        "prefix",
        "min_count",
        "x",
    ]);
    let values = prop_oneof![
        "\\PC{0,12}",
        "[0-9-]{0,22}",
        Just("99999999999999999999999".to_string()),
        Just("%".to_string()),
        Just("北朝鮮".to_string()),
        Just("title:".to_string()),
        Just("\"".to_string()),
    ];
    let pairs = prop::collection::vec((names, values), 0..5);
    let paths = prop::sample::select(vec![
        "/search",
        "/timeline",
        "/export",
        "/cooccurrence",
        "/entities",
        "/entities/%E9%9C%B2",
        "/analyze",
        "/articles/x",
        "/stats",
        "/health",
        "/nope",
        "/",
    ]);
    let mut runner = TestRunner::new(PtConfig {
        cases: 300,
        ..PtConfig::default()
    });
    runner
        .run(&(paths, pairs), |(path, pairs)| {
            let query: String = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
                .finish();
            let uri = format!("{path}?{query}");
            let (status, _) = rt.block_on(call(&app, test::TestRequest::get().uri(&uri)));
            prop_assert!(status.as_u16() < 500, "{uri}: {status}");
            Ok(())
        })
        .unwrap();
    let bodies = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        "\\PC{0,200}".prop_map(String::into_bytes),
        Just(
            r#"{"id":"f","title":"t","body":"本文。","published":"2024-13-45"}"#
                .as_bytes()
                .to_vec()
        ),
        Just(br#"[1,2,{"body":5}]"#.to_vec()),
    ];
    let types = prop::sample::select(vec![
        "",
        "application/json",
        "application/x-ndjson",
        "text/plain",
        "image/png",
    ]);
    let targets = prop::sample::select(vec!["/articles", "/analyze"]);
    let mut runner = TestRunner::new(PtConfig {
        cases: 150,
        ..PtConfig::default()
    });
    runner
        .run(&(targets, types, bodies), |(target, ct, body)| {
            let mut req = post(target).set_payload(body);
            if !ct.is_empty() {
                req = req.insert_header(("Content-Type", ct));
            }
            let (status, _) = rt.block_on(call(&app, req));
            prop_assert!(status.as_u16() < 500, "{target} {ct}: {status}");
            Ok(())
        })
        .unwrap();
}

/// Item 4: a client that sends its body (or its request head) slowly is
/// answered 408 at the configured timeout and the connection is closed.
#[core::prelude::v1::test]
fn slow_clients_are_dropped_at_the_configured_timeouts() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let corpus = crate::common::folder(&dir, "corpus");
    let server = crate::server::start(
        &dir.path().join("index"),
        &corpus,
        &[
            ("KIJI_BODY_TIMEOUT_SECS", "1"),
            ("KIJI_REQUEST_TIMEOUT_SECS", "1"),
        ],
    );
    let addr = server.base.trim_start_matches("http://").to_string();
    let answer = |first: &[u8]| -> (String, Duration) {
        let mut c = std::net::TcpStream::connect(&addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let started = Instant::now();
        c.write_all(first).unwrap();
        let mut got = Vec::new();
        let _ = c.read_to_end(&mut got);
        (
            String::from_utf8_lossy(&got).into_owned(),
            started.elapsed(),
        )
    };
    let (got, took) = answer(
        b"POST /analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\nab",
    );
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains(r#""code":"request_timeout""#), "{got}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let (got, took) = answer(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}
