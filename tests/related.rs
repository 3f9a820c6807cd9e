//! `GET /articles/{id}/related`: other coverage of an article's story, never
//! its copies — on the sample corpus (always) and, for the seed article, on
//! the Wikinews corpus (skipped when it is absent).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test as web_test;
use kiji::dedup::synth;
use kiji::index::{Store, Writer};
use kiji::search::SearchRequest;
use serde_json::Value;

use crate::common::{
    TestIndex, analyzer, get_text as get, sample_corpus, state, wikinews, wikinews_articles,
};

const SEED: &str = "2024-10-31-north-korea-troops-to-russia";
const CSIS: &str = "kiji-sample-csis-2024";
const WEATHER: &str = "kiji-sample-weather-2024";

/// The sample corpus plus two copies of the seed article.
fn sample_with_copies() -> TestIndex {
    let mut t = crate::common::sample_index();
    let seed = t.store.get(SEED).unwrap().unwrap().article;
    let mut rng = synth::Rng::new(3);
    let copies = (0..2).map(|n| synth::copy_of(&seed, n, &mut rng)).collect();
    t.writer.upsert_many(&t.store, copies, None).unwrap();
    t.writer.commit(&t.store).unwrap();
    t
}

fn ids(r: &kiji::search::related::Related) -> Vec<&str> {
    r.articles.iter().map(|a| a.id.as_str()).collect()
}

#[test]
fn related_articles_are_other_coverage_not_copies() {
    let t = sample_with_copies();
    let engine = t.engine();
    let r = engine
        .related(SEED, &SearchRequest::default(), 10)
        .unwrap()
        .unwrap();
    let got = ids(&r);
    // The CSIS report on the North Korean deployment comes first; the seed
    // itself and its two copies (its duplicate group) never appear.
    assert_eq!(got.first(), Some(&CSIS), "{got:?}");
    assert!(
        got.iter().all(|id| !id.starts_with(SEED)),
        "the article's own group is left out: {got:?}"
    );
    if let Some(w) = got.iter().position(|id| *id == WEATHER) {
        assert!(w > 0, "the weather report ranks last: {got:?}");
    }
    let csis = &r.articles[0];
    assert!(
        csis.shared_entities.iter().any(|e| e == "北朝鮮"),
        "{:?}",
        csis.shared_entities
    );
    assert!(r.articles.windows(2).all(|w| w[0].score >= w[1].score));
    // A copy's related articles leave out the original too.
    let copy = engine
        .related(&format!("{SEED}-copy0"), &SearchRequest::default(), 10)
        .unwrap()
        .unwrap();
    assert!(
        ids(&copy).iter().all(|id| !id.starts_with(SEED)),
        "{copy:?}"
    );
    assert_eq!(ids(&copy).first(), Some(&CSIS));
    // Filters select among them; an unknown id is None.
    let only_weather =
        SearchRequest::filters_from_pairs(&[("q".to_string(), "初霜".to_string())], &["limit"])
            .unwrap();
    let r = engine.related(SEED, &only_weather, 10).unwrap().unwrap();
    assert!(ids(&r).iter().all(|id| *id == WEATHER), "{r:?}");
    assert!(
        engine
            .related("nope", &SearchRequest::default(), 10)
            .unwrap()
            .is_none()
    );
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[actix_web::test]
async fn related_endpoint_limits_errors_and_openapi() {
    let (st, _dir) = state(sample_with_copies(), None, None);
    let app = web_test::init_service(kiji::http::app(st)).await;
    let (status, body) = get(&app, &format!("/articles/{SEED}/related?limit=1")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r = json(&body);
    assert_eq!(r["id"], SEED);
    let articles = r["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 1);
    assert_eq!(articles[0]["id"], CSIS);
    assert!(articles[0]["title"].is_string() && articles[0]["score"].is_number());
    for (uri, status, code) in [
        (
            "/articles/nope/related",
            StatusCode::NOT_FOUND,
            "article_not_found",
        ),
        (
            &format!("/articles/{SEED}/related?limit=0") as &str,
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            &format!("/articles/{SEED}/related?limit=x"),
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            &format!("/articles/{SEED}/related?offset=3"),
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
    ] {
        let (s, body) = get(&app, uri).await;
        assert_eq!(s, status, "{uri}: {body}");
        assert_eq!(json(&body)["error"]["code"], code, "{uri}");
    }
    let doc = json(&get(&app, "/openapi.json").await.1);
    assert!(doc["paths"]["/articles/{id}/related"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Related"].is_object());
}

/// Golden: the seed article (North Korean troops sent to Russia) among the
/// Wikinews corpus, which has no other article on that deployment. Its related
/// articles are about North Korea (its relations with the South, Russia and
/// the UN) and Russia, before anything else.
#[test]
fn seed_related_on_wikinews_are_about_north_korea_and_russia() {
    let Some(path) = wikinews() else { return };
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("index"), analyzer()).unwrap());
    let mut writer = Writer::new(&store, 64).unwrap();
    let mut articles = wikinews_articles(&path);
    let seed_file = sample_corpus().join(format!("{SEED}.txt"));
    let seed = kiji::article::parse_plain_text(&std::fs::read_to_string(seed_file).unwrap(), SEED)
        .unwrap();
    articles.push(seed);
    for chunk in articles.chunks(500) {
        writer.upsert_many(&store, chunk.to_vec(), None).unwrap();
    }
    writer.commit(&store).unwrap();
    let engine = kiji::search::Engine::new(store.clone(), Default::default());
    let r = engine
        .related(SEED, &SearchRequest::default(), 10)
        .unwrap()
        .unwrap();
    let korea = |a: &kiji::search::related::RelatedArticle| {
        let body = &store.get(&a.id).unwrap().unwrap().article.body;
        ["北朝鮮", "朝鮮", "南北", "金正恩", "金正日"]
            .iter()
            .any(|w| a.title.contains(w))
            || (body.contains("北朝鮮") && body.contains("ロシア"))
    };
    let russia = |a: &kiji::search::related::RelatedArticle| {
        ["ロシア", "プーチン", "露", "ソ連", "クレムリン"]
            .iter()
            .any(|w| a.title.contains(w))
    };
    let marks: Vec<String> = r
        .articles
        .iter()
        .map(|a| {
            let topic = match (korea(a), russia(a)) {
                (true, _) => "korea ",
                (false, true) => "russia",
                _ => "other ",
            };
            format!("{topic} {} {:.2} {}", a.id, a.score, a.title)
        })
        .collect();
    let marks = marks.join("\n");
    eprintln!("related to the seed:\n{marks}");
    assert_eq!(r.articles.len(), 10);
    // Measured (2026-12-02): six North Korea articles and four Russia
    // articles, a North Korea one second; nothing about anything else.
    assert!(
        r.articles.iter().all(|a| korea(a) || russia(a)),
        "only articles about North Korea or Russia:\n{marks}"
    );
    assert!(
        r.articles.iter().filter(|a| korea(a)).count() >= 5,
        "at least half about North Korea:\n{marks}"
    );
    assert!(
        r.articles[..3].iter().any(korea),
        "North Korea in the first three:\n{marks}"
    );
}
