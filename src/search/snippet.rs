//! Snippets that are right for Japanese.
//!
//! * Matches are found on the *normalised* text (so `CSIS`, `csis` and
//!   `ＣＳＩＳ` all match `CSIS`) and mapped back to the original, always on
//!   char boundaries.
//! * A query term is highlighted as one span however many morphemes it has
//!   (北朝鮮の派兵 is one `<mark>`, not 北朝鮮 / の / 派兵), and a substring
//!   match (北朝 inside 北朝鮮) is highlighted too.
//! * Fragments are whole sentences (cut after 。！？ and their closing
//!   brackets) where they fit; sizes are counted in characters, not bytes.
//! * Highlights are returned as `[start, end)` code-point offsets into `text`;
//!   `html` is the escaped text with only the highlight tags added.

use serde::Serialize;
use utoipa::ToSchema;

use crate::analysis::normalize::Normalized;
use crate::analysis::tokenizer::same_word_class;

/// How snippets are cut and marked.
#[derive(Debug, Clone)]
pub struct SnippetOptions {
    /// Fragment size in characters.
    pub fragment_chars: usize,
    /// At most this many fragments.
    pub fragments: usize,
    pub pre_tag: String,
    pub post_tag: String,
}

impl Default for SnippetOptions {
    fn default() -> Self {
        SnippetOptions {
            fragment_chars: 120,
            fragments: 2,
            pre_tag: "<mark>".into(),
            post_tag: "</mark>".into(),
        }
    }
}

/// One fragment of an article with its highlights.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Snippet {
    /// HTML-escaped `text` with the highlight tags added.
    pub html: String,
    /// The fragment, a verbatim substring of the article.
    pub text: String,
    /// `[start, end)` code-point offsets of highlights in `text`.
    pub highlights: Vec<[usize; 2]>,
}

/// Byte ranges of `original` where any of `terms` (normalised) occurs.
/// Runs of Latin letters or digits match whole (`csis` not in `csiss`).
pub fn find_matches(norm: &Normalized, terms: &[String]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let text = norm.text.as_str();
    for term in terms {
        for part in term.split_whitespace() {
            let (Some(first), Some(last)) = (part.chars().next(), part.chars().next_back()) else {
                continue;
            };
            for (at, m) in text.match_indices(part) {
                let end = at + m.len();
                // Latin and digit runs match whole (as the bigram view indexes them).
                let before = text[..at].chars().next_back();
                let after = text[end..].chars().next();
                if before.is_some_and(|c| same_word_class(c, first))
                    || after.is_some_and(|c| same_word_class(c, last))
                {
                    continue;
                }
                out.push(norm.original_range(at, end));
            }
        }
    }
    out
}

/// Sorts spans and merges overlapping or touching ones.
pub fn merge(mut spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    spans.retain(|(s, e)| s < e);
    spans.sort();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// The whole of `text` with `spans` (merged, byte ranges) highlighted.
pub fn highlight(text: &str, spans: &[(usize, usize)], opts: &SnippetOptions) -> Snippet {
    fragment(text, 0, text.len(), spans, opts)
}

fn fragment(
    text: &str,
    from: usize,
    to: usize,
    spans: &[(usize, usize)],
    opts: &SnippetOptions,
) -> Snippet {
    let piece = &text[from..to];
    let mut html = String::with_capacity(piece.len() + 32);
    let mut highlights = Vec::new();
    let mut cursor = from;
    let mut chars_before = 0;
    for &(s, e) in spans {
        let (s, e) = (s.max(from), e.min(to));
        if s >= e || s < cursor {
            continue;
        }
        html.push_str(&html_escape::encode_text(&text[cursor..s]));
        chars_before += text[cursor..s].chars().count();
        let len = text[s..e].chars().count();
        highlights.push([chars_before, chars_before + len]);
        chars_before += len;
        html.push_str(&opts.pre_tag);
        html.push_str(&html_escape::encode_text(&text[s..e]));
        html.push_str(&opts.post_tag);
        cursor = e;
    }
    html.push_str(&html_escape::encode_text(&text[cursor..to]));
    Snippet {
        html,
        text: piece.to_string(),
        highlights,
    }
}

/// Characters that end a sentence.
fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '!' | '?' | '\n')
}

/// Closing brackets and quotes that stay with the sentence they follow.
fn is_closing(c: char) -> bool {
    matches!(c, '」' | '』' | '）' | ')' | '】' | '〕' | '”' | '"')
}

/// Byte ranges of the sentences of `text`, in order, found as they are
/// needed (a snippet near the start of a long article reads only its start).
pub fn sentences(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    let mut iter = text.char_indices().peekable();
    let mut done = false;
    std::iter::from_fn(move || {
        while let Some((i, c)) = iter.next() {
            if !is_sentence_end(c) {
                continue;
            }
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = iter.peek() {
                if !is_closing(n) {
                    break;
                }
                end = j + n.len_utf8();
                iter.next();
            }
            let sentence = (start, end);
            start = end;
            if !text[sentence.0..sentence.1].trim().is_empty() {
                return Some(sentence);
            }
        }
        if done {
            return None;
        }
        done = true;
        (start < text.len() && !text[start..].trim().is_empty()).then_some((start, text.len()))
    })
}

