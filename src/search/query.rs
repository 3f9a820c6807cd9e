//! The query language of `q`, and its translation into tantivy queries.
//!
//! * Words separated by spaces are ANDed (`op=or`: any of them, ranked).
//! * `"a phrase"` keeps its spaces; `-word` excludes; `a OR b` is either;
//!   `title:word` / `body:word` scope a word to one field.
//! * Each word is analysed exactly like the index, and matches as a phrase of
//!   IPADIC morphemes (boost 2) *or* as a phrase of bigrams (an exact
//!   substring: 北朝 finds 北朝鮮), so whole-word matches rank first.

use tantivy::Term;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::Token;

use crate::analysis::Analyzer;
use crate::analysis::normalize::{normalize, normalize_str};
use crate::analysis::tokenizer::{BigramTokenizer, is_cjk};
use crate::error::{Error, Result};
use crate::index::Fields;

/// Which text field a clause searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Any,
    Title,
    Body,
}

/// One word or phrase of the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub text: String,
    pub scope: Scope,
    pub negated: bool,
}

/// A parsed query: groups ANDed (or ORed with `op=or`); clauses in a group ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    pub groups: Vec<Vec<Clause>>,
}

impl ParsedQuery {
    /// The positive clauses (what snippets highlight).
    pub fn positive(&self) -> impl Iterator<Item = &Clause> {
        self.groups.iter().flatten().filter(|c| !c.negated)
    }
}

/// Parses `q`. Errors name the problem and where it is.
pub fn parse(q: &str) -> Result<ParsedQuery> {
    let chars: Vec<char> = q.chars().collect();
    let mut groups: Vec<Vec<Clause>> = Vec::new();
    let mut pending_or = false;
    let mut i = 0;
    let is_space = |c: char| c.is_whitespace();
    while i < chars.len() {
        if is_space(chars[i]) {
            i += 1;
            continue;
        }
        // OR between two clauses.
        if chars[i] == 'O'
            && chars.get(i + 1) == Some(&'R')
            && chars.get(i + 2).is_none_or(|c| is_space(*c))
        {
            if groups.is_empty() {
                return Err(Error::InvalidQuery("`OR` needs a word before it".into()));
            }
            pending_or = true;
            i += 2;
            continue;
        }
        let start = i;
        let mut negated = false;
        if chars[i] == '-' && chars.get(i + 1).is_some_and(|c| !is_space(*c)) {
            negated = true;
            i += 1;
        }
        let mut scope = Scope::Any;
        let name_end = (i..chars.len())
            .find(|&k| !(chars[k].is_ascii_alphabetic() || chars[k] == '_'))
            .unwrap_or(chars.len());
        if name_end > i && chars.get(name_end) == Some(&':') {
            let name: String = chars[i..name_end].iter().collect();
            scope = match name.to_ascii_lowercase().as_str() {
                "title" => Scope::Title,
                "body" => Scope::Body,
                _ => {
                    return Err(Error::InvalidQuery(format!(
                        "unknown field `{name}:` (fields are `title:` and `body:`)"
                    )));
                }
            };
            i = name_end + 1;
        }
        let text: String = if chars.get(i) == Some(&'"') {
            let close = (i + 1..chars.len())
                .find(|&k| chars[k] == '"')
                .ok_or_else(|| {
                    Error::InvalidQuery(format!(
                        "unbalanced quote: the `\"` at character {} is never closed",
                        i + 1
                    ))
                })?;
            let t = chars[i + 1..close].iter().collect();
            i = close + 1;
            t
        } else {
            let end = (i..chars.len())
                .find(|&k| is_space(chars[k]))
                .unwrap_or(chars.len());
            let t: String = chars[i..end].iter().collect();
            if let Some(k) = t.find('"') {
                return Err(Error::InvalidQuery(format!(
                    "unbalanced quote: the `\"` at character {} is never closed",
                    i + t[..k].chars().count() + 1
                )));
            }
            i = end;
            t
        };
        if text.trim().is_empty() {
            if scope != Scope::Any || start + 1 < i {
                return Err(Error::InvalidQuery(format!(
                    "empty term at character {}",
                    start + 1
                )));
            }
            continue;
        }
        let clause = Clause {
            text,
            scope,
            negated,
        };
        match groups.last_mut() {
            Some(last) if pending_or && !negated => last.push(clause),
            _ => groups.push(vec![clause]),
        }
        pending_or = false;
    }
    if pending_or {
        return Err(Error::InvalidQuery("`OR` needs a word after it".into()));
    }
    Ok(ParsedQuery { groups })
}

/// How positive groups combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Operator {
    #[default]
    And,
    Or,
}

/// Builds tantivy queries from parsed queries.
pub struct QueryBuilder<'a> {
    pub analyzer: &'a Analyzer,
    pub fields: &'a Fields,
}

