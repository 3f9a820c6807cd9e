//! How the model's spans and the rules' spans become one list of mentions.
//!
//! The gazetteer, the suffix rule and the news-abbreviation rule are precise
//! (`by_pos == false`); the part-of-speech rules are not. The model saw all of
//! them as features. The shipped policy is [`Policy::SHIPPED`]; the others are
//! kept for `examples/train_ner.rs`, which scores each of them.

use super::super::entities::Mention;
use super::super::gazetteer::EntityType;

/// A way of combining rule spans and model spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The rules alone (kiji before the model).
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
    /// Persons and organisations led by the model, places by the rules:
    /// * a model person/organisation span that strictly contains precise rule
    ///   spans replaces them (東京 inside 東京大学病院), unless that would turn
    ///   a person into something else or a place/organisation into a person;
    /// * a part-of-speech person/organisation rule span replaces the model
    ///   spans it strictly contains, and fills gaps the model left;
    /// * places: precise rule places win (news convention: 東京都 | 世田谷区,
    ///   not 東京都世田谷区), model places fill the gaps.
    Hybrid,
}

impl Policy {
    pub const ALL: [Policy; 7] = [
        Policy::RulesOnly,
        Policy::Hybrid,
        Policy::RulesFirst,
        Policy::ModelOnly,
        Policy::RulesWin,
        Policy::ModelExtends,
        Policy::ModelWins,
    ];
    /// The policy kiji runs.
    pub const SHIPPED: Policy = Policy::Hybrid;

    pub fn name(self) -> &'static str {
        match self {
            Policy::RulesOnly => "rules-only",
            Policy::ModelOnly => "model-only",
            Policy::RulesWin => "rules-win",
            Policy::ModelExtends => "model-extends",
            Policy::ModelWins => "model-wins",
            Policy::RulesFirst => "rules-first",
            Policy::Hybrid => "hybrid",
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
        Policy::Hybrid => hybrid(text, rules, model),
        Policy::ModelWins => {
            let extra: Vec<Mention> = rules
                .into_iter()
                .filter(|r| precise(r) && !model.iter().any(|m| overlaps(r, m)))
                .collect();
            model.into_iter().chain(extra).collect()
        }
    };
    out.sort_by_key(|m| (m.start, m.end));
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

/// [`Policy::Hybrid`].
fn hybrid(text: &str, rules: Vec<Mention>, model: Vec<Mention>) -> Vec<Mention> {
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
    // model spans it contains; the others fill gaps.
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
        if !out.iter().any(|o| overlaps(o, p)) {
            out.push(p.clone());
        }
    }
    // Places: precise rule places win, model places fill the gaps.
    out.retain(|m| m.kind != EntityType::Place || !m.by_pos);
    for r in rules
        .iter()
        .filter(|r| r.kind == EntityType::Place && !r.by_pos)
    {
        if !out.iter().any(|o| overlaps(o, r)) {
            out.push(r.clone());
        }
    }
    for m in model.iter().filter(|m| m.kind == EntityType::Place) {
        if !out.iter().any(|o| overlaps(o, m)) {
            out.push(m.clone());
        }
    }
    out
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

    #[test]
    fn hybrid_keeps_abbreviations_and_news_places_and_lets_the_model_extend_names() {
        use EntityType::*;
        let text = "米政府と東京大学病院。東京都世田谷区で米を炊いた。ロシア西部";
        let at = |s: &str| {
            let start = text.find(s).expect(s);
            (start, start + s.len())
        };
        let span = |s: &str, kind, by_pos| {
            let (a, b) = at(s);
            m(a, b, kind, by_pos)
        };
        let rules = vec![
            span("米", Place, false),
            span("東京", Place, false),
            span("東京都", Place, false),
            span("ロシア", Place, false),
        ];
        let model = vec![
            span("米政府", Organization, true),
            span("東京大学病院", Organization, true),
            span("東京都世田谷区", Place, true),
            m(at("米を").0, at("米を").0 + "米".len(), Place, true),
            span("ロシア西部", Organization, true),
        ];
        let got: Vec<&str> = combine(text, rules, model, Policy::Hybrid)
            .iter()
            .map(|m| &text[m.start..m.end])
            .collect();
        // 米 stays the abbreviation, 東京大学病院 is one organisation, the
        // address keeps the rules' 東京都, rice is not a place, and a region
        // of Russia is not an organisation.
        assert_eq!(got, vec!["米", "東京大学病院", "東京都", "ロシア"]);
    }

    #[test]
    fn rules_only_is_the_rules() {
        let rules = vec![m(0, 3, EntityType::Place, true)];
        let out = combine("米", rules.clone(), vec![], Policy::RulesOnly);
        assert_eq!(out, rules);
    }
}
