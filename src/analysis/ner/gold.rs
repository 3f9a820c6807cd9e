//! Gold entity files (JSON Lines, one sentence a line:
//! `{"text","entities":[{"start","end","type"}],"ignore":[{"start","end"}]}`,
//! offsets in code points, end exclusive) and their scorer, which counts
//! exactly as `../shared/eval/score_ner.py` does: EXACT (same type and span)
//! and PARTIAL (same type, overlapping spans), each a one-to-one matching
//! found per sentence in the same order (Kuhn's algorithm); an unmatched
//! prediction overlapping an `ignore` span is not a false positive.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::super::gazetteer::EntityType;
use crate::analysis::eval::{f1, ratio};
use crate::error::{Error, Result};

/// A span in code points with its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    #[serde(rename = "type")]
    pub kind: EntityType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct IgnoreSpan {
    pub start: usize,
    pub end: usize,
}

/// One gold sentence.
#[derive(Debug, Clone, Deserialize)]
pub struct Sentence {
    pub text: String,
    #[serde(default)]
    pub entities: Vec<Span>,
    #[serde(default)]
    pub ignore: Vec<IgnoreSpan>,
}

/// Reads a gold JSONL file (blank lines skipped).
pub fn read_jsonl(path: &Path) -> Result<Vec<Sentence>> {
    let bad = |message: String| Error::InvalidBody {
        code: crate::code::ErrorCode::InvalidJson,
        message: format!("{}: {message}", path.display()),
    };
    let text = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
    let text = String::from_utf8(text).map_err(|e| {
        bad(format!(
            "not UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let s: Sentence =
                serde_json::from_str(l).map_err(|e| bad(format!("line {}: {e}", n + 1)))?;
            // Spans are code points into the text, start before end.
            let len = s.text.chars().count();
            let spans = s.entities.iter().map(|e| (e.start, e.end));
            let ignored = s.ignore.iter().map(|e| (e.start, e.end));
            if let Some((a, b)) = spans.chain(ignored).find(|&(a, b)| a >= b || b > len) {
                return Err(bad(format!(
                    "line {}: the span [{a}, {b}) is not inside the text's {len} characters",
                    n + 1
                )));
            }
            Ok(s)
        })
        .collect()
}

/// Runs `analyzer` over every gold sentence (on all cores): the predicted
/// spans, one list per sentence.
pub fn predict(analyzer: &crate::analysis::Analyzer, gold: &[Sentence]) -> Vec<Vec<Span>> {
    use rayon::prelude::*;
    gold.par_iter()
        .map(|s| {
            analyzer
                .entities(&s.text)
                .into_iter()
                .map(|e| Span {
                    start: e.start,
                    end: e.end,
                    kind: e.kind,
                })
                .collect()
        })
        .collect()
}

/// Counts of one type under one matching.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub ignored_fp: usize,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.tp += o.tp;
        self.fp += o.fp;
        self.fn_ += o.fn_;
        self.ignored_fp += o.ignored_fp;
    }
    pub fn gold(&self) -> usize {
        self.tp + self.fn_
    }
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }
}

/// EXACT or PARTIAL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    Exact,
    Partial,
}

/// Counts per type (in [`EntityType::ALL`] order) for both matchings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub sentences: usize,
    pub exact: [Counts; 3],
    pub partial: [Counts; 3],
}

