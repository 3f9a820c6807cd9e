//! BM25F: a term scored over several fields as if they were one document.
//!
//! Summing one BM25 per field (tantivy's `BooleanQuery` of `TermQuery`s)
//! counts a word twice when it is in the title and the body, and rewards a
//! short title's match more than the body's: an article whose title repeats
//! the query outranks the article that *is* about it. BM25F (Robertson,
//! Zaragoza & Taylor, 2004) adds the fields' weighted term frequencies and
//! lengths first and saturates once:
//!
//! ```text
//! tf  = Σ w_f · tf_f(t, d)          len = Σ w_f · len_f(d)      avg = Σ w_f · avg_len_f
//! score = idf(t) · tf · (k1 + 1) / (tf + k1 · (1 − b + b · len / avg))
//! ```
//!
//! `idf` uses the largest document frequency of the term among the fields
//! (the body's, nearly always: it holds nearly every word of an article).

use std::fmt;

use tantivy::fieldnorm::FieldNormReader;
use tantivy::index::SegmentId;
use tantivy::postings::SegmentPostings;
use tantivy::postings::TermInfo;
use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term};

/// BM25's term-frequency saturation.
pub const K1: f32 = 1.2;
/// BM25's length normalisation.
pub const B: f32 = 0.75;

/// One term (its text) over weighted fields.
#[derive(Clone)]
pub struct Bm25fQuery {
    text: String,
    fields: Vec<(Field, f32)>,
    /// Multiplies the score (as a `BoostQuery` around it would).
    boost: Score,
}

impl fmt::Debug for Bm25fQuery {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "Bm25f({:?} over {} fields, boost {})",
            self.text,
            self.fields.len(),
            self.boost
        )
    }
}

impl Bm25fQuery {
    /// `text` (an indexed term) over `fields` with their weights.
    pub fn new(text: impl Into<String>, fields: Vec<(Field, f32)>) -> Bm25fQuery {
        Bm25fQuery {
            text: text.into(),
            fields,
            boost: 1.0,
        }
    }

    /// The same, its scores multiplied by `boost`.
    pub fn boosted(self, boost: Score) -> Bm25fQuery {
        Bm25fQuery { boost, ..self }
    }

    fn term(&self, field: Field) -> Term {
        Term::from_field_text(field, &self.text)
    }
}

impl Query for Bm25fQuery {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.bm25f_weight(enable_scoring)?))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        // Terms are built per field on demand; nothing borrowable to report.
        let _ = visitor;
    }
}

impl Bm25fQuery {
    /// [`Query::weight`], unboxed.
    pub(super) fn bm25f_weight(
        &self,
        enable_scoring: EnableScoring<'_>,
    ) -> tantivy::Result<Bm25fWeight> {
        let terms: Vec<(Term, f32)> = self
            .fields
            .iter()
            .map(|&(f, w)| (self.term(f), w))
            .collect();
        let mut term_infos = Vec::new();
        let (idf, avg_len) = match enable_scoring {
            EnableScoring::Enabled {
                searcher,
                statistics_provider: stats,
            } => {
                // Each term is looked up once per segment here; the scorers
                // read their postings from these (no second dictionary lookup).
                let mut df = vec![0u64; terms.len()];
                for segment in searcher.segment_readers() {
                    let mut infos = Vec::with_capacity(terms.len());
                    for (i, (term, _)) in terms.iter().enumerate() {
                        let info = segment.inverted_index(term.field())?.get_term_info(term)?;
                        df[i] += info.as_ref().map_or(0, |t| t.doc_freq as u64);
                        infos.push(info);
                    }
                    term_infos.push((segment.segment_id(), infos));
                }
                let docs = stats.total_num_docs()?.max(1) as f32;
                let mut avg_len = 0.0f32;
                for &(field, w) in &self.fields {
                    avg_len += w * stats.total_num_tokens(field)? as f32 / docs;
                }
                let df = df.into_iter().max().unwrap_or(0) as f32;
                (
                    (1.0 + (docs - df + 0.5) / (df + 0.5)).ln(),
                    avg_len.max(1.0),
                )
            }
            EnableScoring::Disabled { .. } => (1.0, 1.0),
        };
        Ok(Bm25fWeight {
            terms,
            term_infos,
            idf,
            avg_len,
            boost: self.boost,
        })
    }
}

