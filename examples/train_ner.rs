//! kiji's entity model: the features for training, and the reports. The
//! shipped model (`data/ner.crfsuite`) is built by `train/ner/train.sh`,
//! which runs this example twice around CRFsuite. See `train/ner/README.md`.
//!
//! ```sh
//! cargo run --release --example train_ner -- --features all --export-features F  # kiji's features of the training data
//! cargo run --release --example train_ner -- --model M --folds-dir D --no-write  # reports for CRFsuite's models
//! cargo run --release --example train_ner -- --no-write      # CV with models trained by `crfs`
//! cargo run --release --example train_ner -- --facets        # top 30 names per type on Wikinews
//! cargo run --release --example train_ner -- --export-gold /tmp/news-gold.jsonl
//! ```
//!
//! Training data is listed in `train/ner/data.txt` (paths relative to the
//! project root, each with a weight). The stockmark set is split into five
//! folds by line number (line `i` is in fold `i % 5`); each fold is tagged by
//! a model trained on the other four plus the extra sets, so no scored
//! sentence was seen by the model that scored it. `tests/gold` is never
//! trained on: it is the held-out news check.

use std::path::{Path, PathBuf};

use crfs::Trainer;
use kiji::analysis::entities::{self, Mention};
use kiji::analysis::gazetteer::{EntityType, Gazetteer};
use kiji::analysis::ner::gold::{self, Sentence, Span};
use kiji::analysis::ner::merge::{Addresses, Policy, combine};
use kiji::analysis::ner::{Recognizer, features, label};
use kiji::analysis::normalize::normalize;
use kiji::analysis::{Analyzer, CharIndex};

/// (sentence index, spans per policy) of one fold's held-out sentences.
type FoldPredictions = Vec<(usize, Vec<Vec<Span>>, Option<String>)>;

struct Options {
    folds: usize,
    write: bool,
    c1: f64,
    c2: f64,
    iterations: usize,
    minfreq: f64,
    export_gold: Option<PathBuf>,
    data: PathBuf,
    /// Where fold models are kept and reused (`--folds-dir`): a policy
    /// experiment then needs no retraining.
    folds_dir: Option<PathBuf>,
    /// `--dump FILE`: every scored sentence with its gold, rule and model
    /// spans, the shipped policy's and the index's (addresses in units),
    /// as JSONL, for error analysis.
    dump: Option<PathBuf>,
    /// `--features base|all`: the feature templates trained on.
    templates: features::TemplateSet,
    /// `--export-features FILE`: every sentence of every set with its
    /// code-point spans, attributes and labels (JSONL), for `train/ner/train.py`.
    export_features: Option<PathBuf>,
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn path_arg(args: &[String], name: &str) -> Option<PathBuf> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let opts = Options {
        folds: arg(&args, "--cv", 5),
        write: !args.iter().any(|a| a == "--no-write"),
        c1: arg(&args, "--c1", 0.05),
        c2: arg(&args, "--c2", 0.01),
        iterations: arg(&args, "--iterations", 100),
        minfreq: arg(&args, "--minfreq", 1.0),
        export_gold: args
            .iter()
            .position(|a| a == "--export-gold")
            .and_then(|i| args.get(i + 1))
            .map(PathBuf::from),
        data: arg(&args, "--data", PathBuf::from("train/ner/data.txt")),
        folds_dir: path_arg(&args, "--folds-dir"),
        dump: path_arg(&args, "--dump"),
        export_features: path_arg(&args, "--export-features"),
        templates: {
            let name: String = arg(&args, "--features", "base".to_string());
            features::TemplateSet::parse(&name)
                .ok_or_else(|| anyhow::anyhow!("--features {name}: base or all"))?
        },
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/corpus/wikinews/articles.jsonl");
    if args.iter().any(|a| a == "--facets") {
        return facets(&root, &corpus);
    }
    if let Some(out) = &opts.export_gold {
        let news = news_gold(&root, &corpus)?;
        let lines: Vec<String> = news.iter().map(sentence_json).collect();
        std::fs::write(out, lines.join("\n") + "\n")?;
        println!("wrote {} gold sentences to {}", news.len(), out.display());
        return Ok(());
    }

    // train/ner/data.txt: `weight<TAB>path`; the first line is the set
    // scored by cross-validation.
    let list = std::fs::read_to_string(root.join(&opts.data))?;
    let mut sets: Vec<(f64, Vec<Sentence>, String)> = Vec::new();
    for line in list
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (w, p) = line.split_once('\t').unwrap_or(("1", line));
        let path = root.join(p.trim());
        if !path.is_file() {
            eprintln!("SKIPPED: training data {} is missing", path.display());
            return Ok(());
        }
        sets.push((
            w.trim().parse()?,
            gold::read_jsonl(&path)?,
            p.trim().to_string(),
        ));
    }
    anyhow::ensure!(!sets.is_empty(), "train/ner/data.txt lists no data");

