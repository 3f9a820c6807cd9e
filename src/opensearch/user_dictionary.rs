//! kuromoji's user dictionary, generated from kiji's gazetteer (the shipped
//! list plus the user's entities file).
//!
//! kuromoji's format is `surface,segmentation,readings,part-of-speech`. The
//! two analysers treat a user word differently: lindera (kiji) gives it a
//! cost and lets the lattice decide, while kuromoji takes the longest user
//! word at a position whatever the cost (and offers no dictionary word
//! starting there). So only the names that kiji's own costs make win over
//! IPADIC's split — [`user_word_cost`] at most [`MAX_COST`], i.e. names of
//! three characters or more — are exported. A two-character name such as
//! タイ would otherwise cut タイムリー in the cluster and not in kiji.

use crate::analysis::gazetteer::{EntityType, Gazetteer, user_word_cost};

/// The highest kiji user-word cost exported (see the module docs).
pub const MAX_COST: i32 = 500;

/// kuromoji's part-of-speech tag for an entity type (IPADIC's tags, joined
/// with `-` as kuromoji prints them).
pub fn part_of_speech(kind: EntityType) -> &'static str {
    match kind {
        EntityType::Person => "名詞-固有名詞-人名-一般",
        EntityType::Organization => "名詞-固有名詞-組織",
        EntityType::Place => "名詞-固有名詞-地域-一般",
    }
}

/// True when a normalised surface can be a kuromoji user word that behaves
/// as in kiji: no CSV or comment syntax, no space (kuromoji would read the
/// space as a segmentation), and a cost that wins in kiji too.
pub fn exported(surface: &str) -> bool {
    surface.chars().count() >= 2
        && !surface.contains([',', '"', '\n', '\r'])
        && !surface.starts_with('#')
        && !surface.chars().any(char::is_whitespace)
        && user_word_cost(surface) <= MAX_COST
}

/// The rules, one per exported surface (normalised, as kuromoji sees the
/// text after kiji's char filter), sorted. The reading is the surface
/// itself: the gazetteer has no readings, and kiji uses none.
pub fn rules(gazetteer: &Gazetteer) -> Vec<String> {
    gazetteer
        .surfaces()
        .into_iter()
        .filter(|(s, _)| exported(s))
        .map(|(s, e)| format!("{s},{s},{s},{}", part_of_speech(e.kind)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_exported_short_ones_not() {
        let mut g = Gazetteer::default();
        g.add_tsv(
            "金正恩\tperson\t\t\nタイ\tplace\t\t\n戦略国際問題研究所\torganization\tCSIS\t\nNew York\tplace\t\t\n",
            "t",
        )
        .unwrap();
        assert_eq!(
            rules(&g),
            vec![
                "csis,csis,csis,名詞-固有名詞-組織",
                "戦略国際問題研究所,戦略国際問題研究所,戦略国際問題研究所,名詞-固有名詞-組織",
                "金正恩,金正恩,金正恩,名詞-固有名詞-人名-一般",
            ]
        );
    }
}
