//! OpenSearch, kiji's side: golden template and bulk bodies, and the sink's
//! contract against an in-process fake cluster (tests/common/fake_opensearch.rs).

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::common::fake_opensearch::{FakeOpenSearch, dead_url};
use crate::common::{analyzer, index_with, sample_corpus, sample_index};
use kiji::config::OpenSearchConfig;
use kiji::index::StoredArticle;
use kiji::opensearch::bulk::{self, Op};
use kiji::opensearch::document::document;
use kiji::opensearch::{Provenance, Sink, normalization, template, user_dictionary};

const SEED: &str = "2024-10-31-north-korea-troops-to-russia";

fn provenance() -> Provenance {
    Provenance::of(&analyzer())
}

/// The dictionary's source names the machine's mecab-ipadic build: redacted.
fn redact_dictionary(text: &str) -> String {
    text.replace(&provenance().dictionary, "[dictionary]")
}

fn config(outbox: &std::path::Path) -> OpenSearchConfig {
    OpenSearchConfig {
        outbox_path: outbox.to_path_buf(),
        retry_base_ms: 1,
        max_retries: 3,
        batch_docs: 2,
        timeout_secs: 5,
        ..OpenSearchConfig::default()
    }
}

/// The sample corpus's stored articles (5), by id.
fn sample_articles() -> Vec<StoredArticle> {
    let t = sample_index();
    let searcher = t.store.searcher();
    let mut out = Vec::new();
    t.store
        .for_each_article(&searcher, |a| {
            out.push(a);
            Ok(())
        })
        .unwrap();
    out.sort_by(|a, b| a.article.id.cmp(&b.article.id));
    out
}

fn ids(docs: &std::collections::BTreeMap<String, Value>) -> Vec<&str> {
    docs.keys().map(String::as_str).collect()
}

#[test]
fn golden_index_template() {
    let mut tpl = template::index_template(&OpenSearchConfig::default(), &analyzer());
    let analysis = &mut tpl["template"]["settings"]["analysis"];
    // The long rule lists have golden files of their own, one rule a line.
    let mappings = analysis["char_filter"]["kiji_normalize"]["mappings"].take();
    let rules: Vec<&str> = mappings
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    analysis["char_filter"]["kiji_normalize"]["mappings"] = json!(format!(
        "[{} rules: snapshot opensearch_normalize_rules]",
        rules.len()
    ));
    let dict = analysis["tokenizer"]["kiji_kuromoji"]["user_dictionary_rules"].take();
    let entries: Vec<&str> = dict
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    analysis["tokenizer"]["kiji_kuromoji"]["user_dictionary_rules"] = json!(format!(
        "[{} rules: snapshot opensearch_user_dictionary]",
        entries.len()
    ));
    let text = redact_dictionary(&serde_json::to_string_pretty(&tpl).unwrap());
    insta::assert_snapshot!("opensearch_template", text);
    insta::assert_snapshot!("opensearch_normalize_rules", rules.join("\n"));
    insta::assert_snapshot!("opensearch_user_dictionary", entries.join("\n"));
    assert!(rules.contains(&"ｶ\\uFF9E => ガ") && rules.contains(&"Ｃ => c"));
    assert!(entries.iter().any(|e| e.starts_with("金正恩,")));
}

#[test]
fn golden_bulk_body_of_the_seed_article() {
    let t = index_with(&[sample_corpus().join(format!("{SEED}.txt"))]);
    let stored = t
        .store
        .get(SEED)
        .unwrap()
        .expect("the seed article is indexed");
    let ops = [
        Op::Index {
            id: SEED.into(),
            version: 1_730_332_800_000_000,
            doc: document(&stored, &provenance()),
        },
        Op::Delete {
            id: SEED.into(),
            version: 1_730_332_800_000_001,
        },
    ];
    let alias = bulk::Target::Alias("kiji-articles".into());
    let body = String::from_utf8(bulk::body(&ops, &[alias])).unwrap();
    assert_eq!(body.lines().count(), 3);
    insta::assert_snapshot!("opensearch_bulk_seed", redact_dictionary(&body));
}

#[test]
fn entity_spans_are_code_points_of_their_field() {
    let mut checked = 0;
    for stored in sample_articles() {
        let doc = document(&stored, &provenance());
        let spans = doc["entity_spans"].as_array().unwrap();
        for s in spans {
            checked += 1;
            let field: Vec<char> = doc[s["field"].as_str().unwrap()]
                .as_str()
                .unwrap()
                .chars()
                .collect();
            let (a, b) = (
                s["start"].as_u64().unwrap() as usize,
                s["end"].as_u64().unwrap() as usize,
            );
            let surface: String = field[a..b].iter().collect();
            assert_eq!(surface, s["surface"].as_str().unwrap(), "{s}");
        }
        for kind in ["person", "organization", "place"] {
            for name in doc[kind].as_array().unwrap() {
                let key = kiji::analysis::normalize::normalize_str(name.as_str().unwrap());
                assert!(
                    doc["entity"]
                        .as_array()
                        .unwrap()
                        .contains(&json!(format!("{kind}:{key}")))
                );
            }
        }
    }
    assert!(checked > 50, "{checked} spans");
}

