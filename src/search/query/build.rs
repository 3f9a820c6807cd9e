//! From an understood query to a tantivy query: what must match, and how
//! matches rank.

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, Occur, PhraseQuery, Query, RegexPhraseQuery, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};

use super::bm25f::Bm25fQuery;
use super::ranked::RankedMatch;
use super::syntax::{Clause, ParsedQuery, Scope};
use super::units::{Unit, phrase_unit, units};
use super::unscored::Unscored;
use crate::analysis::Analyzer;
use crate::analysis::normalize::normalize;
use crate::analysis::tokenizer::{BigramTokenizer, is_cjk, is_indexable};
use crate::error::{Error, Result};
use crate::index::Fields;

/// How many of the query's units a match needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Operator {
    /// Every unit (`op=and`, the default).
    #[default]
    And,
    /// Any unit, ranked (`op=or`).
    Or,
    /// At least this many (`min_match=3`).
    AtLeast(usize),
    /// At least this share, rounded down, and at least one (`min_match=75%`).
    Percent(u8),
}

impl Operator {
    /// Units a document must match, out of `n`.
    pub fn required(self, n: usize) -> usize {
        match self {
            Operator::And => n,
            Operator::Or => 1.min(n),
            Operator::AtLeast(k) => k.min(n),
            Operator::Percent(p) => (n * p as usize / 100).clamp(1.min(n), n),
        }
    }
}

/// The most units a query may have (after repeated ones are dropped): a
/// headline or a question has a dozen or two. Each unit costs the reading of
/// its posting lists (a single CJK character, of every bigram holding it),
/// so a query of hundreds would hold a search thread for seconds.
pub const MAX_UNITS: usize = 64;

/// A clause with its units.
#[derive(Debug, Clone)]
pub struct PlannedClause {
    pub clause: Clause,
    pub units: Vec<Unit>,
}

/// A parsed query, analysed: groups (ORed clauses) of units.
#[derive(Debug, Clone, Default)]
pub struct QueryPlan {
    pub groups: Vec<Vec<PlannedClause>>,
}

impl QueryPlan {
    /// Analyses every clause of `parsed` with the index's analysis.
    pub fn new(analyzer: &Analyzer, parsed: &ParsedQuery) -> Result<QueryPlan> {
        let mut groups = Vec::with_capacity(parsed.groups.len());
        for group in &parsed.groups {
            let mut planned = Vec::with_capacity(group.len());
            for clause in group {
                let mut units = if clause.quoted {
                    phrase_unit(analyzer, &clause.text).into_iter().collect()
                } else {
                    units(analyzer, &clause.text)
                };
                // A unit written twice asks for nothing more.
                let mut seen = std::collections::HashSet::new();
                units.retain(|u| seen.insert(u.text.clone()));
                if units.is_empty() {
                    continue;
                }
                planned.push(PlannedClause {
                    clause: clause.clone(),
                    units,
                });
            }
            let repeated = groups.iter().any(|g: &Vec<PlannedClause>| {
                g.len() == planned.len()
                    && g.iter().zip(&planned).all(|(a, b)| {
                        (a.clause.scope, a.clause.negated) == (b.clause.scope, b.clause.negated)
                            && a.units == b.units
                    })
            });
            if !planned.is_empty() && !repeated {
                groups.push(planned);
            }
        }
        if groups.is_empty() && !parsed.is_empty() {
            return Err(Error::InvalidQuery(
                "the query has no searchable characters".into(),
            ));
        }
        let n: usize = groups.iter().flatten().map(|c| c.units.len()).sum();
        if n > MAX_UNITS {
            return Err(Error::InvalidQuery(format!(
                "the query has {n} distinct words or compounds to search for; at most {MAX_UNITS} are allowed: shorten it"
            )));
        }
        Ok(QueryPlan { groups })
    }

