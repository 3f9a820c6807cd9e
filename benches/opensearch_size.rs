//! Index size per article on OpenSearch, for shard sizing (docs/scale-out.md).
//!
//! ```sh
//! cargo bench --bench opensearch_size     # needs a JDK and liblucene8-java
//! ```
//!
//! Ingests the Wikinews corpus into a kiji index, turns every stored article
//! into the document kiji sends to the cluster, and has Lucene itself
//! (`bench/opensearch/LuceneIndexSize.java`, Debian's liblucene8-java) index
//! them as the generated template maps them — kuromoji and bigram views
//! through kiji's char filter, keywords with doc values, nested entity
//! spans, `_source` — force-merged to one segment. Reports bytes per article
//! on both engines and what 10M and 100M articles take.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use kiji::analysis::Analyzer;
use kiji::config::OpenSearchConfig;
use kiji::index::{Store, Writer};
use kiji::ingest::{self, IngestReport, Quiet};
use kiji::opensearch::{Provenance, document::document, template};
use serde_json::Value;

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn list(v: &Value) -> String {
    match v {
        Value::Array(a) => b64(&a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\u{1f}")),
        Value::String(s) => b64(s),
        _ => String::new(),
    }
}

fn lucene_classpath() -> Option<String> {
    let dir = Path::new("/usr/share/java");
    let names: Vec<String> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let mut jars = Vec::new();
    for jar in [
        "lucene-core",
        "lucene-analyzers-common",
        "lucene-analyzers-kuromoji",
    ] {
        let found = names.iter().filter(|n| {
            n.strip_prefix(jar)
                .and_then(|r| r.strip_prefix('-'))
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        });
        jars.push(dir.join(found.max()?).display().to_string());
    }
    Some(jars.join(":"))
}

fn gib(bytes: f64) -> String {
    format!("{:.0} GiB", bytes / f64::from(1u32 << 30))
}

fn main() -> anyhow::Result<()> {
    if !common::under_cargo_bench() {
        return Ok(());
    }
    let Some(path) = common::wikinews() else {
        return Ok(());
    };
    let Some(classpath) = lucene_classpath() else {
        eprintln!("SKIPPED: no Lucene jars in /usr/share/java (apt-get install liblucene8-java)");
        return Ok(());
    };
    let analyzer = Analyzer::new(None)?;
    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("index"), analyzer.clone())?;
    let mut writer = Writer::new(&store, 256)?;
    let mut report = IngestReport::default();
    let files = ingest::collect_files(std::slice::from_ref(&path), &mut report);
    ingest::ingest_files(
        &store,
        &mut writer,
        &files,
        &Default::default(),
        &Quiet,
        &mut report,
    )?;
    writer.close()?;
    store.refresh()?;
    let kiji_bytes = store.size_on_disk() as f64;

    let tpl = template::index_template(&OpenSearchConfig::default(), &analyzer);
    let analysis = &tpl["template"]["settings"]["analysis"];
    let lines = |v: &Value| -> String {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string() + "\n")
            .collect()
    };
    let work = tempfile::tempdir()?;
    let (rules, dict) = (
        work.path().join("mappings.txt"),
        work.path().join("userdict.txt"),
    );
    std::fs::write(
        &rules,
        lines(&analysis["char_filter"]["kiji_normalize"]["mappings"]),
    )?;
    std::fs::write(
        &dict,
        lines(&analysis["tokenizer"]["kiji_kuromoji"]["user_dictionary_rules"]),
    )?;

    let provenance = Provenance::of(&analyzer);
    let mut input = String::new();
    let (mut articles, mut text_bytes, mut source_bytes, mut spans) =
        (0usize, 0usize, 0usize, 0usize);
    let searcher = store.searcher();
    store.for_each_article(&searcher, |stored| {
        let doc = document(&stored, &provenance);
        let source = serde_json::to_string(&doc).expect("JSON");
        articles += 1;
        text_bytes += stored.article.title.len() + stored.article.body.len();
        source_bytes += source.len();
        let span_list: Vec<String> = doc["entity_spans"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                ["canonical", "type", "surface", "field", "start", "end"]
                    .iter()
                    .map(|k| match &s[*k] {
                        Value::String(v) => v.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join("\u{1f}")
            })
            .collect();
        spans += span_list.len();
        let fields = [
            b64(&stored.article.id),
            b64(&source),
            b64(&stored.article.title),
            b64(&stored.article.body),
            stored
                .article
                .published
                .map(|p| b64(&p.timestamp().to_string()))
                .unwrap_or_default(),
            list(&doc["entity"]),
            list(&doc["person"]),
            list(&doc["organization"]),
            list(&doc["place"]),
            list(&doc["source"]),
            list(&doc["tags"]),
            list(&doc["cited_outlets"]),
            list(&doc["author"]),
            if span_list.is_empty() {
                String::new()
            } else {
                b64(&span_list.join("\u{1e}"))
            },
        ];
        input.push_str(&fields.join("\t"));
        input.push('\n');
        Ok(())
    })?;

    let java_file =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/opensearch/LuceneIndexSize.java");
    let lucene_dir = work.path().join("lucene");
    let started = std::time::Instant::now();
    let mut child = Command::new("java")
        .arg("-cp")
        .arg(&classpath)
        .arg(&java_file)
        .arg(&rules)
        .arg(&dict)
        .arg(&lucene_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped");
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    feeder.join().expect("the feeder thread")?;
    anyhow::ensure!(out.status.success(), "the Lucene indexer failed");
    let answer = String::from_utf8(out.stdout)?;
    let mut nums = answer
        .split_whitespace()
        .map(|n| n.parse::<f64>().unwrap_or(0.0));
    let (lucene_bytes, lucene_articles, lucene_docs) = (
        nums.next().unwrap_or(0.0),
        nums.next().unwrap_or(0.0),
        nums.next().unwrap_or(0.0),
    );
    anyhow::ensure!(
        lucene_articles as usize == articles,
        "Lucene indexed {lucene_articles} of {articles}"
    );

    let n = articles as f64;
    let per_os = lucene_bytes / n;
    let per_kiji = kiji_bytes / n;
    let mut rows = String::new();
    for total in [10_000_000f64, 100_000_000f64] {
        let primary = per_os * total;
        // Shards of about 30 GiB (OpenSearch's guidance: 10–50 GiB).
        let shards = (primary / (30.0 * f64::from(1u32 << 30))).ceil().max(1.0);
        rows.push_str(&format!(
            "| {:.0}M | {} | {} | {} | {:.0} |\n",
            total / 1e6,
            gib(primary),
            gib(primary * 2.0),
            gib(per_kiji * total),
            shards
        ));
    }
    let text = format!(
        "# Index size per article: OpenSearch (Lucene, kiji's template) vs kiji\n\n\
         corpus: {} ({articles} articles, {:.0} bytes of title + body text per article on average, \
         {spans} entity spans = {:.1} per article)\n\n\
         | measure | bytes per article |\n|---|---|\n\
         | kiji's tantivy index (`kiji ingest`) | {per_kiji:.0} |\n\
         | OpenSearch shard, Lucene {}: {lucene_docs:.0} Lucene documents (articles + nested spans), force-merged | {per_os:.0} |\n\
         | `_source` as kiji sends it (uncompressed JSON; the shard stores it LZ4-compressed, included above) | {:.0} |\n\n\
         Lucene indexing took {:.1} s (JVM start included).\n\n\
         | articles | primary | with 1 replica | kiji (one machine) | primary shards at ~30 GiB |\n|---|---|---|---|---|\n{rows}\n\
         Scale the per-article figures by your articles' length: they grow about linearly with the text.\n",
        path.display(),
        text_bytes as f64 / n,
        spans as f64 / n,
        classpath
            .split(':')
            .next()
            .and_then(|j| j.rsplit('-').next())
            .unwrap_or("?")
            .trim_end_matches(".jar"),
        source_bytes as f64 / n,
        started.elapsed().as_secs_f64(),
    );
    common::report("opensearch-size.md", &text);
    Ok(())
}
