//! A query that matches without being scored.
//!
//! A search's matching clauses (a unit as its morpheme phrase or exact
//! substring) decide *which* articles match; the ranking clauses score
//! them. tantivy's `ConstScoreQuery` gives a constant score but still builds
//! its inner query with scoring on: a union of term queries then computes a
//! BM25 (term frequencies decoded, field lengths read) for every matching
//! document, only for it to be thrown away — a third of a common word's
//! search time in a million articles. [`Unscored`] builds the inner query
//! with scoring off (unions combine nothing, phrases stop at their first
//! match) and gives every match a score of 0.

use tantivy::query::{ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, Score, SegmentReader, Term};

/// Matches what the inner query matches, with a score of 0.
#[derive(Debug)]
pub struct Unscored(pub Box<dyn Query>);

impl Clone for Unscored {
    fn clone(&self) -> Self {
        Unscored(self.0.box_clone())
    }
}

impl Query for Unscored {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        let off = match enable_scoring.searcher() {
            Some(searcher) => EnableScoring::disabled_from_searcher(searcher),
            None => EnableScoring::disabled_from_schema(enable_scoring.schema()),
        };
        Ok(Box::new(UnscoredWeight(self.0.weight(off)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor);
    }
}

struct UnscoredWeight(Box<dyn Weight>);

impl Weight for UnscoredWeight {
    fn scorer(&self, reader: &SegmentReader, _boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(ConstScorer::new(self.0.scorer(reader, 1.0)?, 0.0)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.0.scorer(reader, 1.0)?;
        super::seek_match(scorer.as_mut(), doc)?;
        Ok(Explanation::new("matches (not scored)", 0.0))
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        self.0.count(reader)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use tantivy::collector::{Count, TopDocs};
    use tantivy::query::TermQuery;
    use tantivy::schema::{IndexRecordOption, STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    use super::*;

    /// Records whether it was asked for a weight with scoring on.
    #[derive(Debug, Clone)]
    struct Probe(TermQuery, Arc<AtomicBool>);

    impl Query for Probe {
        fn weight(&self, e: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
            self.1.store(e.is_scoring_enabled(), Ordering::SeqCst);
            self.0.weight(e)
        }
    }

    #[test]
    fn matches_the_same_documents_scored_zero_without_scoring_the_inner_query() {
        let mut builder = Schema::builder();
        let word = builder.add_text_field("word", STRING);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for w in ["日本", "ロシア", "日本", "北朝鮮", "日本"] {
            let mut doc = TantivyDocument::default();
            doc.add_text(word, w);
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let term = TermQuery::new(
            Term::from_field_text(word, "日本"),
            IndexRecordOption::WithFreqs,
        );
        let scored = Arc::new(AtomicBool::new(false));
        let q = Unscored(Box::new(Probe(term.clone(), scored.clone())));
        let top = searcher
            .search(&q, &TopDocs::with_limit(10).order_by_score())
            .unwrap();
        assert_eq!(top.len(), 3);
        assert!(top.iter().all(|(s, _)| *s == 0.0), "{top:?}");
        assert!(!scored.load(Ordering::SeqCst), "the inner query was scored");
        assert_eq!(
            searcher.search(&q, &Count).unwrap(),
            searcher.search(&term, &Count).unwrap()
        );
    }
}
