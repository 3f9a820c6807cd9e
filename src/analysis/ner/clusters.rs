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

/// The cluster table: the embedded file itself, and an open-addressing hash
/// table over its word lines (no word is copied).
#[derive(Debug)]
pub struct Clusters {
    text: &'static str,
    /// Every word line: byte offset of the word, its length, its fine cluster.
    lines: Vec<(u32, u16, u16)>,
    /// Slots holding `1 + index into lines` (0: empty); a power of two.
    slots: Vec<u32>,
    /// (mid, coarse) of each fine cluster.
    parents: Vec<(u16, u16)>,
}

fn hash(word: &str) -> usize {
    use std::hash::Hasher;
    let mut h = rustc_hash::FxHasher::default();
    h.write(word.as_bytes());
    h.finish() as usize
}

impl Clusters {
    /// The embedded table.
    pub fn embedded() -> &'static Clusters {
        static TABLE: LazyLock<Clusters> = LazyLock::new(|| Clusters::parse(EMBEDDED));
        &TABLE
    }

    /// Reads the file format: `#` comments, `@fine<TAB>mid<TAB>coarse`
    /// lines, then `word<TAB>fine` lines. Malformed lines are skipped (the
    /// file is embedded and checked by a test).
    fn parse(text: &'static str) -> Clusters {
        let mut lines = Vec::with_capacity(400_000);
        let mut parents: Vec<(u16, u16)> = Vec::new();
        let mut at = 0usize;
        for line in text.split_inclusive('\n') {
            let start = at;
            at += line.len();
            if line.starts_with('#') {
                continue;
            }
            let mut cols = line.trim_end().split('\t');
            let (Some(a), Some(b)) = (cols.next(), cols.next()) else {
                continue;
            };
            if let Some(id) = a.strip_prefix('@') {
                if let (Ok(id), Ok(mid), Some(Ok(coarse))) =
                    (id.parse::<usize>(), b.parse(), cols.next().map(str::parse))
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
        let size = (lines.len() * 2).max(16).next_power_of_two();
        let mut slots = vec![0u32; size];
        for (i, &(start, len, _)) in lines.iter().enumerate() {
            let word = &text[start as usize..start as usize + len as usize];
            let mut s = hash(word) & (size - 1);
            while slots[s] != 0 {
                s = (s + 1) & (size - 1);
            }
            slots[s] = i as u32 + 1;
        }
        Clusters {
            text,
            lines,
            slots,
            parents,
        }
    }

    /// How many words the table holds.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The word and fine cluster of word line `i`.
    fn line(&self, i: usize) -> (&'static str, u16) {
        let (start, len, fine) = self.lines[i];
        (
            &self.text[start as usize..start as usize + len as usize],
            fine,
        )
    }

    fn fine(&self, word: &str) -> Option<u16> {
        let mask = self.slots.len() - 1;
        let mut s = hash(word) & mask;
        loop {
            let slot = self.slots[s];
            if slot == 0 {
                return None;
            }
            let (w, fine) = self.line(slot as usize - 1);
            if w == word {
                return Some(fine);
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
        assert_eq!(c.parents.len(), 1024);
        for w in ["東京", "株式会社", "プーチン", "大統領", "走る"] {
            assert!(c.get(w, None).is_some(), "{w}");
        }
        // the base form stands in for a conjugated surface
        assert_eq!(c.get("走っ", Some("走る")), c.get("走る", None));
        assert_eq!(c.get("ｘｙｚｚｙ", Some("*")), None);
        // every word of the file is found, with its own cluster
        for i in 0..c.len() {
            let (w, id) = c.line(i);
            assert_eq!(c.fine(w), Some(id), "{w}");
        }
    }
}