#[test]
fn documents_use_only_mapped_fields() {
    let tpl = template::index_template(&OpenSearchConfig::default(), &analyzer());
    let mapped: BTreeSet<&String> = tpl["template"]["mappings"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    for stored in sample_articles() {
        let doc = document(&stored, &provenance());
        for key in doc.as_object().unwrap().keys() {
            assert!(
                mapped.contains(key),
                "{key} is not in the template's mappings"
            );
        }
    }
}

#[test]
fn user_dictionary_and_normalisation_come_from_kiji() {
    let g = analyzer();
    let entries = user_dictionary::rules(g.gazetteer());
    // Every exported surface is a gazetteer name that kiji's own user dictionary has.
    let csv = g.gazetteer().user_dictionary_csv();
    for e in &entries {
        let surface = e.split(',').next().unwrap();
        assert!(
            csv.lines().any(|l| l.starts_with(&format!("{surface},"))),
            "{e}"
        );
    }
    // The mapping rules make of the seed article exactly what kiji's normaliser makes.
    let rules = normalization::rules();
    let seed = crate::common::seed_text();
    let text = format!("{seed}ＣＳＩＳ㈱ｶﾞｲﾄﾞ");
    assert_eq!(
        normalization::apply_context(&normalization::apply(&rules, &text)),
        kiji::analysis::normalize::normalize_str(&text)
    );
}

#[test]
fn forward_batches_and_retries_on_429_and_5xx() {
    let fake = FakeOpenSearch::with_alias("kiji-articles");
    let server = fake.start();
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::new(&server.uri(), &config(dir.path()), provenance()).unwrap();
    // The first two _bulk requests are answered 429 and 503: retried with backoff.
    fake.state().bulk_failures.extend([429, 503]);
    let articles = sample_articles();
    let report = sink.forward(&articles, &[]).unwrap();
    assert_eq!(report.delivered, 5, "{report:?}");
    assert_eq!(
        (report.pending, report.rejected.len(), report.error.clone()),
        (0, 0, None)
    );
    assert_eq!(report.requests, 3, "5 articles in batches of at most 2");
    let s = fake.state();
    let bulks = s.bulk_requests();
    assert_eq!(bulks.len(), 5, "3 batches + 2 retries of the first");
    assert_eq!(bulks[0], bulks[2], "a retry resends the same batch");
    for b in &bulks[2..] {
        assert!(
            b.lines().count() <= 4,
            "at most 2 articles (4 lines) a request"
        );
    }
    assert_eq!(s.docs_of("kiji-articles").len(), 5);
    assert!(sink.outbox().batches().unwrap().is_empty());
}

#[test]
fn forward_deletes_and_never_lets_an_older_write_win() {
    let fake = FakeOpenSearch::with_alias("kiji-articles");
    let server = fake.start();
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::new(&server.uri(), &config(dir.path()), provenance()).unwrap();
    let articles = sample_articles();
    sink.forward(&articles, &[]).unwrap();
    let gone = articles[0].article.id.clone();
    let report = sink
        .forward(&[], &[gone.clone(), "never-existed".into()])
        .unwrap();
    assert_eq!(
        (report.delivered, report.rejected.len()),
        (2, 0),
        "{report:?}"
    );
    let docs = fake.state().docs_of("kiji-articles");
    assert_eq!(docs.len(), 4);
    assert!(!docs.contains_key(&gone));
    // A write replayed with its old version (a retry whose answer was lost) is superseded.
    let old = Op::Index {
        id: gone.clone(),
        version: 1,
        doc: document(&articles[0], &provenance()),
    };
    sink.outbox().push(&[old]).unwrap();
    let report = sink.drain().unwrap();
    assert_eq!((report.delivered, report.superseded), (1, 1));
    assert!(!fake.state().docs_of("kiji-articles").contains_key(&gone));
}

#[test]
fn a_partial_failure_is_reported_per_article_and_kept() {
    let fake = FakeOpenSearch::with_alias("kiji-articles");
    let server = fake.start();
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::new(&server.uri(), &config(dir.path()), provenance()).unwrap();
    let articles = sample_articles();
    let (bad, busy) = (
        articles[1].article.id.clone(),
        articles[3].article.id.clone(),
    );
    {
        let mut s = fake.state();
        s.refuse
            .insert(bad.clone(), (400, "mapper_parsing_exception".into()));
        // Busy for longer than one delivery: stays in the outbox.
        s.busy.insert(busy.clone(), 1);
    }
    let report = sink.forward(&articles, &[]).unwrap();
    assert_eq!(report.delivered, 3, "{report:?}");
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].id, bad);
    assert!(
        report.rejected[0]
            .reason
            .contains("mapper_parsing_exception"),
        "{report:?}"
    );
    assert_eq!(
        report.pending, 1,
        "the article answered 429 waits in the outbox"
    );
    let dead = std::fs::read_to_string(dir.path().join("rejected.ndjson")).unwrap();
    assert!(dead.contains(&format!("\"id\":\"{bad}\"")), "{dead}");
    // The next delivery takes the busy article; the refused one is not resent.
    let report = sink.drain().unwrap();
    assert_eq!((report.delivered, report.pending), (1, 0), "{report:?}");
    let docs = fake.state().docs_of("kiji-articles");
    assert_eq!(docs.len(), 4);
    assert!(docs.contains_key(&busy) && !docs.contains_key(&bad));
}