    /// The positive clauses' units (what snippets highlight), with their scope.
    pub fn positive_units(&self) -> impl Iterator<Item = (&Unit, Scope)> {
        self.groups
            .iter()
            .flatten()
            .filter(|c| !c.clause.negated)
            .flat_map(|c| c.units.iter().map(move |u| (u, c.clause.scope)))
    }
}

/// How matches rank: BM25F field weights, and the share of the score that
/// the units' character bigrams add (`[search]` in config.toml).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ranking {
    /// Weight of the title in BM25F.
    pub title: f32,
    /// Weight of the body in BM25F.
    pub body: f32,
    /// Weight of the lead (the body's first sentence), counted again.
    pub lead: f32,
    /// Weight of the BM25F of the units' character bigrams.
    pub bigram: f32,
}

impl Default for Ranking {
    fn default() -> Self {
        Ranking {
            title: 1.0,
            body: 1.0,
            lead: 1.0,
            bigram: 0.2,
        }
    }
}

/// Clauses of a tantivy `BooleanQuery`.
type Clauses = Vec<(Occur, Box<dyn Query>)>;

/// Builds tantivy queries from query plans.
pub struct QueryBuilder<'a> {
    pub analyzer: &'a Analyzer,
    pub fields: &'a Fields,
    pub ranking: &'a Ranking,
}