#[derive(Clone)]
pub(super) struct Bm25fWeight {
    terms: Vec<(Term, f32)>,
    /// Per segment, each term's dictionary entry (None: not in that segment).
    term_infos: Vec<(SegmentId, Vec<Option<TermInfo>>)>,
    idf: f32,
    avg_len: f32,
    boost: Score,
}

impl Bm25fWeight {
    pub(super) fn bm25f_scorer(
        &self,
        reader: &SegmentReader,
        boost: Score,
    ) -> tantivy::Result<Bm25fScorer> {
        let mut postings = Vec::with_capacity(self.terms.len());
        let mut norms = Vec::with_capacity(self.terms.len());
        let known = self
            .term_infos
            .iter()
            .find(|(id, _)| *id == reader.segment_id())
            .map(|(_, infos)| infos);
        for (i, (term, w)) in self.terms.iter().enumerate() {
            let field = term.field();
            norms.push((reader.get_fieldnorms_reader(field)?, *w));
            let index = reader.inverted_index(field)?;
            let info = match known {
                Some(infos) => infos[i].clone(),
                None => index.get_term_info(term)?,
            };
            if let Some(info) = info {
                postings.push((
                    index.read_postings_from_terminfo(&info, IndexRecordOption::WithFreqs)?,
                    *w,
                ));
            }
        }
        let mut scorer = Bm25fScorer {
            postings,
            norms,
            doc: 0,
            weight: self.idf * (boost * self.boost) * (K1 + 1.0),
            avg_len: self.avg_len,
        };
        scorer.doc = super::union_step(scorer.postings.iter_mut().map(|(p, _)| p), 0, Some(0));
        Ok(scorer)
    }
}

impl Weight for Bm25fWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        Ok(Box::new(self.bm25f_scorer(reader, boost)?))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.bm25f_scorer(reader, 1.0)?;
        super::seek_match(&mut scorer, doc)?;
        Ok(Explanation::new("BM25F", scorer.score()))
    }
}

/// The union of a term's postings in each field, scored by BM25F.
pub(super) struct Bm25fScorer {
    pub(super) postings: Vec<(SegmentPostings, f32)>,
    /// Every field's lengths, with its weight (also fields without the term).
    pub(super) norms: Vec<(FieldNormReader, f32)>,
    doc: DocId,
    /// `idf · boost · (k1 + 1)`.
    weight: f32,
    avg_len: f32,
}

impl Bm25fScorer {
    /// The score of a document with weighted term frequency `tf` and
    /// weighted length `len` (both summed in field order from 0).
    #[inline]
    pub(super) fn score_of(&self, tf: f32, len: f32) -> Score {
        self.weight * tf / (tf + K1 * (1.0 - B + B * len / self.avg_len))
    }
}

impl DocSet for Bm25fScorer {
    fn advance(&mut self) -> DocId {
        let postings = self.postings.iter_mut().map(|(p, _)| p);
        self.doc = super::union_step(postings, self.doc, None);
        self.doc
    }

    fn seek(&mut self, target: DocId) -> DocId {
        let postings = self.postings.iter_mut().map(|(p, _)| p);
        self.doc = super::union_step(postings, self.doc, Some(target));
        self.doc
    }

    fn doc(&self) -> DocId {
        self.doc
    }

    fn size_hint(&self) -> u32 {
        self.postings
            .iter()
            .map(|(p, _)| p.size_hint())
            .max()
            .unwrap_or(0)
    }
}

impl Scorer for Bm25fScorer {
    fn score(&mut self) -> Score {
        let doc = self.doc;
        let tf: f32 = self
            .postings
            .iter()
            .filter(|(p, _)| p.doc() == doc)
            .map(|(p, w)| w * tantivy::postings::Postings::term_freq(p) as f32)
            .sum();
        let len: f32 = self
            .norms
            .iter()
            .map(|(n, w)| w * n.fieldnorm(doc) as f32)
            .sum();
        self.score_of(tf, len)
    }
}
