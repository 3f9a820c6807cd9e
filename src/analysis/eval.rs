//! Precision, recall and F1 of entity mentions against a gold standard,
//! per type, for exact spans and for overlapping spans.

use std::collections::BTreeMap;

use serde::Serialize;

use super::gazetteer::EntityType;

/// A mention span: (document key, start, end) in code points, with its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub doc: String,
    pub start: usize,
    pub end: usize,
    pub kind: EntityType,
}

/// Counts and scores for one type under one matching rule.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Score {
    pub gold: usize,
    pub predicted: usize,
    pub matched_gold: usize,
    pub matched_predicted: usize,
}

impl Score {
    pub fn precision(&self) -> f64 {
        ratio(self.matched_predicted, self.predicted)
    }
    pub fn recall(&self) -> f64 {
        ratio(self.matched_gold, self.gold)
    }
    pub fn f1(&self) -> f64 {
        f1(self.precision(), self.recall())
    }
}

/// `a / b`, 0 when `b` is 0.
pub fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The harmonic mean of precision and recall (0 when both are 0).
pub fn f1(precision: f64, recall: f64) -> f64 {
    if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    }
}

/// The news gold set of `tests/gold/`: the annotated sentences
/// (`sentences.tsv`: article id, start, end) and mentions (`entities.tsv`:
/// article id, start, end, type; code points into the article's body), with
/// the bodies of those articles from the Wikinews corpus.
pub struct NewsGold {
    pub bodies: std::collections::HashMap<String, Vec<char>>,
    pub sentences: Vec<Vec<String>>,
    pub entities: Vec<Vec<String>>,
}

impl NewsGold {
    /// Reads `root/tests/gold/*.tsv` and the bodies from the corpus JSONL.
    pub fn read(root: &std::path::Path, corpus: &std::path::Path) -> std::io::Result<NewsGold> {
        let bodies = std::fs::read_to_string(corpus)?
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| {
                (
                    v["id"].as_str().unwrap_or("").to_string(),
                    v["body"].as_str().unwrap_or("").chars().collect(),
                )
            })
            .collect();
        let tsv = |name: &str| -> std::io::Result<Vec<Vec<String>>> {
            Ok(std::fs::read_to_string(root.join("tests/gold").join(name))?
                .lines()
                .skip(1)
                .filter(|l| !l.trim().is_empty())
                .map(|l| l.split('\t').map(String::from).collect())
                .collect())
        };
        Ok(NewsGold {
            bodies,
            sentences: tsv("sentences.tsv")?,
            entities: tsv("entities.tsv")?,
        })
    }
}

/// Scores per type: `(exact, overlap)`.
pub fn score(gold: &[Span], predicted: &[Span]) -> BTreeMap<EntityType, (Score, Score)> {
    let mut out = BTreeMap::new();
    for kind in EntityType::ALL {
        let g: Vec<&Span> = gold.iter().filter(|s| s.kind == kind).collect();
        let p: Vec<&Span> = predicted.iter().filter(|s| s.kind == kind).collect();
        let exact = |a: &Span, b: &Span| a.doc == b.doc && a.start == b.start && a.end == b.end;
        let overlap = |a: &Span, b: &Span| a.doc == b.doc && a.start < b.end && b.start < a.end;
        let count = |same: &dyn Fn(&Span, &Span) -> bool| Score {
            gold: g.len(),
            predicted: p.len(),
            matched_gold: g.iter().filter(|a| p.iter().any(|b| same(a, b))).count(),
            matched_predicted: p.iter().filter(|b| g.iter().any(|a| same(a, b))).count(),
        };
        out.insert(kind, (count(&exact), count(&overlap)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: usize, end: usize) -> Span {
        Span {
            doc: "d".into(),
            start,
            end,
            kind: EntityType::Place,
        }
    }

    #[test]
    fn exact_and_overlap() {
        let s = score(
            &[span(0, 3), span(5, 7)],
            &[span(0, 3), span(5, 6), span(9, 10)],
        );
        let (exact, overlap) = s[&EntityType::Place];
        assert_eq!((exact.matched_gold, exact.matched_predicted), (1, 1));
        assert_eq!((overlap.matched_gold, overlap.matched_predicted), (2, 2));
        assert!((overlap.precision() - 2.0 / 3.0).abs() < 1e-9);
        assert!((overlap.recall() - 1.0).abs() < 1e-9);
    }
}
