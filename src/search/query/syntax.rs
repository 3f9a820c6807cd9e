//! The syntax of `q`: what the user wrote as operators, read leniently.
//!
//! * Text separated by spaces: clauses, combined by `op` / `min_match`.
//! * `"a phrase"` (also `＂…＂`): an exact phrase, spaces kept; it may stand
//!   inside other text (`代わって"オシムジャパン"誕生`). A quote without a
//!   partner is an ordinary character.
//! * `-word` at the start of a clause excludes; a `-` alone is ignored.
//! * `a OR b` is either; `title:word` / `body:word` scope a clause to one
//!   field. Any other `name:` is text (`コードネーム: etch`, `URL:…`).
//!
//! Everything else — brackets, colons, question marks — is text, and the
//! analysis ([`super::units`]) drops what is not a word. Only what is clearly
//! syntax can be wrong: an `OR` with nothing on one side, `title:` with
//! nothing after it.

use crate::error::{Error, Result};

/// Which text field a clause searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Any,
    Title,
    Body,
}

/// One clause of the query: natural text, or a quoted phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub text: String,
    pub scope: Scope,
    pub negated: bool,
    /// Written in quotes: one exact phrase, never split into words.
    pub quoted: bool,
}

/// A parsed query: groups combined by `op`; clauses in a group are ORed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedQuery {
    pub groups: Vec<Vec<Clause>>,
}

