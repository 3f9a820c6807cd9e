//! The entity gazetteer: canonical names, types and aliases.
//!
//! The shipped list is `data/gazetteer.tsv` (embedded in the binary); users
//! add or override entries with a file of the same format named in
//! `config.toml` (`entities.user_file`), read at start-up: no rebuild needed.
//! Format (tab-separated, `#` comments): `canonical  type  aliases(|)  description  source`.

use rustc_hash::FxHashMap as HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::normalize::normalize_str;
use crate::error::{Error, Result};

/// The gazetteer shipped with kiji.
pub const BUILTIN: &str = include_str!("../../data/gazetteer.tsv");

/// People, organisations, places.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum EntityType {
    Person,
    Organization,
    Place,
}

impl EntityType {
    pub const ALL: [EntityType; 3] = [
        EntityType::Person,
        EntityType::Organization,
        EntityType::Place,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Person => "person",
            EntityType::Organization => "organization",
            EntityType::Place => "place",
        }
    }

    pub fn parse(s: &str) -> Option<EntityType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "person" | "people" | "per" => Some(EntityType::Person),
            "organization" | "organisation" | "org" => Some(EntityType::Organization),
            "place" | "location" | "loc" | "gpe" => Some(EntityType::Place),
            _ => None,
        }
    }

    /// The IPADIC part of speech and context id used for user-dictionary rows.
    fn ipadic_pos(self) -> (&'static str, u16) {
        match self {
            EntityType::Person => ("名詞,固有名詞,人名,一般,*,*", 1289),
            EntityType::Organization => ("名詞,固有名詞,組織,*,*,*", 1292),
            EntityType::Place => ("名詞,固有名詞,地域,一般,*,*", 1293),
        }
    }
}

/// One gazetteer entry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Entry {
    pub canonical: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    pub aliases: Vec<String>,
    pub description: String,
}

/// All entries, indexed by every normalised surface form.
#[derive(Debug, Default, Clone)]
pub struct Gazetteer {
    entries: Vec<Entry>,
    by_surface: HashMap<String, usize>,
    /// Every proper prefix (whole characters) of a normalised surface form:
    /// a run of morphemes that is not one can stop growing.
    prefixes: rustc_hash::FxHashSet<String>,
    /// Changes with every change of the entries (0: none yet): caches of
    /// what a word is in this gazetteer know when they are stale.
    generation: u64,
}

