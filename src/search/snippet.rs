//! Snippets that are right for Japanese.
//!
//! * Matches are found on the *normalised* text (so `CSIS`, `csis` and
//!   `ＣＳＩＳ` all match `CSIS`) and mapped back to the original, always on
//!   char boundaries.
//! * A query term is highlighted as one span however many morphemes it has
//!   (北朝鮮の派兵 is one `<mark>`, not 北朝鮮 / の / 派兵), and a substring
//!   match (北朝 inside 北朝鮮) is highlighted too.
//! * The fragments shown are the passages holding the most *distinct* query
//!   units (then the most matches): for `北朝鮮のロシア派兵` the sentence with
//!   both, not the first mention of either. Fragments are whole sentences
//!   (cut after 。！？ and their closing brackets) where they fit; a longer
//!   sentence is cut to the window of `fragment_size` characters that holds
//!   the most units. Sizes are counted in characters, not bytes.
//! * Linear in the article's length plus its matches: sentences and matches
//!   are walked once, side by side.
//! * Highlights are returned as `[start, end)` code-point offsets into `text`;
//!   `html` is the escaped text with only the highlight tags added.

use serde::Serialize;
use utoipa::ToSchema;

use crate::analysis::normalize::{Normalized, floor_char_boundary};
use crate::analysis::sentences::sentences;
use crate::analysis::tokenizer::{continues_word, same_word_class};

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

/// A match of query unit `unit` at byte range `start..end` of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark {
    pub start: usize,
    pub end: usize,
    pub unit: usize,
}

/// Where the strings of `terms` (normalised, each with the unit it stands
/// for) occur in the original of `norm`, sorted by position. Runs of Latin
/// letters or digits match whole (`csis` not in `csiss`).
pub fn find_matches(norm: &Normalized, terms: &[(usize, String)]) -> Vec<Mark> {
    let mut out = Vec::new();
    let text = norm.text.as_str();
    for (unit, term) in terms {
        // A term's words match with or without whitespace between them (as
        // the index places them), and as one mark.
        let parts: Vec<&str> = term.split_whitespace().collect();
        let (Some(head), Some(tail)) = (parts.first(), parts.last()) else {
            continue;
        };
        let (Some(first), Some(last)) = (head.chars().next(), tail.chars().next_back()) else {
            continue;
        };
        for (at, _) in text.match_indices(head) {
            let Some(end) = rest_at(text, at + head.len(), &parts[1..]) else {
                continue;
            };
            // Latin and digit runs match whole (as the bigram view indexes
            // them), and a word that goes on another across a symbol (the
            // `5` of `72.5`) is no start of a match.
            let before = text[..at].chars().next_back();
            let after = text[end..].chars().next();
            if before.is_some_and(|c| same_word_class(c, first))
                || after.is_some_and(|c| same_word_class(c, last))
                || continues_word(text, at)
            {
                continue;
            }
            // A word-final ー is folded away (サッカー is サッカ): where the
            // word goes on (サッカークラブ) the text's ー is still its own.
            let end = if crate::analysis::variants::is_katakana_letter(last) {
                end + text[end..].len() - text[end..].trim_start_matches('ー').len()
            } else {
                end
            };
            let (start, end) = norm.original_range(at, end);
            out.push(Mark {
                start,
                end,
                unit: *unit,
            });
        }
    }
    out.sort_unstable();
    out
}

/// Where `parts` end when they follow one another in `text` from byte
/// `at`, with or without whitespace before each.
fn rest_at(text: &str, mut at: usize, parts: &[&str]) -> Option<usize> {
    for part in parts {
        at += text[at..].len() - text[at..].trim_start().len();
        if !text[at..].starts_with(part) {
            return None;
        }
        at += part.len();
    }
    Some(at)
}

/// The merged byte ranges of `marks`.
pub fn spans_of(marks: &[Mark]) -> Vec<(usize, usize)> {
    merge(marks.iter().map(|m| (m.start, m.end)).collect())
}

/// Sorts spans and merges overlapping or touching ones.
pub fn merge(spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    merge_with(spans, true)
}

/// Sorts spans and merges overlapping ones only: two matches side by side
/// (地震地震) stay two (one KWIC line each).
pub fn merge_overlapping(spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    merge_with(spans, false)
}