#[test]
fn the_outbox_survives_a_restart_while_the_cluster_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let articles = sample_articles();
    {
        // The cluster is down: every write waits in the outbox.
        let sink = Sink::new(&dead_url(), &config(dir.path()), provenance()).unwrap();
        let report = sink.forward(&articles[..3], &[]).unwrap();
        assert_eq!((report.delivered, report.pending), (0, 3), "{report:?}");
        assert!(
            report.error.as_deref().unwrap().contains("unavailable"),
            "{report:?}"
        );
        let report = sink
            .forward(&articles[3..], &[articles[0].article.id.clone()])
            .unwrap();
        assert_eq!(report.pending, 6);
    } // kiji stops.
    let fake = FakeOpenSearch::with_alias("kiji-articles");
    let server = fake.start();
    // kiji starts again, the cluster is back: the outbox drains, in order.
    let sink = Sink::new(&server.uri(), &config(dir.path()), provenance()).unwrap();
    assert_eq!(sink.outbox().pending(), 6);
    let report = sink.drain().unwrap();
    assert_eq!(
        (report.delivered, report.pending, report.error),
        (6, 0, None)
    );
    let docs = fake.state().docs_of("kiji-articles");
    let expected: Vec<&str> = articles[1..]
        .iter()
        .map(|a| a.article.id.as_str())
        .collect();
    assert_eq!(ids(&docs), expected, "the delete came after the upsert");
    assert!(sink.outbox().batches().unwrap().is_empty());
}