impl Gazetteer {
    /// The shipped list plus, when given, the user's file (which wins).
    pub fn load(user_file: Option<&Path>) -> Result<Gazetteer> {
        let mut g = Gazetteer::default();
        g.add_tsv(BUILTIN, "data/gazetteer.tsv")?;
        if let Some(path) = user_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Error::Config(format!("cannot read entities file {}: {e}", path.display()))
            })?;
            g.add_tsv(&text, &path.display().to_string())?;
        }
        Ok(g)
    }

    /// Adds the entries of one TSV text; later entries override earlier ones
    /// with the same canonical name, and take over their surfaces.
    pub fn add_tsv(&mut self, text: &str, origin: &str) -> Result<()> {
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').collect();
            let bad = |why: &str| Error::Config(format!("{origin}:{}: {why}", n + 1));
            if cols.len() < 2 {
                return Err(bad(
                    "expected canonical<TAB>type[<TAB>aliases<TAB>description]",
                ));
            }
            let canonical = cols[0].trim();
            if canonical.is_empty() {
                return Err(bad("empty canonical name"));
            }
            let kind = EntityType::parse(cols[1])
                .ok_or_else(|| bad("type must be person, organization or place"))?;
            let aliases = cols
                .get(2)
                .map(|a| {
                    a.split('|')
                        .map(str::trim)
                        .filter(|s| !s.is_empty() && *s != canonical)
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            let description = cols
                .get(3)
                .map(|d| d.trim().to_string())
                .unwrap_or_default();
            self.insert(Entry {
                canonical: canonical.to_string(),
                kind,
                aliases,
                description,
            });
        }
        Ok(())
    }

    /// An id of the gazetteer's current contents (equal ids: equal
    /// contents; a change gives a new id).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn insert(&mut self, entry: Entry) {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        self.generation = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let key = normalize_str(&entry.canonical);
        let idx = match self.by_surface.get(&key) {
            Some(&i) if normalize_str(&self.entries[i].canonical) == key => {
                self.entries[i] = entry;
                i
            }
            _ => {
                self.entries.push(entry);
                self.entries.len() - 1
            }
        };
        let e = &self.entries[idx];
        for s in std::iter::once(&e.canonical).chain(e.aliases.iter()) {
            let key = normalize_str(s);
            for (i, _) in key.char_indices().skip(1) {
                self.prefixes.insert(key[..i].to_string());
            }
            self.by_surface.insert(key, idx);
        }
    }

    /// True when some surface form starts with `normalized` (and is longer).
    pub fn is_prefix(&self, normalized: &str) -> bool {
        self.prefixes.contains(normalized)
    }

    /// The entry a surface form (canonical or alias, any width or case) names.
    pub fn lookup(&self, surface: &str) -> Option<&Entry> {
        self.lookup_normalized(&normalize_str(surface))
    }

    /// Like [`Gazetteer::lookup`], for already normalised text.
    pub fn lookup_normalized(&self, normalized: &str) -> Option<&Entry> {
        self.by_surface.get(normalized).map(|&i| &self.entries[i])
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every normalised surface form (canonical names and aliases) with the
    /// entry it names, sorted by surface.
    pub fn surfaces(&self) -> Vec<(&str, &Entry)> {
        let mut rows: Vec<(&str, &Entry)> = self
            .by_surface
            .iter()
            .map(|(s, &i)| (s.as_str(), &self.entries[i]))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        rows
    }

    /// Full 13-column IPADIC rows for lindera's user dictionary, one per surface.
    pub fn user_dictionary_csv(&self) -> String {
        let mut out = String::new();
        for (surface, entry) in self.surfaces() {
            if surface.contains([',', '"', '\n']) || surface.chars().count() < 2 {
                continue;
            }
            let (pos, id) = entry.kind.ipadic_pos();
            let cost = user_word_cost(surface);
            out.push_str(&format!("{surface},{id},{id},{cost},{pos},{surface},*,*\n"));
        }
        out
    }
}

/// The word cost of a gazetteer surface in the user dictionary: low enough
/// that a long name wins over IPADIC's split of it (金正恩 → 金+正+恩); short
/// names cost more, so that タイ does not cut タイムリー or 維新 明治維新.
pub fn user_word_cost(surface: &str) -> i32 {
    match surface.chars().count() {
        0..=2 => 3000,
        3 => 500,
        _ => -2000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_parses_and_knows_the_seed() {
        let g = Gazetteer::load(None).unwrap();
        assert!(g.len() > 100, "{}", g.len());
        assert_eq!(g.lookup("CSIS").unwrap().canonical, "戦略国際問題研究所");
        assert_eq!(
            g.lookup("ｃｓｉｓ").unwrap().canonical,
            "戦略国際問題研究所"
        );
        assert_eq!(g.lookup("中共").unwrap().canonical, "中国共産党");
        assert_eq!(g.lookup("米国").unwrap().canonical, "アメリカ");
        assert_eq!(g.lookup("プーチン").unwrap().kind, EntityType::Person);
    }

    #[test]
    fn user_entries_override() {
        let mut g = Gazetteer::default();
        g.add_tsv("テスト社\torganization\tTST\t\n", "a").unwrap();
        g.add_tsv("テスト社\tplace\tテスト\t\n", "b").unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!(g.lookup("tst").unwrap().kind, EntityType::Place);
        assert_eq!(g.lookup("テスト").unwrap().canonical, "テスト社");
        let err = g.add_tsv("x\tanimal\n", "user.tsv").unwrap_err();
        assert!(err.to_string().contains("user.tsv:1"));
    }

    #[test]
    fn csv_rows_have_13_columns() {
        let mut g = Gazetteer::default();
        g.add_tsv("金正恩\tperson\t\t\n", "a").unwrap();
        let csv = g.user_dictionary_csv();
        assert_eq!(csv.trim().split(',').count(), 13, "{csv}");
    }
}
