//! Ingest through the `kiji` binary: bad input rejects only itself, re-runs
//! change nothing, changed articles replace their old version.

use std::path::Path;
use std::process::Command;

fn kiji(index: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiji"));
    c.arg("--index")
        .arg(index)
        .env_remove("KIJI_INDEX")
        .env("KIJI_LOG", "error");
    c
}

/// Runs `command` with `input` on its standard input; its output.
fn with_stdin(mut command: Command, input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// `kiji search --json q` on `index`: the response.
fn search(index: &Path, q: &str) -> serde_json::Value {
    let out = kiji(index).args(["search", "--json", q]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn bad_input_is_rejected_by_name_and_the_rest_goes_in() {
    let dir = tempfile::tempdir().unwrap();
    let input = crate::common::folder(&dir, "in");
    std::fs::write(
        input.join("good.txt"),
        "見出し\n2024/10/31\n\n本文です。北朝鮮。\n",
    )
    .unwrap();
    std::fs::write(input.join("bad-utf8.txt"), b"\xff\xfe\x00broken").unwrap();
    std::fs::write(
        input.join("empty.json"),
        r#"{"id":"e","title":"t","body":"  "}"#,
    )
    .unwrap();
    std::fs::write(
        input.join("baddate.json"),
        r#"{"id":"d","title":"t","body":"b","published":"31 Octobre"}"#,
    )
    .unwrap();
    std::fs::write(input.join("big.txt"), format!("t\n{}", "あ".repeat(400))).unwrap();
    std::fs::write(
        input.join("mixed.jsonl"),
        "{\"id\":\"j1\",\"title\":\"一\",\"body\":\"ロシア\"}\n{broken\n{\"id\":\"j3\",\"title\":\"三\",\"body\":\"ウクライナ\"}\n",
    )
    .unwrap();
    std::fs::write(input.join("notes.md"), "not an article").unwrap();
    let unknown = dir.path().join("doc.pdf");
    std::fs::write(&unknown, "%PDF").unwrap();
    let index = dir.path().join("index");
    let out = kiji(&index)
        .args(["ingest", "--json"])
        .arg(&input)
        .arg(&unknown)
        .env("KIJI_MAX_FILE_BYTES", "1000")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["added"], 3, "{report}");
    let rejected = report["rejected"].as_array().unwrap();
    let reason = |file: &str| -> String {
        rejected
            .iter()
            .find(|r| r["file"].as_str().unwrap().ends_with(file))
            .unwrap_or_else(|| panic!("{file} not rejected: {report}"))["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(reason("bad-utf8.txt").contains("UTF-8"));
    assert!(reason("empty.json").contains("empty"));
    assert!(reason("baddate.json").contains("31 Octobre"));
    assert!(reason("big.txt").contains("over the limit"));
    assert!(reason("doc.pdf").contains("unknown format"));
    let jsonl = rejected
        .iter()
        .find(|r| r["file"].as_str().unwrap().ends_with("mixed.jsonl"))
        .unwrap();
    assert_eq!(jsonl["line"], 2);
    assert!(
        report["skipped_files"][0]
            .as_str()
            .unwrap()
            .ends_with("notes.md")
    );

    // again: nothing changes
    let out = kiji(&index)
        .args(["ingest", "--json"])
        .arg(input.join("mixed.jsonl"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["added"].as_u64(), report["unchanged"].as_u64()),
        (Some(0), Some(2))
    );

    // a changed article replaces its old version
    std::fs::write(
        input.join("good.txt"),
        "見出し\n2024/10/31\n\n本文を直した。ウクライナ。\n",
    )
    .unwrap();
    let out = kiji(&index)
        .args(["ingest", "--json"])
        .arg(input.join("good.txt"))
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["updated"], 1);
    assert_eq!(out.status.code(), Some(0));
    let body = search(&index, "北朝鮮");
    assert_eq!(body["total"], 0, "the old version must be gone");
}

#[test]
fn analyze_prints_the_contract() {
    let mut analyze = Command::new(env!("CARGO_BIN_EXE_kiji"));
    analyze.arg("analyze");
    let out = with_stdin(analyze, "露朝と中共");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let t = &v["tokens"][0];
    for k in ["text", "start", "end", "pos", "base"] {
        assert!(!t[k].is_null(), "token field {k}");
    }
    let e: Vec<(String, String, u64, u64)> = v["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["text"].as_str().unwrap().into(),
                e["type"].as_str().unwrap().into(),
                e["start"].as_u64().unwrap(),
                e["end"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        e,
        vec![
            ("露".into(), "place".into(), 0, 1),
            ("朝".into(), "place".into(), 1, 2),
            ("中共".into(), "organization".into(), 3, 5)
        ]
    );
}

#[test]
fn config_errors_name_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(&cfg, "[server]\nbind = \"nowhere\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kiji"))
        .arg("--config")
        .arg(&cfg)
        .args(["search", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.bind"));
}

#[test]
fn user_entities_file_and_reanalyze() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let corpus = crate::common::sample_corpus();
    let out = kiji(&index).arg("ingest").arg(&corpus).output().unwrap();
    assert!(out.status.success());
    let total = |envs: &[(&str, &std::path::Path)]| -> u64 {
        let mut c = kiji(&index);
        c.args(["search", "--json", "--entity", "シンクタンク"]);
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c.output().unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["total"].as_u64().unwrap()
    };
    assert_eq!(total(&[]), 0);
    let user = dir.path().join("my-entities.tsv");
    std::fs::write(
        &user,
        "# mine\nシンクタンク\torganization\tthink tank\t研究機関\tuser\n",
    )
    .unwrap();
    let env = [("KIJI_ENTITIES_FILE", user.as_path())];
    let out = kiji(&index)
        .args(["ingest", "--reanalyze"])
        .env("KIJI_ENTITIES_FILE", &user)
        .output()
        .unwrap();
    crate::common::assert_success(&out);
    assert!(
        total(&env) >= 2,
        "the seed and the sample mention シンクタンク"
    );
}

#[test]
fn the_index_records_its_entity_model_and_reanalyze_updates_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let corpus = crate::common::sample_corpus();
    // The last commit's metadata, as `kiji search --json` reports it.
    let last_commit = || -> serde_json::Value {
        let out = kiji(&index)
            .args(["search", "--json", "--entity", "ロシア"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["index"]["commit"].clone()
    };
    let model_of_last_commit = || last_commit()["entity_model"].clone();
    let out = kiji(&index)
        .arg("ingest")
        .arg(&corpus)
        .env("KIJI_ENTITY_MODEL", "off")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(model_of_last_commit(), serde_json::Value::Null);
    let out = kiji(&index)
        .args(["ingest", "--reanalyze"])
        .env("KIJI_ENTITY_MODEL", "on")
        .output()
        .unwrap();
    assert!(out.status.success());
    let model = model_of_last_commit();
    let model = model.as_str().expect("a model after --reanalyze");
    assert!(
        model.starts_with(&format!(
            "{} {} ",
            kiji::analysis::ner::MODEL_NAME,
            kiji::analysis::ner::MODEL_VERSION
        )),
        "{model}"
    );
    assert!(model.ends_with(" addresses=parts"), "{model}");
    // How the analysis reports addresses is not the index's business: it
    // counts their units either way, and the stamp stays.
    let out = kiji(&index)
        .args(["ingest", "--reanalyze"])
        .env("KIJI_ENTITY_MODEL", "on")
        .env("KIJI_ENTITY_ADDRESSES", "parts")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(model_of_last_commit().as_str(), Some(model));
    let model = model.to_string();
    let on = |v: &serde_json::Value| v.as_str() == Some(model.as_str());
    // An ingest with another analysis, without --reanalyze, warns, and the
    // index says it holds both until --reanalyze; every later ingest warns.
    // (A new article each time: an ingest that writes nothing commits
    // nothing, and the index then still holds one analysis.)
    let older = || last_commit()["entity_model_older"].clone();
    // A JSON Lines file of one new article.
    let article = |id: &str, body: &str| {
        let file = dir.path().join(format!("{id}.jsonl"));
        let line = serde_json::json!({"id": id, "title": "題", "body": body});
        std::fs::write(&file, format!("{line}\n")).unwrap();
        file
    };
    for run in 0..2 {
        let file = article(&format!("n-{run}"), &format!("米国の記事{run}。"));
        let out = kiji(&index)
            .arg("ingest")
            .arg(&file)
            .env("KIJI_ENTITY_MODEL", "off")
            .env("KIJI_LOG", "warn")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.contains("--reanalyze"),
            "{run}: {err}"
        );
        let older = older();
        assert!(on(&older), "{run}: {older}");
    }
    // (--reanalyze reads the index alone: a folder without a corpus will do.)
    let out = kiji(&index)
        .args(["ingest", "--reanalyze"])
        .env("KIJI_ENTITY_MODEL", "off")
        .current_dir(dir.path())
        .output()
        .unwrap();
    crate::common::assert_success(&out);
    assert_eq!(older(), serde_json::Value::Null);
    assert_eq!(model_of_last_commit(), serde_json::Value::Null);
    // Off, on, off again: the model's articles are still named (a second
    // sample article makes each ingest write).
    for (model, body) in [
        ("on", "ロシアの新しい記事。"),
        ("off", "中国の新しい記事。"),
    ] {
        let file = article(&format!("x-{model}"), body);
        let out = kiji(&index)
            .arg("ingest")
            .arg(&file)
            .env("KIJI_ENTITY_MODEL", model)
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    let named = older();
    assert!(
        named
            .as_str()
            .is_some_and(|m| m.starts_with(kiji::analysis::ner::MODEL_NAME)),
        "{named}"
    );
}

/// Every way an id can come back within one commit or across commits leaves
/// exactly one live document with the last content (the writer skips the
/// delete of ids it knows are new, and must not skip any other).
#[test]
fn one_live_document_per_id_whatever_the_order_of_writes() {
    use kiji::article::Article;
    use kiji::index::{Store, Writer};
    let article = |id: &str, body: &str| Article {
        id: id.to_string(),
        title: format!("見出し {id}"),
        published: kiji::article::parse_date("2024-11-01T09:00:00+09:00"),
        updated: None,
        source: None,
        url: None,
        author: None,
        author_profile: None,
        body: body.to_string(),
        credits: Vec::new(),
        tags: Vec::new(),
        cited_outlets: Vec::new(),
    };
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("index"), crate::common::analyzer()).unwrap();
    let mut writer = Writer::new(&store, 64).unwrap();
    let live = |store: &Store| store.searcher().num_docs();
    let body_of = |store: &Store, id: &str| store.get(id).unwrap().unwrap().article.body;
    // A new id twice in one batch: the second copy replaces the first.
    writer
        .upsert_many(
            &store,
            vec![
                article("a", "初版の本文です。"),
                article("a", "第二版の本文です。"),
            ],
            None,
        )
        .unwrap();
    writer.commit(&store).unwrap();
    assert_eq!(live(&store), 1);
    assert!(body_of(&store, "a").contains("第二版"));
    // Deleted and written again before the commit: one document.
    assert!(writer.delete(&store, "a").unwrap());
    writer
        .upsert(&store, article("a", "第三版の本文です。"))
        .unwrap();
    writer.commit(&store).unwrap();
    assert_eq!(live(&store), 1);
    assert!(body_of(&store, "a").contains("第三版"));
    // New in one call, changed in the next call of the same commit.
    writer
        .upsert(&store, article("b", "ビーの本文です。"))
        .unwrap();
    writer
        .upsert_many(&store, vec![article("b", "ビーの新しい本文です。")], None)
        .unwrap();
    writer.commit(&store).unwrap();
    assert_eq!(live(&store), 2);
    assert!(body_of(&store, "b").contains("新しい"));
}

/// An empty index with an analyser of its own (whose token memo counts this
/// index's texts only), and its writer.
fn index_with_own_analyzer() -> (
    std::sync::Arc<kiji::analysis::Analyzer>,
    tempfile::TempDir,
    kiji::index::Store,
    kiji::index::Writer,
) {
    let analyzer = kiji::analysis::Analyzer::new(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = kiji::index::Store::open(&dir.path().join("index"), analyzer.clone()).unwrap();
    let writer = kiji::index::Writer::new(&store, 64).unwrap();
    (analyzer, dir, store, writer)
}

#[test]
fn back_pressure_loses_and_reorders_nothing() {
    use std::io::Write;
    // An analyser of its own: its token memo counts this ingest's texts only.
    let (analyzer, dir, store, mut writer) = index_with_own_analyzer();
    // Many more documents than the writer lets wait for tantivy, and 500 ids
    // written twice (the second version, in the next file of one ingest,
    // must win; a later line of the same file would be read alone).
    let (n, again) = (1_500, 500);
    let file = dir.path().join("many.jsonl");
    let revised = dir.path().join("revised.jsonl");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let line = |i: usize, version: &str| {
        serde_json::json!({
            "id": format!("n{i}"),
            "title": format!("第{i}号の見出し"),
            "body": format!("記事{i}の{version}本文です。政府は発表した。次の文もある。"),
        })
    };
    for i in 0..n {
        writeln!(out, "{}", line(i, "初版の")).unwrap();
    }
    drop(out);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&revised).unwrap());
    for i in 0..again {
        writeln!(out, "{}", line(i, "改訂版の")).unwrap();
    }
    drop(out);
    let mut report = kiji::ingest::IngestReport::default();
    kiji::ingest::ingest_files(
        &store,
        &mut writer,
        &[file, revised],
        &Default::default(),
        &kiji::ingest::Quiet,
        &mut report,
    )
    .unwrap();
    assert_eq!(
        (report.added, report.updated, report.superseded),
        (n, again, 0),
        "{}",
        report.summary()
    );
    assert_eq!(store.searcher().num_docs(), n as u64);
    for i in [0, 1, again - 1, again, n - 1] {
        let body = store.get(&format!("n{i}")).unwrap().unwrap().article.body;
        let version = if i < again { "改訂版" } else { "初版" };
        assert!(body.contains(version), "n{i}: {body}");
    }
    // Every live document's morphemes are indexed, the last versions' only.
    let searcher = store.searcher();
    let live_with = |word: &str| {
        let term = tantivy::Term::from_field_text(store.fields.body, word);
        let query = tantivy::query::TermQuery::new(term, tantivy::schema::IndexRecordOption::Basic);
        searcher.search(&query, &tantivy::collector::Count).unwrap()
    };
    assert_eq!(live_with("政府"), n);
    assert_eq!(live_with("改訂"), again);
    assert_eq!(live_with("初版"), n - again);
    // The writer never ran further ahead of tantivy's indexing threads than
    // the bound (plus the one document it was handing over), and tantivy
    // took every text it was left.
    let most = analyzer.token_memo().most_waiting();
    assert!(
        most <= kiji::index::writer::TEXTS_IN_FLIGHT + 3,
        "{most} texts waited at once"
    );
    assert!(analyzer.token_memo().is_empty());
    writer.close().unwrap();
}

#[test]
fn the_writer_waits_while_tantivy_holds_too_many_texts() {
    use std::time::Duration;
    let (analyzer, _dir, store, mut writer) = index_with_own_analyzer();
    // As if tantivy's indexing threads were behind by more than the bound.
    let memo = analyzer.token_memo();
    let behind = kiji::index::writer::TEXTS_IN_FLIGHT + 1;
    for i in 0..behind {
        memo.put(&format!("待ち{i}"), Vec::new());
    }
    let article = kiji::article::parse_json_line(
        r#"{"id": "w", "title": "見出し", "body": "政府は発表した。"}"#.as_bytes(),
        1,
    )
    .unwrap()
    .unwrap();
    std::thread::scope(|scope| {
        let upsert = scope.spawn(|| writer.upsert(&store, article));
        std::thread::sleep(Duration::from_millis(500));
        assert!(!upsert.is_finished(), "the writer did not wait");
        // The indexing threads take one: the writer goes on.
        assert!(memo.take("待ち0").is_some());
        upsert.join().unwrap().unwrap();
    });
    writer.commit(&store).unwrap();
    assert!(store.get("w").unwrap().is_some());
    // Only the stand-ins are left, none of the article's texts.
    assert_eq!(memo.len(), behind - 1);
    memo.clear();
    writer.close().unwrap();
}

#[test]
fn an_index_of_an_older_schema_asks_for_reanalyze_and_is_rebuilt() {
    // An index as kiji wrote it before the `_v3` band field: the article
    // stored as JSON text, its id, bands in `dedup_band_v2`.
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    std::fs::create_dir_all(&index).unwrap();
    let body = crate::common::seed_text();
    let raw = serde_json::json!({"id": "old-1", "title": "古い索引の記事", "body": body,
        "published": "2024-10-30T09:00:00+09:00"});
    let article = kiji::article::parse_bytes(
        kiji::article::Format::JsonLines,
        raw.to_string().as_bytes(),
        "",
    )
    .remove(0)
    .unwrap();
    let stored = kiji::index::StoredArticle {
        hash: article.content_hash(),
        article,
        entities: Vec::new(),
        file: None,
    };
    {
        use tantivy::schema::{INDEXED, STORED, STRING, Schema};
        let mut b = Schema::builder();
        let id = b.add_text_field("id", STRING);
        let doc = b.add_text_field("doc", STORED);
        let band = b.add_u64_field("dedup_band_v2", INDEXED);
        let old = tantivy::Index::create_in_dir(&index, b.build()).unwrap();
        let mut w: tantivy::IndexWriter = old.writer_with_num_threads(1, 15_000_000).unwrap();
        w.add_document(tantivy::doc!(
            id => "old-1",
            doc => serde_json::to_string(&stored).unwrap(),
            band => 7u64
        ))
        .unwrap();
        w.commit().unwrap();
    }
    let search = || {
        kiji(&index)
            .args(["search", "--json", "北朝鮮"])
            .output()
            .unwrap()
    };
    let out = search();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--reanalyze"), "{err}");
    let out = kiji(&index)
        .args(["ingest", "--reanalyze"])
        .output()
        .unwrap();
    crate::common::assert_success(&out);
    let out = search();
    crate::common::assert_success(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"], 1, "{v}");
    assert_eq!(v["hits"][0]["id"], "old-1", "{v}");
    // The rebuilt article has today's signature: a copy of it joins its group.
    let copy = dir.path().join("copy.json");
    std::fs::write(
        &copy,
        serde_json::json!({"id": "copy-1", "title": "別の見出し", "body": body,
            "published": "2024-10-31T09:00:00+09:00"})
        .to_string(),
    )
    .unwrap();
    assert!(
        kiji(&index)
            .arg("ingest")
            .arg(&copy)
            .output()
            .unwrap()
            .status
            .success()
    );
    let store =
        kiji::index::Store::open(&index, kiji::analysis::Analyzer::new(None).unwrap()).unwrap();
    let dups = kiji::dedup::lookup::duplicates(&store, "copy-1")
        .unwrap()
        .unwrap();
    assert_eq!(dups.group, "old-1");
    assert_eq!(dups.articles.len(), 1);
}

#[test]
fn a_finished_ingest_leaves_few_small_segments() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let segments = || -> usize {
        let meta: serde_json::Value =
            serde_json::from_slice(&std::fs::read(index.join("meta.json")).unwrap()).unwrap();
        meta["segments"].as_array().unwrap().len()
    };
    // Six small ingests: each commit leaves a segment or more.
    let mut merged = false;
    for run in 0..6 {
        let file = dir.path().join(format!("run{run}.jsonl"));
        let lines: String = (0..20)
            .map(|i| {
                format!(
                    "{{\"id\":\"r{run}-{i}\",\"title\":\"第{run}報\",\"body\":\"北朝鮮の兵士{i}人がロシアに派遣された。\"}}\n"
                )
            })
            .collect();
        std::fs::write(&file, lines).unwrap();
        let out = kiji(&index).arg("ingest").arg(&file).output().unwrap();
        crate::common::assert_success(&out);
        merged |= String::from_utf8_lossy(&out.stderr).contains("small segments into");
        // Four small segments or more are merged when an ingest ends.
        assert!(segments() < 4, "run {run}: {} segments", segments());
    }
    assert!(merged, "no ingest merged its segments");
    let hits = search(&index, "北朝鮮");
    assert_eq!(hits["total"], 120, "{hits}");
}

/// The watcher with `delete_removed_files`: a renamed or moved file keeps
/// its articles, a removed file deletes only the articles no other file
/// holds, and a file removed while the server was down is found at the
/// first scan (a review found the first two deleting what was still there).
#[test]
fn the_watcher_deletes_only_what_no_file_holds() {
    use std::sync::Mutex;
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    std::fs::create_dir_all(corpus.join("archive")).unwrap();
    // A file written with a time older than the watcher's second of settling.
    let settled = |path: &std::path::Path, text: &str| {
        std::fs::write(path, text).unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    };
    let write = |name: &str, ids: &[&str]| {
        let lines: String = ids
            .iter()
            .map(|id| format!("{{\"id\":\"{id}\",\"title\":\"{id}\",\"body\":\"{id}の本文。\"}}\n"))
            .collect();
        settled(&corpus.join(name), &lines);
    };
    let store = std::sync::Arc::new(
        kiji::index::Store::open(&dir.path().join("index"), crate::common::analyzer()).unwrap(),
    );
    let writer = Mutex::new(kiji::index::Writer::new(&store, 64).unwrap());
    let mut watched = kiji::watch::Watched::default();
    let poll = |watched: &mut kiji::watch::Watched| {
        kiji::watch::apply_changes(&store, &writer, &corpus, watched, true, &Default::default())
            .unwrap()
            .deleted
    };
    let live = |id: &str| store.get(id).unwrap().is_some();
    write("a.jsonl", &["x1", "x2"]);
    write("b.jsonl", &["x2", "x3"]);
    assert_eq!(poll(&mut watched), 0);
    assert!(["x1", "x2", "x3"].iter().all(|id| live(id)));
    // renamed, then moved into a folder: nothing deleted
    std::fs::rename(corpus.join("a.jsonl"), corpus.join("c.jsonl")).unwrap();
    assert_eq!(poll(&mut watched), 0);
    std::fs::rename(corpus.join("c.jsonl"), corpus.join("archive/c.jsonl")).unwrap();
    assert_eq!(poll(&mut watched), 0);
    assert!(live("x1"));
    // x2 is also in the moved file
    std::fs::remove_file(corpus.join("b.jsonl")).unwrap();
    assert_eq!(poll(&mut watched), 1);
    assert!(live("x2") && !live("x3"));
    std::fs::remove_file(corpus.join("archive/c.jsonl")).unwrap();
    assert_eq!(poll(&mut watched), 2);
    assert!(!live("x1") && !live("x2"));
    // removed while the server was down: the first scan of a new watcher
    write("d.jsonl", &["x4"]);
    assert_eq!(poll(&mut watched), 0);
    std::fs::remove_file(corpus.join("d.jsonl")).unwrap();
    let mut restarted = kiji::watch::Watched::default();
    assert_eq!(poll(&mut restarted), 1);
    assert!(!live("x4"));
    // An article written through the API after its file was read stays so
    // after a restart, while the file is as it was; a file changed while
    // the server was down is taken in.
    write("e.jsonl", &["x5"]);
    write("f.jsonl", &["x6"]);
    assert_eq!(poll(&mut restarted), 0);
    let api = kiji::article::parse_json_line(
        "{\"id\":\"x5\",\"title\":\"API版\",\"body\":\"APIで更新した本文。\"}".as_bytes(),
        1,
    )
    .unwrap()
    .unwrap();
    {
        let mut w = writer.lock().unwrap();
        w.upsert(&store, api).unwrap();
        w.commit(&store).unwrap();
    }
    write("f.jsonl", &["x6", "x7"]);
    let mut resumed = kiji::watch::Watched::resume(&store);
    assert_eq!(poll(&mut resumed), 0);
    assert_eq!(store.get("x5").unwrap().unwrap().article.title, "API版");
    assert!(live("x7"));
    // A file touched, or changed in another line, is read again; the
    // lines it holds as before do not overwrite the API's edit.
    write("e.jsonl", &["x5"]);
    assert_eq!(poll(&mut resumed), 0);
    assert_eq!(store.get("x5").unwrap().unwrap().article.title, "API版");
    write("e.jsonl", &["x5", "x8"]);
    assert_eq!(poll(&mut resumed), 0);
    assert_eq!(store.get("x5").unwrap().unwrap().article.title, "API版");
    assert!(live("x8"));
    // Renamed and moved, the file still does not overwrite it.
    std::fs::rename(corpus.join("e.jsonl"), corpus.join("archive/e2.jsonl")).unwrap();
    assert_eq!(poll(&mut resumed), 0);
    assert_eq!(store.get("x5").unwrap().unwrap().article.title, "API版");
    // what the file holds is still known: removing it deletes x5 and x8
    std::fs::remove_file(corpus.join("archive/e2.jsonl")).unwrap();
    assert_eq!(poll(&mut resumed), 2);
    assert!(!live("x5"));
    // Two text files of one name: the second is rejected, as by `kiji ingest`.
    for (folder, title) in [("p", "見出しP"), ("q", "見出しQ")] {
        std::fs::create_dir_all(corpus.join(folder)).unwrap();
        let path = corpus.join(folder).join("same.txt");
        settled(
            &path,
            &format!("{title}\n\n2024/12/01\n\n{title}の本文。\n"),
        );
        let changes = kiji::watch::apply_changes(
            &store,
            &writer,
            &corpus,
            &mut resumed,
            true,
            &Default::default(),
        )
        .unwrap();
        if folder == "q" {
            assert_eq!(
                changes.report.rejected.len(),
                1,
                "{:?}",
                changes.report.rejected
            );
        }
    }
    assert_eq!(store.get("same").unwrap().unwrap().article.title, "見出しP");
}

/// The CLI's answers to a second review: a command that reads an index
/// does not make an empty one at a mistyped path; `--reanalyze` takes no
/// files; `analyze --jsonl` refuses an object without a string `text`;
/// output cut short by the reader (`| head`) ends without a panic.
#[test]
fn cli_commands_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/index");
    for args in [&["search", "北朝鮮"][..], &["ingest", "--reanalyze"][..]] {
        let out = kiji(&missing).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains("no index at"),
            "{args:?}: {err}"
        );
        assert!(!missing.exists(), "{args:?} made {}", missing.display());
    }
    let out = kiji(&missing)
        .args(["ingest", "--reanalyze", "corpus"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut analyze = kiji(&missing);
    analyze.args(["analyze", "--jsonl"]);
    let out = with_stdin(analyze, "{\"text\":\"露朝\"}\n{\"nottext\":\"北朝鮮\"}\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("line 2"), "{err}");

    // a reader that goes away after the first line
    let index = dir.path().join("index");
    let corpus = crate::common::sample_corpus();
    assert!(
        kiji(&index)
            .arg("ingest")
            .arg(&corpus)
            .output()
            .unwrap()
            .status
            .success()
    );
    let mut child = kiji(&index)
        .args(["search", "の", "--limit", "100"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 1];
    use std::io::Read;
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// Two text files named alike in different folders do not replace each
/// other's article at every run (the second is rejected, named); a hidden
/// article file is listed as skipped; a JSON array is limited as one POST
/// is (`limits.body_bytes`), not as one article; log variables that would
/// log nothing or something else are refused.
#[test]
fn files_that_would_be_lost_silently_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("c");
    for (folder, title) in [("a", "見出しA"), ("b", "見出しB")] {
        std::fs::create_dir_all(corpus.join(folder)).unwrap();
        std::fs::write(
            corpus.join(folder).join("article.txt"),
            format!("{title}\n\n2024/12/01\n\n{title}の本文。\n"),
        )
        .unwrap();
    }
    std::fs::write(
        corpus.join(".hidden.jsonl"),
        "{\"id\":\"h1\",\"title\":\"隠し\",\"body\":\"本文。\"}\n",
    )
    .unwrap();
    let array: Vec<String> = (0..40)
        .map(|i| {
            format!(
                "{{\"id\":\"j{i}\",\"title\":\"題{i}\",\"body\":\"{}\"}}",
                "本文。".repeat(10)
            )
        })
        .collect();
    std::fs::write(corpus.join("all.json"), format!("[{}]", array.join(","))).unwrap();
    // An id given twice in one file: the last line is read, the first
    // skipped (writing both rewrote the article twice at every run); a .txt
    // date that is none.
    std::fs::write(
        corpus.join("twice.jsonl"),
        "{\"id\":\"d1\",\"title\":\"一回目\",\"body\":\"一回目の本文。\"}\n\
         {\"id\":\"d1\",\"title\":\"二回目\",\"body\":\"二回目の本文。\"}\n",
    )
    .unwrap();
    std::fs::write(corpus.join("baddate.txt"), "題\n\n2024/13/45\n\n本文。\n").unwrap();
    // A link to a file also walked is that file, read once.
    std::fs::create_dir_all(corpus.join("z")).unwrap();
    std::os::unix::fs::symlink(
        corpus.join("a").join("article.txt"),
        corpus.join("z").join("article.txt"),
    )
    .unwrap();
    let index = dir.path().join("index");
    let meta = || std::fs::read_to_string(index.join("meta.json")).unwrap_or_default();
    let mut first_meta = String::new();
    for run in 0..2 {
        // Articles of at most 1,000 bytes: the 40-article array (~2,500 bytes) goes in.
        let out = kiji(&index)
            .env("KIJI_MAX_ARTICLE_BYTES", "1000")
            .arg("ingest")
            .arg(&corpus)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(text.contains("is also the id of"), "{run}: {text}");
        assert!(text.contains(".hidden.jsonl (hidden)"), "{run}: {text}");
        assert!(text.contains("superseded 1"), "{run}: {text}");
        assert!(
            text.contains("baddate.txt") && text.contains("2024/13/45"),
            "{run}: {text}"
        );
        assert!(text.contains("(the same file as"), "{run}: {text}");
        assert_eq!(text.matches("read before it").count(), 1, "{run}: {text}");
        let expect = if run == 0 { "added 42" } else { "unchanged 42" };
        assert!(text.contains(expect), "{run}: {text}");
        // A run that changes nothing commits nothing.
        if run == 0 {
            first_meta = meta();
        } else {
            assert_eq!(meta(), first_meta);
        }
    }
    let out = kiji(&index)
        .env("KIJI_MAX_BODY_BYTES", "1000")
        .arg("ingest")
        .arg(corpus.join("all.json"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("a JSON file of") && text.contains("limits.body_bytes"),
        "{text}"
    );
    for (var, value) in [("KIJI_LOG", "verbose"), ("KIJI_LOG_FORMAT", "xml")] {
        let out = kiji(&index)
            .env(var, value)
            .arg("--version")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(var), "{var}: {err}");
    }
}
