//! Word clusters for the entity model (`data/word_clusters.tsv`, embedded):
//! each word chiVe has a vector for gets three cluster ids, fine (1,024),
//! middle (256) and coarse (64). The CRF generalises through them from the
//! names it was trained on to words of the same kind it never saw
//! (`train/ner/clusters.py` builds the file; sources in `data/SOURCES.md`).

use std::sync::LazyLock;

static EMBEDDED: &str = include_str!("../../../data/word_clusters.tsv");

/// A word's clusters, coarse to fine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordClusters {
    pub coarse: u16,
    pub mid: u16,
    pub fine: u16,
}

/// The cluster table: an open-addressing hash table from a word's 64-bit
/// hash to its fine cluster, one `u64` a slot, so a look-up reads one slot
/// (or a few neighbours) and never the words themselves. Two words are taken
/// for the same when their hashes agree in the slot's index bits and in the
/// 48 bits the slot keeps, as the entity model's features are (the
/// [`super::fast`] keys).
#[derive(Debug)]
pub struct Clusters {
    /// `hash >> 16 << 16 | fine + 1` (0: empty); a power of two, at most
    /// three quarters full.
    slots: Vec<u64>,
    words: usize,
    /// (mid, coarse) of each fine cluster.
    parents: Vec<(u16, u16)>,
}

fn hash(word: &str) -> u64 {
    super::features::mix(super::features::hash_str(word))
}

/// The part of a hash a slot keeps (its low 16 bits hold the cluster).
const KEPT: u64 = !0xffff;

impl Clusters {
    /// The embedded table.
    pub fn embedded() -> &'static Clusters {
        static TABLE: LazyLock<Clusters> = LazyLock::new(|| Clusters::parse(EMBEDDED));
        &TABLE
    }

    /// Reads the file format: `#` comments, `@fine<TAB>mid<TAB>coarse`
    /// lines, then `word<TAB>fine` lines. Malformed lines are skipped (the
    /// file is embedded and checked by a test).
    fn parse(text: &str) -> Clusters {
        let mut lines = Vec::with_capacity(400_000);
        let mut parents: Vec<(u16, u16)> = Vec::new();
        // memchr over the bytes: the file has ~384,000 lines, and a
        // char-by-char split took most of the table's load time.
        let mut at = 0usize;
        while at < text.len() {
            let start = at;
            let end = memchr::memchr(b'\n', &text.as_bytes()[at..]).map_or(text.len(), |i| at + i);
            at = end + 1;
            // '\n' and '\t' are ASCII: these are char boundaries.
            let line = text[start..end].trim_end();
            if line.starts_with('#') {
                continue;
            }
            let Some(tab) = memchr::memchr(b'\t', line.as_bytes()) else {
                continue;
            };
            let (a, b) = (&line[..tab], &line[tab + 1..]);
            if let Some(id) = a.strip_prefix('@') {
                let Some((mid, coarse)) = b.split_once('\t') else {
                    continue;
                };
                if let (Ok(id), Ok(mid), Ok(coarse)) =
                    (id.parse::<usize>(), mid.parse(), coarse.parse())
                {
                    if parents.len() <= id {
                        parents.resize(id + 1, (0, 0));
                    }
                    parents[id] = (mid, coarse);
                }
            } else if let (Ok(fine), Ok(len)) = (b.parse::<u16>(), u16::try_from(a.len())) {
                lines.push((start as u32, len, fine));
            }
        }
        lines.retain(|&(_, _, fine)| (fine as usize) < parents.len());
        let size = (lines.len() * 4 / 3 + 1).max(16).next_power_of_two();
        let mut slots = vec![0u64; size];
        for &(start, len, fine) in &lines {
            let word = &text[start as usize..start as usize + len as usize];
            let h = hash(word);
            let mut s = h as usize & (size - 1);
            while slots[s] != 0 {
                s = (s + 1) & (size - 1);
            }
            slots[s] = h & KEPT | u64::from(fine + 1);
        }
        Clusters {
            slots,
            words: lines.len(),
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
        let mask = self.slots.len() - 1;
        let h = hash(word);
        let mut s = h as usize & mask;
        loop {
            let slot = self.slots[s];
            if slot == 0 {
                return None;
            }
            if slot & KEPT == h & KEPT {
                return Some((slot & !KEPT) as u16 - 1);
            }
            s = (s + 1) & mask;
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

    #[test]
    fn the_embedded_table_knows_names_and_common_words() {
        let c = Clusters::embedded();
        assert!(c.len() > 300_000, "{} words", c.len());
        // every word line of the file is read (none is malformed), and every
        // `@` line (no cluster of the file has both parents 0, the value a
        // cluster without its line would keep)
        let word_lines = EMBEDDED.lines().filter(|l| !l.starts_with(['#', '@']));
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
        for line in EMBEDDED.lines().filter(|l| !l.starts_with(['#', '@'])) {
            let (w, id) = line.split_once('\t').unwrap();
            assert_eq!(c.fine(w), Some(id.parse().unwrap()), "{w}");
        }
    }
}
