//! An article's near-duplicate signature: MinHash by *one-permutation
//! hashing* with *optimal densification* (Shrivastava, ICML 2017) over the
//! character shingles of its normalised body, with the number of distinct
//! shingles (so the share of the *shorter* article found in the other can be
//! estimated, not only the Jaccard index: a copy whose last paragraphs were
//! cut is contained in the original), and the locality-sensitive bands that
//! are indexed as terms to find candidates.
//!
//! One-permutation hashing hashes each shingle once: the hash picks one of
//! [`HASHES`] bins and the bin keeps the smallest value it saw; bins left
//! empty (short bodies) copy the value of a non-empty bin chosen by a probe
//! sequence that depends on the bin alone, so two bodies with the same
//! shingles fill them alike. The share of equal bins estimates the Jaccard
//! index as 126 independent permutations do, at a 126th of the hashing (the
//! previous signature, `gaoya`'s `MinHasher16`, cost 0.7 M instructions per
//! Wikinews article; `bench/DEDUP.md`). The crate implementing it
//! (`probminhash`) draws a random generator per shingle and brings an
//! optimiser and a logger with it; the algorithm is the twenty lines of
//! [`Signature::of_normalized`].

use std::sync::LazyLock;

use memchr::memmem::Finder;

use crate::analysis::normalize::normalize_str;

/// Characters per shingle.
pub const SHINGLE_CHARS: usize = 5;
/// MinHash values (bins) per signature: what the similarity is estimated
/// from (a standard deviation of at most √(J(1−J)/126) ≤ 0.045).
pub const HASHES: usize = 126;
/// Rows per band: two articles become candidates when all rows of one band agree.
pub const ROWS: usize = 2;
/// Bands, made of the first [`ROWS`] × [`BANDS`] values. A pair of Jaccard
/// index J becomes a candidate with probability 1 − (1 − J²)¹⁷: 0.80 at the
/// floor J = 0.3 ([`super::groups::MIN_JACCARD`]), 0.95 at 0.4, 0.9925 at
/// 0.5, and 0.007 at 0.02 (two unrelated reports). 17 bands of 2 rows are
/// the fewest index terms that make a pair of J = 0.5 (a copy holding half
/// of its original) a candidate at least 99 times in 100; 3 rows need 35
/// bands for that, 1 row finds unrelated pairs too often (0.13 at J = 0.02).
/// The curve, and what 42 bands of 3 rows (before) gave, are in
/// `bench/DEDUP.md`.
pub const BANDS: usize = 17;
const _: () = assert!(
    ROWS * BANDS <= HASHES && ROWS <= 3 && BANDS < 1 << 16,
    "a band key holds the band number and up to three 16-bit values"
);
/// Bodies with fewer distinct shingles get no signature (too short to tell
/// a copy from a coincidence) and stay alone in their group.
pub const MIN_SHINGLES: usize = 40;

/// A body's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The MinHash values ([`HASHES`] of them).
    pub mins: Vec<u16>,
    /// Distinct shingles of the body.
    pub shingles: u32,
}

/// How alike two bodies are, estimated from their signatures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// Estimated Jaccard index of the shingle sets.
    pub jaccard: f64,
    /// Estimated share of the smaller shingle set found in the larger one.
    pub containment: f64,
}

/// Text that articles about different events share, left out of
/// signatures: the items of a dated link list (関連ニュース, e.g.
/// `2016年8月16日(火):台風13号の影響で…`) and source citations
/// (`『見出し』。読売新聞、2005年8月21日。`). On Wikinews, typhoon reports
/// shared up to 84 % of their shingles through them (`bench/DEDUP.md`).
///
/// On the normalised text (NFKC: ASCII digits, parentheses and colons),
/// what is cut reads as this pattern, leftmost-first, matches not
/// overlapping (the `regex` crate's `replace_all`; the tests keep it as the
/// reference of [`strip_boilerplate`], which finds the same matches by hand):
///
/// * a dated item, `[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日\([月火水木金土日]\):[^。『]*`;
/// * a citation, `『([^』]*)』。([^。]*?)[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日。`, unless its
///   title is longer than [`MAX_CITED_TITLE`] or its outlet part longer than
///   [`MAX_CITATION_TAIL`] characters (then it stays, and the search goes on
///   after it).
///
/// The pattern cost 70,000 instructions a Wikinews article in the lazy DFA
/// of `regex` (nearly every article holds a dated list); the scanner jumps
/// from one `日(` or `『` to the next.
#[cfg(test)]
pub(crate) const BOILERPLATE_PATTERN: &str = r"[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日\([月火水木金土日]\):[^。『]*|『([^』]*)』。([^。]*?)[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日。";

