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

/// The text shingled: the normalised body (NFKC, lower case, spelling
/// variants) without white space, so line breaks and full-width/half-width
/// differences do not count.
pub fn shingle_text(body: &str) -> Vec<char> {
    normalize_str(body)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
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