/// Moves `byte` back to the previous char boundary.
fn floor_boundary(text: &str, mut byte: usize) -> usize {
    byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

/// The byte `n` characters after `from` (or the end).
fn advance_chars(text: &str, from: usize, n: usize) -> usize {
    text[from..]
        .char_indices()
        .nth(n)
        .map(|(i, _)| from + i)
        .unwrap_or(text.len())
}

/// The byte `n` characters before `to` (or `floor`).
fn retreat_chars(text: &str, to: usize, n: usize, floor: usize) -> usize {
    text[floor..to]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map(|(i, _)| floor + i)
        .unwrap_or(floor)
}

/// Up to `opts.fragments` fragments of `text` around `spans` (merged byte ranges).
/// With no spans, the opening of the text.
pub fn snippets(text: &str, spans: &[(usize, usize)], opts: &SnippetOptions) -> Vec<Snippet> {
    let size = opts.fragment_chars.max(1);
    // Sentences up to the one holding the last span (spans are sorted);
    // with no spans, the first sentence only.
    let last_span = spans.last().map(|sp| sp.0);
    let mut first = None;
    let mut scored: Vec<((usize, usize), usize)> = Vec::new();
    for (s, e) in sentences(text) {
        first.get_or_insert((s, e));
        let n = spans.iter().filter(|sp| sp.0 >= s && sp.0 < e).count();
        if n > 0 {
            scored.push(((s, e), n));
        }
        if last_span.is_none_or(|l| e > l) {
            break;
        }
    }
    let Some((s, e)) = first else {
        return Vec::new();
    };
    if scored.is_empty() {
        let end = advance_chars(text, s, size).min(e);
        return vec![fragment(text, s, end, &[], opts)];
    }
    // Most highlights first, earlier first among equals; then in text order.
    scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(opts.fragments.max(1));
    scored.sort();
    scored
        .into_iter()
        .map(|((s, e), _)| {
            let s = s + (text[s..e].len() - text[s..e].trim_start().len());
            if text[s..e].chars().count() <= size {
                return fragment(text, s, e, spans, opts);
            }
            // A long sentence: a window of `size` characters around its first match.
            let first = spans
                .iter()
                .find(|sp| sp.0 >= s && sp.0 < e)
                .copied()
                .unwrap_or((s, s));
            let match_chars = text[first.0..first.1.min(e)].chars().count();
            let lead = size.saturating_sub(match_chars) / 3;
            let from = retreat_chars(text, first.0, lead, s);
            let to = floor_boundary(text, advance_chars(text, from, size).min(e));
            fragment(text, from, to, spans, opts)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::normalize::{normalize, normalize_str};
    use proptest::prelude::*;

    fn marked(text: &str, terms: &[&str]) -> Vec<String> {
        let norm = normalize(text);
        let terms: Vec<String> = terms.iter().map(|t| normalize_str(t)).collect();
        let spans = merge(find_matches(&norm, &terms));
        snippets(text, &spans, &SnippetOptions::default())
            .into_iter()
            .map(|s| s.html)
            .collect()
    }

    #[test]
    fn multi_morpheme_term_is_one_span() {
        let html = marked("最近、北朝鮮の派兵が確認された。", &["北朝鮮の派兵"]);
        assert_eq!(html, vec!["最近、<mark>北朝鮮の派兵</mark>が確認された。"]);
    }

    #[test]
    fn latin_is_case_and_width_insensitive() {
        for q in ["CSIS", "csis", "ＣＳＩＳ"] {
            let html = marked("「戦略国際問題研究所」(CSIS)の研究員。", &[q]);
            assert_eq!(
                html,
                vec!["「戦略国際問題研究所」(<mark>CSIS</mark>)の研究員。"]
            );
        }
        assert!(marked("CSISS", &["csis"])[0].find("<mark>").is_none());
    }

    #[test]
    fn substring_is_highlighted() {
        assert_eq!(marked("北朝鮮が", &["北朝"]), vec!["<mark>北朝</mark>鮮が"]);
    }

    #[test]
    fn fragments_are_sentences_and_escaped() {
        let text = "一文目。<b>二文目</b>にロシア。三文目。";
        let html = marked(text, &["ロシア"]);
        assert_eq!(
            html,
            vec!["&lt;b&gt;二文目&lt;/b&gt;に<mark>ロシア</mark>。"]
        );
    }

    #[test]
    fn highlights_are_code_points() {
        let text = "㈱とロシア";
        let norm = normalize(text);
        let spans = merge(find_matches(&norm, &["ロシア".into()]));
        let s = &snippets(text, &spans, &SnippetOptions::default())[0];
        assert_eq!(s.highlights, vec![[2, 5]]);
        let h: String = s.text.chars().skip(2).take(3).collect();
        assert_eq!(h, "ロシア");
    }

    #[test]
    fn long_lines_are_windowed_by_characters() {
        let text = format!("{}ロシア{}", "あ".repeat(100_000), "い".repeat(100_000));
        let norm = normalize(&text);
        let spans = merge(find_matches(&norm, &["ロシア".into()]));
        let s = &snippets(&text, &spans, &SnippetOptions::default())[0];
        assert_eq!(s.text.chars().count(), 120);
        assert_eq!(s.highlights.len(), 1);
    }

    proptest! {
        #[test]
        fn never_panics_and_offsets_are_valid(text in "\\PC{0,200}", term in "\\PC{1,4}", size in 1usize..50) {
            let norm = normalize(&text);
            let spans = merge(find_matches(&norm, &[normalize_str(&term)]));
            let opts = SnippetOptions { fragment_chars: size, ..SnippetOptions::default() };
            for s in snippets(&text, &spans, &opts) {
                let n = s.text.chars().count();
                for [a, b] in s.highlights {
                    prop_assert!(a < b && b <= n);
                }
            }
        }
    }
}