    let analyzer = Analyzer::with_parts(Gazetteer::load(None)?, None, Default::default())?;
    let prepare = |s: &Sentence| prepare(&analyzer, s, opts.templates);
    let t = std::time::Instant::now();
    let prepared: Vec<Vec<Prepared>> = sets
        .iter()
        .map(|(_, ss, _)| ss.iter().map(prepare).collect())
        .collect();
    eprintln!("features in {:.1} s", t.elapsed().as_secs_f64());
    for (w, ss, p) in &sets {
        eprintln!("  {p}: {} sentences, weight {w}", ss.len());
    }
    if let Some(path) = &opts.export_features {
        let mut out = String::new();
        for (n, items) in prepared.iter().enumerate() {
            for (i, p) in items.iter().enumerate() {
                let attrs: Vec<Vec<&str>> = p
                    .xseq
                    .iter()
                    .map(|x| x.iter().map(|a| a.name.as_str()).collect())
                    .collect();
                out.push_str(&serde_json::to_string(&serde_json::json!({
                    "set": n, "i": i, "x": attrs, "y": p.labels,
                    "spans": p.spans,
                }))?);
                out.push('\n');
            }
        }
        std::fs::write(path, out)?;
        eprintln!("wrote features to {}", path.display());
        return Ok(());
    }

    let news = if corpus.is_file() {
        Some(news_gold(&root, &corpus)?)
    } else {
        eprintln!("(no Wikinews corpus: the news gold check is skipped)");
        None
    };

