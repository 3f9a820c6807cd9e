//! Content units: what a run of natural Japanese asks for.
//!
//! A clause is normalised and segmented exactly as the index is (IPADIC,
//! [`crate::analysis`]), and its morphemes become **units**:
//!
//! * **Compounds** — a maximal run of nouns (including numbers, unknown
//!   words and Latin words), with the prefixes before them (`接頭詞`) and the
//!   suffixes after them (`名詞,接尾`: 氏, 県, 年, 省 …), joined across `・`
//!   and `-` (`ジェイ・キャスト`, `j-cast`). `経済産業省` is one unit, never
//!   `経済 AND 産業 AND 省`.
//! * **Inflected words** — a verb or adjective (`動詞,自立`, `形容詞,自立`)
//!   is one unit that matches any inflection through its dictionary form
//!   (`行っている` → `行う`), except the light ones that carry no topic
//!   (する, ある, いる, なる, できる, いう, ない, よい …).
//! * Dropped: particles, auxiliaries, symbols, adverbs, conjunctions,
//!   adnominals, pronouns (何, どこ, 誰) and dependent nouns (こと, ため, よう).
//!
//! A clause that is one unit (a word or a compound typed alone) keeps
//! exactly the meaning it always had; so does a clause with no unit at all
//! (`する`, `の`): it is searched as written.

use crate::analysis::Analyzer;
use crate::analysis::entities::Morpheme;
use crate::analysis::normalize::{Normalized, normalize};
use crate::analysis::tokenizer::{MorphPositions, is_indexable, is_word_symbol, word_term};

/// One content unit of a clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// The unit as the query wrote it, normalised: a substring of the
    /// normalised clause (what the bigram view and highlights match).
    pub text: String,
    /// The `ja` terms of the unit with their positions relative to the
    /// first morpheme (a morpheme phrase).
    pub terms: Vec<(usize, String)>,
    /// An inflected word's dictionary form (matches every inflection).
    pub base: Option<String>,
}

impl Unit {
    /// The unit made of morphemes `ms[from..to]` of `norm`, its terms
    /// placed as the index places them ([`MorphPositions`]).
    fn of_span(norm: &Normalized, ms: &[Morpheme<'_>], from: usize, to: usize) -> Unit {
        let mut positions = MorphPositions::default();
        Unit {
            text: norm.text[ms[from].start..ms[to - 1].end].to_string(),
            terms: ms[from..to].iter().fold(Vec::new(), |mut terms, m| {
                positions.place(&norm.text, m.surface, m.start, m.end, |p, start, end| {
                    terms.push((p, word_term(&norm.text, start, end)))
                });
                terms
            }),
            base: None,
        }
    }

    /// The unit made of all of `norm` but the symbols at its ends (a phrase,
    /// or a clause kept whole); none when it has nothing searchable (`!`).
    fn whole(norm: &Normalized, ms: &[Morpheme<'_>]) -> Option<Unit> {
        let from = ms.iter().position(|m| indexed(norm, m))?;
        let to = ms.iter().rposition(|m| indexed(norm, m))? + 1;
        Some(Unit::of_span(norm, ms, from, to))
    }
}

/// What a morpheme does in a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A noun: starts or continues a compound.
    Noun,
    /// A prefix: starts a compound when a noun follows.
    Prefix,
    /// A suffix: continues a compound.
    Suffix,
    /// `・` or `-` between two nouns.
    Joiner,
    /// A verb or adjective with content: a unit of its own.
    Inflected,
    /// Not part of any unit.
    Stop,
}

/// Verbs and adjectives that carry no topic of their own.
const LIGHT: &[&str] = &[
    "する",
    "ある",
    "いる",
    "なる",
    "できる",
    "いう",
    "おる",
    "れる",
    "られる",
    "せる",
    "させる",
    "くる",
    "いく",
    "ない",
    "よい",
    "いい",
];

/// Whether morpheme `m` of `norm` is indexed: a word, or a symbol that is
/// a word there ([`is_word_symbol`]: `7.4`, `5%`).
fn indexed(norm: &Normalized, m: &Morpheme<'_>) -> bool {
    let mut any = false;
    MorphPositions::default().place(&norm.text, m.surface, m.start, m.end, |_, _, _| any = true);
    any
}

/// The role of morpheme `i` of `ms` in a query's units.
fn role(norm: &Normalized, ms: &[Morpheme<'_>], i: usize) -> Role {
    let m = &ms[i];
    let pos = |i: usize| m.details.get(i).unwrap_or("*");
    if !is_indexable(m.surface) {
        // IPADIC calls unknown symbols nouns (`?` is 名詞,サ変接続). A
        // percent sign after a number ends it (`5%`); a symbol inside a
        // Latin or number word joins it (`7.4`, `1,000`, `3:00`).
        return match m.surface {
            "%" if is_word_symbol(&norm.text, m.start, m.end) => Role::Suffix,
            "・" | "-" | "&" | "'" | "." => Role::Joiner,
            _ if is_word_symbol(&norm.text, m.start, m.end) => Role::Joiner,
            _ => Role::Stop,
        };
    }
    match pos(0) {
        "名詞" => match pos(1) {
            "非自立" | "代名詞" | "特殊" | "引用文字列" | "接続詞的" | "動詞非自立的" => {
                Role::Stop
            }
            "接尾" => Role::Suffix,
            _ => Role::Noun,
        },
        "接頭詞" => match pos(1) {
            "名詞接続" | "数接続" => Role::Prefix,
            _ => Role::Stop,
        },
        // A stem IPADIC cut out of a noun is part of it (高|さ is 高さ).
        "動詞" | "形容詞" if Morpheme::stem_inside_noun(ms, i) => Role::Noun,
        "動詞" | "形容詞" => {
            if pos(1) == "自立" && !LIGHT.contains(&base_form(m)) {
                Role::Inflected
            } else {
                Role::Stop
            }
        }
        // Letters IPADIC files as symbols (アルファベット), and unknown words
        // without a part of speech, are still words.
        "記号" | "*" | "" => Role::Noun,
        _ => Role::Stop,
    }
}

/// Whether morpheme `m` is the verb or adjective of dictionary form `base`
/// (normalised) with content: what an inflected unit matches in an article.
pub(crate) fn inflects(m: &Morpheme<'_>, base: &str) -> bool {
    matches!(m.details.get(0), Some("動詞" | "形容詞"))
        && m.details.get(1) == Some("自立")
        && normalize(base_form(m)).text == base
}

fn base_form<'a>(m: &Morpheme<'a>) -> &'a str {
    match m.details.get(6) {
        Some(b) if b != "*" && !b.is_empty() => b,
        _ => m.surface,
    }
}

