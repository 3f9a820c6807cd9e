//! How the model's spans and the rules' spans become one list of mentions.
//!
//! The gazetteer, the suffix rule and the news-abbreviation rule are precise
//! (`by_pos == false`); the part-of-speech rules are not. The model saw all of
//! them as features. kiji runs [`Policy::Hybrid`] (`entities.addresses`
//! chooses its [`Addresses`]); the others are kept for
//! `examples/train_ner.rs`, which scores each of them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::entities::{Mention, title_at};
use super::super::gazetteer::EntityType;

/// How an address the model finds as one place is reported: whole
/// (東京都世田谷区: the convention of the stockmark and GSD sets, and of
/// kiji's news gold since 2026-12-08; what `kiji analyze` reports by
/// default), or in parts, each administrative unit a place (東京都 |
/// 世田谷区: what the index counts, so that facets and entity filters
/// count an article about 世田谷区 for 東京都).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Addresses {
    Parts,
    #[default]
    Whole,
}

impl Addresses {
    pub fn as_str(self) -> &'static str {
        match self {
            Addresses::Parts => "parts",
            Addresses::Whole => "whole",
        }
    }

    pub fn parse(s: &str) -> Option<Addresses> {
        match s {
            "parts" => Some(Addresses::Parts),
            "whole" => Some(Addresses::Whole),
            _ => None,
        }
    }
}

/// A way of combining rule spans and model spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The rules alone (kiji without the model), addresses reported whole
    /// ([`join_addresses`]).
    RulesOnly,
    /// The model alone.
    ModelOnly,
    /// Precise rule spans win; model spans that overlap none of them are added.
    RulesWin,
    /// Precise rule spans win unless a model span strictly contains one
    /// (東京 inside 東京大学病院): then the longer model span stands.
    ModelExtends,
    /// Model spans win; precise rule spans that overlap none are added.
    ModelWins,
    /// Every rule span wins (part-of-speech ones too); the model only adds
    /// spans where no rule found anything.
    RulesFirst,
    /// What kiji runs ([`hybrid`]): precise rule spans win unless a longer
    /// model span contains them (東京 inside 東京大学病院), model spans fill
    /// the gaps, part-of-speech rule spans only where the model is silent
    /// and they are more than a katakana compound; addresses as given.
    Hybrid(Addresses),
}

impl Policy {
    pub const ALL: [Policy; 8] = [
        Policy::RulesOnly,
        Policy::Hybrid(Addresses::Parts),
        Policy::Hybrid(Addresses::Whole),
        Policy::RulesFirst,
        Policy::ModelOnly,
        Policy::RulesWin,
        Policy::ModelExtends,
        Policy::ModelWins,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Policy::RulesOnly => "rules-only",
            Policy::ModelOnly => "model-only",
            Policy::RulesWin => "rules-win",
            Policy::ModelExtends => "model-extends",
            Policy::ModelWins => "model-wins",
            Policy::RulesFirst => "rules-first",
            Policy::Hybrid(Addresses::Parts) => "hybrid (addresses = parts)",
            Policy::Hybrid(Addresses::Whole) => "hybrid (addresses = whole)",
        }
    }
}

fn overlaps(a: &Mention, b: &Mention) -> bool {
    a.start < b.end && b.start < a.end
}

fn contains_strictly(outer: &Mention, inner: &Mention) -> bool {
    outer.start <= inner.start
        && inner.end <= outer.end
        && outer.end - outer.start > inner.end - inner.start
}

