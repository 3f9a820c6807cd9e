//! kiji's text normalisation, exported as rules for an OpenSearch `mapping`
//! char filter, which applies them *before* kuromoji and the bigram
//! tokenizer: the cluster then segments exactly the text kiji segments.
//!
//! # The export hook
//!
//! The rules are not a second copy of the normalisation: they are derived
//! from [`normalize_str`] itself, so whatever `src/analysis/normalize.rs`
//! folds is exported without touching this file, as long as it folds
//!
//! * single characters (NFKC, lower case — and variant folding such as
//!   髙 → 高 or 齋 → 斎): every code point is put through [`normalize_str`],
//!   and each one that changes becomes a rule; and
//! * two-character sequences whose normal form differs from that of their
//!   two characters apart (か + U+3099 → が, ｶﾞ → ガ, or a future ヴァ → バ):
//!   every pair over [`pair_firsts`] × [`pair_seconds`] is tried.
//!
//! A folding that depends on context (e.g. dropping a word-final `ー`) cannot
//! be a mapping rule: add it to [`CONTEXT_RULES`] as a Java regular
//! expression, which becomes a `pattern_replace` char filter after the
//! mapping. `apply` (the mapping char filter's semantics: longest match,
//! left to right, no rescanning) is checked against [`normalize_str`] on
//! real articles, so an export that falls behind the normalisation fails a test.

use crate::analysis::normalize::normalize_str;

/// Folding rules that depend on context, as `(Java regex, replacement)`:
/// exported as `pattern_replace` char filters, in order, after the mapping.
/// One today: the long-vowel marks that end a katakana word of three or
/// more other characters are dropped (`variants`: コンピューター = コンピュータ).
/// [`apply_context`] is the same rule written out, for the tests.
pub const CONTEXT_RULES: &[(&str, &str)] = &[(WORD_FINAL_LONG_VOWEL, "")];

/// `ー`s after three katakana letters (or `ー`s) and before no katakana.
const WORD_FINAL_LONG_VOWEL: &str =
    "(?<=[\\u30A1-\\u30FA\\u30FC]{3})\\u30FC+(?![\\u30A1-\\u30FA\\u30FC])";

/// What the [`CONTEXT_RULES`] `pattern_replace` filters make of `text`,
/// written out by hand (Rust's regex crate has no look-around): each run of
/// `ー` preceded by three katakana letters or `ー`s and followed by no
/// katakana letter is removed.
pub fn apply_context(text: &str) -> String {
    let is_kana = |c: char| matches!(c, '\u{30A1}'..='\u{30FA}' | '\u{30FC}');
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '\u{30FC}' && i >= 3 && chars[i - 3..i].iter().all(|&c| is_kana(c)) {
            let end = (i..chars.len())
                .find(|&k| chars[k] != '\u{30FC}')
                .unwrap_or(chars.len());
            if chars.get(end).is_none_or(|&c| !is_kana(c)) {
                i = end;
                continue;
            }
        }
        out.push(chars[i]);
        i += 1;
    }
    out
}

/// One mapping: `from` (one or two characters) becomes `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub from: String,
    pub to: String,
}

/// First characters of the pairs tried: ASCII letters, kana, half-width katakana.
pub fn pair_firsts() -> impl Iterator<Item = char> {
    ranges(&[
        ('A', 'Z'),
        ('a', 'z'),
        ('\u{3041}', '\u{3096}'),
        ('\u{30A1}', '\u{30FA}'),
        ('\u{FF66}', '\u{FF9D}'),
    ])
}

/// Second characters of the pairs tried: combining marks (Latin accents,
/// kana voicing marks, half-width voicing marks) and kana.
pub fn pair_seconds() -> impl Iterator<Item = char> {
    ranges(&[
        ('\u{0300}', '\u{036F}'),
        ('\u{3041}', '\u{3096}'),
        ('\u{3099}', '\u{309C}'),
        ('\u{30A1}', '\u{30FC}'),
        ('\u{FF9E}', '\u{FF9F}'),
    ])
}

fn ranges(r: &'static [(char, char)]) -> impl Iterator<Item = char> {
    r.iter().flat_map(|&(a, b)| a..=b)
}