    let scored = &sets[0].1;
    let mut dump: Vec<String> = Vec::new();
    if opts.folds > 1 {
        let tmp = tempfile::tempdir()?;
        let results: Vec<anyhow::Result<FoldPredictions>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..opts.folds)
                .map(|k| {
                    let (sets, prepared, analyzer, opts, tmp) =
                        (&sets, &prepared, &analyzer, &opts, tmp.path());
                    scope.spawn(move || -> anyhow::Result<FoldPredictions> {
                        let dir = opts.folds_dir.as_deref().unwrap_or(tmp);
                        let path = dir.join(format!("fold{k}.crfsuite"));
                        if !path.is_file() {
                            std::fs::create_dir_all(dir)?;
                            train(sets, prepared, opts, Some(k), &path)?;
                        }
                        let rec: &'static Recognizer =
                            Box::leak(Box::new(Recognizer::from_file(&path, "fold")?));
                        Ok(sets[0]
                            .1
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| i % opts.folds == k)
                            .map(|(i, s)| {
                                let line = opts
                                    .dump
                                    .is_some()
                                    .then(|| dump_line(analyzer, rec, s, "cv"));
                                (i, predict(analyzer, Some(rec), &s.text), line)
                            })
                            .collect())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("fold thread"))
                .collect()
        });
        let mut by_policy: Vec<Vec<Vec<Span>>> =
            vec![vec![Vec::new(); scored.len()]; Policy::ALL.len()];
        for fold in results {
            for (i, per_policy, line) in fold? {
                dump.extend(line);
                for (p, spans) in per_policy.into_iter().enumerate() {
                    by_policy[p][i] = spans;
                }
            }
        }
        println!("# {}-fold cross-validation on {}", opts.folds, sets[0].2);
        for (p, policy) in Policy::ALL.iter().enumerate() {
            let report = gold::score(scored, &by_policy[p]);
            println!("\n## policy {}{}", policy.name(), summary(&report));
            if matches!(policy, Policy::Hybrid(_)) {
                print!("{}", report.render());
            }
        }
    }

    let out = root.join("data/ner.crfsuite");
    let given = args
        .iter()
        .position(|a| a == "--model")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let tmp_out = match &given {
        Some(p) => p.clone(),
        None => {
            let tmp_out = std::env::temp_dir().join("kiji-ner-full.crfsuite");
            let t = std::time::Instant::now();
            train(&sets, &prepared, &opts, None, &tmp_out)?;
            eprintln!("full model trained in {:.1} s", t.elapsed().as_secs_f64());
            tmp_out
        }
    };
    let rec: &'static Recognizer = Box::leak(Box::new(Recognizer::from_file(&tmp_out, "full")?));
    if let Some(news) = &news {
        let preds: Vec<Vec<Vec<Span>>> = news
            .iter()
            .map(|s| predict(&analyzer, Some(rec), &s.text))
            .collect();
        if opts.dump.is_some() {
            dump.extend(news.iter().map(|s| dump_line(&analyzer, rec, s, "gold")));
        }
        println!("\n# news gold (tests/gold, never trained on), full model");
        for (p, policy) in Policy::ALL.iter().enumerate() {
            let per: Vec<Vec<Span>> = preds.iter().map(|x| x[p].clone()).collect();
            let report = gold::score(news, &per);
            println!("\n## policy {}{}", policy.name(), summary(&report));
        }
    }
    if let Some(path) = &opts.dump {
        std::fs::write(path, dump.join("\n") + "\n")?;
        eprintln!("wrote {} sentences to {}", dump.len(), path.display());
    }
    if opts.write && given.is_none() {
        std::fs::copy(&tmp_out, &out)?;
        println!(
            "\nwrote {} ({} bytes)",
            out.display(),
            std::fs::metadata(&out)?.len()
        );
    }
    Ok(())
}

/// The top 30 person / organization / place values (articles per canonical
/// name, title and body, as the facets count them) on the Wikinews corpus,
/// rules alone and with `data/ner.crfsuite`.
fn facets(root: &Path, corpus: &Path) -> anyhow::Result<()> {
    use std::collections::{BTreeSet, HashMap};
    let articles: Vec<(String, String)> = std::fs::read_to_string(corpus)?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["title"].as_str().unwrap_or("").to_string(),
                v["body"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let rec: &'static Recognizer = Box::leak(Box::new(Recognizer::from_file(
        &root.join("data/ner.crfsuite"),
        "shipped",
    )?));
    for (name, recognizer) in [("rules", None), ("model", Some(rec))] {
        let analyzer =
            Analyzer::with_parts(Gazetteer::load(None)?, recognizer, Default::default())?;
        let t = std::time::Instant::now();
        let mut counts: HashMap<(EntityType, String), usize> = HashMap::new();
        for (title, body) in &articles {
            let names: BTreeSet<(EntityType, String)> = analyzer
                .index_mentions(title)
                .into_iter()
                .chain(analyzer.index_mentions(body))
                .map(|m| (m.kind, m.canonical))
                .collect();
            for k in names {
                *counts.entry(k).or_default() += 1;
            }
        }
        println!("# {name} ({:.1} s)", t.elapsed().as_secs_f64());
        for kind in EntityType::ALL {
            let mut top: Vec<(&String, usize)> = counts
                .iter()
                .filter(|((k, _), _)| *k == kind)
                .map(|((_, n), c)| (n, *c))
                .collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let line: Vec<String> = top
                .iter()
                .take(30)
                .map(|(n, c)| format!("{n} {c}"))
                .collect();
            println!("{}: {}", kind.as_str(), line.join(", "));
        }
    }
    Ok(())
}