/// Combines `rules` (from [`super::super::entities::extract`]) and `model`
/// spans of `text`; the result is sorted by position and free of overlaps
/// between a rule span and a model span.
pub fn combine(
    text: &str,
    rules: Vec<Mention>,
    model: Vec<Mention>,
    policy: Policy,
) -> Vec<Mention> {
    let precise = |r: &Mention| !r.by_pos;
    let mut out: Vec<Mention> = match policy {
        Policy::RulesOnly => rules,
        Policy::ModelOnly => model,
        Policy::RulesWin => {
            let strong: Vec<Mention> = rules.into_iter().filter(precise).collect();
            let extra: Vec<Mention> = model
                .into_iter()
                .filter(|m| !strong.iter().any(|r| overlaps(r, m)))
                .collect();
            strong.into_iter().chain(extra).collect()
        }
        Policy::ModelExtends => {
            let strong: Vec<Mention> = rules.into_iter().filter(precise).collect();
            let longer: Vec<Mention> = model
                .iter()
                .filter(|m| strong.iter().any(|r| contains_strictly(m, r)))
                .cloned()
                .collect();
            let kept: Vec<Mention> = strong
                .into_iter()
                .filter(|r| !longer.iter().any(|m| overlaps(r, m)))
                .collect();
            let extra: Vec<Mention> = model
                .into_iter()
                .filter(|m| !kept.iter().any(|r| overlaps(r, m)))
                .collect();
            kept.into_iter().chain(extra).collect()
        }
        Policy::RulesFirst => {
            let extra: Vec<Mention> = model
                .into_iter()
                .filter(|m| !rules.iter().any(|r| overlaps(r, m)))
                .collect();
            rules.into_iter().chain(extra).collect()
        }
        Policy::Hybrid(addresses) => hybrid(text, rules, model, addresses),
        Policy::ModelWins => {
            let extra: Vec<Mention> = rules
                .into_iter()
                .filter(|r| precise(r) && !model.iter().any(|m| overlaps(r, m)))
                .collect();
            model.into_iter().chain(extra).collect()
        }
    };
    out.sort_by_key(|m| (m.start, m.end));
    match policy {
        Policy::RulesOnly | Policy::Hybrid(Addresses::Whole) => join_addresses(text, out),
        _ => out,
    }
}

/// Whether the place `outer`, written right before the place `inner`, is
/// the unit `inner` lies in: a first-level unit before a municipality
/// (東京都|渋谷区, 宮城県|涌谷町) or a city or district before a ward, town
/// or village (札幌市|中央区, 足柄上郡|中井村). Two units of one level
/// (大阪府|京都府) are none.
fn encloses(outer: &str, inner: &str) -> bool {
    if !unit_name(inner) || inner.ends_with(FIRST_LEVEL) {
        return false;
    }
    (outer.chars().count() >= 3 && outer.ends_with(FIRST_LEVEL))
        || (unit_name(outer)
            && outer.ends_with(['市', '郡'])
            && inner.ends_with(['区', '町', '村']))
}

/// Places written together that read as one address ([`encloses`]: how the
/// rules find 東京都渋谷区, as 東京都|渋谷区) become one place, as the
/// whole-address convention reports them ([`Addresses::Whole`]); a chain
/// (北海道|札幌市|中央区) becomes one. Places apart (東京都・大阪市, 東京都と港区)
/// stay as they are. `mentions` must be sorted by position.
pub fn join_addresses(text: &str, mentions: Vec<Mention>) -> Vec<Mention> {
    let mut out: Vec<Mention> = Vec::with_capacity(mentions.len());
    for m in mentions {
        if let Some(last) = out.last_mut()
            && last.kind == EntityType::Place
            && m.kind == EntityType::Place
            && last.end == m.start
            && let (Some(outer), Some(inner)) =
                (text.get(last.start..last.end), text.get(m.start..m.end))
            && encloses(outer, inner)
        {
            last.canonical = text[last.start..m.end].to_string();
            last.end = m.end;
            last.by_pos = last.by_pos || m.by_pos;
            continue;
        }
        out.push(m);
    }
    out
}

fn same(a: &Mention, b: &Mention) -> bool {
    (a.start, a.end, a.kind) == (b.start, b.end, b.kind)
}

/// Whether a span is a single character (米, 露: news abbreviations when the
/// rules say so, common nouns otherwise).
fn one_char(text: &str, m: &Mention) -> bool {
    text.get(m.start..m.end)
        .is_some_and(|s| s.chars().nth(1).is_none())
}

/// Words that make a place a region of it, not an organisation
/// (ロシア西部, 中国沿岸).
const REGION_WORDS: &[&str] = &[
    "東部", "西部", "南部", "北部", "中部", "地域", "地方", "側", "国内", "全土", "周辺", "沿岸",
];

/// May a model span of `outer`'s type replace the precise rule span `inner`?
/// Never a one-character abbreviation (米政府 stays 米 + 政府), never a place
/// by an "organisation" that is a region of it (ロシア西部).
fn may_extend(text: &str, outer: &Mention, inner: &Mention) -> bool {
    if one_char(text, inner) {
        return false;
    }
    if outer.kind == EntityType::Organization
        && inner.kind == EntityType::Place
        && text
            .get(outer.start..outer.end)
            .is_some_and(|s| REGION_WORDS.iter().any(|w| s.ends_with(w)))
    {
        return false;
    }
    match (inner.kind, outer.kind) {
        (EntityType::Person, k) => k == EntityType::Person,
        (_, k) => k != EntityType::Person,
    }
}