impl ParsedQuery {
    /// The positive clauses (what snippets highlight).
    pub fn positive(&self) -> impl Iterator<Item = &Clause> {
        self.groups.iter().flatten().filter(|c| !c.negated)
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

fn is_quote(c: char) -> bool {
    matches!(c, '"' | '＂')
}

/// Parses `q`. Errors name the problem and where it is.
pub fn parse(q: &str) -> Result<ParsedQuery> {
    let chars: Vec<char> = q.chars().collect();
    // Quotes that close an earlier quote: only these make phrases.
    let paired = paired_quotes(&chars);
    let mut groups: Vec<Vec<Clause>> = Vec::new();
    let mut pending_or = false;
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_whitespace() {
            i += 1;
            continue;
        }
        // `OR` between two clauses.
        if chars[i] == 'O'
            && chars.get(i + 1) == Some(&'R')
            && chars.get(i + 2).is_none_or(|c| c.is_whitespace())
        {
            if groups.is_empty() || pending_or {
                return Err(Error::InvalidQuery(format!(
                    "`OR` at character {} needs a word before it",
                    i + 1
                )));
            }
            pending_or = true;
            i += 2;
            continue;
        }
        let start = i;
        let minus =
            |i: usize| chars[i] == '-' && chars.get(i + 1).is_some_and(|c| !c.is_whitespace());
        let mut negated = minus(i);
        if negated {
            i += 1;
        }
        let mut scope = Scope::Any;
        let name_end = (i..chars.len())
            .find(|&k| !chars[k].is_ascii_alphabetic())
            .unwrap_or(chars.len());
        if name_end > i && chars.get(name_end) == Some(&':') {
            let name: String = chars[i..name_end].iter().collect();
            let field = match name.to_ascii_lowercase().as_str() {
                "title" => Some(Scope::Title),
                "body" => Some(Scope::Body),
                _ => None,
            };
            if let Some(field) = field {
                if chars.get(name_end + 1).is_none_or(|c| c.is_whitespace()) {
                    return Err(Error::InvalidQuery(format!(
                        "`{name}:` at character {} needs a word or a \"phrase\" after it",
                        start + 1
                    )));
                }
                scope = field;
                i = name_end + 1;
                // `title:-x` excludes as `-title:x` does.
                if !negated && minus(i) {
                    negated = true;
                    i += 1;
                }
            }
        }
        // The clause runs to the next space outside a phrase; a phrase
        // inside it splits it into text / phrase / text.
        let mut pieces: Vec<(String, bool)> = Vec::new();
        let mut text = String::new();
        while i < chars.len() && !chars[i].is_whitespace() {
            if let Some(&close) = paired.get(&i) {
                if !text.is_empty() {
                    pieces.push((std::mem::take(&mut text), false));
                }
                if chars[i + 1..close].iter().all(|c| c.is_whitespace()) {
                    return Err(Error::InvalidQuery(format!(
                        "the phrase at character {} is empty",
                        i + 1
                    )));
                }
                pieces.push((chars[i + 1..close].iter().collect(), true));
                i = close + 1;
                continue;
            }
            text.push(chars[i]);
            i += 1;
        }
        if !text.is_empty() {
            pieces.push((text, false));
        }
        pieces.retain(|(t, _)| !t.trim().is_empty());
        if pieces.is_empty() {
            // A lone `-`: nothing to search for.
            continue;
        }
        if pending_or && negated {
            return Err(Error::InvalidQuery(format!(
                "`OR` before the excluded word at character {} joins nothing: write `a -b` to exclude b",
                start + 1
            )));
        }
        let alternative = pending_or;
        pending_or = false;
        for (n, (text, quoted)) in pieces.into_iter().enumerate() {
            let clause = Clause {
                text,
                scope,
                negated,
                quoted,
            };
            match groups.last_mut() {
                Some(last) if alternative && n == 0 => last.push(clause),
                _ => groups.push(vec![clause]),
            }
        }
    }
    if pending_or {
        return Err(Error::InvalidQuery("`OR` needs a word after it".into()));
    }
    Ok(ParsedQuery { groups })
}

/// Opening quote index → its closing quote, for quotes that pair up (left
/// to right). An opening quote pairs with the next quote; a last quote
/// without a partner stays an ordinary character.
fn paired_quotes(chars: &[char]) -> std::collections::HashMap<usize, usize> {
    let mut pairs = std::collections::HashMap::new();
    let mut open: Option<usize> = None;
    for (k, &c) in chars.iter().enumerate() {
        if !is_quote(c) {
            continue;
        }
        match open.take() {
            Some(o) => {
                pairs.insert(o, k);
            }
            None => open = Some(k),
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clause(text: &str, scope: Scope, negated: bool, quoted: bool) -> Clause {
        Clause {
            text: text.into(),
            scope,
            negated,
            quoted,
        }
    }

    #[test]
    fn parses_the_syntax() {
        let p = parse("北朝鮮 \"ロシア 派兵\" -中国 title:プーチン OR 金正恩").unwrap();
        assert_eq!(
            p.groups,
            vec![
                vec![clause("北朝鮮", Scope::Any, false, false)],
                vec![clause("ロシア 派兵", Scope::Any, false, true)],
                vec![clause("中国", Scope::Any, true, false)],
                vec![
                    clause("プーチン", Scope::Title, false, false),
                    clause("金正恩", Scope::Any, false, false)
                ],
            ]
        );
        assert_eq!(parse("北朝鮮　ロシア").unwrap().groups.len(), 2);
        assert!(parse("   ").unwrap().groups.is_empty());
    }

    #[test]
    fn natural_text_is_read_not_rejected() {
        // A stray quote is a character; a quote pair inside text is a phrase.
        let p = parse("関西テレビで捏造発覚―“納豆現象\"起こした回で").unwrap();
        assert_eq!(p.groups.len(), 1);
        assert!(!p.groups[0][0].quoted);
        let p = parse("ジーコ氏に代わって\"オシムジャパン\"誕生").unwrap();
        let texts: Vec<(&str, bool)> = p
            .groups
            .iter()
            .map(|g| (g[0].text.as_str(), g[0].quoted))
            .collect();
        assert_eq!(
            texts,
            vec![
                ("ジーコ氏に代わって", false),
                ("オシムジャパン", true),
                ("誕生", false)
            ]
        );
        // Colons, a lone dash, brackets.
        let p = parse("Debian 3.0 （コードネーム: woody）が公開されたのは - いつ？").unwrap();
        // The lone `-` stays a clause of text; the analysis finds nothing in it.
        assert_eq!(p.groups.len(), 6);
        assert!(p.groups.iter().flatten().all(|c| !c.negated));
        let p = parse("自民党総裁選:麻生幹事長を選出-6割強の得票").unwrap();
        assert_eq!(p.groups.len(), 1);
        assert_eq!(
            parse("author:誰か").unwrap().groups[0][0].text,
            "author:誰か"
        );
    }

    #[test]
    fn errors_only_for_clear_syntax() {
        let e = parse("title: 北朝鮮").unwrap_err().to_string();
        assert!(e.contains("`title:` at character 1 needs a word"), "{e}");
        assert!(parse("body:").is_err());
        assert!(parse("OR ロシア").is_err());
        assert!(parse("ロシア OR").is_err());
        assert!(parse("ロシア OR OR 中国").is_err());
        assert!(parse("\"北朝鮮 ロシア").is_ok());
        assert!(parse("ab\"c").is_ok());
        let e = parse("北朝鮮 OR -ロシア").unwrap_err().to_string();
        assert!(e.contains("character 8"), "{e}");
        assert!(
            parse("\"\" 北朝鮮")
                .unwrap_err()
                .to_string()
                .contains("is empty")
        );
    }

    #[test]
    fn a_minus_after_a_scope_excludes() {
        assert_eq!(
            parse("title:-北朝鮮").unwrap(),
            parse("-title:北朝鮮").unwrap()
        );
        assert_eq!(
            parse("title:-北朝鮮").unwrap().groups[0],
            vec![clause("北朝鮮", Scope::Title, true, false)]
        );
    }
}