fn merge_with(mut spans: Vec<(usize, usize)>, touching: bool) -> Vec<(usize, usize)> {
    spans.retain(|(s, e)| s < e);
    spans.sort();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match out.last_mut() {
            Some(last) if s < last.1 || (touching && s == last.1) => last.1 = last.1.max(e),
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
    // Only the spans that reach into the fragment (sorted and disjoint).
    let first = spans.partition_point(|sp| sp.1 <= from);
    for &(s, e) in spans[first..].iter().take_while(|sp| sp.0 < to) {
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

/// A sentence that holds matches: its byte range and its marks
/// `marks[from..to]`.
struct Passage {
    start: usize,
    end: usize,
    from: usize,
    to: usize,
    distinct: usize,
}

/// Counts, per unit, the marks in a window: how many distinct units it holds.
struct UnitCounts {
    count: Vec<u32>,
    distinct: usize,
}

impl UnitCounts {
    fn new() -> Self {
        UnitCounts {
            count: Vec::new(),
            distinct: 0,
        }
    }

    fn add(&mut self, unit: usize) {
        if unit >= self.count.len() {
            self.count.resize(unit + 1, 0);
        }
        if self.count[unit] == 0 {
            self.distinct += 1;
        }
        self.count[unit] += 1;
    }

    fn remove(&mut self, unit: usize) {
        self.count[unit] -= 1;
        if self.count[unit] == 0 {
            self.distinct -= 1;
        }
    }
}

/// Up to `opts.fragments` fragments of `text` around `marks` (sorted by
/// position): the sentences that hold the most distinct units, then the
/// most matches, earlier first among equals; shown in text order. With no
/// marks, the opening of the text.
pub fn snippets(text: &str, marks: &[Mark], opts: &SnippetOptions) -> Vec<Snippet> {
    let size = opts.fragment_chars.max(1);
    let spans = spans_of(marks);
    let mut counts = UnitCounts::new();
    let mut first = None;
    let mut passages: Vec<Passage> = Vec::new();
    let mut next = 0;
    // Sentences up to the one holding the last mark; with no marks, the first.
    let last_mark = marks.last().map(|m| m.start);
    for (s, e) in sentences(text) {
        first.get_or_insert((s, e));
        let from = next;
        while next < marks.len() && marks[next].start < e {
            counts.add(marks[next].unit);
            next += 1;
        }
        if next > from {
            passages.push(Passage {
                start: s,
                end: e,
                from,
                to: next,
                distinct: counts.distinct,
            });
            for m in &marks[from..next] {
                counts.remove(m.unit);
            }
        }
        if last_mark.is_none_or(|l| e > l) {
            break;
        }
    }
    let Some((s, e)) = first else {
        return Vec::new();
    };
    if passages.is_empty() {
        let (s, end) = whole_graphemes(text, s, e, s, advance_chars(text, s, size).min(e));
        return vec![fragment(text, s, end, &[], opts)];
    }
    passages.sort_by(|a, b| {
        (b.distinct, b.to - b.from)
            .cmp(&(a.distinct, a.to - a.from))
            .then(a.start.cmp(&b.start))
    });
    passages.truncate(opts.fragments.max(1));
    passages.sort_by_key(|p| p.start);
    passages
        .into_iter()
        .map(|p| {
            let sentence = &text[p.start..p.end];
            let s = p.start + (sentence.len() - sentence.trim_start().len());
            if text[s..p.end].chars().count() <= size {
                return fragment(text, s, p.end, &spans, opts);
            }
            let (from, to) = best_window(text, s, p.end, &marks[p.from..p.to], size);
            fragment(text, from, to, &spans, opts)
        })
        .collect()
}

/// The window of `size` characters of the sentence `s..e` that holds the
/// most distinct units of `marks` (then the most marks), starting a little
/// before its first mark. Linear in the sentence and its marks.
fn best_window(text: &str, s: usize, e: usize, marks: &[Mark], size: usize) -> (usize, usize) {
    // Code-point offsets of the marks' starts and ends, in one pass.
    let mut starts = Vec::with_capacity(marks.len());
    let (mut byte, mut chars) = (s, 0usize);
    for m in marks {
        let at = m.start.clamp(byte, e);
        chars += text[byte..at].chars().count();
        byte = at;
        starts.push(chars);
    }
    let ends: Vec<usize> = marks
        .iter()
        .zip(&starts)
        .map(|(m, &c)| c + text[m.start.min(e)..m.end.min(e)].chars().count())
        .collect();
    // Two pointers: marks[i..j] fit in `size` characters from mark i.
    let mut counts = UnitCounts::new();
    let mut j = 0;
    let mut best = (0usize, 0usize, 0usize); // (distinct units, marks, first mark)
    for i in 0..marks.len() {
        j = j.max(i);
        while j < marks.len() && ends[j] <= starts[i] + size {
            counts.add(marks[j].unit);
            j += 1;
        }
        if (counts.distinct, j - i) > (best.0, best.1) {
            best = (counts.distinct, j - i, i);
        }
        if j > i {
            counts.remove(marks[i].unit);
        }
    }
    let first = marks[best.2];
    let match_chars = text[first.start..first.end.min(e)].chars().count();
    let lead = size.saturating_sub(match_chars) / 3;
    let from = retreat_chars(text, first.start, lead, s);
    let to = floor_char_boundary(text, advance_chars(text, from, size).min(e));
    whole_graphemes(text, s, e, from, to)
}

/// The window `from..to` of the sentence `s..e` widened so that it never
/// starts or ends inside a grapheme cluster: a character and its combining
/// marks (`か` + U+3099 is `が`), an emoji sequence joined by U+200D
/// (👨‍👩‍👧), a flag's two regional indicators.
fn whole_graphemes(text: &str, s: usize, e: usize, from: usize, to: usize) -> (usize, usize) {
    let inside = |at: usize| {
        !unicode_segmentation::GraphemeCursor::new(at, text.len(), true)
            .is_boundary(text, 0)
            .unwrap_or(true)
    };
    let mut from = from;
    while from > s && inside(from) {
        from = floor_char_boundary(text, from - 1);
    }
    let mut to = to;
    while to < e && inside(to) {
        to = advance_chars(text, to, 1).min(e);
    }
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::normalize::{normalize, normalize_str};
    use proptest::prelude::*;

    fn marked(text: &str, terms: &[&str]) -> Vec<String> {
        let norm = normalize(text);
        let terms: Vec<String> = terms.iter().map(|t| normalize_str(t)).collect();
        let terms: Vec<(usize, String)> = terms.into_iter().enumerate().collect();
        snippets(
            text,
            &find_matches(&norm, &terms),
            &SnippetOptions::default(),
        )
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
    fn windows_keep_combining_marks_with_their_characters() {
        // Long sentences whose window would start at the voicing mark of
        // か + U+3099, `gap` characters before the match.
        for gap in 0..20 {
            let text = format!(
                "{}か\u{3099}{}北朝鮮{}。",
                "あ".repeat(40),
                "い".repeat(gap),
                "う".repeat(80)
            );
            let norm = normalize(&text);
            let terms = vec![(0, normalize_str("北朝鮮"))];
            for size in 20..60 {
                let opts = SnippetOptions {
                    fragment_chars: size,
                    ..SnippetOptions::default()
                };
                for snippet in snippets(&text, &find_matches(&norm, &terms), &opts) {
                    let first = snippet.text.chars().next().unwrap();
                    assert!(
                        !unicode_normalization::char::is_combining_mark(first),
                        "{gap} {size}: {}",
                        snippet.text
                    );
                }
            }
        }
    }

    #[test]
    fn windows_keep_emoji_sequences_and_flags_whole() {
        let family = "👨\u{200D}👩\u{200D}👧";
        let text = format!("{}é試験🇯🇵{family}{}。", "あ".repeat(30), "い".repeat(60));
        let norm = normalize(&text);
        let terms = vec![(0, normalize_str("試験"))];
        let graphemes: Vec<&str> =
            unicode_segmentation::UnicodeSegmentation::graphemes(text.as_str(), true).collect();
        for size in 10..80 {
            let opts = SnippetOptions {
                fragment_chars: size,
                ..SnippetOptions::default()
            };
            for snippet in snippets(&text, &find_matches(&norm, &terms), &opts) {
                let t = snippet.text.trim_start_matches('…').trim_end_matches('…');
                let start = text.find(t).expect("a substring");
                let end = start + t.len();
                // Both ends fall between two grapheme clusters.
                let mut at = 0;
                let mut cuts = vec![0];
                for g in &graphemes {
                    at += g.len();
                    cuts.push(at);
                }
                assert!(cuts.contains(&start) && cuts.contains(&end), "{size}: {t}");
            }
            // A text with no match gives its opening, cut as well.
            let opening = &snippets(&text[60..], &[], &opts)[0].text;
            let opening = opening.trim_end_matches('…');
            assert!(
                text[60..].starts_with(opening)
                    && unicode_segmentation::UnicodeSegmentation::graphemes(&text[60..], true)
                        .scan(0, |at, g| {
                            *at += g.len();
                            Some(*at)
                        })
                        .any(|at| at == opening.len()),
                "{size}: {opening}"
            );
        }
    }

    #[test]
    fn substring_is_highlighted() {
        assert_eq!(marked("北朝鮮が", &["北朝"]), vec!["<mark>北朝</mark>鮮が"]);
    }

    #[test]
    fn matches_side_by_side_are_one_mark_but_two_matches() {
        let spans = vec![(6, 12), (0, 6), (3, 4)];
        assert_eq!(merge(spans.clone()), vec![(0, 12)]);
        assert_eq!(merge_overlapping(spans), vec![(0, 6), (6, 12)]);
    }

    #[test]
    fn a_long_vowel_folded_away_is_marked_where_the_word_goes_on() {
        assert_eq!(
            marked("県民サッカークラブとサッカー協会。", &["サッカー"]),
            vec!["県民<mark>サッカー</mark>クラブと<mark>サッカー</mark>協会。"]
        );
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
        let marks = find_matches(&norm, &[(0, "ロシア".into())]);
        let s = &snippets(text, &marks, &SnippetOptions::default())[0];
        assert_eq!(s.highlights, vec![[2, 5]]);
        let h: String = s.text.chars().skip(2).take(3).collect();
        assert_eq!(h, "ロシア");
    }

    #[test]
    fn long_lines_are_windowed_by_characters() {
        let text = format!("{}ロシア{}", "あ".repeat(100_000), "い".repeat(100_000));
        let norm = normalize(&text);
        let marks = find_matches(&norm, &[(0, "ロシア".into())]);
        let s = &snippets(&text, &marks, &SnippetOptions::default())[0];
        assert_eq!(s.text.chars().count(), 120);
        assert_eq!(s.highlights.len(), 1);
    }

    /// Issue 15, item 1: an article with many matches must not make every
    /// search that hits it slow. Quadratic work (every match for every
    /// sentence) costs 16× for 4× the text; linear work 4×.
    #[test]
    fn time_is_linear_in_the_article_and_its_matches() {
        let piece = "北朝鮮がロシアに兵を送ったと、米国と韓国が発表した。";
        let terms = vec![(0, normalize_str("北朝鮮")), (1, normalize_str("発表"))];
        let run = |text: &str, n: usize| {
            let t = std::time::Instant::now();
            let marks = find_matches(&normalize(text), &terms);
            assert_eq!(marks.len(), 2 * n);
            let s = snippets(text, &marks, &SnippetOptions::default());
            assert_eq!(s.len(), 2);
            t.elapsed()
        };
        let (small, big) = (piece.repeat(2_000), piece.repeat(8_000));
        // Interleaved, best of five: both sizes see the same machine.
        let (mut t_small, mut t_big) = (std::time::Duration::MAX, std::time::Duration::MAX);
        for _ in 0..5 {
            t_small = t_small.min(run(&small, 2_000));
            t_big = t_big.min(run(&big, 8_000));
        }
        let ratio = t_big.as_secs_f64() / t_small.as_secs_f64();
        assert!(
            ratio < 10.0,
            "4x the text took {ratio:.1}x the time ({t_small:?} -> {t_big:?})"
        );
    }

    proptest! {
        #[test]
        fn never_panics_and_offsets_are_valid(text in "\\PC{0,200}", term in "\\PC{1,4}", size in 1usize..50) {
            let norm = normalize(&text);
            let marks = find_matches(&norm, &[(0, normalize_str(&term))]);
            let opts = SnippetOptions { fragment_chars: size, ..SnippetOptions::default() };
            for s in snippets(&text, &marks, &opts) {
                let n = s.text.chars().count();
                for [a, b] in s.highlights {
                    prop_assert!(a < b && b <= n);
                }
            }
        }
    }
}
