//! The word-cluster table's layout, shared by `build.rs` (which turns
//! `data/word_clusters.tsv` into it, in `OUT_DIR`) and [`super::clusters`]
//! (which reads it where it is embedded, so that no process parses the
//! 384,000-line file at start: that took ~25 ms of every start with the
//! entity model). Included by `build.rs` as it is: it uses `std` alone.
//!
//! The table is an open-addressing hash table from a word's 64-bit
//! [`hash`] to its fine cluster, one `u64` a slot (`hash & KEPT | fine + 1`,
//! 0 for an empty slot; a power of two of slots, at most three quarters
//! full), so a look-up reads one slot (or a few neighbours) and never the
//! words themselves. Two words are taken for the same when their hashes
//! agree in the slot's index bits and in the 48 bits the slot keeps.
//!
//! Bytes, all little-endian: the number of words, of slots and of fine
//! clusters (three `u64`), the slots (`u64` each), then each fine cluster's
//! middle and coarse cluster (two `u16`).

/// The part of a hash a slot keeps (its low 16 bits hold the cluster).
pub const KEPT: u64 = !0xffff;

/// Bytes before the slots.
pub const HEADER: usize = 24;

/// A word's hash: FNV-1a over its UTF-8 bytes, then splitmix64's finaliser
/// (so that the low bits, which pick the slot, depend on every byte).
pub fn hash(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in word.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The table of the file format: `#` comments, `@fine<TAB>mid<TAB>coarse`
/// lines, then `word<TAB>fine` lines. Malformed lines, and words of a fine
/// cluster without its `@` line, are left out. (`build.rs` calls it; in the
/// crate, only the test that checks the embedded table does.)
#[cfg_attr(not(test), allow(dead_code))]
pub fn build(text: &str) -> Vec<u8> {
    let mut words: Vec<(&str, u16)> = Vec::new();
    let mut parents: Vec<(u16, u16)> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.starts_with('#') {
            continue;
        }
        let Some((a, b)) = line.split_once('\t') else {
            continue;
        };
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
        } else if let Ok(fine) = b.parse::<u16>() {
            words.push((a, fine));
        }
    }
    words.retain(|&(_, fine)| (fine as usize) < parents.len());
    let size = (words.len() * 4 / 3 + 1).max(16).next_power_of_two();
    let mut slots = vec![0u64; size];
    for &(word, fine) in &words {
        let h = hash(word);
        let mut s = h as usize & (size - 1);
        while slots[s] != 0 {
            s = (s + 1) & (size - 1);
        }
        slots[s] = h & KEPT | u64::from(fine + 1);
    }
    let mut out = Vec::with_capacity(HEADER + size * 8 + parents.len() * 4);
    for n in [words.len(), size, parents.len()] {
        out.extend_from_slice(&(n as u64).to_le_bytes());
    }
    for slot in slots {
        out.extend_from_slice(&slot.to_le_bytes());
    }
    for (mid, coarse) in parents {
        out.extend_from_slice(&mid.to_le_bytes());
        out.extend_from_slice(&coarse.to_le_bytes());
    }
    out
}