impl QueryBuilder<'_> {
    /// The tantivy query for a plan (None when the query is empty).
    ///
    /// Matching and ranking are separate: the units decide *which*
    /// articles match (each as its morpheme phrase or exact substring),
    /// without a score of their own; the score is BM25F over title, body
    /// and lead of the units' words, plus a little of the same over their
    /// character bigrams (words IPADIC cuts differently in the article).
    pub fn text_query(&self, plan: &QueryPlan, op: Operator) -> Result<Option<Box<dyn Query>>> {
        // A unit typed alone keeps its exact meaning whatever `op` says.
        let several = plan.positive_units().nth(1).is_some();
        let mut items: Vec<Box<dyn Query>> = Vec::new();
        let mut excluded: Clauses = Vec::new();
        // Each positive unit, its scope, and whether it must match whole
        // (a quoted phrase: with `op=or` too, its words are no way to match
        // on their own, or `"日本の首相"` would find every の).
        let mut positive: Vec<(&Unit, Scope, bool)> = Vec::new();
        for group in &plan.groups {
            let mut alternatives: Clauses = Vec::new();
            for c in group {
                let scope = c.clause.scope;
                if c.clause.negated {
                    excluded.push((Occur::MustNot, self.all_units(&c.units, scope)?));
                    continue;
                }
                let whole = c.clause.quoted;
                positive.extend(c.units.iter().map(|u| (u, scope, whole)));
                if group.len() == 1 {
                    for u in &c.units {
                        if op == Operator::Or && several && !whole {
                            // Its words match through the ranking clauses;
                            // what they miss is the unit as a substring.
                            items.extend(self.substring_query(u, scope)?);
                        } else {
                            items.push(self.unit_query(u, scope)?);
                        }
                    }
                } else {
                    alternatives.push((Occur::Should, self.all_units(&c.units, scope)?));
                }
            }
            if !alternatives.is_empty() {
                items.push(Box::new(BooleanQuery::new(alternatives)));
            }
        }
        if items.is_empty() {
            return Ok((!excluded.is_empty()).then(|| {
                excluded.push((Occur::Must, Box::new(AllQuery)));
                Box::new(BooleanQuery::new(excluded)) as Box<dyn Query>
            }));
        }
        let (words, bigrams) = self.ranking(&positive);
        let required = op.required(items.len());
        let matches: Clauses = items
            .into_iter()
            .map(|q| (Occur::Should, zero(q)))
            .collect();
        // The ranking clauses score the matches only (`RankedMatch`); with
        // `op=or` the words are also a way to match, so they stay in the
        // matching union and only the bigrams are ranking alone.
        let ranked = |matching: Option<Box<dyn Query>>, ranking: Clauses| -> Box<dyn Query> {
            Box::new(RankedMatch {
                matching,
                ranking: ranking.into_iter().map(|(_, q)| q).collect(),
            })
        };
        let query = if let ([(unit, _, _)], 1) = (positive.as_slice(), matches.len())
            && self.ranking_matches_as(unit)
        {
            // One word alone: its ranking clauses match what it matches.
            let mut ranking = words;
            ranking.extend(bigrams);
            ranked(None, ranking)
        } else if op == Operator::Or {
            // Any unit, or any word of one, matches.
            let mut any = matches;
            any.extend(words);
            ranked(
                Some(Box::new(BooleanQuery::with_minimum_required_clauses(
                    any, 1,
                ))),
                bigrams,
            )
        } else {
            let n = matches.len();
            let matching: Box<dyn Query> = if n == 1 {
                matches.into_iter().next().map(|(_, q)| q).expect("one")
            } else if required == n {
                Box::new(BooleanQuery::new(
                    matches.into_iter().map(|(_, q)| (Occur::Must, q)).collect(),
                ))
            } else {
                Box::new(BooleanQuery::with_minimum_required_clauses(
                    matches, required,
                ))
            };
            let mut ranking = words;
            ranking.extend(bigrams);
            ranked(Some(matching), ranking)
        };
        if excluded.is_empty() {
            return Ok(Some(query));
        }
        let mut clauses: Clauses = vec![(Occur::Must, query)];
        clauses.extend(excluded);
        Ok(Some(Box::new(BooleanQuery::new(clauses))))
    }

    /// The ranking clauses: BM25F of each distinct word of the units, and
    /// (weighted by `bigram`) of each distinct character bigram of them.
    fn ranking(&self, units: &[(&Unit, Scope, bool)]) -> (Clauses, Clauses) {
        let f = self.fields;
        let rank = self.ranking;
        let mut seen_words: Vec<(&str, Scope)> = Vec::new();
        let mut seen_bigrams: Vec<(String, Scope)> = Vec::new();
        let mut words: Clauses = Vec::new();
        let mut bigrams: Clauses = Vec::new();
        for &(u, scope, whole) in units {
            let (word_fields, bigram_fields) = match scope {
                Scope::Any => (
                    vec![
                        (f.title, rank.title),
                        (f.body, rank.body),
                        (f.lead, rank.lead),
                    ],
                    vec![(f.title_bigram, rank.title), (f.body_bigram, rank.body)],
                ),
                Scope::Title => (vec![(f.title, 1.0)], vec![(f.title_bigram, 1.0)]),
                Scope::Body => (
                    vec![(f.body, rank.body), (f.lead, rank.lead)],
                    vec![(f.body_bigram, 1.0)],
                ),
            };
            // Ranked by its words (not by the symbols of `7.4` or `5%`).
            let surfaces = u
                .terms
                .iter()
                .map(|(_, t)| t.as_str())
                .filter(|t| is_indexable(t));
            let ranked: Vec<&str> = match &u.base {
                Some(b) => vec![b.as_str()],
                None => surfaces.clone().collect(),
            };
            // The words of a number or Latin word joined by symbols (`7.4`,
            // `1,000人`) rank it, but are no way to match alone with `op=or`
            // (`7` would find `7月4日`): they go with the ranking-only clauses.
            // Nor are the words of a quoted phrase.
            let joined = whole || u.terms.iter().any(|(_, t)| !is_indexable(t));
            for w in ranked {
                if seen_words.contains(&(w, scope)) {
                    continue;
                }
                seen_words.push((w, scope));
                let clause: Box<dyn Query> = Box::new(Bm25fQuery::new(w, word_fields.clone()));
                if joined {
                    bigrams.push((Occur::Should, clause));
                } else {
                    words.push((Occur::Should, clause));
                }
            }
            if rank.bigram <= 0.0 {
                continue;
            }
            for s in surfaces {
                for t in BigramTokenizer::tokens_of(&normalize(s)) {
                    if seen_bigrams
                        .iter()
                        .any(|(b, sc)| *b == t.text && *sc == scope)
                    {
                        continue;
                    }
                    bigrams.push((
                        Occur::Should,
                        Box::new(
                            Bm25fQuery::new(&t.text, bigram_fields.clone()).boosted(rank.bigram),
                        ),
                    ));
                    seen_bigrams.push((t.text, scope));
                }
            }
        }
        (words, bigrams)
    }

    /// Whether the ranking clauses of unit `u` alone ([`Self::ranking`])
    /// match exactly what [`Self::unit_query`] matches: a word of one
    /// morpheme, not inflected, whose normalised text is one bigram token
    /// (not a lone CJK character, which matches as a pattern). Its matches
    /// are then the word in the title or body or its bigram in the title's
    /// or body's bigrams; the ranking clauses read the word there and in the
    /// lead (a part of the body) and the bigram there.
    fn ranking_matches_as(&self, u: &Unit) -> bool {
        let [(_, term)] = u.terms.as_slice() else {
            return false;
        };
        if u.base.is_some() || self.ranking.bigram <= 0.0 {
            return false;
        }
        let unit = BigramTokenizer::tokens_of(&normalize(&u.text));
        let ranked = BigramTokenizer::tokens_of(&normalize(term));
        match (unit.as_slice(), ranked.as_slice()) {
            ([a], [b]) => a.text == b.text && !is_lone_cjk(&a.text),
            _ => false,
        }
    }

    /// Matches when every unit matches.
    fn all_units(&self, units: &[Unit], scope: Scope) -> Result<Box<dyn Query>> {
        if let [u] = units {
            return self.unit_query(u, scope);
        }
        let mut must = Vec::with_capacity(units.len());
        for u in units {
            must.push((Occur::Must, self.unit_query(u, scope)?));
        }
        Ok(Box::new(BooleanQuery::new(must)))
    }

    /// One unit: its morpheme phrase or its exact substring (bigram
    /// phrase); an inflected word also by its dictionary form. A compound of
    /// CJK characters alone matches by its substring, which holds every
    /// match of its morpheme phrase ([`substring_covers_phrase`]).
    fn unit_query(&self, u: &Unit, scope: Scope) -> Result<Box<dyn Query>> {
        let norm = normalize(&u.text);
        let bigrams = BigramTokenizer::tokens_of(&norm);
        let f = self.fields;
        let pairs: &[(Field, Field, f32)] = match scope {
            Scope::Any => &[(f.title, f.title_bigram, 1.0), (f.body, f.body_bigram, 1.0)],
            Scope::Title => &[(f.title, f.title_bigram, 1.0)],
            Scope::Body => &[(f.body, f.body_bigram, 1.0)],
        };
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let substring_covers_phrase = substring_covers_phrase(u, &norm.text);
        for &(morph_field, bigram_field, _) in pairs {
            // An inflected word matches through its dictionary form (every
            // inflection is indexed under it), not its stem's surface: the
            // 着 of 着た is also the counter of 2着.
            if u.base.is_none()
                && !substring_covers_phrase
                && let Some(q) = phrase(morph_field, &u.terms)
            {
                should.push((Occur::Should, q));
            }
            if let Some(base) = &u.base {
                should.push((
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(morph_field, base),
                        IndexRecordOption::Basic,
                    )),
                ));
            }
            if !stem_alone(u, &norm.text) {
                let bigram_terms: Vec<(usize, String)> = bigrams
                    .iter()
                    .map(|t| (t.position, t.text.clone()))
                    .collect();
                if let Some(q) = bigram_query(bigram_field, &bigram_terms)? {
                    should.push((Occur::Should, q));
                }
            }
        }
        if should.is_empty() {
            return Err(Error::InvalidQuery(format!(
                "`{}` has no searchable characters",
                u.text
            )));
        }
        Ok(Box::new(BooleanQuery::new(should)))
    }
}