#[test]
fn a_rebuild_swaps_the_alias_atomically_and_prunes_old_indices() {
    let fake = FakeOpenSearch::default();
    let server = fake.start();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.keep_previous = 1;
    let sink = Sink::new(&server.uri(), &cfg, provenance()).unwrap();
    let tpl = template::index_template(&cfg, &analyzer());
    let t = sample_index();
    let mut indices: Vec<String> = Vec::new();
    for round in 0..3 {
        let report = kiji::opensearch::push(&t.store, &sink, &tpl, false).unwrap();
        let r = report.rebuild.expect("a full rebuild");
        assert_eq!((r.indexed, r.rejected.len()), (5, 0), "{r:?}");
        assert!(r.index.starts_with("kiji-articles-v"));
        assert_eq!(
            r.previous,
            indices.last().cloned().into_iter().collect::<Vec<_>>()
        );
        if round == 2 {
            assert_eq!(
                r.deleted,
                vec![indices[0].clone()],
                "one previous index is kept"
            );
        }
        indices.push(r.index);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let s = fake.state();
    assert_eq!(
        s.aliases["kiji-articles"],
        BTreeSet::from([indices[2].clone()])
    );
    assert_eq!(
        s.indices.keys().cloned().collect::<Vec<_>>(),
        indices[1..].to_vec()
    );
    assert_eq!(s.docs_of("kiji-articles").len(), 5);
    assert!(s.templates.contains_key("kiji-articles"));
    // The swap is one _aliases request: remove the old index, add the new one.
    let swaps: Vec<Value> = s
        .requests
        .iter()
        .filter(|(m, p, _)| m == "POST" && p == "/_aliases")
        .map(|(_, _, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(swaps.len(), 3);
    assert_eq!(
        swaps[2],
        json!({ "actions": [
            { "remove": { "index": indices[1], "alias": "kiji-articles" } },
            { "add": { "index": indices[2], "alias": "kiji-articles", "is_write_index": true } }
        ]})
    );
    // Loaded without refreshes or replicas, which come back before the swap.
    let settings = &s.indices[&indices[2]].settings;
    assert_eq!(settings["index"]["number_of_replicas"], 1);
}

#[test]
fn writes_during_a_rebuild_reach_the_new_index_too() {
    let fake = FakeOpenSearch::default();
    let server = fake.start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let sink = Sink::new(&server.uri(), &cfg, provenance()).unwrap();
    let tpl = template::index_template(&cfg, &analyzer());
    let articles = sample_articles();
    sink.rebuild(&tpl, |each| {
        for a in articles[..2].iter().cloned() {
            each(a)?;
        }
        Ok(())
    })
    .unwrap();
    // A second rebuild; while it loads, kiji acknowledges a write and forwards it.
    let report = sink
        .rebuild(&tpl, |each| {
            each(articles[0].clone())?;
            let r = sink.forward(&articles[4..], &[articles[1].article.id.clone()])?;
            assert_eq!(r.delivered, 2, "{r:?}");
            each(articles[1].clone())?; // read before the delete: older, so superseded
            Ok(())
        })
        .unwrap();
    assert_eq!(report.indexed, 2);
    let docs = fake.state().docs_of("kiji-articles");
    assert_eq!(
        ids(&docs),
        vec![
            articles[0].article.id.as_str(),
            articles[4].article.id.as_str()
        ]
    );
}

#[test]
fn a_rebuild_that_cannot_finish_leaves_the_alias_alone() {
    let fake = FakeOpenSearch::default();
    let server = fake.start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let sink = Sink::new(&server.uri(), &cfg, provenance()).unwrap();
    let tpl = template::index_template(&cfg, &analyzer());
    let articles = sample_articles();
    sink.rebuild(&tpl, |each| each(articles[0].clone()))
        .unwrap();
    let before = fake.state().aliases.clone();
    fake.state().bulk_failures.extend([503; 10]);
    let err = sink
        .rebuild(&tpl, |each| each(articles[1].clone()))
        .unwrap_err();
    assert_eq!(err.code(), "opensearch_unavailable", "{err}");
    assert_eq!(fake.state().aliases, before);
}

#[test]
fn writes_before_the_first_rebuild_wait_for_the_alias() {
    let fake = FakeOpenSearch::default();
    let server = fake.start();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let sink = Sink::new(&server.uri(), &cfg, provenance()).unwrap();
    let articles = sample_articles();
    let report = sink.forward(&articles[..2], &[]).unwrap();
    assert_eq!((report.delivered, report.pending), (0, 2), "{report:?}");
    assert!(
        fake.state().indices.is_empty(),
        "no index named like the alias was created"
    );
    // The first push builds the index and the alias; the waiting writes are
    // older than its snapshot: superseded, and the outbox is empty.
    let t = sample_index();
    let tpl = template::index_template(&cfg, &analyzer());
    let report = kiji::opensearch::push(&t.store, &sink, &tpl, false).unwrap();
    assert_eq!(report.rebuild.unwrap().indexed, 5);
    assert_eq!((report.outbox.superseded, report.outbox.pending), (2, 0));
    assert_eq!(fake.state().docs_of("kiji-articles").len(), 5);
}

#[test]
fn cli_template_and_push() {
    let kiji = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kiji"));
        c.env("KIJI_LOG", "warn").env_remove("KIJI_OPENSEARCH_URL");
        c
    };
    let out = kiji().args(["opensearch", "template"]).output().unwrap();
    assert!(out.status.success());
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed,
        template::index_template(&OpenSearchConfig::default(), &analyzer())
    );

    let fake = FakeOpenSearch::default();
    let server = fake.start();
    let t = sample_index();
    let index = t.dir.path().join("index");
    let outbox = t.dir.path().join("outbox");
    let out = kiji()
        .arg("--index")
        .arg(&index)
        .args(["opensearch", "push", "--json", "--alias", "news"])
        .args(["--url", &server.uri()])
        .env("KIJI_OPENSEARCH_OUTBOX", &outbox)
        .output()
        .unwrap();
    crate::common::assert_success(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rebuild"]["indexed"], 5, "{report}");
    assert_eq!(fake.state().docs_of("news").len(), 5);
    assert!(fake.state().templates.contains_key("news"));

    // Again, for a person: a new index, the alias moved from the first one.
    let first = report["rebuild"]["index"].as_str().unwrap().to_string();
    let out = kiji()
        .arg("--index")
        .arg(&index)
        .args([
            "opensearch",
            "push",
            "--alias",
            "news",
            "--url",
            &server.uri(),
        ])
        .env("KIJI_OPENSEARCH_OUTBOX", &outbox)
        .output()
        .unwrap();
    crate::common::assert_success(&out);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("5 articles into news-v"), "{text}");
    assert!(
        text.contains(&format!("alias news now points to it (before: {first})")),
        "{text}"
    );

    // No URL anywhere: a clear error, nothing sent.
    let out = kiji()
        .arg("--index")
        .arg(&index)
        .args(["opensearch", "push"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--url"));
}
