//! One word alone, scored a window of documents at a time.
//!
//! A word searched alone matches as the union of its BM25F clauses (the
//! word over the title, body and lead; its bigram over the title's and
//! body's bigrams: [`super::ranked::RankedMatch`] without `matching`). At a
//! million articles a common word matches 70 % of them, and scoring them
//! one at a time through the union's and each clause's `advance`, `doc`
//! and `score` was most of a search's time. Here, as in tantivy's buffered
//! union, each clause's postings are read into a window of 4,096 documents
//! (a bitset of the matches and each match's weighted term frequency) and
//! the window's matches are then scored in document order, their field
//! lengths read from tables of the weighted length of each length code.
//!
//! The arithmetic is the scorers' own, in the same order, so the scores
//! are the same bit for bit (a test compares them); `scorer` and `explain`
//! are the union's.

use tantivy::fieldnorm::FieldNormReader;
use tantivy::postings::Postings;
use tantivy::query::{Explanation, Scorer, Weight};
use tantivy::{COLLECT_BLOCK_BUFFER_LEN, DocId, DocSet, Score, SegmentReader, TERMINATED};

use super::bm25f::{Bm25fScorer, Bm25fWeight};
use super::ranked::UnionWeight;

/// Documents in a window.
const WINDOW: usize = 4096;
const WORDS: usize = WINDOW / 64;

/// The union of BM25F clauses, matching and scoring as [`UnionWeight`] of
/// them does.
pub(super) struct Bm25fUnionWeight {
    pub(super) union: UnionWeight,
    pub(super) clauses: Vec<Bm25fWeight>,
}

impl Bm25fUnionWeight {
    fn clauses(&self, reader: &SegmentReader) -> tantivy::Result<Vec<Clause>> {
        self.clauses
            .iter()
            .map(|w| Ok(Clause::new(w.bm25f_scorer(reader, 1.0)?)))
            .collect()
    }
}

impl Weight for Bm25fUnionWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        self.union.scorer(reader, boost)
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.union.explain(reader, doc)
    }

    fn count(&self, reader: &SegmentReader) -> tantivy::Result<u32> {
        let mut n = 0;
        let alive = reader.alive_bitset();
        windows::<false>(&mut self.clauses(reader)?, |doc, _| {
            n += u32::from(alive.is_none_or(|a| a.is_alive(doc)));
        });
        Ok(n)
    }

    fn for_each(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score),
    ) -> tantivy::Result<()> {
        windows::<true>(&mut self.clauses(reader)?, callback);
        Ok(())
    }

    fn for_each_no_score(
        &self,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(&[DocId]),
    ) -> tantivy::Result<()> {
        let mut buffer = [0; COLLECT_BLOCK_BUFFER_LEN];
        let mut len = 0;
        windows::<false>(&mut self.clauses(reader)?, |doc, _| {
            buffer[len] = doc;
            len += 1;
            if len == buffer.len() {
                callback(&buffer);
                len = 0;
            }
        });
        if len > 0 {
            callback(&buffer[..len]);
        }
        Ok(())
    }

    fn for_each_pruning(
        &self,
        mut threshold: Score,
        reader: &SegmentReader,
        callback: &mut dyn FnMut(DocId, Score) -> Score,
    ) -> tantivy::Result<()> {
        windows::<true>(&mut self.clauses(reader)?, |doc, score| {
            if score > threshold {
                threshold = callback(doc, score);
            }
        });
        Ok(())
    }
}

/// One clause's scorer with its window.
struct Clause {
    scorer: Bm25fScorer,
    /// Per field: the weighted length of each length code.
    lengths: Vec<(FieldNormReader, Box<[f32; 256]>)>,
    /// The window's matches of this clause.
    hits: [u64; WORDS],
    /// Their weighted term frequencies (0 elsewhere).
    tf: Box<[f32; WINDOW]>,
}

impl Clause {
    fn new(scorer: Bm25fScorer) -> Clause {
        let lengths = scorer
            .norms
            .iter()
            .map(|(reader, w)| {
                let table: [f32; 256] =
                    std::array::from_fn(|id| w * FieldNormReader::id_to_fieldnorm(id as u8) as f32);
                (reader.clone(), Box::new(table))
            })
            .collect();
        Clause {
            scorer,
            lengths,
            hits: [0; WORDS],
            tf: Box::new([0.0; WINDOW]),
        }
    }

    /// The clause's next document not yet in a window.
    fn doc(&self) -> DocId {
        self.scorer
            .postings
            .iter()
            .map(|(p, _)| p.doc())
            .min()
            .unwrap_or(TERMINATED)
    }

    /// Reads the clause's matches in `[base, base + WINDOW)` into its
    /// window (with their term frequencies when `SCORED`) and `union`.
    fn fill<const SCORED: bool>(&mut self, base: DocId, union: &mut [u64; WORDS]) {
        let end = base + WINDOW as DocId;
        for (postings, w) in &mut self.scorer.postings {
            let mut doc = postings.doc();
            while doc < end {
                let i = (doc - base) as usize;
                let bit = 1u64 << (i % 64);
                union[i / 64] |= bit;
                if SCORED {
                    self.hits[i / 64] |= bit;
                    self.tf[i] += *w * postings.term_freq() as f32;
                }
                doc = postings.advance();
            }
        }
    }