fn type_index(k: EntityType) -> usize {
    EntityType::ALL.iter().position(|t| *t == k).unwrap_or(0)
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Kuhn's maximum matching, in score_ner.py's order; returns which
/// predictions are matched, per gold whether it is.
fn max_matching(
    golds: &[Span],
    preds: &[Span],
    ok: impl Fn(&Span, &Span) -> bool,
) -> (Vec<bool>, Vec<bool>) {
    let adj: Vec<Vec<usize>> = golds
        .iter()
        .map(|g| (0..preds.len()).filter(|&j| ok(g, &preds[j])).collect())
        .collect();
    let mut owner: Vec<Option<usize>> = vec![None; preds.len()];
    fn augment(
        i: usize,
        adj: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &j in &adj[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            if owner[j].is_none_or(|o| augment(o, adj, seen, owner)) {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    for i in 0..golds.len() {
        let mut seen = vec![false; preds.len()];
        augment(i, &adj, &mut seen, &mut owner);
    }
    let mut gold_matched = vec![false; golds.len()];
    for o in owner.iter().flatten() {
        gold_matched[*o] = true;
    }
    (gold_matched, owner.iter().map(Option::is_some).collect())
}

/// Scores predictions (one list per gold sentence, same order).
pub fn score(gold: &[Sentence], predicted: &[Vec<Span>]) -> Report {
    let mut report = Report {
        sentences: gold.len(),
        ..Report::default()
    };
    for (g, p) in gold.iter().zip(predicted) {
        for matching in [Matching::Exact, Matching::Partial] {
            let ok = |a: &Span, b: &Span| match matching {
                Matching::Exact => a == b,
                Matching::Partial => {
                    a.kind == b.kind && overlaps((a.start, a.end), (b.start, b.end))
                }
            };
            let (gm, pm) = max_matching(&g.entities, p, ok);
            let counts = match matching {
                Matching::Exact => &mut report.exact,
                Matching::Partial => &mut report.partial,
            };
            for (e, matched) in g.entities.iter().zip(gm) {
                let c = &mut counts[type_index(e.kind)];
                if matched {
                    c.tp += 1;
                } else {
                    c.fn_ += 1;
                }
            }
            for (e, matched) in p.iter().zip(pm) {
                if matched {
                    continue;
                }
                let c = &mut counts[type_index(e.kind)];
                if g.ignore
                    .iter()
                    .any(|x| overlaps((e.start, e.end), (x.start, x.end)))
                {
                    c.ignored_fp += 1;
                } else {
                    c.fp += 1;
                }
            }
        }
    }
    report
}

impl Report {
    pub fn counts(&self, matching: Matching) -> &[Counts; 3] {
        match matching {
            Matching::Exact => &self.exact,
            Matching::Partial => &self.partial,
        }
    }

    pub fn micro(&self, matching: Matching) -> Counts {
        let mut total = Counts::default();
        for c in self.counts(matching) {
            total.add(*c);
        }
        total
    }

    /// Both tables, laid out as score_ner.py prints them.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (name, matching) in [("EXACT", Matching::Exact), ("PARTIAL", Matching::Partial)] {
            let _ = writeln!(out, "\n{name}");
            let _ = writeln!(
                out,
                "{:<13}{:>6}{:>6}{:>6}{:>6}{:>7}{:>8}{:>8}{:>8}",
                "type", "gold", "TP", "FP", "FN", "ign.FP", "P", "R", "F1"
            );
            let rows = EntityType::ALL
                .iter()
                .map(|k| (k.as_str(), self.counts(matching)[type_index(*k)]))
                .chain([("micro", self.micro(matching))]);
            for (label, c) in rows {
                let _ = writeln!(
                    out,
                    "{:<13}{:>6}{:>6}{:>6}{:>6}{:>7}{:>8.1}{:>8.1}{:>8.1}",
                    label,
                    c.gold(),
                    c.tp,
                    c.fp,
                    c.fn_,
                    c.ignored_fp,
                    100.0 * c.precision(),
                    100.0 * c.recall(),
                    100.0 * c.f1()
                );
            }
        }
        out.push_str("(ign.FP = unmatched predictions overlapping a gold 'ignore' span, not counted as FP)\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize, kind: EntityType) -> Span {
        Span { start, end, kind }
    }

    #[test]
    fn a_gold_file_names_itself_and_its_bad_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.jsonl");
        let err = |lines: &str| {
            std::fs::write(&path, lines).unwrap();
            read_jsonl(&path).unwrap_err().to_string()
        };
        let good = r#"{"text":"露朝","entities":[{"start":0,"end":1,"type":"place"}]}"#;
        std::fs::write(&path, format!("{good}\n\n{good}\n")).unwrap();
        assert_eq!(read_jsonl(&path).unwrap().len(), 2);
        let e = err(&format!(
            "{good}\n{{\"text\":\"露朝\",\"entities\":[{{\"start\":0,\"end\":30,\"type\":\"place\"}}]}}\n"
        ));
        assert!(
            e.contains("g.jsonl: line 2") && e.contains("[0, 30)"),
            "{e}"
        );
        let e = err(r#"{"text":"露朝","ignore":[{"start":1,"end":1}]}"#);
        assert!(e.contains("line 1") && e.contains("[1, 1)"), "{e}");
        assert!(err("{not json").contains("g.jsonl: line 1"));
        let missing = read_jsonl(&dir.path().join("none.jsonl"))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("none.jsonl: cannot read it"), "{missing}");
    }

    #[test]
    fn counts_as_score_ner_does() {
        use EntityType::*;
        let gold = vec![Sentence {
            text: "0123456789".into(),
            entities: vec![span(0, 2, Person), span(3, 5, Place), span(6, 8, Place)],
            ignore: vec![IgnoreSpan { start: 8, end: 10 }],
        }];
        // exact hit, a partial hit, a wrong type, an ignored false positive
        let pred = vec![vec![
            span(0, 2, Person),
            span(3, 4, Place),
            span(6, 8, Organization),
            span(9, 10, Place),
        ]];
        let r = score(&gold, &pred);
        let exact_place = r.exact[type_index(Place)];
        assert_eq!(
            (
                exact_place.tp,
                exact_place.fp,
                exact_place.fn_,
                exact_place.ignored_fp
            ),
            (0, 1, 2, 1)
        );
        let partial_place = r.partial[type_index(Place)];
        assert_eq!(
            (partial_place.tp, partial_place.fp, partial_place.fn_),
            (1, 0, 1)
        );
        assert_eq!(r.micro(Matching::Exact).tp, 1);
        assert_eq!(r.exact[type_index(Organization)].fp, 1);
        assert!(r.render().contains("micro"));
    }

    #[test]
    fn matching_is_one_to_one() {
        use EntityType::*;
        let gold = vec![Sentence {
            text: "0123456789".into(),
            entities: vec![span(0, 4, Place)],
            ignore: vec![],
        }];
        let r = score(&gold, &[vec![span(0, 2, Place), span(2, 4, Place)]]);
        let c = r.partial[type_index(Place)];
        assert_eq!((c.tp, c.fp), (1, 1));
    }
}