/// May a part-of-speech rule span fill a gap the model left? Not a
/// "person" made only of katakana (オレンジ・ルーム・アンカー, セカンド・アルバム:
/// compounds the model read and left out), unless a title follows it
/// (ダニエル・ジュルタ選手, (ケイ・ウンスク)容疑者).
fn may_fill(text: &str, p: &Mention) -> bool {
    if p.kind != EntityType::Person {
        return true;
    }
    let Some(s) = text.get(p.start..p.end) else {
        return false;
    };
    if !s
        .chars()
        .all(|c| matches!(c, '\u{30A0}'..='\u{30FF}' | '='))
    {
        return true;
    }
    let rest = &text[p.end..];
    let rest = rest.strip_prefix([')', '」']).unwrap_or(rest);
    title_at(rest, 0)
}

/// [`Policy::Hybrid`].
fn hybrid(
    text: &str,
    rules: Vec<Mention>,
    model: Vec<Mention>,
    addresses: Addresses,
) -> Vec<Mention> {
    // A one-character model span the gazetteer does not know is a common
    // noun more often than a name (米 "rice", 朝 "morning").
    let model: Vec<Mention> = model
        .into_iter()
        .filter(|m| !(m.by_pos && one_char(text, m)))
        .collect();
    let precise: Vec<&Mention> = rules.iter().filter(|r| !r.by_pos).collect();
    let (mut longer, mut rest) = (Vec::new(), Vec::new());
    for m in &model {
        let mut inner = precise
            .iter()
            .filter(|x| contains_strictly(m, x))
            .peekable();
        if inner.peek().is_some() && inner.all(|x| may_extend(text, m, x)) {
            longer.push(m.clone());
        } else {
            rest.push(m.clone());
        }
    }
    let kept: Vec<Mention> = precise
        .iter()
        .filter(|x| !longer.iter().any(|m| overlaps(x, m)))
        .map(|x| (*x).clone())
        .collect();
    let mut out: Vec<Mention> = kept.iter().cloned().chain(longer).collect();
    let fill: Vec<Mention> = rest
        .into_iter()
        .filter(|m| !out.iter().any(|o| overlaps(o, m)))
        .collect();
    out.extend(fill);
    // Part-of-speech persons and organisations: a longer one replaces the
    // model spans it contains; the others fill gaps the model left, unless
    // they are katakana compounds the model read and left out.
    let by_pos = rules
        .iter()
        .filter(|r| r.by_pos && r.kind != EntityType::Place);
    for p in by_pos.clone() {
        let inside = |m: &Mention| contains_strictly(p, m) && !kept.iter().any(|k| same(k, m));
        if out.iter().any(inside)
            && !out
                .iter()
                .any(|m| overlaps(p, m) && !contains_strictly(p, m))
        {
            out.retain(|m| !inside(m));
            out.push(p.clone());
        }
    }
    for p in by_pos {
        if may_fill(text, p) && !out.iter().any(|o| overlaps(o, p)) {
            out.push(p.clone());
        }
    }
    match addresses {
        Addresses::Parts => split_addresses(text, &rules, out),
        Addresses::Whole => out,
    }
}

/// Administrative units that end a place name.
const UNIT_ENDS: &[char] = &[
    '都', '道', '府', '県', '州', '省', '市', '区', '町', '村', '郡',
];

/// The units of the first level (a prefecture, state or province), after
/// which an address goes on with the next (東京都|港区).
const FIRST_LEVEL: &[char] = &['都', '道', '府', '県', '州', '省'];

/// Whether `s` reads as one administrative unit: a name of two characters
/// or more that ends like one (港区, 鶴ケ島市), not a numbered or generic
/// district (第2区, 23区, 再開発地区).
fn unit_name(s: &str) -> bool {
    s.chars().nth(1).is_some()
        && s.ends_with(UNIT_ENDS)
        && !s.ends_with("地区")
        && !s.chars().any(|c| c.is_ascii_digit() || c == '第')
}