impl QueryBuilder<'_> {
    /// The tantivy query for a parsed `q` (None when `q` is empty).
    pub fn text_query(&self, parsed: &ParsedQuery, op: Operator) -> Result<Option<Box<dyn Query>>> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let mut positives = 0;
        for group in &parsed.groups {
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            for c in group {
                let q = self.clause_query(c)?;
                if c.negated {
                    clauses.push((Occur::MustNot, q));
                } else {
                    alternatives.push((Occur::Should, q));
                }
            }
            if alternatives.is_empty() {
                continue;
            }
            positives += 1;
            let q: Box<dyn Query> = if alternatives.len() == 1 {
                alternatives.pop().map(|(_, q)| q).expect("one alternative")
            } else {
                Box::new(BooleanQuery::new(alternatives))
            };
            let occur = match op {
                Operator::And => Occur::Must,
                Operator::Or => Occur::Should,
            };
            clauses.push((occur, q));
        }
        if clauses.is_empty() {
            return Ok(None);
        }
        if positives == 0 {
            clauses.push((Occur::Must, Box::new(AllQuery)));
        }
        Ok(Some(Box::new(BooleanQuery::new(clauses))))
    }

    fn clause_query(&self, c: &Clause) -> Result<Box<dyn Query>> {
        let norm = normalize(&c.text);
        let morph = self.analyzer.query_tokens(&norm);
        let bigrams = BigramTokenizer::tokens_of(&norm);
        let f = self.fields;
        let pairs: &[(Field, Field, f32)] = match c.scope {
            Scope::Any => &[(f.title, f.title_bigram, 1.5), (f.body, f.body_bigram, 1.0)],
            Scope::Title => &[(f.title, f.title_bigram, 1.0)],
            Scope::Body => &[(f.body, f.body_bigram, 1.0)],
        };
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for &(morph_field, bigram_field, boost) in pairs {
            if let Some(q) = phrase(morph_field, &morph) {
                should.push((Occur::Should, Box::new(BoostQuery::new(q, 2.0 * boost))));
            }
            if let Some(q) = bigram_query(bigram_field, &bigrams)? {
                should.push((Occur::Should, Box::new(BoostQuery::new(q, boost))));
            }
        }
        if should.is_empty() {
            return Err(Error::InvalidQuery(format!(
                "`{}` has no searchable characters",
                c.text
            )));
        }
        Ok(Box::new(BooleanQuery::new(should)))
    }
}

/// A term, or a phrase of terms at their token positions.
fn phrase(field: Field, tokens: &[Token]) -> Option<Box<dyn Query>> {
    match tokens {
        [] => None,
        [t] => Some(Box::new(TermQuery::new(
            Term::from_field_text(field, &t.text),
            IndexRecordOption::WithFreqs,
        ))),
        [first, ..] => Some(Box::new(PhraseQuery::new_with_offset(
            tokens
                .iter()
                .map(|t| {
                    (
                        t.position - first.position,
                        Term::from_field_text(field, &t.text),
                    )
                })
                .collect(),
        ))),
    }
}

/// Bigram phrase; a single CJK character matches every bigram containing it.
fn bigram_query(field: Field, tokens: &[Token]) -> Result<Option<Box<dyn Query>>> {
    if let [t] = tokens {
        let mut cs = t.text.chars();
        if let (Some(c), None) = (cs.next(), cs.next())
            && is_cjk(c)
        {
            let pattern = format!("{c}.?|.{c}");
            let q = RegexQuery::from_pattern(&pattern, field)
                .map_err(|e| Error::InvalidQuery(format!("cannot search for `{c}`: {e}")))?;
            return Ok(Some(Box::new(q)));
        }
    }
    Ok(phrase(field, tokens))
}

/// The normalised strings snippets highlight for these clauses.
pub fn highlight_terms<'a>(clauses: impl Iterator<Item = &'a Clause>, scope: Scope) -> Vec<String> {
    clauses
        .filter(|c| c.scope == Scope::Any || c.scope == scope)
        .map(|c| normalize_str(&c.text))
        .filter(|t| !t.trim().is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(text: &str, scope: Scope, negated: bool) -> Clause {
        Clause {
            text: text.into(),
            scope,
            negated,
        }
    }

    #[test]
    fn parses_the_syntax() {
        let p = parse("北朝鮮 \"ロシア 派兵\" -中国 title:プーチン OR 金正恩").unwrap();
        assert_eq!(
            p.groups,
            vec![
                vec![clause("北朝鮮", Scope::Any, false)],
                vec![clause("ロシア 派兵", Scope::Any, false)],
                vec![clause("中国", Scope::Any, true)],
                vec![
                    clause("プーチン", Scope::Title, false),
                    clause("金正恩", Scope::Any, false)
                ],
            ]
        );
        assert_eq!(parse("北朝鮮　ロシア").unwrap().groups.len(), 2);
        assert!(parse("   ").unwrap().groups.is_empty());
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse("\"北朝鮮 ロシア").unwrap_err().to_string();
        assert!(e.contains("unbalanced quote"), "{e}");
        let e = parse("author:誰か").unwrap_err().to_string();
        assert!(e.contains("unknown field `author:`"), "{e}");
        assert!(parse("OR ロシア").is_err());
        assert!(parse("ロシア OR").is_err());
        assert!(parse("ab\"c").is_err());
    }
}