/// Longest quoted title of a citation, in characters.
const MAX_CITED_TITLE: usize = 200;
/// Longest outlet part of a citation (between `』。` and the date), in characters.
const MAX_CITATION_TAIL: usize = 60;

/// A match of the boilerplate: its byte range, and whether it is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Boilerplate {
    start: usize,
    end: usize,
    cut: bool,
}

/// Where the `[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}` of a date ending just
/// before byte `day` (where its `日` is) starts, if it does.
fn date_start(b: &[u8], day: usize) -> Option<usize> {
    // One or two digits right before `at`, and the three-byte `mark` before them.
    let digits_then = |at: usize, mark: &[u8; 3]| -> Option<usize> {
        let run = b[..at]
            .iter()
            .rev()
            .take(3)
            .take_while(|c| c.is_ascii_digit())
            .count();
        let before = at.checked_sub(run)?;
        // (`then_some` would compute `before - 3` even when `before < 3`.)
        if (1..=2).contains(&run) && before >= 3 && &b[before - 3..before] == mark {
            Some(before - 3)
        } else {
            None
        }
    };
    let month = digits_then(day, "月".as_bytes().try_into().ok()?)?;
    let year = digits_then(month, "年".as_bytes().try_into().ok()?)?;
    let start = year.checked_sub(4)?;
    b[start..year]
        .iter()
        .all(u8::is_ascii_digit)
        .then_some(start)
}

/// The dated item whose `日(` is at byte `at`, if one is there and starts at
/// or after `from`.
fn dated_item_at(text: &str, at: usize, from: usize) -> Option<Boilerplate> {
    let b = text.as_bytes();
    let start = date_start(b, at).filter(|&s| s >= from)?;
    // 日 ( weekday ) :
    let mut rest = text[at + "日(".len()..].chars();
    let weekday = rest.next()?;
    if !matches!(weekday, '月' | '火' | '水' | '木' | '金' | '土' | '日')
        || rest.next()? != ')'
        || rest.next()? != ':'
    {
        return None;
    }
    let body = text.len() - rest.as_str().len();
    let end = text[body..]
        .find(['。', '『'])
        .map_or(text.len(), |i| body + i);
    Some(Boilerplate {
        start,
        end,
        cut: true,
    })
}

/// The citation whose `『` is at byte `at`, if one is there.
fn citation_at(text: &str, at: usize) -> Option<Boilerplate> {
    let title_start = at + '『'.len_utf8();
    let title_end = title_start + text[title_start..].find('』')?;
    let tail_start = title_end + "』。".len();
    if !text[title_end..].starts_with("』。") {
        return None;
    }
    // The outlet part and the date hold no 。: the date ends at the next one.
    let stop = tail_start + text[tail_start..].find('。')?;
    // (Compared as bytes: `stop - 3` need not be a char boundary.)
    let day = stop.checked_sub('日'.len_utf8())?;
    if day < tail_start || &text.as_bytes()[day..stop] != "日".as_bytes() {
        return None;
    }
    let date = date_start(text.as_bytes(), day).filter(|&d| d >= tail_start)?;
    let long = |s: &str, max: usize| s.chars().nth(max).is_some();
    Some(Boilerplate {
        start: at,
        end: stop + '。'.len_utf8(),
        cut: !long(&text[title_start..title_end], MAX_CITED_TITLE)
            && !long(&text[tail_start..date], MAX_CITATION_TAIL),
    })
}

/// The two marks the boilerplate scanner jumps between.
static DAY_PAREN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("日("));
static TITLE_OPEN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("『"));

/// The byte position of the next match of `needle` (a whole UTF-8 text, so
/// the match is at a char boundary) at or after `from`.
fn find_from(text: &str, from: usize, needle: &Finder<'_>) -> Option<usize> {
    needle.find(text.as_bytes().get(from..)?).map(|i| from + i)
}

