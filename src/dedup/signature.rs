//! An article's near-duplicate signature: MinHash (gaoya's `MinHasher16`)
//! over the character shingles of its normalised body, with the number of
//! distinct shingles (so the share of the *shorter* article found in the
//! other can be estimated, not only the Jaccard index: a copy whose last
//! paragraphs were cut is contained in the original), and the
//! locality-sensitive bands that are indexed as terms to find candidates.

use std::sync::LazyLock;

use gaoya::minhash::{MinHasher, MinHasher16};

use crate::analysis::normalize::normalize_str;

/// Characters per shingle.
pub const SHINGLE_CHARS: usize = 5;
/// Rows per band: two articles become candidates when all rows of one band agree.
pub const ROWS: usize = 3;
/// Bands; with [`ROWS`], an article pair of Jaccard index 0.5 becomes a
/// candidate with probability 1 − (1 − 0.5³)⁴² ≈ 0.996, one of 0.3 with ≈ 0.68,
/// one of 0.05 with ≈ 0.005.
pub const BANDS: usize = 42;
/// MinHash values per signature.
pub const HASHES: usize = ROWS * BANDS;
const _: () = assert!(ROWS <= 3, "a band key holds three 16-bit values");
/// Bodies with fewer distinct shingles get no signature (too short to tell
/// a copy from a coincidence) and stay alone in their group.
pub const MIN_SHINGLES: usize = 40;

/// gaoya's hasher; the seed fixes the hash family, so signatures stored in
/// the index stay comparable (a test pins a signature).
static HASHER: LazyLock<MinHasher16<fnv::FnvBuildHasher>> = LazyLock::new(|| {
    MinHasher16::new_with_hasher_and_seed(HASHES, fnv::FnvBuildHasher::default(), 16)
});

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
static BOILERPLATE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"\d{4}年\d{1,2}月\d{1,2}日\([月火水木金土日]\):[^。『]*|『[^』]{0,200}』。[^。]{0,60}?\d{4}年\d{1,2}月\d{1,2}日。",
    )
    .expect("the boilerplate pattern compiles")
});

/// The text shingled: the normalised body (NFKC, lower case, spelling
/// variants) without `更新:` lines, white space and [`BOILERPLATE`], so
/// line breaks, update stamps and full-width/half-width differences do not count.
pub fn shingle_text(body: &str) -> Vec<char> {
    let norm = normalize_str(body);
    let joined: String = norm
        .lines()
        .filter(|l| !l.trim_start().starts_with("更新"))
        .flat_map(str::chars)
        .filter(|c| !c.is_whitespace())
        .collect();
    BOILERPLATE.replace_all(&joined, "").chars().collect()
}

/// FNV-1a over the chars of a shingle: stable across releases (unlike std's
/// hashers), which stored signatures need.
fn shingle_hash(chars: &[char]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for c in chars {
        for b in (*c as u32).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

impl Signature {
    /// The signature of a body; `None` when it is too short.
    pub fn of_body(body: &str) -> Option<Signature> {
        let chars = shingle_text(body);
        if chars.len() < SHINGLE_CHARS {
            return None;
        }
        let mut hashes: Vec<u64> = chars.windows(SHINGLE_CHARS).map(shingle_hash).collect();
        hashes.sort_unstable();
        hashes.dedup();
        if hashes.len() < MIN_SHINGLES {
            return None;
        }
        let mins = HASHER.create_signature(hashes.iter());
        Some(Signature {
            mins,
            shingles: hashes.len() as u32,
        })
    }

    /// Compares two signatures.
    pub fn similarity(&self, other: &Signature) -> Similarity {
        let jaccard = gaoya::minhash::compute_minhash_similarity(&self.mins, &other.mins);
        let (a, b) = (f64::from(self.shingles), f64::from(other.shingles));
        // |A ∩ B| = J (|A| + |B|) / (1 + J)
        let common = jaccard * (a + b) / (1.0 + jaccard);
        let containment = (common / a.min(b).max(1.0)).min(1.0);
        Similarity {
            jaccard,
            containment,
        }
    }

    /// The LSH band keys: band number in the top 16 bits, the band's three
    /// 16-bit values below (exact, no hashing).
    pub fn bands(&self) -> impl Iterator<Item = u64> + '_ {
        self.mins.chunks(ROWS).enumerate().map(|(band, rows)| {
            rows.iter()
                .enumerate()
                .fold((band as u64) << 48, |key, (i, &v)| {
                    key | (u64::from(v) << (16 * i))
                })
        })
    }

    /// Bytes as stored in the index: the shingle count (little endian),
    /// then the values.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 2 * self.mins.len());
        out.extend_from_slice(&self.shingles.to_le_bytes());
        for v in &self.mins {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    /// Reads [`Signature::to_bytes`]; `None` for bytes of another shape.
    pub fn from_bytes(bytes: &[u8]) -> Option<Signature> {
        if bytes.len() != 4 + 2 * HASHES {
            return None;
        }
        let shingles = u32::from_le_bytes(bytes[..4].try_into().ok()?);
        let mins = bytes[4..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        Some(Signature { mins, shingles })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "気象庁によると、台風18号は12日午後9時現在、南硫黄島の南南西120kmの太平洋上にあって、北西に進んでいる。中心気圧は970ヘクトパスカルで、今後も発達を続ける見込みだという。";

    #[test]
    fn update_lines_widths_and_boilerplate_do_not_count() {
        let plain = shingle_text(BODY);
        let varied = format!(
            "更新: 2024年11月1日\n{}\n2016年8月16日(火):台風13号の影響で広島でも1人死亡2014年7月7日(月):台風8号で宮古島地方に警報『気象庁台風情報』。気象庁、2005年9月10日。",
            BODY.replace("120km", "１２０ｋｍ")
        );
        assert_eq!(shingle_text(&varied), plain);
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
        assert_eq!(Signature::from_bytes(&a.to_bytes()), Some(a.clone()));
        assert_eq!(a.bands().count(), BANDS);
    }

    #[test]
    fn the_hash_family_is_pinned() {
        // Stored signatures must stay comparable across builds: a change of
        // gaoya's or rand's generator would fail here (then bump the schema
        // so that `kiji ingest --reanalyze` recomputes them).
        let a = Signature::of_body(BODY).unwrap();
        assert_eq!(a.shingles, 86);
        assert_eq!(&a.mins[..4], &[58156, 20494, 25148, 55969]);
    }
}
