//! Word clusters for the entity model (`data/word_clusters.tsv`, embedded
//! as the table `build.rs` makes of it):
//! each word chiVe has a vector for gets three cluster ids, fine (1,024),
//! middle (256) and coarse (64). The CRF generalises through them from the
//! names it was trained on to words of the same kind it never saw
//! (`train/ner/clusters.py` builds the file; sources in `data/SOURCES.md`).

use std::sync::LazyLock;

use super::cluster_table::{HEADER, KEPT, hash};

/// The table `build.rs` made of `data/word_clusters.tsv`
/// ([`super::cluster_table`] gives its layout).
static EMBEDDED: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/word_clusters.bin"));

/// A word's clusters, coarse to fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordClusters {
    pub coarse: u16,
    pub mid: u16,
    pub fine: u16,
}

/// The cluster table, read where it lies (its slots are never copied).
#[derive(Debug)]
pub struct Clusters {
    /// The slots' bytes, a `u64` each.
    slots: &'static [u8],
    mask: usize,
    words: usize,
    /// (mid, coarse) of each fine cluster.
    parents: Vec<(u16, u16)>,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

impl Clusters {
    /// The embedded table.
    pub fn embedded() -> &'static Clusters {
        static TABLE: LazyLock<Clusters> = LazyLock::new(|| Clusters::read(EMBEDDED));
        &TABLE
    }

    /// A table in the layout of [`super::cluster_table::build`].
    fn read(bytes: &'static [u8]) -> Clusters {
        let (words, size, fine) = (
            u64_at(bytes, 0) as usize,
            u64_at(bytes, 8) as usize,
            u64_at(bytes, 16) as usize,
        );
        let slots = &bytes[HEADER..HEADER + size * 8];
        let parents = bytes[HEADER + size * 8..][..fine * 4]
            .chunks_exact(4)
            .map(|p| {
                (
                    u16::from_le_bytes([p[0], p[1]]),
                    u16::from_le_bytes([p[2], p[3]]),
                )
            })
            .collect();
        Clusters {
            slots,
            mask: size - 1,
            words,
            parents,
        }
    }

    /// How many words the table holds.
    pub fn len(&self) -> usize {
        self.words
    }

    pub fn is_empty(&self) -> bool {
        self.words == 0
    }

    fn fine(&self, word: &str) -> Option<u16> {
        let h = hash(word);
        let mut s = h as usize & self.mask;
        loop {
            let slot = u64_at(self.slots, s * 8);
            if slot == 0 {
                return None;
            }
            if slot & KEPT == h & KEPT {
                return Some((slot & !KEPT) as u16 - 1);
            }
            s = (s + 1) & self.mask;
        }
    }

    /// The clusters of `surface`, else of its dictionary form `base`.
    pub fn get(&self, surface: &str, base: Option<&str>) -> Option<WordClusters> {
        let fine = self
            .fine(surface)
            .or_else(|| base.filter(|b| *b != "*").and_then(|b| self.fine(b)))?;
        let (mid, coarse) = self.parents[fine as usize];
        Some(WordClusters { coarse, mid, fine })
    }
}

/// Decimal strings of the ids `0..1024` (feature values without allocating).
pub(crate) static IDS: LazyLock<Vec<String>> =
    LazyLock::new(|| (0..1024).map(|i: u32| i.to_string()).collect());

#[cfg(test)]
mod tests {
    use super::*;

    static SOURCE: &str = include_str!("../../../data/word_clusters.tsv");

    /// The embedded table is the one `build.rs` makes of the source file
    /// now (a stale or differently built table fails here).
    #[test]
    fn the_embedded_table_is_built_from_the_source_file() {
        assert!(EMBEDDED == super::super::cluster_table::build(SOURCE).as_slice());
    }

    #[test]
    fn the_embedded_table_knows_names_and_common_words() {
        let c = Clusters::embedded();
        assert!(c.len() > 300_000, "{} words", c.len());
        // every word line of the file is read (none is malformed), and every
        // `@` line (no cluster of the file has both parents 0, the value a
        // cluster without its line would keep)
        let word_lines = SOURCE.lines().filter(|l| !l.starts_with(['#', '@']));
        assert_eq!(c.len(), word_lines.count());
        assert_eq!(c.parents.len(), 1024);
        assert!(c.parents.iter().all(|&p| p != (0, 0)));
        for w in ["東京", "株式会社", "プーチン", "大統領", "走る"] {
            assert!(c.get(w, None).is_some(), "{w}");
        }
        // the base form stands in for a conjugated surface
        assert_eq!(c.get("走っ", Some("走る")), c.get("走る", None));
        assert_eq!(c.get("ｘｙｚｚｙ", Some("*")), None);
        // every word of the file is found, with its own cluster
        for line in SOURCE.lines().filter(|l| !l.starts_with(['#', '@'])) {
            let (w, id) = line.split_once('\t').unwrap();
            assert_eq!(c.fine(w), Some(id.parse().unwrap()), "{w}");
        }
    }
}