/// The leftmost boilerplate match starting at or after `from`. A dated
/// item starts before its `日(` with digits, 年 and 月 only, so candidates
/// in the order of their `日(` or `『` are in the order of their starts.
fn next_boilerplate(text: &str, from: usize) -> Option<Boilerplate> {
    let mut item = find_from(text, from, &DAY_PAREN);
    let mut citation = find_from(text, from, &TITLE_OPEN);
    loop {
        let (i, is_item) = match (item, citation) {
            (None, None) => return None,
            (Some(i), Some(c)) if c < i => (c, false),
            (Some(i), _) => (i, true),
            (None, Some(c)) => (c, false),
        };
        if is_item {
            if let Some(m) = dated_item_at(text, i, from) {
                return Some(m);
            }
            item = find_from(text, i + '日'.len_utf8(), &DAY_PAREN);
        } else {
            if let Some(m) = citation_at(text, i) {
                return Some(m);
            }
            citation = find_from(text, i + '『'.len_utf8(), &TITLE_OPEN);
        }
    }
}

/// `text` without its boilerplate (see [`BOILERPLATE_PATTERN`]).
fn strip_boilerplate(text: String) -> String {
    let mut out: Option<String> = None;
    let (mut copied, mut from) = (0, 0);
    while let Some(m) = next_boilerplate(&text, from) {
        if m.cut {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..m.start]);
            copied = m.end;
        }
        from = m.end;
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            out
        }
        None => text,
    }
}

/// The text shingled, from the normalised body (NFKC, lower case, spelling
/// variants: what the analyser made of it): without `更新:` lines, white
/// space and boilerplate ([`BOILERPLATE_PATTERN`]), so line breaks, update
/// stamps and full-width/half-width differences do not count.
pub fn shingle_text(normalized: &str) -> String {
    let mut joined = String::with_capacity(normalized.len());
    for line in normalized.lines() {
        if line.trim_start().starts_with("更新") {
            continue;
        }
        // Runs between white space, copied whole.
        let mut run = 0;
        for (i, c) in line.char_indices() {
            if c.is_whitespace() {
                joined.push_str(&line[run..i]);
                run = i + c.len_utf8();
            }
        }
        joined.push_str(&line[run..]);
    }
    strip_boilerplate(joined)
}

/// 64-bit multiply, folded: the mixing step of wyhash.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A shingle's hash: its five code points (21 bits each) packed exactly into
/// 105 bits, then mixed. Fixed constants: stored signatures need a hash that
/// stays the same across releases (std's and most crates' hashers do not
/// promise that).
#[inline]
fn shingle_hash(packed: u128) -> u64 {
    let h = fold_mul(
        (packed as u64) ^ 0xa076_1d64_78bd_642f,
        ((packed >> 64) as u64) ^ 0xe703_7ed1_a0b4_28db,
    );
    fold_mul(h ^ 0x8ebc_6af0_9c88_c6e3, 0x5899_65cc_7537_4cc3)
}

/// SplitMix64's finaliser (the densification's probe sequence, the stored
/// 16-bit values).
#[inline]
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hashes of a shingle text's shingles, in text order (repeats included).
fn shingle_hashes(text: &str) -> impl Iterator<Item = u64> + '_ {
    text.chars()
        .scan(0u128, |window, c| {
            *window = ((*window << 21) | u128::from(u32::from(c))) & ((1u128 << 105) - 1);
            Some(*window)
        })
        .skip(SHINGLE_CHARS - 1)
        .map(shingle_hash)
}

/// A set of (already uniform) shingle hashes, to count the distinct ones:
/// open addressing over the hashes themselves, sized once for the most
/// hashes it will be given (a fifth of the cost of sorting them, which was
/// the first way to count).
struct Distinct {
    table: Vec<u64>,
    /// Whether the hash 0 (the empty slot's mark) was inserted.
    zero: bool,
    len: usize,
}

impl Distinct {
    /// A set for at most `n` hashes.
    fn with_capacity(n: usize) -> Distinct {
        Distinct {
            table: vec![0; (n * 2).next_power_of_two().max(16)],
            zero: false,
            len: 0,
        }
    }

    /// Inserts `h`; whether it was new.
    fn insert(&mut self, h: u64) -> bool {
        if h == 0 {
            let new = !self.zero;
            self.zero = true;
            self.len += usize::from(new);
            return new;
        }
        let mask = self.table.len() - 1;
        let mut i = (h >> 32) as usize & mask;
        loop {
            match self.table[i] {
                0 => {
                    self.table[i] = h;
                    self.len += 1;
                    return true;
                }
                t if t == h => return false,
                _ => i = (i + 1) & mask,
            }
        }
    }
}

