//! NFKC + lower-case normalisation that remembers where every piece came from.
//!
//! Both the indexer and the query side see text through [`normalize`], so
//! `ＣＳＩＳ`, `CSIS` and `csis` are one term and `㈱` is `(株)`. Normalisation
//! works on *chunks* — a starter character and the combining marks that
//! follow it (including the half-width voiced marks `ﾞ` `ﾟ`, which NFKC folds
//! into the kana before them) — so every offset in the normalised text maps
//! back to a character boundary of the original. That is what keeps snippet
//! and entity offsets from ever landing inside a multibyte character.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::{canonical_combining_class, decompose_compatible};

/// Normalised text plus the map back to the original.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// NFKC, lower-cased text.
    pub text: String,
    /// One entry per chunk, ordered: `(normalised byte start, original byte start, original byte end)`.
    chunks: Vec<(usize, usize, usize)>,
    original_len: usize,
}

impl Normalized {
    /// Maps a byte range of [`Normalized::text`] to the smallest byte range of
    /// the original text that covers it. Both ends are char boundaries of the
    /// original. Out-of-range input is clamped, never a panic.
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        if self.chunks.is_empty() {
            return (0, 0);
        }
        let end = end.max(start);
        let first = self.chunk_at(start);
        let last = if end > start {
            self.chunk_at(end - 1)
        } else {
            first
        };
        let orig_start = self.chunks[first].1;
        let orig_end = if end > start {
            self.chunks[last].2
        } else {
            orig_start
        };
        (
            orig_start.min(self.original_len),
            orig_end.min(self.original_len),
        )
    }

    fn chunk_at(&self, norm_byte: usize) -> usize {
        match self.chunks.binary_search_by(|c| c.0.cmp(&norm_byte)) {
            Ok(i) => i,
            Err(0) => 0,
            Err(i) => i - 1,
        }
    }
}

/// True when `c` attaches to the character before it under NFKC.
fn is_continuation(c: char) -> bool {
    if matches!(c, '\u{FF9E}' | '\u{FF9F}') {
        return true;
    }
    let mut first = None;
    decompose_compatible(c, |d| {
        if first.is_none() {
            first = Some(d);
        }
    });
    first.is_some_and(|d| canonical_combining_class(d) != 0)
}

/// NFKC-normalises and lower-cases `original`, keeping an offset map.
pub fn normalize(original: &str) -> Normalized {
    let mut text = String::with_capacity(original.len() + original.len() / 8);
    let mut chunks = Vec::with_capacity(original.len() / 2);
    let mut iter = original.char_indices().peekable();
    while let Some((start, c)) = iter.next() {
        let mut end = start + c.len_utf8();
        while let Some(&(i, next)) = iter.peek() {
            if !is_continuation(next) {
                break;
            }
            end = i + next.len_utf8();
            iter.next();
        }
        chunks.push((text.len(), start, end));
        let chunk = &original[start..end];
        if chunk.len() == c.len_utf8() && c.is_ascii() {
            text.push(c.to_ascii_lowercase());
        } else {
            for n in chunk.nfkc() {
                text.extend(n.to_lowercase());
            }
        }
    }
    Normalized {
        text,
        chunks,
        original_len: original.len(),
    }
}

/// Normalises text that needs no offset map (query terms, dictionary keys).
pub fn normalize_str(s: &str) -> String {
    normalize(s).text
}

/// Converts a byte offset of `text` (a char boundary) to a code-point offset.
pub fn char_offset(text: &str, byte: usize) -> usize {
    let byte = byte.min(text.len());
    text.get(..byte)
        .map(|s| s.chars().count())
        .unwrap_or_else(|| text.char_indices().take_while(|(i, _)| *i < byte).count())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_width_and_case() {
        assert_eq!(normalize_str("ＣＳＩＳ"), "csis");
        assert_eq!(normalize_str("CSIS"), "csis");
        assert_eq!(normalize_str("㈱"), "(株)");
        assert_eq!(normalize_str("ｶﾞｲﾄﾞ"), "ガイド");
        assert_eq!(normalize_str("１２３"), "123");
    }

    #[test]
    fn maps_back_to_original_characters() {
        let original = "㈱ＣＳＩＳの研究";
        let n = normalize(original);
        let at = n.text.find("csis").unwrap();
        let (s, e) = n.original_range(at, at + 4);
        assert_eq!(&original[s..e], "ＣＳＩＳ");
        let at = n.text.find('株').unwrap();
        let (s, e) = n.original_range(at, at + '株'.len_utf8());
        assert_eq!(&original[s..e], "㈱");
    }

    #[test]
    fn halfwidth_voiced_mark_stays_with_its_kana() {
        let original = "ｶﾞｲﾄﾞ";
        let n = normalize(original);
        let at = n.text.find('ド').unwrap();
        let (s, e) = n.original_range(at, at + 'ド'.len_utf8());
        assert_eq!(&original[s..e], "ﾄﾞ");
    }

    #[test]
    fn char_offsets_count_code_points() {
        assert_eq!(char_offset("北朝鮮abc", "北朝鮮".len()), 3);
        assert_eq!(char_offset("abc", 10), 3);
    }

    proptest! {
        #[test]
        fn any_range_maps_to_char_boundaries(s in "\\PC{0,64}", a in 0usize..300, b in 0usize..300) {
            let n = normalize(&s);
            let (lo, hi) = (a.min(b), a.max(b));
            let (os, oe) = n.original_range(lo, hi);
            prop_assert!(os <= oe && oe <= s.len());
            prop_assert!(s.is_char_boundary(os) && s.is_char_boundary(oe));
        }

        #[test]
        fn normalisation_is_idempotent(s in "\\PC{0,64}") {
            let once = normalize_str(&s);
            // lower-casing after NFKC may un-normalise a few exotic letters; a
            // second pass must at least not panic and be stable afterwards.
            let twice = normalize_str(&once);
            prop_assert_eq!(normalize_str(&twice), twice.clone());
        }
    }
}