/// Every rule of kiji's normalisation, pairs first (sorted within each group).
pub fn rules() -> Vec<Rule> {
    let single = |c: char| normalize_str(c.encode_utf8(&mut [0; 4]));
    let mut pairs = Vec::new();
    let seconds: Vec<(char, String)> = pair_seconds().map(|c| (c, single(c))).collect();
    for a in pair_firsts() {
        let na = single(a);
        for (b, nb) in &seconds {
            let pair: String = [a, *b].iter().collect();
            let together = normalize_str(&pair);
            if together != format!("{na}{nb}") {
                pairs.push(Rule {
                    from: pair,
                    to: together,
                });
            }
        }
    }
    let mut singles = Vec::new();
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let n = single(c);
        if n.chars().ne(std::iter::once(c)) {
            singles.push(Rule {
                from: c.to_string(),
                to: n,
            });
        }
    }
    pairs.sort_by(|a, b| a.from.cmp(&b.from));
    pairs.extend(singles);
    pairs
}

/// A rule in the syntax of OpenSearch's `mapping` char filter
/// (`from => to`). Characters its rule parser would misread or trim
/// (spaces, `=`, `>`, `\`, quotes), invisible ones (combining marks,
/// controls, format characters) and characters outside the Basic
/// Multilingual Plane (as UTF-16 surrogate pairs) are written `\uXXXX`.
pub fn mapping_rule(rule: &Rule) -> String {
    format!("{} => {}", escape(&rule.from), escape(&rule.to))
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let plain = (c as u32) < 0x10000
            && c.is_alphanumeric()
            && !matches!(c, '\u{0300}'..='\u{036F}' | '\u{3099}'..='\u{309A}' | '\u{FF9E}'..='\u{FF9F}');
        if plain {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04X}"));
            }
        }
    }
    out
}

/// What a `mapping` char filter with `rules` makes of `text`: at each
/// position the longest rule that matches is replaced, and the scan goes on
/// after it (the replacement is not scanned again).
pub fn apply(rules: &[Rule], text: &str) -> String {
    let map: rustc_hash::FxHashMap<&str, &str> = rules
        .iter()
        .map(|r| (r.from.as_str(), r.to.as_str()))
        .collect();
    let longest = rules
        .iter()
        .map(|r| r.from.chars().count())
        .max()
        .unwrap_or(1);
    let starts: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i + 1 < starts.len() {
        let found = (1..=longest.min(starts.len() - 1 - i))
            .rev()
            .find_map(|n| map.get(&text[starts[i]..starts[i + n]]).map(|to| (n, *to)));
        match found {
            Some((n, to)) => {
                out.push_str(to);
                i += n;
            }
            None => {
                out.push_str(&text[starts[i]..starts[i + 1]]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn all() -> &'static [Rule] {
        static R: OnceLock<Vec<Rule>> = OnceLock::new();
        R.get_or_init(rules)
    }

    #[test]
    fn reproduces_kiji_normalisation() {
        for text in [
            "ＣＳＩＳ㈱ｶﾞｲﾄﾞの北朝鮮、か\u{3099}ロシア。Putin氏 １２３ ﾊﾟﾝ\u{3000}ゟヿ",
            "Ｇ２０サミット（リオデジャネイロ）で①ＮＡＴＯと㌔",
            "café ｷｬﾝﾍﾟｰﾝ Ⅻ 𝐀𝐁𝐂 ﬁ",
        ] {
            assert_eq!(apply(all(), text), normalize_str(text), "{text}");
        }
    }

    #[test]
    fn pairs_and_singles_are_found() {
        let find = |from: &str| all().iter().find(|r| r.from == from).map(|r| r.to.clone());
        assert_eq!(find("ｶﾞ").as_deref(), Some("ガ"));
        assert_eq!(find("か\u{3099}").as_deref(), Some("が"));
        assert_eq!(find("Ａ").as_deref(), Some("a"));
        assert_eq!(find("㈱").as_deref(), Some("(株)"));
        assert_eq!(find("北"), None);
        assert_eq!(find("a"), None);
    }

    #[test]
    fn rules_escape_what_the_parser_would_misread() {
        let r = |from: &str, to: &str| {
            mapping_rule(&Rule {
                from: from.into(),
                to: to.into(),
            })
        };
        assert_eq!(r("Ａ", "a"), "Ａ => a");
        assert_eq!(r("\u{3000}", " "), "\\u3000 => \\u0020");
        assert_eq!(r("＝", "="), "\\uFF1D => \\u003D");
        assert_eq!(r("か\u{3099}", "が"), "か\\u3099 => が");
        assert_eq!(r("𝐀", "a"), "\\uD835\\uDC00 => a");
    }
}