    /// The score of window position `i` (document `doc`) when the clause
    /// matches there; clears the position.
    #[inline]
    fn take(&mut self, i: usize, doc: DocId) -> Option<Score> {
        let bit = 1u64 << (i % 64);
        if self.hits[i / 64] & bit == 0 {
            return None;
        }
        self.hits[i / 64] &= !bit;
        let tf = std::mem::take(&mut self.tf[i]);
        let mut len = 0.0;
        for (reader, table) in &self.lengths {
            len += table[reader.fieldnorm_id(doc) as usize];
        }
        Some(self.scorer.score_of(tf, len))
    }
}

/// Calls `visit` with every document any of `clauses` matches, in order,
/// and (when `SCORED`; 0 otherwise) the sum of the clauses' scores there in
/// clause order.
fn windows<const SCORED: bool>(clauses: &mut [Clause], mut visit: impl FnMut(DocId, Score)) {
    let mut union = [0u64; WORDS];
    loop {
        let base = clauses.iter().map(Clause::doc).min().unwrap_or(TERMINATED);
        if base == TERMINATED {
            return;
        }
        for c in clauses.iter_mut() {
            c.fill::<SCORED>(base, &mut union);
        }
        for (w, word) in union.iter_mut().enumerate() {
            let mut bits = std::mem::take(word);
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let doc = base + i as DocId;
                let mut score = 0.0;
                if SCORED {
                    for c in clauses.iter_mut() {
                        if let Some(s) = c.take(i, doc) {
                            score += s;
                        }
                    }
                }
                visit(doc, score);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use tantivy::query::{EnableScoring, Query};
    use tantivy::schema::{Schema, TEXT};
    use tantivy::{Index, TantivyDocument, Term};

    use super::*;
    use crate::search::query::bm25f::Bm25fQuery;

    /// Every path through the windows (scored, pruned, unscored, counted)
    /// gives what walking the union's scorer gives, bit for bit, over
    /// several windows, three segments and deleted documents.
    #[test]
    fn windows_score_as_the_union_scorer() {
        let mut builder = Schema::builder();
        let title = builder.add_text_field("title", TEXT);
        let body = builder.add_text_field("body", TEXT);
        let lead = builder.add_text_field("lead", TEXT);
        let id = builder.add_u64_field("id", tantivy::schema::INDEXED);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 15_000_000).unwrap();
        for i in 0..15_000u64 {
            let mut doc = TantivyDocument::default();
            let word = |k: u64, w: &str| (0..(i * k % 5)).map(|_| w).collect::<Vec<_>>().join(" ");
            doc.add_text(title, format!("{} t{}", word(3, "a"), i % 7));
            let filler = "x ".repeat((i % 41) as usize);
            doc.add_text(
                body,
                format!("{} {filler} {} y", word(7, "a"), word(11, "b")),
            );
            if i % 3 == 0 {
                doc.add_text(lead, format!("{} z", word(13, "b")));
            }
            doc.add_u64(id, i);
            writer.add_document(doc).unwrap();
            if i == 9_000 || i == 13_000 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        for gone in [17u64, 4_101, 9_999, 14_001] {
            writer.delete_term(Term::from_field_u64(id, gone));
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert_eq!(searcher.segment_readers().len(), 3);
        let clauses = [
            Bm25fQuery::new("a", vec![(title, 2.0), (body, 1.0), (lead, 1.5)]),
            Bm25fQuery::new("b", vec![(body, 1.0), (lead, 0.5)]).boosted(0.3),
        ];
        let scoring = EnableScoring::enabled_from_searcher(&searcher);
        let weight = Bm25fUnionWeight {
            union: UnionWeight::new(clauses.iter().map(|q| q.weight(scoring).unwrap()).collect()),
            clauses: clauses
                .iter()
                .map(|q| q.bm25f_weight(scoring).unwrap())
                .collect(),
        };
        let mut total = 0;
        let mut longest = 0;
        for reader in searcher.segment_readers() {
            let mut walked = Vec::new();
            let mut scorer = weight.scorer(reader, 1.0).unwrap();
            while scorer.doc() != TERMINATED {
                walked.push((scorer.doc(), scorer.score()));
                scorer.advance();
            }
            longest = longest.max(walked.last().map_or(0, |(d, _)| *d as usize));
            assert!(walked.iter().any(|(_, s)| *s > 0.0));

            let mut scored = Vec::new();
            weight
                .for_each(reader, &mut |d, s| scored.push((d, s)))
                .unwrap();
            assert_eq!(scored, walked);

            let mut docs = Vec::new();
            weight
                .for_each_no_score(reader, &mut |ds| docs.extend_from_slice(ds))
                .unwrap();
            assert!(walked.iter().map(|(d, _)| *d).eq(docs));

            // The pruned walk calls back only above the threshold the
            // callback returns (here: the best score so far).
            let mut expected = Vec::new();
            let mut threshold = 0.5;
            for &(d, s) in &walked {
                if s > threshold {
                    expected.push((d, s));
                    threshold = threshold.max(s);
                }
            }
            let mut pruned = Vec::new();
            let mut best = 0.5f32;
            weight
                .for_each_pruning(0.5, reader, &mut |d, s| {
                    pruned.push((d, s));
                    best = best.max(s);
                    best
                })
                .unwrap();
            assert_eq!(pruned, expected);
            assert!(pruned.len() > 1);

            let alive = reader.alive_bitset();
            let count = walked
                .iter()
                .filter(|(d, _)| alive.is_none_or(|a| a.is_alive(*d)))
                .count();
            assert_eq!(weight.count(reader).unwrap() as usize, count);
            total += walked.len() - count;
        }
        assert_eq!(total, 4, "the deleted documents all match");
        assert!(
            longest > 2 * WINDOW,
            "last match {longest}: not three windows"
        );
    }
}
