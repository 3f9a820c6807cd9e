//! Entity quality on hand-annotated Wikinews sentences (`tests/gold/`).
//!
//! ```sh
//! cargo run --release --example eval_entities            # table on stdout
//! KIJI_WIKINEWS=/path/articles.jsonl cargo run --release --example eval_entities
//! ```
//!
//! Runs kiji's extractor with the entity model on (gazetteer, rules and the
//! model, `entities.model = true`, the default), the gazetteer and rules alone
//! and the IPADIC-part-of-speech-only baseline on every gold sentence and
//! prints precision, recall and F1 per type, for exact and overlapping spans.
//! `--errors` also lists kiji's misses and false alarms.

use std::path::PathBuf;

use kiji::analysis::Analyzer;
use kiji::analysis::entities::Mention;
use kiji::analysis::eval::{Span, score};
use kiji::analysis::gazetteer::EntityType;

fn main() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = std::env::var_os("KIJI_WIKINEWS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/corpus/wikinews/articles.jsonl"));
    if !corpus.is_file() {
        eprintln!(
            "SKIPPED: no Wikinews corpus at {} (set KIJI_WIKINEWS)",
            corpus.display()
        );
        return Ok(());
    }
    let show_errors = std::env::args().any(|a| a == "--errors");
    let kiji::analysis::eval::NewsGold {
        bodies,
        sentences,
        entities,
    } = kiji::analysis::eval::NewsGold::read(&root, &corpus)?;
    let gold: Vec<Span> = entities
        .into_iter()
        .map(|r| Span {
            doc: r[0].clone(),
            start: r[1].parse().unwrap(),
            end: r[2].parse().unwrap(),
            kind: EntityType::parse(&r[3]).expect("gold type"),
        })
        .collect();

    let mut with_model = kiji::config::Config::default();
    with_model.entities.model = true;
    let kiji = with_model.analyzer()?;
    let rules = Analyzer::new(None)?;
    let baseline = Analyzer::with_parts(Default::default(), None, Default::default())?;
    let run = |f: &dyn Fn(&str) -> Vec<Mention>| -> Vec<Span> {
        let mut out = Vec::new();
        for s in &sentences {
            let (doc, start, end) = (
                &s[0],
                s[1].parse::<usize>().unwrap(),
                s[2].parse::<usize>().unwrap(),
            );
            let chars = &bodies[doc];
            let text: String = chars[start..end].iter().collect();
            for m in f(&text) {
                out.push(Span {
                    doc: doc.clone(),
                    start: start + text[..m.start].chars().count(),
                    end: start + text[..m.end].chars().count(),
                    kind: m.kind,
                });
            }
        }
        out
    };
    let started = std::time::Instant::now();
    let ours = run(&|t| kiji.mentions(t));
    let elapsed = started.elapsed();
    let rules_only = run(&|t| rules.mentions(t));
    let base = run(&|t| baseline.mentions_pos_only(t));

    println!(
        "Entity extraction on {} hand-annotated Wikinews sentences ({} gold mentions)\n",
        sentences.len(),
        gold.len()
    );
    println!(
        "| type | system | exact P | exact R | exact F1 | overlap P | overlap R | overlap F1 |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, pred) in [
        ("kiji", &ours),
        ("kiji rules only", &rules_only),
        ("IPADIC POS only", &base),
    ] {
        for (kind, (exact, overlap)) in score(&gold, pred) {
            println!(
                "| {} | {name} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |",
                kind.as_str(),
                exact.precision(),
                exact.recall(),
                exact.f1(),
                overlap.precision(),
                overlap.recall(),
                overlap.f1()
            );
        }
    }
    println!(
        "\nkiji extraction time over the gold sentences: {:.1} ms",
        elapsed.as_secs_f64() * 1000.0
    );
    if show_errors {
        let text = |s: &Span| -> String { bodies[&s.doc][s.start..s.end].iter().collect() };
        let overlaps = |a: &Span, b: &Span| {
            a.doc == b.doc && a.start < b.end && b.start < a.end && a.kind == b.kind
        };
        for g in &gold {
            if !ours.iter().any(|p| overlaps(g, p)) {
                println!(
                    "MISS  {:<12} {} {}..{} {}",
                    g.kind.as_str(),
                    g.doc,
                    g.start,
                    g.end,
                    text(g)
                );
            }
        }
        for p in &ours {
            if !gold.iter().any(|g| overlaps(g, p)) {
                println!(
                    "FALSE {:<12} {} {}..{} {}",
                    p.kind.as_str(),
                    p.doc,
                    p.start,
                    p.end,
                    text(p)
                );
            }
        }
    }
    Ok(())
}