/// An address the model found as one place (東京都世田谷区, 米ニューヨーク,
/// スイス・ジュネーヴ) becomes its parts, each a place (the news
/// convention: 東京都 | 世田谷区). The parts are the precise rule places
/// inside it and the pieces cut after a first-level unit; each must be a
/// rule place or read as a unit ([`unit_name`]). A place that is anything
/// else (ドイツ帝国, 四国地方) stays whole.
fn split_addresses(text: &str, rules: &[Mention], mut out: Vec<Mention>) -> Vec<Mention> {
    let mut added = Vec::new();
    out.retain(|m| {
        if m.kind != EntityType::Place || !m.by_pos {
            return true;
        }
        match address_parts(text, rules, m) {
            Some(parts) => {
                added.extend(parts);
                false
            }
            None => true,
        }
    });
    out.extend(added);
    out
}

/// The parts of the place `m` when it is an address (see [`split_addresses`]).
fn address_parts(text: &str, rules: &[Mention], m: &Mention) -> Option<Vec<Mention>> {
    let span = text.get(m.start..m.end)?;
    let inner: Vec<&Mention> = rules
        .iter()
        .filter(|r| !r.by_pos && r.kind == EntityType::Place && contains_strictly(m, r))
        .collect();
    let mut cuts: Vec<usize> = vec![m.start, m.end];
    cuts.extend(inner.iter().flat_map(|r| [r.start, r.end]));
    let mut from = 0;
    for (i, c) in span.char_indices() {
        let after = i + c.len_utf8();
        if FIRST_LEVEL.contains(&c) && span[from..i].chars().count() >= 2 && after < span.len() {
            cuts.push(m.start + after);
            from = after;
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    let mut parts = Vec::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if let Some(r) = inner.iter().find(|r| (r.start, r.end) == (a, b)) {
            parts.push((*r).clone());
            continue;
        }
        let piece = text.get(a..b)?;
        let t = piece.trim_matches(|c: char| c == '・' || c.is_whitespace());
        if t.is_empty() {
            continue;
        }
        if inner.iter().any(|r| r.start < b && a < r.end) || !unit_name(t) {
            return None;
        }
        let start = a + piece.find(t).unwrap_or(0);
        parts.push(Mention {
            start,
            end: start + t.len(),
            canonical: t.to_string(),
            kind: EntityType::Place,
            by_pos: true,
        });
    }
    (parts.len() >= 2).then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::gazetteer::EntityType;

    fn m(start: usize, end: usize, kind: EntityType, by_pos: bool) -> Mention {
        Mention {
            start,
            end,
            canonical: format!("{start}-{end}"),
            kind,
            by_pos,
        }
    }

    #[test]
    fn precise_rules_win_and_longer_model_spans_extend_them() {
        use EntityType::*;
        let rules = vec![
            m(0, 6, Place, false),   // 露朝 read as two countries: kept
            m(10, 16, Place, false), // 東京 inside 東京大学病院: the model's longer span wins
            m(30, 36, Person, true), // a part-of-speech guess: dropped
        ];
        let model = vec![
            m(0, 3, Place, true),
            m(10, 28, Organization, true),
            m(40, 46, Person, true),
        ];
        let got: Vec<(usize, usize)> = combine(&"x".repeat(50), rules, model, Policy::ModelExtends)
            .iter()
            .map(|m| (m.start, m.end))
            .collect();
        assert_eq!(got, vec![(0, 6), (10, 28), (40, 46)]);
    }

    /// Byte span of the first `s` in `text`, as a mention.
    fn span(text: &str, s: &str, kind: EntityType, by_pos: bool) -> Mention {
        let start = text.find(s).expect(s);
        m(start, start + s.len(), kind, by_pos)
    }

    fn surfaces<'t>(text: &'t str, ms: &[Mention]) -> Vec<&'t str> {
        ms.iter().map(|m| &text[m.start..m.end]).collect()
    }

    #[test]
    fn places_written_together_as_an_address_are_joined() {
        use EntityType::*;
        let text = "東京都渋谷区と大阪府京都府、東京都・大阪市。北海道札幌市中央区";
        let mut rules: Vec<Mention> = [
            "東京都",
            "渋谷区",
            "大阪府",
            "京都府",
            "東京都・",
            "大阪市",
            "北海道",
            "札幌市",
            "中央区",
        ]
        .iter()
        .scan(0, |from, s| {
            let s = s.trim_end_matches('・');
            let start = *from + text[*from..].find(s).expect(s);
            *from = start + s.len();
            Some(m(start, start + s.len(), Place, false))
        })
        .collect();
        rules.push(span(text, "と", Person, true)); // not a place: stays apart
        rules.sort_by_key(|m| (m.start, m.end));
        let joined = join_addresses(text, rules);
        let places: Vec<&str> = joined
            .iter()
            .filter(|m| m.kind == Place)
            .map(|m| &text[m.start..m.end])
            .collect();
        // A unit takes the units inside it written after it; two
        // prefectures, and places apart, stay apart.
        assert_eq!(
            places,
            [
                "東京都渋谷区",
                "大阪府",
                "京都府",
                "東京都",
                "大阪市",
                "北海道札幌市中央区"
            ]
        );
        assert_eq!(joined[0].canonical, "東京都渋谷区");
    }

    #[test]
    fn hybrid_keeps_abbreviations_and_splits_addresses_and_lets_the_model_extend_names() {
        use EntityType::*;
        let text = "米政府と東京大学病院。東京都世田谷区で米を炊いた。ロシア西部とドイツ帝国。埼玉県鶴ケ島市";
        let rules = vec![
            span(text, "米", Place, false),
            span(text, "東京", Place, false),
            span(text, "東京都", Place, false),
            span(text, "ロシア", Place, false),
            span(text, "ドイツ", Place, false),
            span(text, "埼玉県", Place, false),
        ];
        let rice = text.find("米を").unwrap();
        let model = vec![
            span(text, "米政府", Organization, true),
            span(text, "東京大学病院", Organization, true),
            span(text, "東京都世田谷区", Place, true),
            m(rice, rice + "米".len(), Place, true),
            span(text, "ロシア西部", Organization, true),
            span(text, "ドイツ帝国", Place, true),
            span(text, "埼玉県鶴ケ島市", Place, true),
        ];
        let parts = combine(
            text,
            rules.clone(),
            model.clone(),
            Policy::Hybrid(Addresses::Parts),
        );
        // 米 stays the abbreviation, 東京大学病院 is one organisation, an
        // address is its units (with or without a rule place for each),
        // rice is not a place, a region of Russia is not an organisation,
        // and a longer place that is no address stands.
        assert_eq!(
            surfaces(text, &parts),
            vec![
                "米",
                "東京大学病院",
                "東京都",
                "世田谷区",
                "ロシア",
                "ドイツ帝国",
                "埼玉県",
                "鶴ケ島市"
            ]
        );
        let whole = combine(text, rules, model, Policy::Hybrid(Addresses::Whole));
        assert_eq!(
            surfaces(text, &whole),
            vec![
                "米",
                "東京大学病院",
                "東京都世田谷区",
                "ロシア",
                "ドイツ帝国",
                "埼玉県鶴ケ島市"
            ]
        );
    }

    #[test]
    fn an_address_splits_only_into_units() {
        use EntityType::*;
        // 千葉 + 中央第六地区… is no pair of units; 神奈川県 + 第2区 is a
        // numbered district: both stay whole.
        for (text, inner) in [
            ("千葉中央第六地区第一種市街地再開発地区", "千葉"),
            ("神奈川県第2区", "神奈川県"),
        ] {
            let rules = vec![span(text, inner, Place, false)];
            let model = vec![span(text, text, Place, true)];
            let out = combine(text, rules, model, Policy::Hybrid(Addresses::Parts));
            assert_eq!(surfaces(text, &out), vec![text]);
        }
    }

    #[test]
    fn katakana_compounds_fill_no_gap_unless_a_title_follows() {
        use EntityType::*;
        let text = "セカンド・アルバムとダニエル・ジュルタ選手と田中不二麿";
        let rules = vec![
            span(text, "セカンド・アルバム", Person, true),
            span(text, "ダニエル・ジュルタ", Person, true),
            span(text, "田中不二麿", Person, true),
        ];
        let out = combine(text, rules, vec![], Policy::Hybrid(Addresses::Parts));
        assert_eq!(
            surfaces(text, &out),
            vec!["ダニエル・ジュルタ", "田中不二麿"]
        );
    }

    #[test]
    fn rules_only_is_the_rules() {
        let rules = vec![m(0, 3, EntityType::Place, true)];
        let out = combine("米", rules.clone(), vec![], Policy::RulesOnly);
        assert_eq!(out, rules);
    }
}