impl QueryBuilder<'_> {
    /// The unit as an exact substring (its bigram phrase), for `op=or`
    /// (its words match through the ranking clauses).
    fn substring_query(&self, u: &Unit, scope: Scope) -> Result<Option<Box<dyn Query>>> {
        let norm = normalize(&u.text);
        if stem_alone(u, &norm.text) {
            return Ok(None);
        }
        let terms: Vec<(usize, String)> = BigramTokenizer::tokens_of(&norm)
            .into_iter()
            .map(|t| (t.position, t.text))
            .collect();
        let f = self.fields;
        let fields: &[Field] = match scope {
            Scope::Any => &[f.title_bigram, f.body_bigram],
            Scope::Title => &[f.title_bigram],
            Scope::Body => &[f.body_bigram],
        };
        let mut should: Clauses = Vec::new();
        for &field in fields {
            if let Some(q) = bigram_query(field, &terms)? {
                should.push((Occur::Should, q));
            }
        }
        Ok((!should.is_empty()).then(|| Box::new(BooleanQuery::new(should)) as Box<dyn Query>))
    }
}

/// Whether unit `u` (normalised text `norm`) is the one-character stem of an
/// inflected word (見 of 見た, 出 of 出て): as a substring it would be that
/// character wherever it stands (会見, 出身), so it matches as its morpheme
/// and its dictionary form only.
pub fn stem_alone(u: &Unit, norm: &str) -> bool {
    u.base.is_some() && norm.chars().count() == 1
}

