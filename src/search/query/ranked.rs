//! Matching apart from ranking, at search time too.
//!
//! [`RankedMatch`] matches what its `matching` query matches and scores each
//! match with the sum of its `ranking` queries' scores there — each ranking
//! scorer moved to the match only when a score is asked for it. tantivy's
//! `BooleanQuery` of a `Must` and `Should`s scores the `Should`s as a union
//! that, at each match, refills a window of 4,096 documents and scores
//! *every* document of every clause in it: with a phrase of a few thousand
//! matches among a million articles and a particle (`で`) among its words,
//! nearly every article was scored. Here the work follows the matches.
//!
//! The score is the `BooleanQuery`'s: `0 + Σ` ranking scores in clause order.

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, Term};

/// Matches as `matching` does; scores by the sum of `ranking`.
#[derive(Debug)]
pub struct RankedMatch {
    pub matching: Box<dyn Query>,
    pub ranking: Vec<Box<dyn Query>>,
}

impl Clone for RankedMatch {
    fn clone(&self) -> Self {
        RankedMatch {
            matching: self.matching.box_clone(),
            ranking: self.ranking.iter().map(|q| q.box_clone()).collect(),
        }
    }
}

impl Query for RankedMatch {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let matching = self.matching.weight(enable_scoring)?;
        let ranking = if enable_scoring.is_scoring_enabled() {
            self.ranking
                .iter()
                .map(|q| q.weight(enable_scoring))
                .collect::<tantivy::Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        Ok(Box::new(RankedWeight { matching, ranking }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.matching.query_terms(visitor);
        for q in &self.ranking {
            q.query_terms(visitor);
        }
    }
}

struct RankedWeight {
    matching: Box<dyn Weight>,
    /// Empty when scoring is off.
    ranking: Vec<Box<dyn Weight>>,
}

impl RankedWeight {
    fn ranked_scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<RankedScorer> {
        Ok(RankedScorer {
            matching: self.matching.scorer(reader, boost)?,
            ranking: self
                .ranking
                .iter()
                .map(|w| w.scorer(reader, boost))
                .collect::<tantivy::Result<_>>()?,
        })
    }
}

impl Weight for RankedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        if self.ranking.is_empty() {
            return self.matching.scorer(reader, boost);
        }
        Ok(Box::new(self.ranked_scorer(reader, boost)?))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.ranked_scorer(reader, 1.0)?;
        super::seek_match(&mut scorer, doc)?;
        Ok(Explanation::new("ranked match", scorer.score()))
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.matching.count(reader)
    }
}

struct RankedScorer {
    matching: Box<dyn Scorer>,
    ranking: Vec<Box<dyn Scorer>>,
}

impl DocSet for RankedScorer {
    fn advance(&mut self) -> DocId {
        self.matching.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.matching.seek(target)
    }

    fn doc(&self) -> DocId {
        self.matching.doc()
    }

    fn size_hint(&self) -> u32 {
        self.matching.size_hint()
    }
}

impl Scorer for RankedScorer {
    fn score(&mut self) -> Score {
        let doc = self.matching.doc();
        let mut score = self.matching.score();
        if doc == TERMINATED {
            return score;
        }
        let mut ranked = 0.0;
        for r in &mut self.ranking {
            let at = if r.doc() < doc { r.seek(doc) } else { r.doc() };
            if at == doc {
                ranked += r.score();
            }
        }
        score += ranked;
        score
    }
}

#[cfg(test)]
mod tests {
    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::{BooleanQuery, Occur, TermQuery};
    use tantivy::schema::{IndexRecordOption, STRING, Schema, TEXT};
    use tantivy::{DocAddress, Index, TantivyDocument};

    use super::*;
    use crate::search::query::unscored::Unscored;

    /// Same matches and the same scores, bit for bit, as the `BooleanQuery`
    /// of an unscored `Must` and the ranking `Should`s; nothing matches
    /// through a ranking clause alone.
    #[test]
    fn scores_as_the_boolean_query_over_the_matches_only() {
        let mut builder = Schema::builder();
        let tag = builder.add_text_field("tag", STRING);
        let text = builder.add_text_field("text", TEXT);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..3_000u32 {
            let mut doc = TantivyDocument::default();
            doc.add_text(tag, if i % 97 == 0 { "hit" } else { "miss" });
            let words: Vec<&str> = ["a", "b", "c", "d"]
                .iter()
                .enumerate()
                .filter(|(k, _)| i % (*k as u32 + 2) == 0)
                .map(|(_, w)| *w)
                .collect();
            doc.add_text(text, format!("{} x", words.join(" ")));
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = |f, w: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(f, w),
                IndexRecordOption::WithFreqs,
            ))
        };
        let matching = || -> Box<dyn Query> { Box::new(Unscored(term(tag, "hit"))) };
        let ranking = || Vec::from(["a", "b", "c", "d"].map(|w| term(text, w)));
        let ranked = RankedMatch {
            matching: matching(),
            ranking: ranking(),
        };
        let mut clauses = vec![(Occur::Must, matching())];
        clauses.extend(ranking().into_iter().map(|q| (Occur::Should, q)));
        let boolean = BooleanQuery::new(clauses);
        let top = |q: &dyn Query| -> Vec<(Score, DocAddress)> {
            searcher
                .search(q, &TopDocs::with_limit(100).order_by_score())
                .unwrap()
        };
        let ours = top(&ranked);
        assert_eq!(ours.len(), 31);
        assert_eq!(ours, top(&boolean));
        assert!(ours.iter().any(|(s, _)| *s > 0.0));
        assert_eq!(searcher.search(&ranked, &Count).unwrap(), 31);
        let (score, addr) = ours[0];
        let explained = ranked.explain(&searcher, addr).unwrap();
        assert_eq!(explained.value(), score);
    }
}