fn summary(r: &gold::Report) -> String {
    let mut s = String::new();
    for m in [gold::Matching::Exact, gold::Matching::Partial] {
        let c = r.counts(m);
        s.push_str(&format!(
            "\n  {:?}: micro {:.1} (P {:.1} R {:.1}) | person {:.1} | organization {:.1} | place {:.1}",
            m,
            100.0 * r.micro(m).f1(),
            100.0 * r.micro(m).precision(),
            100.0 * r.micro(m).recall(),
            100.0 * c[0].f1(),
            100.0 * c[1].f1(),
            100.0 * c[2].f1()
        ));
    }
    s
}

/// A sentence's features and labels.
struct Prepared {
    xseq: Vec<Vec<crfs::Attribute>>,
    labels: Vec<String>,
    /// Code-point range of each morpheme in the sentence.
    spans: Vec<(usize, usize)>,
}

fn prepare(analyzer: &Analyzer, s: &Sentence, templates: features::TemplateSet) -> Prepared {
    let norm = normalize(&s.text);
    let ms = analyzer.morphemes(&norm.text);
    let rules = entities::extract(&norm.text, &ms, analyzer.gazetteer());
    let xseq = features::features(&norm.text, &ms, &rules, analyzer.gazetteer(), templates);
    let idx = CharIndex::new(&s.text);
    let mut labels = Vec::with_capacity(ms.len());
    let mut spans = Vec::with_capacity(ms.len());
    let mut previous: Option<usize> = None;
    for m in &ms {
        let (bs, be) = norm.original_range(m.start, m.end);
        let (cs, ce) = (idx.at(bs), idx.at(be));
        spans.push((cs, ce));
        let inside = s
            .entities
            .iter()
            .position(|g| cs >= g.start && ce <= g.end && ce > cs);
        match inside {
            Some(g) => {
                labels.push(label(previous != Some(g), s.entities[g].kind));
                previous = Some(g);
            }
            None => {
                labels.push("O".to_string());
                previous = None;
            }
        }
    }
    Prepared {
        xseq,
        labels,
        spans,
    }
}

/// Trains on every set (without fold `held_out` of the first) into `path`.
fn train(
    sets: &[(f64, Vec<Sentence>, String)],
    prepared: &[Vec<Prepared>],
    opts: &Options,
    held_out: Option<usize>,
    path: &Path,
) -> anyhow::Result<()> {
    let mut trainer = Trainer::lbfgs();
    trainer.verbose(held_out.is_none() && std::env::var_os("KIJI_TRAIN_VERBOSE").is_some());
    trainer.params_mut().set_c1(opts.c1)?;
    trainer.params_mut().set_c2(opts.c2)?;
    trainer.params_mut().set_max_iterations(opts.iterations)?;
    trainer.set_feature_minfreq(opts.minfreq)?;
    for (n, ((weight, _, _), items)) in sets.iter().zip(prepared).enumerate() {
        if *weight <= 0.0 {
            continue;
        }
        for (i, p) in items.iter().enumerate() {
            if n == 0 && held_out.is_some_and(|k| i % opts.folds == k) {
                continue;
            }
            if p.xseq.is_empty() {
                continue;
            }
            trainer.append_with_weight(&p.xseq, &p.labels, *weight)?;
        }
    }
    trainer.train(path)?;
    Ok(())
}

/// Spans of `text` under every policy (code points), in [`Policy::ALL`] order.
fn predict(analyzer: &Analyzer, rec: Option<&Recognizer>, text: &str) -> Vec<Vec<Span>> {
    let norm = normalize(text);
    let ms = analyzer.morphemes(&norm.text);
    let gaz = analyzer.gazetteer();
    let rules = entities::extract(&norm.text, &ms, gaz);
    let model = rec
        .map(|r| r.tag(&norm.text, &ms, &rules, gaz))
        .unwrap_or_default();
    let idx = CharIndex::new(text);
    let to_span = |m: &Mention| {
        let (s, e) = norm.original_range(m.start, m.end);
        Span {
            start: idx.at(s),
            end: idx.at(e),
            kind: m.kind,
        }
    };
    Policy::ALL
        .iter()
        .map(|p| {
            combine(&norm.text, rules.clone(), model.clone(), *p)
                .iter()
                .map(to_span)
                .collect()
        })
        .collect()
}

