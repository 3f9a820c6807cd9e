//! Sentences of an article, and its lead (the first sentence).

use std::sync::LazyLock;

/// Byte ranges of the sentences of `text`, in order, found as they are
/// needed (a snippet near the start of a long article reads only its start).
/// Sentence ends are found with `memchr` ([`Ends`]), not byte by byte: every
/// end and closing mark is ASCII or a three-byte sequence (this runs for
/// every hit).
pub fn sentences(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut ends = Ends::new(bytes);
    let mut start = 0;
    let mut i = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        while let Some((at, width)) = ends.next(i) {
            let mut end = at + width;
            while let Some(w) = closing_at(bytes, end) {
                end += w;
            }
            i = end;
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

/// `。`, found by `memmem` (its bytes E3 80 82 are rare as a sequence).
static MARU: LazyLock<memchr::memmem::Finder<'static>> =
    LazyLock::new(|| memchr::memmem::Finder::new("。"));

/// The sentence ends of a text, by kind: ASCII `!` `?` and line breaks,
/// `。`, and the full-width `！` `？`. Each kind's next position is kept
/// until the scan passes it (`usize::MAX`: none left).
struct Ends<'a> {
    bytes: &'a [u8],
    next: [usize; 3],
}

impl<'a> Ends<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let mut ends = Ends {
            bytes,
            next: [0; 3],
        };
        for kind in 0..3 {
            ends.next[kind] = ends.find(kind, 0);
        }
        ends
    }

    /// The first end of `kind` at or after byte `from`.
    fn find(&self, kind: usize, from: usize) -> usize {
        let hay = &self.bytes[from.min(self.bytes.len())..];
        let found = match kind {
            0 => memchr::memchr3(b'!', b'?', b'\n', hay),
            1 => MARU.find(hay),
            _ => {
                // `！` EF BC 81, `？` EF BC 9F: EF is a lead byte, rarer than E3.
                let mut at = 0;
                loop {
                    match memchr::memchr(0xEF, &hay[at..]) {
                        None => break None,
                        Some(j)
                            if matches!(
                                hay.get(at + j + 1..at + j + 3),
                                Some([0xBC, 0x81 | 0x9F])
                            ) =>
                        {
                            break Some(at + j);
                        }
                        Some(j) => at += j + 1,
                    }
                }
            }
        };
        found.map_or(usize::MAX, |j| from + j)
    }

    /// The first sentence end at or after byte `i`: where, and its width.
    fn next(&mut self, i: usize) -> Option<(usize, usize)> {
        for kind in 0..3 {
            if self.next[kind] < i {
                self.next[kind] = self.find(kind, i);
            }
        }
        let (kind, &at) = self.next.iter().enumerate().min_by_key(|&(_, &at)| at)?;
        (at != usize::MAX).then_some((at, if kind == 0 { 1 } else { 3 }))
    }
}

/// The width of the sentence end starting at byte `i`, if one does (what
/// [`Ends`] finds; the tests check the two against the characters):
/// `!`, `?`, a line break, `。` (E3 80 82), `！` (EF BC 81) or `？` (EF BC 9F).
#[cfg(test)]
fn sentence_end_at(b: &[u8], i: usize) -> Option<usize> {
    match b[i] {
        b'!' | b'?' | b'\n' => Some(1),
        0xE3 => (b.get(i + 1..i + 3) == Some(&[0x80, 0x82])).then_some(3),
        0xEF => matches!(b.get(i + 1..i + 3), Some([0xBC, 0x81 | 0x9F])).then_some(3),
        _ => None,
    }
}

/// The width of the closing mark starting at byte `i`, if one does: `)`,
/// `"`, `」` `』` `】` `〕` (E3 80 8D/8F/91/95), `）` (EF BC 89) or `”` (E2 80 9D).
#[inline]
fn closing_at(b: &[u8], i: usize) -> Option<usize> {
    let three = match *b.get(i)? {
        b')' | b'"' => return Some(1),
        0xE3 => matches!(b.get(i + 1..i + 3), Some([0x80, 0x8D | 0x8F | 0x91 | 0x95])),
        0xEF => b.get(i + 1..i + 3) == Some(&[0xBC, 0x89]),
        0xE2 => b.get(i + 1..i + 3) == Some(&[0x80, 0x9D]),
        _ => false,
    };
    three.then_some(3)
}

