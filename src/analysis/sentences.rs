//! Sentences of an article, and its lead (the first sentence).

/// Byte ranges of the sentences of `text`, in order, found as they are
/// needed (a snippet near the start of a long article reads only its start).
/// Scans bytes, not chars: every sentence end and closing mark is ASCII or a
/// three-byte sequence, found by its lead byte (this runs for every hit).
pub fn sentences(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            let Some(width) = sentence_end_at(bytes, i) else {
                i += 1;
                continue;
            };
            let mut end = i + width;
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

/// The width of the sentence end starting at byte `i`, if one does:
/// `!`, `?`, a line break, `。` (E3 80 82), `！` (EF BC 81) or `？` (EF BC 9F).
#[inline]
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
        fn byte_scanner_reads_as_the_char_scanner(
            text in "[あ-ん。！？!?\n」』）)】〕”\"「a-z０-９ \u{3000}ー]{0,60}"
        ) {
            let got: Vec<_> = sentences(&text).collect();
            proptest::prop_assert_eq!(got, sentences_by_chars(&text));
        }
    }
}
