//! Sentences of an article, and its lead (the first sentence).

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
}