/// Longest lead, in characters (an opening without a sentence end).
pub const MAX_LEAD_CHARS: usize = 200;

/// The lead of `body`: its first sentence (at most [`MAX_LEAD_CHARS`]
/// characters), where news and encyclopaedia articles alike say what they
/// are about. Ranking counts its words a second time.
pub fn lead(body: &str) -> &str {
    let (start, end) = lead_range(body);
    &body[start..end]
}

/// The byte range of [`lead`] in `body`.
pub fn lead_range(body: &str) -> (usize, usize) {
    let Some((start, end)) = sentences(body).next() else {
        return (0, 0);
    };
    match body[start..end].char_indices().nth(MAX_LEAD_CHARS) {
        Some((cut, _)) => (start, start + cut),
        None => (start, end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_is_the_first_sentence() {
        assert_eq!(
            lead("北朝鮮が派兵した。ロシアは認めた。"),
            "北朝鮮が派兵した。"
        );
        assert_eq!(lead("「派兵だ」と述べた。次"), "「派兵だ」と述べた。");
        assert_eq!(lead(""), "");
        let long = "あ".repeat(500);
        assert_eq!(lead(&long).chars().count(), MAX_LEAD_CHARS);
    }

    /// Characters that end a sentence.
    fn is_sentence_end(c: char) -> bool {
        matches!(c, '。' | '！' | '？' | '!' | '?' | '\n')
    }

    /// Closing brackets and quotes that stay with the sentence they follow.
    fn is_closing(c: char) -> bool {
        matches!(c, '」' | '』' | '）' | ')' | '】' | '〕' | '”' | '"')
    }

    /// The char-by-char reading the byte scanner replaced.
    fn sentences_by_chars(text: &str) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut start = 0;
        let mut iter = text.char_indices().peekable();
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
            if !text[start..end].trim().is_empty() {
                out.push((start, end));
            }
            start = end;
        }
        if start < text.len() && !text[start..].trim().is_empty() {
            out.push((start, text.len()));
        }
        out
    }

    #[test]
    fn sentences_end_at_marks_with_their_closing_quotes() {
        let text = "「北朝鮮が派兵した。」と述べた！ロシアは？\n\n（認めた。）米欧は\"反発\"!次";
        let got: Vec<&str> = sentences(text).map(|(s, e)| &text[s..e]).collect();
        assert_eq!(
            got,
            [
                "「北朝鮮が派兵した。」",
                "と述べた！",
                "ロシアは？",
                "（認めた。）",
                "米欧は\"反発\"!",
                "次"
            ]
        );
    }

    #[test]
    fn byte_tables_name_the_same_chars_as_the_predicates() {
        for c in [
            '。', '！', '？', '!', '?', '\n', '」', '』', '）', ')', '】', '〕', '”', '"', 'あ',
            '、',
        ] {
            let mut buf = [0u8; 4];
            let b = c.encode_utf8(&mut buf).as_bytes();
            assert_eq!(sentence_end_at(b, 0).is_some(), is_sentence_end(c), "{c}");
            assert_eq!(closing_at(b, 0).is_some(), is_closing(c), "{c}");
        }
    }

    proptest::proptest! {
        #[test]
        fn ends_are_found_where_the_bytes_say(
            text in "[あ-ん。！？!?\n」（）０-９a-z\u{FF5E}\u{FFE5}]{0,60}"
        ) {
            let b = text.as_bytes();
            let by_bytes: Vec<_> = (0..b.len())
                .filter_map(|i| sentence_end_at(b, i).map(|w| (i, w)))
                .collect();
            let mut ends = Ends::new(b);
            let mut found = Vec::new();
            let mut i = 0;
            while let Some((at, w)) = ends.next(i) {
                found.push((at, w));
                i = at + 1;
            }
            proptest::prop_assert_eq!(found, by_bytes);
        }

        #[test]
        fn byte_scanner_reads_as_the_char_scanner(
            text in "[あ-ん。！？!?\n」』）)】〕”\"「a-z０-９ \u{3000}ー]{0,60}"
        ) {
            let got: Vec<_> = sentences(&text).collect();
            proptest::prop_assert_eq!(got, sentences_by_chars(&text));
        }
    }
}