/// Whether every article where unit `u`'s morpheme phrase matches also
/// holds its exact substring, so that the bigram phrase alone matches the
/// same articles: a unit of two or more morphemes whose normalised text
/// `norm` is only CJK characters and is its morphemes end to end. Its
/// morphemes side by side in an article are then the same characters side
/// by side, and every two of them are a bigram of that article's run of CJK
/// characters. (Punctuation between the morphemes keeps a position, so the
/// morpheme phrase never matches across it.) The morpheme phrase is left
/// out of the matching for such a unit: at a million articles it was about
/// a tenth of a search for `クニマス` (two morphemes), each segment opening
/// the positions of both words in the title and the body for nothing.
fn substring_covers_phrase(u: &Unit, norm: &str) -> bool {
    u.terms.len() >= 2
        && norm.chars().all(is_cjk)
        && u.terms.iter().enumerate().all(|(i, (p, _))| *p == i)
        && u.terms.iter().map(|(_, t)| t.as_str()).collect::<String>() == norm
}

/// A query that matches as `q` does, with no score of its own.
fn zero(q: Box<dyn Query>) -> Box<dyn Query> {
    Box::new(Unscored(q))
}

/// A term, or a phrase of terms at their positions.
fn phrase(field: Field, terms: &[(usize, String)]) -> Option<Box<dyn Query>> {
    match terms {
        [] => None,
        [(_, t)] => Some(Box::new(TermQuery::new(
            Term::from_field_text(field, t),
            IndexRecordOption::WithFreqs,
        ))),
        [(first, _), ..] => Some(Box::new(PhraseQuery::new_with_offset(
            terms
                .iter()
                .map(|(p, t)| (p - first, Term::from_field_text(field, t)))
                .collect(),
        ))),
    }
}

/// Whether `t` is one CJK character.
fn is_lone_cjk(t: &str) -> bool {
    let mut cs = t.chars();
    matches!((cs.next(), cs.next()), (Some(c), None) if is_cjk(c))
}

