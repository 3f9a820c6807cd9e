//! How the model's spans and the rules' spans become one list of mentions.
//!
//! The gazetteer, the suffix rule and the news-abbreviation rule are precise
//! (`by_pos == false`); the part-of-speech rules are not. The model saw all of
//! them as features. The shipped policy is [`Policy::SHIPPED`]; the others are
//! kept for `examples/train_ner.rs`, which scores each of them.

use super::super::entities::Mention;

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
}

impl Policy {
    pub const ALL: [Policy; 6] = [
        Policy::RulesOnly,
        Policy::RulesFirst,
        Policy::ModelOnly,
        Policy::RulesWin,
        Policy::ModelExtends,
        Policy::ModelWins,
    ];
    /// The policy kiji runs.
    pub const SHIPPED: Policy = Policy::RulesFirst;

    pub fn name(self) -> &'static str {
        match self {
            Policy::RulesOnly => "rules-only",
            Policy::ModelOnly => "model-only",
            Policy::RulesWin => "rules-win",
            Policy::ModelExtends => "model-extends",
            Policy::ModelWins => "model-wins",
            Policy::RulesFirst => "rules-first",
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
/// spans; the result is sorted by position and free of overlaps between a
/// rule span and a model span.
pub fn combine(rules: Vec<Mention>, model: Vec<Mention>, policy: Policy) -> Vec<Mention> {
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
        let got: Vec<(usize, usize)> = combine(rules, model, Policy::ModelExtends)
            .iter()
            .map(|m| (m.start, m.end))
            .collect();
        assert_eq!(got, vec![(0, 6), (10, 28), (40, 46)]);
    }

    #[test]
    fn rules_only_is_the_rules() {
        let rules = vec![m(0, 3, EntityType::Place, true)];
        let out = combine(rules.clone(), vec![], Policy::RulesOnly);
        assert_eq!(out, rules);
    }
}
