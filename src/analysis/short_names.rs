//! Short forms of a name within one article.
//!
//! News names a person in full once (小泉純一郎, ジョージ・W・ブッシュ) and
//! then by the surname or the last part (小泉首相, ブッシュ大統領); a source
//! as 読売新聞 and then 読売. Found one by one, these are two canonical
//! names, and the article counted the person twice in facets, timelines
//! and co-occurrence (where 小泉 stood beside 小泉純一郎): in a quarter of
//! the Wikinews articles. Here a short form takes the canonical name of the
//! one fuller name of the same article it can stand for.

use super::entities::is_kanji;
use super::gazetteer::EntityType;

/// Gives each person or organisation named by a short form the canonical
/// name of the one fuller name of the same article and type it stands for
/// ([`person_stands_for`], [`organization_stands_for`]); `names` are the
/// type and canonical name of every mention of the article (title and
/// body). A short form that could stand for two names of the article
/// (ブッシュ beside ジョージ・W・ブッシュ and ローラ・ブッシュ, 小泉 beside
/// 小泉純一郎 and 小泉進次郎, 読売 beside 読売新聞 and 読売テレビ) is left as
/// it is. `given_name(part)` says
/// whether the kanji after a surname, or a part before the last of a
/// `・`-joined name, may be a given name (純一郎, ヒラリー; not 騎手 or
/// ウルグアイ, which a span took in by mistake: ウルグアイ・スアレス).
pub fn resolve<'a>(
    names: impl IntoIterator<Item = (EntityType, &'a mut String)>,
    given_name: impl Fn(&str) -> bool,
) {
    let mut named: Vec<(EntityType, &'a mut String)> = names
        .into_iter()
        .filter(|(kind, _)| *kind != EntityType::Place)
        .collect();
    let mut distinct: Vec<(EntityType, String)> =
        named.iter().map(|(k, n)| (*k, n.to_string())).collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 {
        return;
    }
    // Decided once per distinct name (a surname may stand a dozen times in
    // an article, and `given_name` segments text), then given to each
    // mention.
    let fuller: Vec<Option<&String>> = distinct
        .iter()
        .map(|(kind, short)| {
            let stands_for = |full: &str| match kind {
                EntityType::Person => person_stands_for(short, full, &given_name),
                _ => organization_stands_for(short, full),
            };
            let mut fuller = distinct
                .iter()
                .filter(|(k, full)| k == kind && stands_for(full))
                .map(|(_, full)| full);
            match (fuller.next(), fuller.next()) {
                (Some(full), None) => Some(full),
                _ => None,
            }
        })
        .collect();
    for (kind, name) in &mut named {
        let at = distinct.binary_search_by(|(k, n)| (k, n.as_str()).cmp(&(&*kind, name.as_str())));
        if let Ok(at) = at
            && let Some(full) = fuller[at]
        {
            **name = full.clone();
        }
    }
}

/// How many kanji a given name after a surname has (純 … 純一郎).
pub(crate) const GIVEN_NAME_KANJI: std::ops::RangeInclusive<usize> = 1..=3;

/// A `・`-joined name as its other parts and its last part, when the last
/// part has two characters or more: what names the person alone and what
/// `entity=` finds the name by (ガブエフ of アレクサンダー・ガブエフ; not the
/// W of ジョージ・W).
pub(crate) fn split_last_part(name: &str) -> Option<(&str, &str)> {
    name.rsplit_once('・')
        .filter(|(_, last)| last.chars().count() >= 2)
}

/// What completes an organisation's short form into its name: 読売 →
/// 読売新聞, 民主 → 民主党, 共同 → 共同通信, フジ → フジテレビ, J2 → J2リーグ,
/// 新生 → 新生銀行, 三洋 → 三洋電機, 巨人 → 巨人軍. Not 社 (東京新聞 is the name
/// of 東京新聞社's paper, counted as such everywhere), nor words that make
/// another body of the same name (阪神 the team, 阪神電鉄 the railway; 朝日
/// the paper, 朝日放送).
const ORGANIZATION_COMPLETIONS: &[&str] = &[
    "新聞",
    "党",
    "通信",
    "テレビ",
    "リーグ",
    "銀行",
    "電機",
    "軍",
];

/// Whether `short` (two characters or more) may name the organisation
/// `full`: `full` is `short` and one of [`ORGANIZATION_COMPLETIONS`].
fn organization_stands_for(short: &str, full: &str) -> bool {
    short.chars().count() >= 2
        && full
            .strip_prefix(short)
            .is_some_and(|rest| ORGANIZATION_COMPLETIONS.contains(&rest))
}

/// Whether `short` may name the person `full`: the last part of a
/// `・`-joined name (two characters or more, as `entity=` finds it) whose
/// other parts may be given names (or are initials: the W of ジョージ・W・
/// ブッシュ), or a kanji surname followed in `full` by one to three kanji
/// that may be a given name.
fn person_stands_for(short: &str, full: &str, given_name: impl Fn(&str) -> bool) -> bool {
    if full.contains('・') {
        let initial = |part: &str| part.chars().count() == 1 && part.is_ascii();
        return split_last_part(full).is_some_and(|(first, last)| {
            last == short
                && first
                    .split('・')
                    .all(|part| initial(part) || given_name(part))
        });
    }
    let Some(rest) = full.strip_prefix(short) else {
        return false;
    };
    !short.is_empty()
        && short.chars().all(is_kanji)
        && GIVEN_NAME_KANJI.contains(&rest.chars().count())
        && rest.chars().all(is_kanji)
        && given_name(rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use EntityType::*;

    /// The canonical names after [`resolve`], with every kanji rest taken
    /// for a given name but 騎手, and every other part but ウルグアイ.
    fn resolved(names: &[(EntityType, &str)]) -> Vec<String> {
        let mut names: Vec<(EntityType, String)> =
            names.iter().map(|(k, n)| (*k, n.to_string())).collect();
        resolve(names.iter_mut().map(|(k, n)| (*k, n)), |part| {
            !["騎手", "ウルグアイ"].contains(&part)
        });
        names.into_iter().map(|(_, n)| n).collect()
    }

    #[test]
    fn a_surname_or_last_part_takes_the_one_full_name_of_the_article() {
        assert_eq!(
            resolved(&[(Person, "小泉"), (Person, "小泉純一郎"), (Person, "麻生")]),
            ["小泉純一郎", "小泉純一郎", "麻生"]
        );
        assert_eq!(
            resolved(&[(Person, "ジョージ・W・ブッシュ"), (Person, "ブッシュ")]),
            ["ジョージ・W・ブッシュ", "ジョージ・W・ブッシュ"]
        );
        // one-character surnames too (王 of 王貞治)
        assert_eq!(
            resolved(&[(Person, "王"), (Person, "王貞治")]),
            ["王貞治", "王貞治"]
        );
    }

    #[test]
    fn a_short_form_of_two_names_or_of_another_kind_stays() {
        assert_eq!(
            resolved(&[
                (Person, "小泉"),
                (Person, "小泉純一郎"),
                (Person, "小泉進次郎")
            ]),
            ["小泉", "小泉純一郎", "小泉進次郎"]
        );
        assert_eq!(
            resolved(&[
                (Person, "ブッシュ"),
                (Person, "ジョージ・W・ブッシュ"),
                (Person, "ローラ・ブッシュ"),
            ]),
            ["ブッシュ", "ジョージ・W・ブッシュ", "ローラ・ブッシュ"]
        );
        // a place or organisation is never a person's short form, nor is
        // a person's name that of a place
        assert_eq!(
            resolved(&[(Place, "小泉"), (Person, "小泉純一郎"), (Person, "福田")]),
            ["小泉", "小泉純一郎", "福田"]
        );
        assert_eq!(
            resolved(&[(Person, "中"), (Organization, "中日新聞"), (Person, "田中")]),
            ["中", "中日新聞", "田中"]
        );
    }

    #[test]
    fn an_organisation_is_completed_by_what_names_it_alone() {
        assert_eq!(
            resolved(&[
                (Organization, "読売"),
                (Organization, "読売新聞"),
                (Person, "読売")
            ]),
            ["読売新聞", "読売新聞", "読売"]
        );
        assert_eq!(
            resolved(&[(Organization, "巨人"), (Organization, "巨人軍")]),
            ["巨人軍", "巨人軍"]
        );
        // two fuller names, another body of the name, the company of a paper
        assert_eq!(
            resolved(&[
                (Organization, "読売"),
                (Organization, "読売新聞"),
                (Organization, "読売テレビ"),
            ]),
            ["読売", "読売新聞", "読売テレビ"]
        );
        assert_eq!(
            resolved(&[(Organization, "阪神"), (Organization, "阪神電鉄")]),
            ["阪神", "阪神電鉄"]
        );
        assert_eq!(
            resolved(&[(Organization, "東京新聞"), (Organization, "東京新聞社")]),
            ["東京新聞", "東京新聞社"]
        );
    }

    #[test]
    fn only_a_given_name_completes_a_surname() {
        // a title taken into the span, a longer rest, kana, a one-letter part
        assert_eq!(
            resolved(&[(Person, "武豊"), (Person, "武豊騎手")]),
            ["武豊", "武豊騎手"]
        );
        assert_eq!(
            resolved(&[(Person, "田中"), (Person, "田中一二三四")]),
            ["田中", "田中一二三四"]
        );
        assert_eq!(
            resolved(&[(Person, "酒井"), (Person, "酒井のりこ")]),
            ["酒井", "酒井のりこ"]
        );
        assert_eq!(
            resolved(&[(Person, "W"), (Person, "ジョージ・W")]),
            ["W", "ジョージ・W"]
        );
        assert_eq!(
            resolved(&[(Person, "スアレス"), (Person, "ウルグアイ・スアレス")]),
            ["スアレス", "ウルグアイ・スアレス"]
        );
    }
}