impl Signature {
    /// The signature of a body; `None` when it is too short.
    pub fn of_body(body: &str) -> Option<Signature> {
        Signature::of_normalized(&normalize_str(body))
    }

    /// The signature of a body already normalised (the text the analyser
    /// segmented); `None` when it is too short.
    pub fn of_normalized(normalized: &str) -> Option<Signature> {
        let text = shingle_text(normalized);
        let most = text.chars().count().saturating_sub(SHINGLE_CHARS - 1);
        let mut distinct = Distinct::with_capacity(most);
        // One permutation: the high 32 bits choose the bin, the low 32 bits
        // compete for its minimum (a repeated shingle cannot lower it).
        let mut bins: [Option<u32>; HASHES] = [None; HASHES];
        for h in shingle_hashes(&text) {
            if distinct.insert(h) {
                let bin = (((h >> 32) * HASHES as u64) >> 32) as usize;
                let v = h as u32;
                if bins[bin].is_none_or(|m| v < m) {
                    bins[bin] = Some(v);
                }
            }
        }
        let shingles = distinct.len;
        if shingles < MIN_SHINGLES {
            return None;
        }
        // Optimal densification: an empty bin takes the value of the first
        // non-empty bin in its own fixed probe sequence.
        let filled = bins;
        let mins = (0..HASHES)
            .map(|k| {
                let v = filled[k].unwrap_or_else(|| {
                    (0u64..)
                        .map(|attempt| mix64(((k as u64) << 32) | attempt) % HASHES as u64)
                        .find_map(|j| filled[j as usize])
                        .expect("a signature has at least one non-empty bin")
                });
                // Uniform 16 bits of the minimum (minima are small numbers).
                mix64(u64::from(v)) as u16
            })
            .collect();
        Some(Signature {
            mins,
            shingles: shingles as u32,
        })
    }

    /// Compares two signatures.
    pub fn similarity(&self, other: &Signature) -> Similarity {
        let equal = self
            .mins
            .iter()
            .zip(&other.mins)
            .filter(|(a, b)| a == b)
            .count();
        let jaccard = equal as f64 / HASHES as f64;
        let (a, b) = (f64::from(self.shingles), f64::from(other.shingles));
        // |A ∩ B| = J (|A| + |B|) / (1 + J)
        let common = jaccard * (a + b) / (1.0 + jaccard);
        let containment = (common / a.min(b).max(1.0)).min(1.0);
        Similarity {
            jaccard,
            containment,
        }
    }