/// The pattern (a regex over bigram-view terms) that token `i` of a unit's
/// bigram-view `tokens` matches as, when it is not itself a term: a single
/// CJK character alone is every bigram holding it; one alone at either end
/// of a longer unit (`3月`, `2008年`, `第3`) is, in an article, the first
/// character of a bigram when the article's run of CJK characters goes on
/// after it (`3月頃` is `3` + `月頃`), or the second when it began before
/// (`の第3` is `の第` + `3`): at the unit's end every bigram it starts, at
/// its start every bigram it ends, so the unit finds every article that
/// holds it. Both backends build their substring queries from it.
pub fn edge_pattern(tokens: &[&str], i: usize) -> Option<String> {
    let t = tokens[i];
    if !is_lone_cjk(t) {
        return None;
    }
    let c = regex::escape(t);
    match (tokens.len(), i) {
        (1, _) => Some(format!("{c}.?|.{c}")),
        (_, 0) => Some(format!(".?{c}")),
        (n, i) if i == n - 1 => Some(format!("{c}.?")),
        _ => None,
    }
}

/// The exact substring `terms` (the bigram-view tokens of a unit, with their
/// positions) in `field`: their phrase, with the tokens [`edge_pattern`]
/// gives a pattern as those patterns.
fn bigram_query(field: Field, terms: &[(usize, String)]) -> Result<Option<Box<dyn Query>>> {
    let texts: Vec<&str> = terms.iter().map(|(_, t)| t.as_str()).collect();
    let patterns: Vec<Option<String>> = (0..texts.len()).map(|i| edge_pattern(&texts, i)).collect();
    if patterns.iter().all(Option::is_none) {
        return Ok(phrase(field, terms));
    }
    if let [Some(pattern)] = patterns.as_slice() {
        let q = RegexQuery::from_pattern(pattern, field)
            .map_err(|e| Error::InvalidQuery(format!("cannot search for `{}`: {e}", texts[0])))?;
        return Ok(Some(Box::new(q)));
    }
    let first_at = terms[0].0;
    let phrase: Vec<(usize, String)> = terms
        .iter()
        .zip(patterns)
        .map(|((p, t), pattern)| (p - first_at, pattern.unwrap_or_else(|| regex::escape(t))))
        .collect();
    let mut q = RegexPhraseQuery::new_with_offset(field, phrase);
    // Every bigram a character starts or ends (a few thousand at most):
    // past tantivy's default, the query would fail.
    q.set_max_expansions(u32::MAX);
    Ok(Some(Box::new(q)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_substring_covers_the_phrase_of_a_cjk_compound_only() {
        let analyzer = Analyzer::new(None).unwrap();
        let covers = |q: &str| {
            let us = units(&analyzer, q);
            assert_eq!(us.len(), 1, "{q}");
            substring_covers_phrase(&us[0], &normalize(&us[0].text).text)
        };
        // several morphemes of kana and kanji: the bigram phrase is enough
        for q in ["クニマス", "記者会見", "温暖化対策"] {
            assert!(covers(q), "{q}");
        }
        // one morpheme; Latin or digits in the unit; a joiner between words
        for q in [
            "日本",
            "北海道新聞",
            "G7サミット",
            "東京2020",
            "ジェイ・キャスト",
        ] {
            assert!(!covers(q), "{q}");
        }
    }

    #[test]
    fn a_word_alone_matches_as_its_ranking_clauses() {
        let analyzer = Analyzer::new(None).unwrap();
        let (_, fields) = crate::index::schema::build();
        let alike = |q: &str, ranking: Ranking| {
            let builder = QueryBuilder {
                analyzer: &analyzer,
                fields: &fields,
                ranking: &ranking,
            };
            let us = units(&analyzer, q);
            assert_eq!(us.len(), 1, "{q}");
            builder.ranking_matches_as(&us[0])
        };
        let default = Ranking::default();
        for word in ["日本", "政府", "東京", "AI", "eu"] {
            assert!(alike(word, default), "{word}");
        }
        // several morphemes or bigrams, an inflected word, one CJK character
        for other in [
            "経済産業省",
            "ロシア",
            "クニマス",
            "行った",
            "米",
            "ロ",
            "G7",
        ] {
            assert!(!alike(other, default), "{other}");
        }
        // without the bigrams in the ranking, a bigram match is not ranked
        let words_only = Ranking {
            bigram: 0.0,
            ..default
        };
        assert!(!alike("日本", words_only));
    }
}
