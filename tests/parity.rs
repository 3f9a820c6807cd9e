//! Analysis parity: kiji's morphemes (`kiji analyze`) against Lucene's
//! kuromoji — the analyser of OpenSearch's analysis-kuromoji plugin — set up
//! from the index template kiji generates (its mapping char filter and user
//! dictionary), over the seed article and 200 Wikinews articles. At least
//! 99 % of kiji's morpheme spans must be kuromoji spans too.
//!
//! Needs a JDK (`java` able to run a source file) and Debian's
//! `liblucene8-java`; `.ci/run` installs both. Without them the test is
//! skipped with a printed reason — unless `KIJI_REQUIRE_PARITY=1` (CI), when
//! that is a failure.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::Value;

use crate::common::{analyzer, repo, seed_text, wikinews, wikinews_articles};
use kiji::analysis::normalize::normalize;
use kiji::analysis::tokenizer::BigramTokenizer;
use kiji::config::OpenSearchConfig;
use kiji::opensearch::template;

/// Prints past the test harness's capture (which only takes `print!` and
/// `eprint!`), so the figures show in every run, CI's included.
macro_rules! report {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Articles of the Wikinews corpus compared (title and body each).
const WIKINEWS_ARTICLES: usize = 200;
/// The share of kiji's morpheme spans kuromoji must also produce.
const REQUIRED: f64 = 0.99;
/// The Lucene jars: Debian's `liblucene8-java` (jar names carry the upstream version).
const JARS: [&str; 3] = [
    "lucene-core",
    "lucene-analyzers-common",
    "lucene-analyzers-kuromoji",
];

/// Skips the test with a printed reason (fails instead under `KIJI_REQUIRE_PARITY=1`).
fn skip_or_fail(reason: &str) {
    if std::env::var_os("KIJI_REQUIRE_PARITY").is_some_and(|v| v == "1") {
        panic!("the parity test cannot run: {reason}");
    }
    report!(
        "SKIPPED: analysis parity: {reason} (install: apt-get install default-jdk-headless liblucene8-java)"
    );
}

/// The class path of the Lucene jars (`$KIJI_LUCENE_DIR`, else /usr/share/java).
fn lucene_classpath() -> Option<String> {
    let dir = std::env::var_os("KIJI_LUCENE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java"));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let mut jars = Vec::new();
    for jar in JARS {
        // `lucene-core-8.7.0.jar` (not `lucene-core-extra-…`): the name, then a version digit.
        let found = names.iter().filter(|n| {
            n.strip_prefix(jar)
                .and_then(|rest| rest.strip_prefix('-'))
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()) && v.ends_with(".jar"))
        });
        jars.push(dir.join(found.max()?).display().to_string());
    }
    Some(jars.join(":"))
}

/// Runs the probe over `texts`: the spans (code points) of every token, per text.
fn lucene_spans(
    classpath: &str,
    mode: &str,
    files: &Path,
    texts: &[String],
) -> Vec<BTreeSet<(usize, usize)>> {
    lucene_tokens(classpath, mode, files, texts)
        .into_iter()
        .map(|tokens| tokens.into_iter().map(|(span, _)| span).collect())
        .collect()
}

