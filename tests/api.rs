//! The REST API through actix's test service (the same `app()` as `kiji serve`).

use actix_web::http::StatusCode;
use actix_web::test;
use serde_json::{Value, json};

use crate::common::{get_json as get, sample_index, state};

macro_rules! app {
    ($token:expr) => {
        app!($token, None)
    };
    ($token:expr, $max:expr) => {{
        let (st, dir) = state(sample_index(), $token, $max);
        (test::init_service(kiji::http::app(st)).await, dir)
    }};
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn ids(body: &Value) -> Vec<String> {
    body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().to_string())
        .collect()
}

fn first_snippet_html(body: &Value, id: &str) -> String {
    let hit = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap();
    hit["snippets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["html"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(" | ")
}

const SEED: &str = "2024-10-31-north-korea-troops-to-russia";

#[actix_web::test]
async fn keyword_search_highlights_the_whole_word() {
    let (app, _dir) = app!(None);
    let (status, body) = get(&app, &format!("/search?q={}", enc("北朝鮮"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(ids(&body).contains(&SEED.to_string()));
    let html = first_snippet_html(&body, SEED);
    assert!(html.contains("<mark>北朝鮮</mark>"), "{html}");
    assert!(body["index"]["dictionary"]["name"] == "ipadic");
    // highlights are code points into text
    let hit = &body["hits"][0];
    for s in hit["snippets"].as_array().unwrap() {
        let text: Vec<char> = s["text"].as_str().unwrap().chars().collect();
        for h in s["highlights"].as_array().unwrap() {
            let (a, b) = (
                h[0].as_u64().unwrap() as usize,
                h[1].as_u64().unwrap() as usize,
            );
            let marked: String = text[a..b].iter().collect();
            assert_eq!(marked, "北朝鮮");
        }
    }
}

#[actix_web::test]
async fn phrase_of_several_morphemes_is_one_span() {
    let (app, _dir) = app!(None);
    // A quoted phrase is one span; natural text marks each of its units.
    let (_, body) = get(&app, &format!("/search?q={}", enc("\"北朝鮮の派兵\""))).await;
    let html = first_snippet_html(&body, SEED);
    assert!(html.contains("<mark>北朝鮮の派兵</mark>"), "{html}");
    assert!(!html.contains("<mark>の</mark>"), "{html}");
    let (_, body) = get(&app, &format!("/search?q={}", enc("北朝鮮の派兵"))).await;
    let html = first_snippet_html(&body, SEED);
    assert!(
        html.contains("<mark>北朝鮮</mark>") && html.contains("<mark>派兵</mark>"),
        "{html}"
    );
    assert!(!html.contains("<mark>の</mark>"), "{html}");
    let (_, body) = get(&app, &format!("/search?q={}", enc("金正恩"))).await;
    let html = first_snippet_html(&body, SEED);
    assert!(
        html.contains("<mark>金正恩</mark>") && !html.contains("<mark>金</mark>"),
        "{html}"
    );
}

#[actix_web::test]
async fn substrings_match_and_are_highlighted() {
    let (app, _dir) = app!(None);
    let (_, body) = get(&app, &format!("/search?q={}", enc("北朝"))).await;
    assert!(ids(&body).contains(&SEED.to_string()));
    assert!(first_snippet_html(&body, SEED).contains("<mark>北朝</mark>鮮"));
    // whole-word matches rank above substring-only matches
    let (_, body) = get(&app, &format!("/search?q={}", enc("米"))).await;
    assert!(body["total"].as_u64().unwrap() >= 2);
}

#[actix_web::test]
async fn latin_is_case_and_width_insensitive() {
    let (app, _dir) = app!(None);
    for q in ["CSIS", "csis", "ＣＳＩＳ"] {
        let (_, body) = get(&app, &format!("/search?q={}", enc(q))).await;
        assert!(ids(&body).contains(&SEED.to_string()), "{q}");
        let html = first_snippet_html(&body, SEED);
        assert!(html.contains("<mark>CSIS</mark>"), "{q}: {html}");
    }
}

#[actix_web::test]
async fn entity_queries_find_abbreviations_and_highlight_them() {
    let (app, _dir) = app!(None);
    let (_, body) = get(&app, &format!("/search?entity={}", enc("ロシア"))).await;
    assert!(ids(&body).contains(&SEED.to_string()));
    let hit = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == SEED)
        .unwrap();
    let title = hit["title_html"].as_str().unwrap();
    assert!(
        title.contains("<mark>ロシア</mark>派兵 <mark>露</mark>朝"),
        "{title}"
    );
    let html = first_snippet_html(&body, SEED);
    assert!(html.contains("<mark>ロシア</mark>"), "{html}");
    // alias → canonical: CSIS finds 戦略国際問題研究所
    let (_, body) = get(&app, &format!("/search?entity={}", enc("CSIS"))).await;
    assert!(ids(&body).contains(&SEED.to_string()));
    let (_, body) = get(&app, &format!("/search?person={}", enc("プーチン"))).await;
    assert!(ids(&body).contains(&SEED.to_string()));
    // an article that only says 露朝 is found by entity=ロシア
    let (_, body) = get(
        &app,
        &format!("/search?entity={}&entity={}", enc("ロシア"), enc("北朝鮮")),
    )
    .await;
    assert!(body["total"].as_u64().unwrap() >= 2);
}

#[actix_web::test]
async fn boolean_syntax() {
    let (app, _dir) = app!(None);
    let (_, all) = get(&app, &format!("/search?q={}", enc("ロシア"))).await;
    let (_, excl) = get(&app, &format!("/search?q={}", enc("ロシア -北朝鮮"))).await;
    assert!(excl["total"].as_u64() < all["total"].as_u64());
    let (_, or) = get(&app, &format!("/search?q={}", enc("初霜 OR クルスク"))).await;
    assert_eq!(or["total"], 2);
    let (_, and) = get(&app, &format!("/search?q={}", enc("初霜 クルスク"))).await;
    assert_eq!(and["total"], 0);
    let (_, op_or) = get(&app, &format!("/search?q={}&op=or", enc("初霜 クルスク"))).await;
    assert_eq!(op_or["total"], 2);
    let (_, title) = get(&app, &format!("/search?q={}", enc("title:初霜"))).await;
    assert_eq!(title["total"], 1);
    let (_, phrase) = get(&app, &format!("/search?q={}", enc("\"派兵 ロシア\""))).await;
    assert_eq!(phrase["total"], 0);
    let (_, phrase) = get(&app, &format!("/search?q={}", enc("\"ロシア 派兵\""))).await;
    assert_eq!(phrase["total"], 1);
}

#[actix_web::test]
async fn filters_sort_paging_and_facets() {
    let (app, _dir) = app!(None);
    let (_, body) = get(&app, "/search?from=2024-11-06&to=2024-11-30&sort=oldest").await;
    let dates: Vec<&str> = body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["published"].as_str().unwrap())
        .collect();
    assert_eq!(dates.len(), 3, "{dates:?}");
    assert!(dates.windows(2).all(|w| w[0] <= w[1]));
    let (_, body) = get(&app, "/search?limit=2&sort=newest").await;
    assert_eq!(body["hits"].as_array().unwrap().len(), 2);
    let cursor = body["next_cursor"].as_str().unwrap().to_string();
    let (_, page2) = get(
        &app,
        &format!("/search?limit=2&sort=newest&cursor={cursor}"),
    )
    .await;
    let first: Vec<String> = ids(&body);
    assert!(ids(&page2).iter().all(|id| !first.contains(id)));
    let (_, body) = get(&app, "/search?facets=person,place,source").await;
    let places = body["facets"]["place"].as_array().unwrap();
    assert!(
        places
            .iter()
            .any(|v| v["value"] == "ロシア" && v["count"].as_u64().unwrap() >= 3),
        "{places:?}"
    );
    assert!(
        body["facets"]["source"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["value"] == "kiji サンプル")
    );
    // Without hits (nothing scored), the same total and facets.
    for q in ["ロシア", "北朝鮮 派兵", "-ロシア"] {
        let uri = |limit| {
            format!(
                "/search?q={}&facets=person,place,source&limit={limit}",
                enc(q)
            )
        };
        let (_, hits) = get(&app, &uri(10)).await;
        let (_, none) = get(&app, &uri(0)).await;
        assert!(hits["total"].as_u64().unwrap() > 0, "{q}");
        assert_eq!(none["total"], hits["total"], "{q}");
        assert_eq!(none["facets"], hits["facets"], "{q}");
        assert_eq!(none["hits"].as_array().map(Vec::len), Some(0), "{q}");
    }
}

#[actix_web::test]
async fn natural_text_is_read_not_rejected() {
    let (app, _dir) = app!(None);
    for q in [
        "\"北朝鮮",
        "author:誰",
        "関西テレビ「あるある大事典II」で捏造発覚―“納豆現象\"起こした回で",
        "自民党総裁選:麻生幹事長を第23代総裁に選出-6割強の得票",
        "Debian 3.0 （コードネーム: woody）が公開されたのは - いつ？",
        "Yahoo ! CEOに就任したのはいつか？",
    ] {
        for op in ["and", "or"] {
            let (status, body) = get(&app, &format!("/search?op={op}&q={}", enc(q))).await;
            assert_eq!(status, StatusCode::OK, "{q}: {body}");
        }
    }
    // A stray quote is text: `"北朝鮮` finds and marks 北朝鮮.
    let (_, body) = get(&app, &format!("/search?q={}", enc("\"北朝鮮"))).await;
    assert!(body["total"].as_u64().unwrap() > 0, "{body}");
    let html = first_snippet_html(&body, SEED);
    assert!(html.contains("<mark>北朝鮮</mark>"), "{html}");
}

#[actix_web::test]
async fn min_match_requires_a_share_of_the_units() {
    let (app, _dir) = app!(None);
    let q = enc("北朝鮮 ウズベキスタン ズズズズ");
    let total = |body: &serde_json::Value| body["total"].as_u64().unwrap();
    let (_, and) = get(&app, &format!("/search?q={q}")).await;
    let (_, or) = get(&app, &format!("/search?q={q}&op=or")).await;
    let (_, two) = get(&app, &format!("/search?q={q}&min_match=2")).await;
    let (_, most) = get(&app, &format!("/search?q={q}&min_match=67%25")).await;
    assert_eq!(total(&and), 0);
    assert!(total(&or) > total(&two), "{or} / {two}");
    assert!(total(&two) >= 1, "{two}");
    assert_eq!(total(&two), total(&most));
}

#[actix_web::test]
async fn bad_requests_are_400_with_a_code_that_names_the_problem() {
    let (app, _dir) = app!(None);
    for (uri, code, needle) in [
        (
            format!("/search?q={}", enc("title: 北朝鮮")),
            "invalid_query",
            "`title:` at character 1 needs a word",
        ),
        (
            format!("/search?q={}", enc("ロシア OR")),
            "invalid_query",
            "`OR` needs a word after it",
        ),
        (
            format!("/search?q={}", enc("？")),
            "invalid_query",
            "no searchable characters",
        ),
        (
            "/search?q=a&min_match=0".to_string(),
            "invalid_parameter",
            "min_match",
        ),
        (
            "/search?q=a&min_match=120%25".to_string(),
            "invalid_parameter",
            "min_match",
        ),
        (
            "/search?limit=100000".to_string(),
            "invalid_parameter",
            "limit",
        ),
        ("/search?limit=-1".to_string(), "invalid_parameter", "limit"),
        (
            "/search?from=2024-12-01&to=2024-01-01".to_string(),
            "invalid_parameter",
            "after",
        ),
        (
            "/search?from=yesterday".to_string(),
            "invalid_parameter",
            "from",
        ),
        (
            "/search?sort=random".to_string(),
            "invalid_parameter",
            "sort",
        ),
        (
            "/search?facets=colour".to_string(),
            "invalid_parameter",
            "colour",
        ),
        ("/search?qq=x".to_string(), "invalid_parameter", "qq"),
        (
            "/search?cursor=zzz".to_string(),
            "invalid_parameter",
            "cursor",
        ),
        (
            "/entities?type=animal".to_string(),
            "invalid_parameter",
            "type",
        ),
        ("/analyze".to_string(), "invalid_parameter", "text"),
        ("/search?q=%FF%FE".to_string(), "invalid_parameter", "q"),
        (
            "/timeline?q=%E6%97%A5&source=%C3".to_string(),
            "invalid_parameter",
            "source",
        ),
        (
            "/cooccurrence?entity=".to_string(),
            "invalid_parameter",
            "entity",
        ),
        (
            "/cooccurrence?entity=%20%E3%80%80".to_string(),
            "invalid_parameter",
            "entity",
        ),
    ] {
        let (status, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["code"], code, "{uri}: {body}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(needle), "{uri}: {msg}");
    }
    let (status, body) = get(&app, "/articles/no-such-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "article_not_found");
    let (status, body) = get(&app, "/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

#[actix_web::test]
async fn articles_entities_analyze_stats_openapi() {
    let (app, _dir) = app!(None);
    let (status, body) = get(&app, &format!("/articles/{SEED}?q={}", enc("プーチン"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["author"], "徐天睿");
    assert!(
        body["body_html"]
            .as_str()
            .unwrap()
            .contains("<mark>プーチン</mark>")
    );
    assert!(
        body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["canonical"] == "金正恩")
    );

    let (_, body) = get(&app, "/entities?type=person&limit=5").await;
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "プーチン")
    );
    let (_, body) = get(&app, &format!("/entities?prefix={}", enc("ウズ"))).await;
    assert_eq!(body[0]["name"], "ウズベキスタン");
    let (status, body) = get(&app, &format!("/entities/{}", enc("CSIS"))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["canonical"], "戦略国際問題研究所");
    assert!(body["documents"].as_u64().unwrap() >= 2);
    assert!(
        body["first_seen"]
            .as_str()
            .unwrap()
            .starts_with("2024-10-31")
    );
    let (status, body) = get(&app, &format!("/entities/{}", enc("存在しない名前"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    // It takes no parameter: one is a 400 that names it.
    let (status, body) = get(&app, &format!("/entities/{}?foo=1", enc("CSIS"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "invalid_parameter");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("foo"),
        "{body}"
    );

    let (_, body) = get(&app, &format!("/analyze?text={}", enc("露朝"))).await;
    assert_eq!(body["entities"].as_array().unwrap().len(), 2);
    let req = test::TestRequest::post()
        .uri("/analyze")
        .set_payload("習近平は")
        .to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(body["entities"][0]["canonical"], "習近平");

    let (_, body) = get(&app, "/stats").await;
    assert_eq!(body["documents"], 5);
    assert!(body["index_bytes"].as_u64().unwrap() > 0);
    let (_, body) = get(&app, "/health").await;
    assert_eq!(body["status"], "ok");
    let (_, body) = get(&app, "/openapi.json").await;
    assert!(body["openapi"].as_str().unwrap().starts_with("3."));
    for p in [
        "/search",
        "/articles/{id}",
        "/entities",
        "/entities/{name}",
        "/analyze",
        "/health",
        "/stats",
        "/articles",
    ] {
        assert!(
            body["paths"][p].is_object(),
            "{p} missing from the OpenAPI document"
        );
    }
}

#[actix_web::test]
async fn cors_allows_localhost_dashboards() {
    let (app, _dir) = app!(None);
    let req = test::TestRequest::get()
        .uri("/health")
        .insert_header(("Origin", "http://localhost:3000"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(
        resp.headers().get("access-control-allow-origin").unwrap(),
        "http://localhost:3000"
    );
    let req = test::TestRequest::get()
        .uri("/health")
        .insert_header(("Origin", "https://evil.example"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn golden_search_bodies() {
    let (app, _dir) = app!(None);
    for (name, uri) in [
        (
            "search_kitachosen",
            format!("/search?q={}&limit=2&fragments=1", enc("北朝鮮")),
        ),
        (
            "search_entity_russia",
            format!(
                "/search?entity={}&limit=1&fragments=2&facets=person",
                enc("ロシア")
            ),
        ),
        (
            "search_csis_fullwidth",
            format!("/search?q={}&limit=1", enc("ＣＳＩＳ")),
        ),
    ] {
        let (_, mut body) = get(&app, &uri).await;
        body["took_ms"] = Value::from(0);
        body["index"]["commit"] = Value::Null;
        body["index"]["dictionary"]["source"] = Value::from("[source]");
        for h in body["hits"].as_array_mut().unwrap() {
            h["score"] = Value::Null;
        }
        insta::assert_json_snapshot!(name, body);
    }
}

#[actix_web::test]
async fn writes_need_a_token_and_are_searchable_at_once() {
    let (app, _dir) = app!(None);
    let req = test::TestRequest::post()
        .uri("/articles")
        .set_payload("{}")
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"]["code"], "writes_disabled");

    let (app, _dir) = app!(Some("s3cret"), Some(2_000));
    for auth in [None, Some("Bearer wrong")] {
        let mut req = test::TestRequest::post().uri("/articles").set_payload("{}");
        if let Some(a) = auth {
            req = req.insert_header(("Authorization", a));
        }
        let resp = test::call_service(&app, req.to_request()).await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    }
    let big = format!("{{\"title\":\"t\",\"body\":\"{}\"}}", "あ".repeat(1000));
    let req = test::TestRequest::post()
        .uri("/articles")
        .insert_header(("Authorization", "Bearer s3cret"))
        .set_payload(big)
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = test::read_body_json(resp).await;
    assert_eq!(body["error"]["code"], "payload_too_large");

    let ndjson = "{\"id\":\"n1\",\"title\":\"新着\",\"body\":\"ゼレンスキー大統領が来日した。\"}\nnot json\n{\"id\":\"n2\",\"title\":\"x\",\"body\":\"\"}\n{\"id\":\"n3\",\"title\":\"日付\",\"body\":\"本文\",\"published\":\"someday\"}\n";
    let req = post_articles(ndjson, true).to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(body["added"], serde_json::json!(["n1"]));
    let rejected = body["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 3);
    assert_eq!(rejected[0]["position"], 2);
    assert_eq!(rejected[0]["code"], "invalid_json");
    assert_eq!(rejected[1]["code"], "empty_body");
    assert_eq!(rejected[2]["code"], "invalid_date");
    let (_, body) = get(&app, &format!("/search?q={}", enc("来日"))).await;
    assert_eq!(ids(&body), vec!["n1"]);

    // same article again: unchanged; changed: updated
    let again = "{\"id\":\"n1\",\"title\":\"新着\",\"body\":\"ゼレンスキー大統領が来日した。\"}";
    let req = post_articles(again, false).to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(body["unchanged"], serde_json::json!(["n1"]));
    let changed =
        "[{\"id\":\"n1\",\"title\":\"新着\",\"body\":\"ゼレンスキー大統領が再び来日した。\"}]";
    let req = post_articles(changed, false).to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(body["updated"], serde_json::json!(["n1"]));
    assert!(body.get("superseded").is_none(), "{body}");
    let (_, body) = get(&app, &format!("/search?q={}", enc("来日"))).await;
    assert_eq!(body["total"], 1);

    // An id given again in one batch: its last version, listed once.
    let thrice = "{\"id\":\"n1\",\"title\":\"一\",\"body\":\"一番目の版で来日した。\"}\n\
                  {\"id\":\"n1\",\"title\":\"二\",\"body\":\"二番目の版で来日した。\"}\n\
                  {\"id\":\"n1\",\"title\":\"三\",\"body\":\"三番目の版で来日した。\"}\n";
    let req = post_articles(thrice, true).to_request();
    let body: Value = test::call_and_read_body_json(&app, req).await;
    assert_eq!(body["updated"], serde_json::json!(["n1"]), "{body}");
    assert_eq!(body["added"], serde_json::json!([]), "{body}");
    assert_eq!(body["superseded"], 2, "{body}");
    let (_, body) = get(&app, &format!("/search?q={}", enc("三番目"))).await;
    assert_eq!(ids(&body), vec!["n1"]);

    let req = test::TestRequest::delete()
        .uri("/articles/n1")
        .insert_header(("Authorization", "Bearer s3cret"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let (_, body) = get(&app, &format!("/search?q={}", enc("来日"))).await;
    assert_eq!(body["total"], 0);
    let req = test::TestRequest::delete()
        .uri("/articles/n1")
        .insert_header(("Authorization", "Bearer s3cret"))
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn a_company_is_one_facet_value_whatever_its_legal_form() {
    let (app, _dir) = app!(Some("s3cret"));
    let ndjson = "{\"id\":\"c1\",\"title\":\"新サービス\",\"body\":\"京セラ株式会社が新製品を発表した。\"}\n{\"id\":\"c2\",\"title\":\"決算\",\"body\":\"京セラ(株)の決算が発表された。\"}\n";
    let body: Value =
        test::call_and_read_body_json(&app, post_articles(ndjson, true).to_request()).await;
    assert_eq!(body["added"], json!(["c1", "c2"]), "{body}");
    for name in ["京セラ", "京セラ株式会社", "株式会社京セラ"] {
        let (_, body) = get(
            &app,
            &format!("/search?organization={}&facets=organization", enc(name)),
        )
        .await;
        assert_eq!(body["total"], 2, "{name}: {body}");
        assert_eq!(
            body["facets"]["organization"][0],
            json!({"value": "京セラ", "count": 2}),
            "{name}"
        );
    }
}

/// An authorised `POST /articles` of `payload` (JSON Lines when `ndjson`).
fn post_articles(payload: &'static str, ndjson: bool) -> test::TestRequest {
    let req = test::TestRequest::post()
        .uri("/articles")
        .insert_header(("Authorization", "Bearer s3cret"));
    let req = if ndjson {
        req.insert_header(("Content-Type", "application/x-ndjson"))
    } else {
        req
    };
    req.set_payload(payload)
}

async fn get_text(
    app: &impl actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
    >,
    uri: &str,
) -> (StatusCode, String, actix_web::http::header::HeaderMap) {
    let req = test::TestRequest::get().uri(uri).to_request();
    let resp = test::call_service(app, req).await;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = test::read_body(resp).await;
    (status, String::from_utf8(body.to_vec()).unwrap(), headers)
}

#[actix_web::test]
async fn timeline_counts_with_totals_and_zero_buckets() {
    let (app, _dir) = app!(None);
    let (status, body) = get(
        &app,
        &format!("/timeline?q={}&interval=week", enc("北朝鮮")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let buckets = body["buckets"].as_array().unwrap();
    // 2024-10-31 (week of 10-28) … 2024-11-08 (week of 11-04): two weeks, no gaps
    let dates: Vec<&str> = buckets
        .iter()
        .map(|b| b["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, vec!["2024-10-28", "2024-11-04"]);
    assert_eq!(buckets[0]["count"], 1);
    assert_eq!(buckets[1]["total"], 2);
    assert_eq!(buckets[1]["ratio"], 0.5);
    let (_, body) = get(&app, "/timeline?interval=day&from=2024-10-30&to=2024-11-02").await;
    let counts: Vec<u64> = body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, vec![0, 1, 0, 0]);
    assert!(body["index"]["dictionary"]["name"] == "ipadic");
    let (status, body) = get(&app, "/timeline?interval=fortnight").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "invalid_parameter");
}

#[actix_web::test]
async fn cooccurrence_has_counts_and_lift() {
    let (app, _dir) = app!(None);
    let (status, body) = get(
        &app,
        &format!("/cooccurrence?entity={}&limit=50", enc("プーチン")),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entity"]["canonical"], "プーチン");
    let items = body["items"].as_array().unwrap();
    let kim = items
        .iter()
        .find(|i| i["name"] == "金正恩")
        .expect("金正恩 co-occurs with プーチン");
    assert!(kim["count"].as_u64().unwrap() >= 1);
    assert!(kim["lift"].as_f64().unwrap() > 0.0);
    assert!(items.iter().all(|i| i["name"] != "プーチン"));
    let (status, body) = get(
        &app,
        &format!("/cooccurrence?entity={}", enc("だれでもない")),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = get(&app, "/cooccurrence").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn export_streams_csv_and_ndjson_with_kwic() {
    let (app, _dir) = app!(None);
    let (status, csv, headers) =
        get_text(&app, &format!("/export?q={}&bom=true", enc("北朝鮮"))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(headers.get("x-kiji-opstamp").is_some());
    assert!(csv.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0].trim_start_matches('\u{feff}'),
        "id,title,published,source,url,persons,organizations,places"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    let (_, nd, _) = get_text(
        &app,
        &format!(
            "/export?format=ndjson&kwic=true&kwic_width=5&q={}",
            enc("露朝")
        ),
    )
    .await;
    let rows: Vec<Value> = nd
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1);
    // The title's match first (an article may match in its title alone), then the body's.
    let k = &rows[0]["kwic"][0];
    assert_eq!(
        (&k["field"], &k["match"]),
        (&json!("title"), &json!("露朝"))
    );
    assert_eq!(k["right"], "の長期的な");
    let k = &rows[0]["kwic"][1];
    assert_eq!((&k["field"], &k["match"]), (&json!("body"), &json!("露朝")));
    assert_eq!(k["right"], "両国が軍事");
    // everything, not capped at 100
    let (_, all, _) = get_text(&app, "/export?format=ndjson").await;
    assert_eq!(all.lines().count(), 5);
    let (status, _, _) = get_text(&app, "/export?format=xml").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