    /// The LSH band keys: band number in the top 16 bits, the band's
    /// 16-bit values below (exact, no hashing).
    pub fn bands(&self) -> impl Iterator<Item = u64> + '_ {
        self.mins[..ROWS * BANDS]
            .chunks(ROWS)
            .enumerate()
            .map(|(band, rows)| {
                rows.iter()
                    .enumerate()
                    .fold((band as u64) << 48, |key, (i, &v)| {
                        key | (u64::from(v) << (16 * i))
                    })
            })
    }

    /// The words stored in the index ([`WORDS`] of them, a fixed-width
    /// fast field: reading one article's signature decodes nothing else):
    /// the shingle count (little endian), then the values, 8 bytes a word.
    pub fn to_words(&self) -> Vec<u64> {
        let mut bytes = Vec::with_capacity(8 * WORDS);
        bytes.extend_from_slice(&self.shingles.to_le_bytes());
        for v in &self.mins {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.resize(8 * WORDS, 0);
        bytes
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect()
    }

    /// Reads [`Signature::to_words`]; `None` for words of another shape.
    pub fn from_words(words: impl IntoIterator<Item = u64>) -> Option<Signature> {
        let mut bytes = Vec::with_capacity(8 * WORDS);
        for w in words {
            if bytes.len() == 8 * WORDS {
                return None;
            }
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        if bytes.len() != 8 * WORDS {
            return None;
        }
        let shingles = u32::from_le_bytes(bytes[..4].try_into().ok()?);
        let mins = bytes[4..4 + 2 * HASHES]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Some(Signature { mins, shingles })
    }
}

/// Words of a stored signature: the shingle count and [`HASHES`] 16-bit
/// values (256 bytes).
pub const WORDS: usize = (4 + 2 * HASHES).div_ceil(8);

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "気象庁によると、台風18号は12日午後9時現在、南硫黄島の南南西120kmの太平洋上にあって、北西に進んでいる。中心気圧は970ヘクトパスカルで、今後も発達を続ける見込みだという。";

    fn shingles_of(body: &str) -> String {
        shingle_text(&normalize_str(body))
    }

    #[test]
    fn update_lines_widths_and_boilerplate_do_not_count() {
        let plain = shingles_of(BODY);
        let varied = format!(
            "更新: 2024年11月1日\n{}\n2016年8月16日(火):台風13号の影響で広島でも1人死亡2014年7月7日(月):台風8号で宮古島地方に警報『気象庁台風情報』。気象庁、2005年9月10日。",
            BODY.replace("120km", "１２０ｋｍ")
        );
        assert_eq!(shingles_of(&varied), plain);
        assert!(plain.starts_with("気象庁によると、台風18号は"));
    }

    /// What [`strip_boilerplate`] replaced: the pattern, through `regex`.
    fn strip_by_pattern(text: &str) -> String {
        let pattern = regex::Regex::new(BOILERPLATE_PATTERN).unwrap();
        pattern
            .replace_all(text, |c: &regex::Captures<'_>| {
                let long = |i: usize, max: usize| {
                    c.get(i).is_some_and(|m| m.as_str().chars().count() > max)
                };
                if long(1, MAX_CITED_TITLE) || long(2, MAX_CITATION_TAIL) {
                    c[0].to_string()
                } else {
                    String::new()
                }
            })
            .into_owned()
    }

    #[test]
    fn the_scanner_cuts_what_the_pattern_matches() {
        let title = "あ".repeat(MAX_CITED_TITLE);
        let tail = "い".repeat(MAX_CITATION_TAIL);
        for text in [
            String::new(),
            "2016年8月16日(火):台風13号2014年7月7日(月):台風8号。次".into(),
            "前12016年8月16日(火):a『b』。c2005年8月21日。後".into(),
            "2016年123月1日(火):a。2016年12月1日(火)a。2016年1月1日(祝):a。".into(),
            format!("『{title}』。{tail}2005年8月21日。"),
            format!("『{title}あ』。読売2005年8月21日。2016年8月16日(火):x"),
            format!("『見出し』。{tail}う2005年8月21日。"),
            "『a』。b『c』。d2005年8月21日。『e』x。".into(),
            "『a』。b12005年8月21日。".into(),
            "『a』。é。2005年8月21日。".into(),
        ] {
            assert_eq!(
                strip_boilerplate(text.clone()),
                strip_by_pattern(&text),
                "{text}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn the_scanner_reads_as_the_pattern(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "2016年8月16日(火):", "12016年8月16日(火):", "2016年8月16日(祝):",
                "2016年123月1日(火):", "2016年8月", "16日(火):", "2005年8月21日。",
                "2005年8月21日", "2016", "8", "123", "年", "月", "日", "日(", "(", ")", ":",
                "『", "』", "』。", "。", "読売新聞、", "台風", "é", "あ", "1",
            ]), 0..30)
        ) {
            let text: String = pieces.concat();
            proptest::prop_assert_eq!(strip_boilerplate(text.clone()), strip_by_pattern(&text));
        }
    }

    #[test]
    fn the_scanner_reads_the_wikinews_corpus_as_the_pattern() {
        let path = std::env::var_os("KIJI_WIKINEWS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../shared/corpus/wikinews/articles.jsonl")
            });
        let Ok(bytes) = std::fs::read(&path) else {
            eprintln!("SKIPPED: no Wikinews corpus at {}", path.display());
            return;
        };
        let articles = crate::article::parse_bytes(crate::article::Format::JsonLines, &bytes, "");
        let mut cut = 0;
        for a in articles.into_iter().filter_map(|r| r.ok()) {
            let joined: String = normalize_str(&a.body)
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let expected = strip_by_pattern(&joined);
            cut += usize::from(expected.len() < joined.len());
            assert_eq!(strip_boilerplate(joined), expected, "{}", a.id);
        }
        assert!(cut > 100, "only {cut} articles hold boilerplate");
    }

    #[test]
    fn copies_are_similar_and_short_bodies_get_no_signature() {
        let a = Signature::of_body(BODY).unwrap();
        let trimmed: String = BODY.split_inclusive('。').take(1).collect();
        let b = Signature::of_body(&trimmed).unwrap();
        let s = a.similarity(&b);
        assert!(s.containment > 0.9, "{s:?}");
        assert!(s.jaccard < 0.8, "{s:?}");
        assert_eq!(a.similarity(&a).jaccard, 1.0);
        assert!(Signature::of_body("短い記事。").is_none());
        assert_eq!(Signature::from_words(a.to_words()), Some(a.clone()));
        assert_eq!(a.to_words().len(), WORDS);
        assert_eq!(
            Signature::from_words(a.to_words().into_iter().skip(1)),
            None
        );
        assert_eq!(
            Signature::from_words(a.to_words().into_iter().chain([0])),
            None
        );
        assert_eq!(a.bands().count(), BANDS);
        assert_eq!(
            Signature::of_normalized(&normalize_str(BODY)),
            Some(a),
            "the analyser's normalised text gives the same signature"
        );
    }

    /// A deterministic pseudo-text: `n` characters of hiragana and kanji.
    fn text(seed: u64, n: usize) -> String {
        const CHARS: &str = "あいうえおかきくけこさしすせそたちつてとなにぬねの日本政府首相会談北朝鮮兵派遣台風地震発表";
        let chars: Vec<char> = CHARS.chars().collect();
        let mut x = seed;
        (0..n)
            .map(|_| {
                x = mix64(x.wrapping_add(0x9e37_79b9_7f4a_7c15));
                chars[(x % chars.len() as u64) as usize]
            })
            .collect()
    }

    fn sorted_shingles(text: &str) -> Vec<u64> {
        let mut hashes: Vec<u64> = shingle_hashes(text).collect();
        hashes.sort_unstable();
        hashes.dedup();
        hashes
    }

    #[test]
    fn distinct_counts_as_sort_and_dedup() {
        fn count_distinct(hashes: impl IntoIterator<Item = u64>) -> usize {
            let hashes: Vec<u64> = hashes.into_iter().collect();
            let mut set = Distinct::with_capacity(hashes.len());
            hashes.into_iter().filter(|&h| set.insert(h)).count()
        }
        for (seed, n) in [(1, 0), (2, 3), (3, 200), (4, 3000)] {
            let t = text(seed, n);
            let doubled = format!("{t}{t}");
            for s in [&t, &doubled] {
                assert_eq!(count_distinct(shingle_hashes(s)), sorted_shingles(s).len());
            }
        }
        assert_eq!(count_distinct([0, 0, 5, 5, 7]), 3);
    }

    fn exact_jaccard(a: &str, b: &str) -> f64 {
        let (x, y) = (sorted_shingles(a), sorted_shingles(b));
        let common = x.iter().filter(|h| y.binary_search(h).is_ok()).count();
        common as f64 / (x.len() + y.len() - common) as f64
    }

    #[test]
    fn estimates_follow_the_exact_jaccard_index() {
        // Pairs from identical to unrelated, long (no empty bins) and short
        // (mostly densified bins): the estimate stays within 0.15 (about
        // 3.5 standard deviations at 126 bins) of the exact value.
        let base = text(1, 1500);
        let cut = |s: &str, n: usize| s.chars().take(n).collect::<String>();
        let cases = [
            (base.clone(), base.clone()),
            (base.clone(), cut(&base, 1200)),
            (base.clone(), cut(&base, 700)),
            (base.clone(), format!("{}{}", cut(&base, 750), text(2, 750))),
            (base.clone(), text(3, 1500)),
            (cut(&base, 120), cut(&base, 90)),
            (
                cut(&base, 120),
                format!("{}{}", cut(&base, 60), text(4, 60)),
            ),
        ];
        for (a, b) in &cases {
            let exact = exact_jaccard(a, b);
            let (sa, sb) = (
                Signature::of_normalized(a).unwrap(),
                Signature::of_normalized(b).unwrap(),
            );
            let estimate = sa.similarity(&sb).jaccard;
            assert!(
                (estimate - exact).abs() < 0.15,
                "exact {exact:.3}, estimate {estimate:.3} ({} / {} chars)",
                a.chars().count(),
                b.chars().count()
            );
        }
    }

    #[test]
    fn the_hash_family_is_pinned() {
        // Stored signatures must stay comparable across builds: a change of
        // the shingle hash or the densification would fail here (then rename
        // the `_v2` fields of the schema so that `kiji ingest --reanalyze`
        // recomputes them).
        let a = Signature::of_body(BODY).unwrap();
        assert_eq!(a.shingles, 86);
        assert_eq!(&a.mins[..4], &[18653, 39060, 56177, 35237]);
    }
}