/// One sentence for error analysis: gold spans, rule spans (`precise`:
/// gazetteer, suffix or abbreviation rule), model spans, what kiji keeps of
/// them (`shipped`: the default policy) and the morphemes (code points,
/// part of speech).
fn dump_line(analyzer: &Analyzer, rec: &Recognizer, s: &Sentence, set: &str) -> String {
    let norm = normalize(&s.text);
    let ms = analyzer.morphemes(&norm.text);
    let gaz = analyzer.gazetteer();
    let rules = entities::extract(&norm.text, &ms, gaz);
    let model = rec.tag(&norm.text, &ms, &rules, gaz);
    let idx = CharIndex::new(&s.text);
    let cp = |a: usize, b: usize| {
        let (s, e) = norm.original_range(a, b);
        (idx.at(s), idx.at(e))
    };
    let mention = |m: &Mention| {
        let (start, end) = cp(m.start, m.end);
        serde_json::json!({"start": start, "end": end, "type": m.kind.as_str(),
            "precise": !m.by_pos, "canonical": m.canonical})
    };
    let tokens: Vec<serde_json::Value> = ms
        .iter()
        .map(|m| {
            let (start, end) = cp(m.start, m.end);
            let pos: Vec<&str> = (0..4).map(|l| m.details.get(l).unwrap_or("*")).collect();
            serde_json::json!({"start": start, "end": end, "pos": pos.join(","), "unk": m.unknown})
        })
        .collect();
    serde_json::json!({
        "set": set,
        "text": s.text,
        "gold": s.entities.iter().map(|e| serde_json::json!({"start": e.start, "end": e.end, "type": e.kind.as_str()})).collect::<Vec<_>>(),
        "ignore": s.ignore.iter().map(|e| serde_json::json!({"start": e.start, "end": e.end})).collect::<Vec<_>>(),
        "rules": rules.iter().map(mention).collect::<Vec<_>>(),
        "model": model.iter().map(mention).collect::<Vec<_>>(),
        "shipped": combine(&norm.text, rules.clone(), model.clone(), Policy::Hybrid(Addresses::default())).iter().map(mention).collect::<Vec<_>>(),
        "index": combine(&norm.text, rules.clone(), model.clone(), Policy::Hybrid(Addresses::Parts)).iter().map(mention).collect::<Vec<_>>(),
        "tokens": tokens,
    })
    .to_string()
}

fn sentence_json(s: &Sentence) -> String {
    serde_json::json!({
        "text": s.text,
        "entities": s.entities.iter().map(|e| serde_json::json!({
            "start": e.start, "end": e.end, "type": e.kind.as_str(),
            "text": s.text.chars().skip(e.start).take(e.end - e.start).collect::<String>(),
        })).collect::<Vec<_>>(),
        "ignore": [],
    })
    .to_string()
}

/// `tests/gold` (sentences of Wikinews articles + their entities) as gold sentences.
fn news_gold(root: &Path, corpus: &Path) -> anyhow::Result<Vec<Sentence>> {
    let kiji::analysis::eval::NewsGold {
        bodies,
        sentences,
        entities,
    } = kiji::analysis::eval::NewsGold::read(root, corpus)?;
    let mut out = Vec::new();
    for s in sentences {
        let (doc, start, end): (&str, usize, usize) = (&s[0], s[1].parse()?, s[2].parse()?);
        let chars = bodies
            .get(doc)
            .ok_or_else(|| anyhow::anyhow!("no article {doc} in the corpus"))?;
        let text: String = chars[start..end].iter().collect();
        let spans = entities
            .iter()
            .filter(|e| e[0] == doc)
            .filter_map(|e| {
                let (es, ee): (usize, usize) = (e[1].parse().ok()?, e[2].parse().ok()?);
                (es >= start && ee <= end).then(|| Span {
                    start: es - start,
                    end: ee - start,
                    kind: EntityType::parse(&e[3]).expect("gold type"),
                })
            })
            .collect();
        out.push(Sentence {
            text,
            entities: spans,
            ignore: Vec::new(),
        });
    }
    Ok(out)
}