/// Runs the probe over `texts`: the span of every token and, in `base`
/// mode, its text (else empty), per text.
fn lucene_tokens(
    classpath: &str,
    mode: &str,
    files: &Path,
    texts: &[String],
) -> Vec<BTreeSet<((usize, usize), String)>> {
    let mut child = Command::new("java")
        .arg("-cp")
        .arg(classpath)
        .arg(repo().join("tests/parity/KuromojiSpans.java"))
        .arg(mode)
        .arg(files.join("mappings.txt"))
        .arg(files.join("userdict.txt"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("java runs");
    let input: String = texts
        .iter()
        .map(|t| base64::engine::general_purpose::STANDARD.encode(t) + "\n")
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        out.status.success(),
        "the Lucene probe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let spans: Vec<BTreeSet<((usize, usize), String)>> = text
        .lines()
        .map(|l| {
            l.split_whitespace()
                .map(|s| {
                    let (span, term) = s.split_once('=').unwrap_or((s, ""));
                    let (a, b) = span.split_once('-').unwrap();
                    ((a.parse().unwrap(), b.parse().unwrap()), term.to_string())
                })
                .collect()
        })
        .collect();
    assert_eq!(spans.len(), texts.len());
    spans
}

/// Writes the analysis rules of the generated template where the probe reads them.
fn write_rules(tpl: &Value, dir: &Path) {
    let analysis = &tpl["template"]["settings"]["analysis"];
    let tokenizer = &analysis["tokenizer"]["kiji_kuromoji"];
    assert_eq!(tokenizer["mode"], "search");
    assert_eq!(tokenizer["discard_compound_token"], false);
    let lines = |v: &Value| -> String {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string() + "\n")
            .collect()
    };
    std::fs::write(
        dir.join("mappings.txt"),
        lines(&analysis["char_filter"]["kiji_normalize"]["mappings"]),
    )
    .unwrap();
    std::fs::write(
        dir.join("userdict.txt"),
        lines(&tokenizer["user_dictionary_rules"]),
    )
    .unwrap();
}

/// Share of `ours` that is in `theirs`, and up to `n` examples of misses.
fn coverage(
    texts: &[String],
    ours: &[Vec<(usize, usize)>],
    theirs: &[BTreeSet<(usize, usize)>],
    n: usize,
) -> (usize, usize, Vec<String>) {
    let (mut total, mut found, mut misses) = (0, 0, Vec::new());
    for ((text, ours), theirs) in texts.iter().zip(ours).zip(theirs) {
        let chars: Vec<char> = text.chars().collect();
        for &(a, b) in ours {
            total += 1;
            if theirs.contains(&(a, b)) {
                found += 1;
            } else if misses.len() < n {
                let lo = a.saturating_sub(6);
                let hi = (b + 6).min(chars.len());
                let context: String = chars[lo..hi].iter().collect();
                let word: String = chars[a..b].iter().collect();
                misses.push(format!("{word} in …{}…", context.replace('\n', " ")));
            }
        }
    }
    (total, found, misses)
}

#[test]
fn kuromoji_produces_kijis_morpheme_spans() {
    let Some(classpath) = lucene_classpath() else {
        return skip_or_fail(
            "Lucene's jars (lucene-core, -analyzers-common, -analyzers-kuromoji) are not in /usr/share/java",
        );
    };
    // Running a .java file needs a JDK's compiler, not only a runtime.
    let jdk = Command::new("javac")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !jdk {
        return skip_or_fail("no JDK (`javac`) on the PATH");
    }
    let analyzer = analyzer();
    let tpl = template::index_template(&OpenSearchConfig::default(), &analyzer);
    let dir = tempfile::tempdir().unwrap();
    write_rules(&tpl, dir.path());

    let mut texts = vec![seed_text()];
    let seed_only = 1;
    match wikinews() {
        Some(path) => {
            for a in wikinews_articles(&path).into_iter().take(WIKINEWS_ARTICLES) {
                texts.push(a.title);
                texts.push(a.body);
            }
        }
        None => report!("analysis parity: the seed article only (no Wikinews corpus)"),
    }
    let analyzed: Vec<Vec<kiji::analysis::TokenOut>> =
        texts.iter().map(|t| analyzer.analyze(t).tokens).collect();
    let ours: Vec<Vec<(usize, usize)>> = analyzed
        .iter()
        .map(|tokens| tokens.iter().map(|t| (t.start, t.end)).collect())
        .collect();
    let theirs = lucene_spans(&classpath, "morph", dir.path(), &texts);

    let (seed_total, seed_found, _) = coverage(
        &texts[..seed_only],
        &ours[..seed_only],
        &theirs[..seed_only],
        0,
    );
    let (total, found, misses) = coverage(&texts, &ours, &theirs, 15);
    let share = found as f64 / total as f64;
    report!(
        "analysis parity (kiji analyze vs Lucene kuromoji, search mode, generated user dictionary): \
         seed article {seed_found}/{seed_total} = {:.2} %; all {} texts {found}/{total} = {:.2} % of kiji's morpheme spans are kuromoji spans",
        100.0 * seed_found as f64 / seed_total as f64,
        texts.len(),
        100.0 * share
    );
    for m in &misses {
        report!("  not in kuromoji: {m}");
    }

    // The bigram sub-field: kiji's ja_bigram spans vs standard + cjk_bigram (reported).
    let bigrams: Vec<Vec<(usize, usize)>> = texts
        .iter()
        .map(|t| {
            let idx = kiji::analysis::CharIndex::new(t);
            BigramTokenizer::tokens_of(&normalize(t))
                .iter()
                .map(|k| (idx.at(k.offset_from), idx.at(k.offset_to)))
                .collect()
        })
        .collect();
    let lucene_bigrams = lucene_spans(&classpath, "bigram", dir.path(), &texts);
    let (b_total, b_found, b_misses) = coverage(&texts, &bigrams, &lucene_bigrams, 5);
    report!(
        "bigram parity (kiji ja_bigram vs standard + cjk_bigram): {b_found}/{b_total} = {:.2} %",
        100.0 * b_found as f64 / b_total as f64
    );
    for m in &b_misses {
        report!("  not in cjk_bigram: {m}");
    }
    // The `.base` sub-field: the dictionary form kiji indexes beside an
    // inflected content word (a verb or adjective, `自立`), against what
    // kuromoji_baseform gives for the same span.
    let base = lucene_tokens(&classpath, "base", dir.path(), &texts);
    let (mut d_total, mut d_found, mut d_misses) = (0, 0, Vec::new());
    for ((text, tokens), theirs) in texts.iter().zip(&analyzed).zip(&base) {
        for t in tokens {
            let inflected = matches!(t.pos.first().map(String::as_str), Some("動詞" | "形容詞"))
                && t.pos.get(1).map(String::as_str) == Some("自立");
            if !inflected || t.base == "*" || t.base.is_empty() {
                continue;
            }
            if t.base == t.text {
                continue;
            }
            d_total += 1;
            if theirs.contains(&((t.start, t.end), t.base.clone())) {
                d_found += 1;
            } else if d_misses.len() < 5 {
                let context: String = text
                    .chars()
                    .skip(t.start)
                    .take(t.end - t.start + 4)
                    .collect();
                d_misses.push(format!("{} → {} in {context}…", t.text, t.base));
            }
        }
    }
    let d_share = d_found as f64 / d_total.max(1) as f64;
    report!(
        "dictionary-form parity (kiji's indexed base forms vs kuromoji_baseform at the same span): \
         {d_found}/{d_total} = {:.2} %",
        100.0 * d_share
    );
    for m in &d_misses {
        report!("  not the kuromoji_baseform: {m}");
    }
    if let Some(keep) = std::env::var_os("KIJI_PARITY_KEEP") {
        let keep = PathBuf::from(keep);
        std::fs::create_dir_all(&keep).unwrap();
        for f in ["mappings.txt", "userdict.txt"] {
            std::fs::copy(dir.path().join(f), keep.join(f)).unwrap();
        }
        let input: String = texts
            .iter()
            .map(|t| base64::engine::general_purpose::STANDARD.encode(t) + "\n")
            .collect();
        std::fs::write(keep.join("texts.b64"), input).unwrap();
    }
    assert!(
        d_total == 0 || d_share >= REQUIRED,
        "only {:.2} % of kiji's dictionary forms are kuromoji_baseform's (need {:.0} %)",
        100.0 * d_share,
        100.0 * REQUIRED
    );
    assert!(
        share >= REQUIRED,
        "only {:.2} % of kiji's morpheme spans are kuromoji spans (need {:.0} %)",
        100.0 * share,
        100.0 * REQUIRED
    );
}
