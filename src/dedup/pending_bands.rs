//! The band keys of the articles written since the last commit: which
//! pending articles hold a band key ([`super::groups::Pending`]).
//!
//! One flat open-addressing table of (band key, article) pairs, a pair per
//! band of each article (linear probing; a key held by several articles
//! occupies several slots of its probe run), grown by doubling at three
//! quarters full. 12 bytes a slot: about 21 bytes a pair, against about 70
//! for a `HashMap<u64, Vec<u32>>` (a 32-byte bucket and a heap allocation per
//! key). A commit window of a long ingest holds some 80,000 articles, 17 bands
//! each: 1.3 million pairs, ~28 MB here instead of ~90 MB, and no rehash that
//! briefly holds two copies of the larger table.

/// Band key → pending articles (indices into the pending list).
#[derive(Debug, Default)]
pub struct PendingBands {
    keys: Vec<u64>,
    /// The article of each slot; [`EMPTY`] for a free slot.
    docs: Vec<u32>,
    len: usize,
}

/// A free slot (no pending list gets this long: it holds one commit's articles).
const EMPTY: u32 = u32::MAX;

/// Slots of the first table.
const INITIAL_SLOTS: usize = 1 << 10;

impl PendingBands {
    /// Notes that pending article `doc` holds band `key`.
    pub fn insert(&mut self, key: u64, doc: u32) {
        debug_assert_ne!(doc, EMPTY);
        if (self.len + 1) * 4 > self.keys.len() * 3 {
            self.grow();
        }
        place(&mut self.keys, &mut self.docs, key, doc);
        self.len += 1;
    }

    /// Calls `f` with every pending article holding `key` (in no particular order).
    pub fn each(&self, key: u64, mut f: impl FnMut(u32)) {
        if self.keys.is_empty() {
            return;
        }
        let mask = self.keys.len() - 1;
        let mut slot = home(key, mask);
        while self.docs[slot] != EMPTY {
            if self.keys[slot] == key {
                f(self.docs[slot]);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// (Band, article) pairs held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn grow(&mut self) {
        let slots = (self.keys.len() * 2).max(INITIAL_SLOTS);
        let mut keys = vec![0; slots];
        let mut docs = vec![EMPTY; slots];
        for (&key, &doc) in self.keys.iter().zip(&self.docs) {
            if doc != EMPTY {
                place(&mut keys, &mut docs, key, doc);
            }
        }
        self.keys = keys;
        self.docs = docs;
    }
}

/// The first slot of `key`'s probe run. Band keys carry the band number in
/// their high bits and two 16-bit MinHash values in their low ones: mixed,
/// so that neither alone picks the slot.
fn home(key: u64, mask: usize) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize & mask
}

fn place(keys: &mut [u64], docs: &mut [u32], key: u64, doc: u32) {
    let mask = keys.len() - 1;
    let mut slot = home(key, mask);
    while docs[slot] != EMPTY {
        slot = (slot + 1) & mask;
    }
    keys[slot] = key;
    docs[slot] = doc;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn held(bands: &PendingBands, key: u64) -> Vec<u32> {
        let mut docs = Vec::new();
        bands.each(key, |d| docs.push(d));
        docs.sort_unstable();
        docs
    }

    #[test]
    fn every_article_of_a_key_is_found_across_growth() {
        let mut bands = PendingBands::default();
        assert!(bands.is_empty());
        assert_eq!(held(&bands, 7), Vec::<u32>::new());
        let mut reference: HashMap<u64, Vec<u32>> = HashMap::new();
        // 17 bands an article, as the signatures give them (band number in
        // the high bits), with keys shared by a few articles (copies), by
        // many (a wire story) and by one (most).
        for doc in 0..20_000u32 {
            for band in 0..17u64 {
                let value = match doc % 10 {
                    0 => 1,                                   // shared by 2,000
                    1 | 2 => u64::from(doc / 8),              // by a few
                    _ => u64::from(doc).wrapping_mul(40_503), // by one
                };
                let key = (band << 48) | (value & 0xFFFF_FFFF);
                bands.insert(key, doc);
                reference.entry(key).or_default().push(doc);
            }
        }
        assert_eq!(bands.len(), 20_000 * 17);
        assert!(bands.keys.len() * 3 >= bands.len() * 4);
        for (&key, docs) in &reference {
            assert_eq!(&held(&bands, key), docs, "key {key:#x}");
        }
        // (no article has a band numbered 17 or more)
        for absent in [17 << 48, (17 << 48) | 1, 40 << 48, u64::MAX] {
            assert_eq!(held(&bands, absent), Vec::<u32>::new());
        }
    }
}