/// The units of a clause (natural text). A clause of one unit, or of none,
/// is one unit: the clause as written.
pub fn units(analyzer: &Analyzer, text: &str) -> Vec<Unit> {
    let norm = normalize(text);
    let ms = analyzer.morphemes(&norm.text);
    let roles: Vec<Role> = (0..ms.len()).map(|i| role(&norm, &ms, i)).collect();
    let mut spans: Vec<(usize, usize, bool)> = Vec::new(); // [from, to) morphemes, inflected
    let mut k = 0;
    while k < ms.len() {
        match roles[k] {
            Role::Inflected => {
                spans.push((k, k + 1, true));
                k += 1;
            }
            Role::Noun | Role::Prefix => {
                let from = k;
                let mut to = k;
                let mut has_noun = false;
                let mut j = k;
                while j < ms.len() {
                    match roles[j] {
                        Role::Prefix if !has_noun || to == j => j += 1,
                        Role::Noun => {
                            has_noun = true;
                            j += 1;
                            to = j;
                        }
                        Role::Suffix if has_noun => {
                            j += 1;
                            to = j;
                        }
                        Role::Joiner
                            if has_noun
                                && to == j
                                && roles.get(j + 1) == Some(&Role::Noun)
                                && ms[j].start == ms[j - 1].end
                                && ms[j + 1].start == ms[j].end =>
                        {
                            j += 1
                        }
                        _ => break,
                    }
                }
                if has_noun {
                    spans.push((from, to, false));
                    k = to;
                } else {
                    k = j.max(k + 1);
                }
            }
            _ => k += 1,
        }
    }
    let indexable = ms.iter().filter(|m| indexed(&norm, m)).count();
    let single_whole = spans.len() == 1 && {
        let (from, to, inflected) = spans[0];
        !inflected && ms[from..to].iter().filter(|m| indexed(&norm, m)).count() == indexable
    };
    if spans.is_empty() || single_whole {
        return Unit::whole(&norm, &ms).into_iter().collect();
    }
    let mut out: Vec<Unit> = Vec::new();
    for (from, to, inflected) in spans {
        let mut unit = Unit {
            base: inflected.then(|| normalize(base_form(&ms[from])).text),
            ..Unit::of_span(&norm, &ms, from, to)
        };
        if inflected {
            // The substring an inflected word matches as is what was typed,
            // its inflection included (見た, 出て): its stem alone (見) would
            // be that character wherever it stands (会見).
            unit.text = norm.text[ms[from].start..ms[typed_end(&ms, to) - 1].end].to_string();
        }
        if !out
            .iter()
            .any(|u| u.text == unit.text && u.base == unit.base)
        {
            out.push(unit);
        }
    }
    out
}

/// Where the inflection of the word ending at morpheme `to` (exclusive)
/// ends as written: the auxiliaries, conjunctive particles and dependent or
/// suffix verbs right after it (見|た, 出|て, 見|られる, 行っ|て|いる).
pub(crate) fn typed_end(ms: &[Morpheme<'_>], to: usize) -> usize {
    let mut end = to;
    while let Some(m) = ms.get(end)
        && m.start == ms[end - 1].end
        && matches!(
            (m.details.get(0), m.details.get(1)),
            (Some("助動詞"), _)
                | (Some("助詞"), Some("接続助詞"))
                | (Some("動詞" | "形容詞"), Some("非自立" | "接尾"))
        )
    {
        end += 1;
    }
    end
}

/// The unit of a quoted phrase: all of it, exactly.
pub fn phrase_unit(analyzer: &Analyzer, text: &str) -> Option<Unit> {
    let norm = normalize(text);
    Unit::whole(&norm, &analyzer.morphemes(&norm.text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, OnceLock};

    fn analyzer() -> &'static Arc<Analyzer> {
        static A: OnceLock<Arc<Analyzer>> = OnceLock::new();
        A.get_or_init(|| Analyzer::new(None).unwrap())
    }

    fn texts(q: &str) -> Vec<String> {
        units(analyzer(), q)
            .into_iter()
            .map(|u| match u.base {
                Some(b) => format!("{}→{b}", u.text),
                None => u.text,
            })
            .collect()
    }

    #[test]
    fn a_word_or_compound_alone_is_one_unit() {
        assert_eq!(texts("経済産業省"), vec!["経済産業省"]);
        assert_eq!(texts("北朝鮮"), vec!["北朝鮮"]);
        assert_eq!(texts("の"), vec!["の"]);
    }

    #[test]
    fn natural_text_becomes_content_units() {
        assert_eq!(texts("北朝鮮のロシア派兵"), vec!["北朝鮮", "ロシア派兵"]);
        assert_eq!(
            texts("ジェイ・キャストのコンテンツの特徴とは。"),
            vec!["ジェイ・キャスト", "コンテンツ", "特徴"]
        );
    }
}
