//! Entity extraction: people, organisations and places, with canonical names.
//!
//! Three layers, applied to the morphemes of NFKC-normalised text:
//! 1. **Gazetteer** — the longest run of up to six morphemes whose joined
//!    surface is a gazetteer name or alias (`CSIS` → 戦略国際問題研究所). The
//!    gazetteer is also a lindera user dictionary, so 金正恩 is one morpheme.
//! 2. **IPADIC part of speech** — `名詞,固有名詞,人名|組織|地域`: surname +
//!    given name joined; a lone surname only before a title (…氏, …大統領);
//!    a place joined with its suffix (宮城 + 県); katakana names chained with
//!    `・` before a title (アレクサンダー・ガブエフ氏). Titles and honorifics
//!    are never part of a mention; a title alone is no person.
//! 3. **News abbreviations** — see [`abbreviations`] for the rule.

use serde::Serialize;
use utoipa::ToSchema;

use super::gazetteer::{EntityType, Gazetteer};
use super::normalize::normalize_str;

/// One morpheme of normalised text: surface, byte range, IPADIC features.
#[derive(Debug, Clone)]
pub struct Morpheme<'a> {
    /// A slice of the analysed text.
    pub surface: &'a str,
    pub start: usize,
    pub end: usize,
    /// IPADIC features: pos, pos1..3, conjugation type/form, base, reading,
    /// pronunciation (borrowed from the dictionary).
    pub details: super::dictionary::Features<'a>,
    /// Not in the dictionary (lindera's unknown-word model guessed the POS).
    pub unknown: bool,
}

impl<'a> Morpheme<'a> {
    /// Where morpheme `i` of `ms` stands, beside its neighbours.
    pub fn place<'p>(ms: &'p [Morpheme<'a>], i: usize) -> super::dictionary::Place<'p> {
        super::dictionary::Place::in_run(ms, i, |m| (m.start, m.end, m.details.get(0)))
    }
    /// Whether morpheme `i` of `ms` is a verb or adjective stem inside a
    /// noun ([`super::dictionary::stem_inside_noun`]).
    pub fn stem_inside_noun(ms: &[Morpheme<'a>], i: usize) -> bool {
        super::dictionary::stem_inside_noun(ms[i].surface, Self::place(ms, i))
    }
    fn pos(&self, i: usize) -> &str {
        self.details.get(i).unwrap_or("*")
    }
    fn is_noun(&self) -> bool {
        self.pos(0) == "名詞"
    }
    fn is_kanji_word(&self) -> bool {
        !self.surface.is_empty() && self.surface.chars().all(is_kanji)
    }
    /// Katakana (with ー), possibly joined by ・ inside (lindera keeps an
    /// unknown ジョン・ガラン as one morpheme).
    fn is_katakana_word(&self) -> bool {
        let s = self.surface;
        !s.is_empty()
            && !s.starts_with('・')
            && !s.ends_with('・')
            && s.chars()
                .all(|c| matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー' | '・'))
    }
}

/// An entity mention; offsets are byte offsets into the text that was analysed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub canonical: String,
    #[serde(rename = "type")]
    pub kind: EntityType,
    /// Found by part of speech (the canonical name is the surface), not by
    /// the gazetteer or the abbreviation rule.
    #[serde(skip)]
    pub by_pos: bool,
}

/// Titles and honorifics that follow a name (never part of the mention);
/// the honorifics, which follow nothing else, first ([`HONORIFICS`]).
const TITLES: &[&str] = &[
    "氏",
    "さん",
    "様",
    "君",
    "ちゃん",
    "殿",
    "容疑者",
    "被告",
    "夫人",
    "大統領",
    "首相",
    "総理",
    "総理大臣",
    "総書記",
    "委員長",
    "主席",
    "国家主席",
    "書記長",
    "副大統領",
    "副首相",
    "外相",
    "国防相",
    "財務相",
    "国務長官",
    "長官",
    "大臣",
    "議員",
    "上院議員",
    "下院議員",
    "知事",
    "市長",
    "町長",
    "村長",
    "議長",
    "首席",
    "国王",
    "女王",
    "王子",
    "皇太子",
    "法王",
    "教皇",
    "被告人",
    "受刑者",
    "選手",
    "監督",
    "コーチ",
    "投手",
    "捕手",
    "教授",
    "准教授",
    "博士",
    "氏ら",
    "社長",
    "会長",
    "代表",
    "理事長",
    "所長",
    "院長",
    "校長",
    "学長",
    "総裁",
    "総長",
    "司令官",
    "将軍",
    "大使",
    "報道官",
    "研究員",
    "弁護士",
    "医師",
    "元首相",
    "元大統領",
    "前大統領",
    "前首相",
    "容疑",
];

/// The stricter list that makes a katakana word a person (not 記者 or 社長,
/// which follow company and newspaper names too).
const PERSON_TITLES: &[&str] = &[
    "氏",
    "さん",
    "大統領",
    "首相",
    "総書記",
    "国務長官",
    "長官",
    "外相",
    "国防相",
    "議員",
    "上院議員",
    "下院議員",
    "報道官",
    "容疑者",
    "被告",
    "選手",
    "監督",
    "教授",
    "博士",
    "国王",
    "女王",
    "首席",
    "主席",
    "委員長",
    "議長",
    "大使",
    "将軍",
    "司令官",
    "夫人",
    "元大統領",
    "前大統領",
    "副大統領",
    "財務相",
    "前国務長官",
    "元首相",
    "前首相",
    "外務大臣",
    "司令官",
];

/// Whether some title starts with the first character of `s` (a quick
/// test before the list is scanned: most words fail it).
pub(crate) fn may_start_title(s: &str) -> bool {
    static FIRST: std::sync::LazyLock<Vec<char>> = std::sync::LazyLock::new(|| {
        let mut v: Vec<char> = TITLES.iter().filter_map(|t| t.chars().next()).collect();
        v.sort_unstable();
        v.dedup();
        v
    });
    s.chars()
        .next()
        .is_some_and(|c| FIRST.binary_search(&c).is_ok())
}

/// True when `word` is a title or honorific that follows names (氏, 大統領).
pub(crate) fn is_title_word(word: &str) -> bool {
    may_start_title(word) && TITLES.contains(&word)
}

fn is_title(m: &Morpheme<'_>) -> bool {
    is_title_word(m.surface) || (m.pos(1) == "接尾" && m.pos(2) == "人名")
}

/// True when a title starts at byte `at` of `text`, however IPADIC split it
/// (容疑+者, 飛行+士).
pub(crate) fn title_at(text: &str, at: usize) -> bool {
    let rest = &text[at.min(text.len())..];
    may_start_title(rest) && TITLES.iter().any(|t| rest.starts_with(t))
}

/// Place suffixes joined to the place before them (宮城 + 県).
const PLACE_SUFFIXES: &[&str] = &[
    "県", "府", "都", "道", "市", "町", "村", "区", "郡", "州", "省", "島",
];

/// "Inside" a place (東京都|内, 大阪|市内): a name never runs on over it.
const AREA_INSIDE: &[&str] = &[
    "内", "都内", "道内", "府内", "県内", "市内", "区内", "町内", "村内", "国内", "州内", "省内",
];

/// The administrative units a place may end with before 内 ("inside"):
/// 東京都内, 大阪市内, 宮城県内 (not 国: 日本|国内 is 日本).
pub(crate) const UNITS_BEFORE_INSIDE: [char; 9] =
    ['都', '道', '府', '県', '市', '区', '町', '村', '州'];

/// The unit of an "inside" word that starts with one (市 of 市内, 県 of
/// 県内; none of 国内).
fn unit_inside(word: &str) -> Option<char> {
    let mut chars = word.chars();
    let unit = chars.next()?;
    (chars.as_str() == "内" && UNITS_BEFORE_INSIDE.contains(&unit)).then_some(unit)
}

/// The suffixes of municipalities (市, 町, 村, 区, 郡), of [`PLACE_SUFFIXES`].
const MUNICIPALITY_SUFFIXES: &[&str] = &["市", "町", "村", "区", "郡"];

/// Extracts mentions from the morphemes of `text` (normalised).
pub fn extract(text: &str, ms: &[Morpheme<'_>], gazetteer: &Gazetteer) -> Vec<Mention> {
    extract_with(text, ms, gazetteer, true)
}

/// [`extract`], optionally without the abbreviation rule (the
/// part-of-speech-only baseline uses an empty gazetteer and no rule).
pub fn extract_with(
    text: &str,
    ms: &[Morpheme<'_>],
    gazetteer: &Gazetteer,
    abbreviation_rule: bool,
) -> Vec<Mention> {
    let mut out: Vec<Mention> = Vec::new();
    let mut i = 0;
    while i < ms.len() {
        if surname_before_title(text, ms, i, gazetteer) {
            out.push(mention(text, ms[i].start, ms[i].end, EntityType::Person));
            i += 1;
            continue;
        }
        let named = gazetteer_match(text, ms, i, gazetteer).filter(|(j, m)| {
            !(m.kind != EntityType::Person && surname_before_given_name(ms, i, *j))
        });
        // An organisation or place named by its suffix (西新井警察署, マレーシア
        // 航空, 田町駅) wins over a shorter gazetteer name inside it.
        if let Some((j, m)) = named_by_suffix(text, ms, i, gazetteer)
            && named.as_ref().is_none_or(|(nj, _)| j > *nj)
        {
            out.push(m);
            i = j;
            continue;
        }
        if let Some((j, m)) = named {
            let next = ms.get(j).filter(|n| n.start == m.end);
            // An organisation's name before a municipality's suffix names the
            // town (日立市, not 日立製作所).
            if m.kind == EntityType::Organization
                && let Some(n) = next
                && n.pos(1) == "接尾"
                && MUNICIPALITY_SUFFIXES.contains(&n.surface)
            {
                out.push(mention(text, m.start, n.end, EntityType::Place));
                i = j + 1;
                continue;
            }
            out.push(m);
            i = j;
            continue;
        }
        // (A katakana or Latin name IPADIC cut out of a longer word it does
        // not know is none: タイ|ガー・ウッズ; nor is one of two characters,
        // タイ|ムリー, nor a person's. Two longer places or organisations it
        // knows side by side are two: アメリカ|ハワイ州.)
        let unknown_near = |j: usize| {
            ms[i.saturating_sub(1)..(j + 1).min(ms.len())]
                .iter()
                .any(|m| m.unknown)
        };
        if let Some((j, mut m)) = pos_match(text, ms, i, gazetteer)
            && (on_run_edges(text, m.start, m.end)
                || (m.kind != EntityType::Person
                    && !unknown_near(j)
                    && text[m.start..m.end].chars().count() > 2))
        {
            if m.kind == EntityType::Person && m.start == ms[i].start {
                let free = out.last().map_or(0, |l| l.end);
                let start = ms[glued_surname(ms, i, free)].start;
                if start < m.start {
                    m = mention(text, start, m.end, EntityType::Person);
                }
            }
            out.push(m);
            i = j;
            continue;
        }
        i += 1;
    }
    // A demonym (日本人, ユダヤ人) or an event (東京マラソン, ロンドン
    // オリンピック) names no place, whoever found the place.
    out.retain(|m| {
        let next = ms
            .binary_search_by_key(&m.end, |n| n.start)
            .ok()
            .map(|k| &ms[k]);
        !is_demonym_or_event(m, next)
    });
    media_names(text, ms, &mut out);
    countries_before_titles(text, ms, &mut out, gazetteer);
    units_before_inside(text, ms, &mut out, gazetteer);
    if abbreviation_rule {
        // IPADIC files some runs of abbreviations as one place (中印) or,
        // with Russia's ロ, an organisation (中印ロ): the rule reads them
        // country by country. (中日, the newspaper or the team, stays.)
        out.retain(|m| {
            let span = &text[m.start..m.end];
            !(m.by_pos
                && span.chars().count() >= 2
                && span.chars().all(|c| abbreviation(c).is_some())
                && (m.kind == EntityType::Place || span.contains(['ロ', '露'])))
        });
        let found = abbreviations(text, gazetteer, &out);
        out.extend(found);
    }
    out.sort_by_key(|m| (m.start, m.end));
    out
}

/// A place right before an "inside" word that starts with a unit takes the
/// unit: IPADIC reads 大阪|市内, 宮城|県内, and the place is 大阪市, 宮城県
/// (what the news gold annotates; 大阪 alone is as likely the prefecture).
fn units_before_inside(
    text: &str,
    ms: &[Morpheme<'_>],
    out: &mut [Mention],
    gazetteer: &Gazetteer,
) {
    for m in out.iter_mut().filter(|m| m.kind == EntityType::Place) {
        let Some(unit) = ms
            .binary_search_by_key(&m.end, |n| n.start)
            .ok()
            .and_then(|k| unit_inside(ms[k].surface))
        else {
            continue;
        };
        // (As sure a place as it was: the unit is read off the text.)
        m.end += unit.len_utf8();
        let surface = &text[m.start..m.end];
        m.canonical = match gazetteer.lookup_normalized(surface) {
            Some(entry) if entry.kind == EntityType::Place => entry.canonical.clone(),
            _ => canonical_surface(surface),
        };
    }
}

/// A country between a katakana name and its title is the title's
/// (ヌルガリエフ・ロシア内相: the person is ヌルガリエフ, of Russia; the
/// title, a kanji word, may be one the list lacks): cuts such persons found
/// by part of speech, and adds the countries. What stands before the
/// country is no person before 代表, a national team (サッカー・フランス代表),
/// or when the dictionary knows it as another word.
fn countries_before_titles(
    text: &str,
    ms: &[Morpheme<'_>],
    out: &mut Vec<Mention>,
    gazetteer: &Gazetteer,
) {
    let mut countries = Vec::new();
    out.retain_mut(|m| {
        if !(m.by_pos && m.kind == EntityType::Person) {
            return true;
        }
        let Some(dot) = text[m.start..m.end].rfind('・').map(|d| m.start + d) else {
            return true;
        };
        let tail = dot + '・'.len_utf8();
        let country = gazetteer
            .lookup_normalized(&text[tail..m.end])
            .filter(|e| ABBREVIATIONS.iter().any(|(_, name)| e.canonical == *name));
        let Some(country) =
            country.filter(|_| dot > m.start && text[m.end..].chars().next().is_some_and(is_kanji))
        else {
            return true;
        };
        countries.push(Mention {
            start: tail,
            end: m.end,
            canonical: country.canonical.clone(),
            kind: EntityType::Place,
            by_pos: false,
        });
        let word = ms
            .iter()
            .filter(|t| t.start >= m.start && t.end <= dot)
            .any(|t| !t.unknown && t.pos(2) != "人名" && t.is_katakana_word());
        if word || text[m.end..].starts_with("代表") {
            return false;
        }
        *m = mention(text, m.start, dot, EntityType::Person);
        true
    });
    out.extend(countries);
}

/// The longest gazetteer name starting at morpheme `i`; returns the index after it.
fn gazetteer_match(
    text: &str,
    ms: &[Morpheme<'_>],
    i: usize,
    gazetteer: &Gazetteer,
) -> Option<(usize, Mention)> {
    let first = &ms[i];
    if !(first.is_noun() || first.pos(0) == "記号" || first.pos(0) == "接頭詞") {
        return None;
    }
    let mut best = None;
    let mut end = first.start;
    for (j, m) in ms.iter().enumerate().skip(i).take(8) {
        if m.start != end && j > i {
            break;
        }
        end = m.end;
        let run = &text[first.start..end];
        let entry = gazetteer.lookup_normalized(run);
        if entry.is_none() && !gazetteer.is_prefix(run) {
            break;
        }
        if !on_run_edges(text, first.start, end) {
            continue;
        }
        if let Some(entry) = entry {
            best = Some((
                j + 1,
                Mention {
                    start: first.start,
                    end,
                    canonical: entry.canonical.clone(),
                    kind: entry.kind,
                    by_pos: false,
                },
            ));
        }
    }
    best
}

/// Whether the gazetteer's name `ms[i..j]` is one morpheme IPADIC also
/// knows as a surname, glued to a given name: the surname of a person
/// (山東|昭子, 佐渡|裕, 千葉|真一 are people; 山東, 佐渡, 千葉 alone are
/// places), which the person rules then find; whether IPADIC tags it a
/// surname there or a place ([`place_read_before_given_name`]).
fn surname_before_given_name(ms: &[Morpheme<'_>], i: usize, j: usize) -> bool {
    j == i + 1
        && ((ms[i].pos(2) == "人名" && ms[i].pos(3) == "姓" && given_name_after(ms, i))
            || place_read_before_given_name(ms, i, None))
}

/// Whether a kanji given name (IPADIC's `人名,名`) is glued to `ms[i]`.
fn given_name_after(ms: &[Morpheme<'_>], i: usize) -> bool {
    ms.get(i + 1).is_some_and(|n| {
        n.start == ms[i].end && n.pos(2) == "人名" && n.pos(3) == "名" && n.is_kanji_word()
    })
}

/// The last words of the names of newspapers and news sites written in
/// katakana (バリ・タイムズ, ミドル・イースト・タイムズ, アサヒ・コム for
/// asahi.com): IPADIC knows each as an organisation of its own (The Times).
const MEDIA_HEADS: &[&str] = &[
    "タイムズ",
    "ポスト",
    "ジャーナル",
    "トリビューン",
    "ヘラルド",
    "ガゼット",
    "クロニクル",
    "テレグラフ",
    "コム",
];

/// A newspaper or news site named by katakana words joined with `・` before
/// one of [`MEDIA_HEADS`] is one organisation, whatever its words were read
/// as (バリ, a place); コム with no name before it (くまにちコム, the rest
/// in kana) is none.
fn media_names(text: &str, ms: &[Morpheme<'_>], out: &mut Vec<Mention>) {
    let mut added = false;
    for (k, head) in ms.iter().enumerate() {
        if !MEDIA_HEADS.contains(&head.surface) {
            continue;
        }
        // Walk back over `word・` while the word is katakana.
        let mut start = head.start;
        let mut at = k;
        while at >= 2
            && ms[at - 1].surface == "・"
            && ms[at - 1].end == ms[at].start
            && ms[at - 2].end == ms[at - 1].start
            && ms[at - 2].is_katakana_word()
        {
            start = ms[at - 2].start;
            at -= 2;
        }
        if start == head.start {
            if head.surface == "コム" {
                out.retain(|m| !(m.start == head.start && m.end == head.end));
            }
            continue;
        }
        // (A name the gazetteer knows whole keeps its canonical name.)
        if out.iter().any(|m| m.start == start && m.end == head.end) {
            continue;
        }
        out.retain(|m| m.end <= start || m.start >= head.end);
        out.push(mention(text, start, head.end, EntityType::Organization));
        added = true;
    }
    if added {
        out.sort_by_key(|m| m.start);
    }
}

/// Whether place `m`, with `next` right after it, is a demonym (日本人,
/// アメリカ人), a style (フランス風, 関西風; the sumo stable 時津|風|部屋) or
/// the name of an event (東京マラソン, ロンドンオリンピック).
fn is_demonym_or_event(m: &Mention, next: Option<&Morpheme<'_>>) -> bool {
    m.kind == EntityType::Place
        && next.is_some_and(|n| {
            n.surface == "人" || n.surface == "風" || EVENT_WORDS.contains(&n.surface)
        })
}

/// Honorifics that form no compound with the word after them: one that is
/// a morpheme of its own ends a name's title wherever it stands.
const HONORIFIC_SUFFIXES: &[&str] = &["氏", "さん"];

/// Titles that follow a person and nothing else (not 監督 or 選手, which
/// follow a team named by its town too: 広島監督).
const SURNAME_TITLES: &[&str] = &[
    "氏",
    "さん",
    "容疑者",
    "騎手",
    "被告人",
    "被告",
    "議員",
    "夫人",
    "教授",
];

/// Whether `ms[i]`, a place to IPADIC of two kanji or more, is a person's
/// name: a surname IPADIC also knows (or a surname and one or two kanji of
/// a given name) right before a title that follows people only (石川議員,
/// 千葉被告, 武豊騎手), where the place (石川県, 千葉県) was read before.
///
/// Before 知事 (a prefecture's governor), a place that names no prefecture
/// the gazetteer knows, neither as it is nor with 県, 都, 府 or 道, is the
/// governor's surname (橋下知事, 橋下 a place to IPADIC), where 石川知事
/// stays the governor of 石川県; so is one before a prefecture and 知事
/// (橋下大阪府知事).
fn surname_before_title(text: &str, ms: &[Morpheme<'_>], i: usize, gazetteer: &Gazetteer) -> bool {
    let m = &ms[i];
    let Some(n) = ms.get(i + 1).filter(|n| n.start == m.end) else {
        return false;
    };
    // (A title ends a word, or stands before a headline's verbal noun
    // (橋下知事|反発): not 赤坂|議員宿舎, the dormitory. An honorific that is
    // a morpheme of its own ends a word wherever it stands (橋下|氏|全国最年少,
    // a headline).)
    let before = |t: &str| {
        text[n.start..].strip_prefix(t).is_some_and(|rest| {
            let end = text.len() - rest.len();
            !rest.chars().next().is_some_and(is_kanji)
                || (HONORIFIC_SUFFIXES.contains(&t) && n.end == end)
                || ms[i + 1..]
                    .iter()
                    .take_while(|k| k.start <= end)
                    .find(|k| k.start == end)
                    .is_some_and(|k| k.pos(1) == "サ変接続")
        })
    };
    if !(m.pos(2) == "地域" && m.is_kanji_word() && m.surface.chars().count() >= 2) {
        return false;
    }
    let is_place = |name: &str| {
        gazetteer
            .lookup_normalized(name)
            .is_some_and(|e| e.kind == EntityType::Place)
    };
    let names_no_prefecture = || {
        !is_place(m.surface)
            && !["県", "都", "府", "道"]
                .iter()
                .any(|suffix| is_place(&format!("{}{suffix}", m.surface)))
    };
    if before("知事") {
        return names_no_prefecture();
    }
    // So is one before a prefecture and its governor's title (橋下大阪府知事,
    // 橋下・大阪府知事).
    let mut k = i + 1;
    if n.surface == "・" {
        k += 1;
    }
    if ms.get(k).is_some_and(|p| {
        p.start == ms[k - 1].end && is_place(p.surface) && text[p.end..].starts_with("知事")
    }) {
        return names_no_prefecture();
    }
    // A surname, or a surname and one or two kanji of a given name (武|豊騎手,
    // 武豊 a town to IPADIC), not a town's name (横|浜市).
    let surname_first = |name: &str| {
        name.char_indices().skip(1).any(|(at, _)| {
            name[at..].chars().count() <= 2 && super::dictionary::is_surname(&name[..at])
        })
    };
    SURNAME_TITLES.iter().any(|t| before(t))
        && (super::dictionary::is_surname(m.surface)
            || (!PLACE_SUFFIXES.iter().any(|s| m.surface.ends_with(s)) && surname_first(m.surface)))
}

/// Where a name that starts with a given name at `ms[i]` (IPADIC's
/// `人名,名`) really starts: IPADIC cuts a surname it does not know into
/// single kanji of other kinds (伊|調|馨, 伊調 read as Italy and a suffix;
/// 志|々|田|浩太郎, 井|ケ|田|治), and a given name alone would be a fragment. Up to three
/// such kanji glued before it are taken in, none before byte `free` (the
/// end of the last mention), nor a prefix, nor a word that stands before a
/// given name without being part of it (妻|恵子さん, 妃|紀子さま), when a
/// word starts where they start; else the given name stays alone
/// (二|十|山|勝彦: more of the name lies before what could be taken in).
///
/// A surname of one kanji before a given name or a title (武|健二, 丸|さん)
/// takes in one such kanji the same way: IPADIC cuts a two-kanji surname it
/// does not know into a word and a surname it does (鬼|武|健二, 督|永|忠子,
/// 戸|丸|さん).
fn glued_surname(ms: &[Morpheme<'_>], i: usize, free: usize) -> usize {
    let m = &ms[i];
    let given = m.pos(2) == "人名" && m.pos(3) == "名" && m.is_kanji_word();
    let short_surname = m.pos(2) == "人名"
        && m.pos(3) == "姓"
        && m.is_kanji_word()
        && m.surface.chars().count() == 1
        && ms.get(i + 1).is_some_and(|n| {
            n.start == m.end && ((n.pos(2) == "人名" && n.pos(3) == "名") || is_title(n))
        });
    if !(given || short_surname) {
        return i;
    }
    let most = if given { 3 } else { 1 };
    // A suffix glued to a word of another script ends that word (キロ|級).
    let ends_a_word = |k: usize| {
        ms[k].pos(1) == "接尾"
            && k > 0
            && ms[k - 1].end == ms[k].start
            && !ms[k - 1].is_kanji_word()
    };
    // (ヶ, as in 井ヶ田, is ケ in normalised text.)
    let kanji = |p: &Morpheme<'_>| p.is_kanji_word() || matches!(p.surface, "々" | "ケ" | "ヶ");
    // Whether `ms[k]` runs on into `ms[k + 1]` as part of one word.
    let joined = |k: usize| {
        let p = &ms[k];
        p.end == ms[k + 1].start && p.start >= free && kanji(p) && !ends_a_word(k)
    };
    let mut k = i;
    while k > 0 && i - k < most && joined(k - 1) {
        let p = &ms[k - 1];
        // (A name's kanji may be any word's: 早|紀江, with 早 an adjective's
        // stem; not a prefix's, a number's, a pronoun's or a dependent noun's.)
        let glue = p.surface.chars().count() == 1
            && p.pos(0) != "接頭詞"
            && !(p.is_noun() && matches!(p.pos(1), "数" | "代名詞" | "非自立" | "副詞可能"))
            && !BEFORE_GIVEN_NAMES.contains(&p.surface)
            // (Nor a title or suffix before a surname: 前原氏|菅|氏.)
            && !(short_surname && (p.pos(1) == "接尾" || is_title(p)));
        if !glue {
            break;
        }
        k -= 1;
    }
    if k == i || (k > 0 && joined(k - 1)) {
        return i;
    }
    k
}

/// One-kanji words that follow a name without being part of it: a family
/// or clan (細川家, 成田氏), a side, a home, a work (岸田作), a role, a
/// prize, a place or body named after someone, or a word-forming suffix
/// (-性, -的).
const AFTER_NAMES: &[&str] = &[
    "家", "氏", "派", "側", "宅", "邸", "作", "著", "訳", "編", "画", "賞", "杯", "像", "流", "組",
    "陣", "軍", "党", "朝", "町", "村", "市", "区", "県", "駅", "線", "橋", "寺", "城", "山", "川",
    "院", "役", "性", "的", "地", "系", "論", "法", "学", "部", "校", "社", "館", "店", "号", "会",
    "団", "隊", "戦",
];

/// Prefixes that point at something named elsewhere (自社, 同社, 当社).
const DEICTIC_PREFIXES: &[&str] = &["自", "同", "当", "弊", "貴", "御", "他", "各", "両"];

/// One-kanji words that stand before a given name without being part of
/// it: kinship (妻|恵子さん) and rank (妃|紀子さま).
const BEFORE_GIVEN_NAMES: &[&str] = &[
    "父", "母", "兄", "姉", "弟", "妹", "妻", "夫", "娘", "子", "孫", "祖", "嫁", "婿", "甥", "姪",
    "叔", "伯", "妃", "王", "帝", "公", "卿", "姫", "殿", "翁", "師",
];

/// A katakana or Latin name must not start or end inside a longer katakana
/// or Latin word (タイ is not in タイムリー, `un` is not in `unione`).
fn on_run_edges(text: &str, start: usize, end: usize) -> bool {
    let joined = |a: char, b: char| {
        (is_katakana(a) && is_katakana(b))
            || (a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric())
    };
    let first = text[start..end].chars().next();
    let last = text[start..end].chars().next_back();
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !(matches!((before, first), (Some(b), Some(f)) if joined(b, f))
        || matches!((last, after), (Some(l), Some(a)) if joined(l, a)))
}

/// Whether a morpheme is a bracket, a quotation mark or punctuation only.
fn is_punctuation(surface: &str) -> bool {
    !surface.is_empty()
        && surface.chars().all(|c| {
            matches!(
                c,
                '(' | ')'
                    | '|'
                    | '['
                    | ']'
                    | '{'
                    | '}'
                    | '"'
                    | '\''
                    | '「'
                    | '」'
                    | '『'
                    | '』'
                    | '【'
                    | '】'
                    | '〈'
                    | '〉'
                    | '《'
                    | '》'
                    | '“'
                    | '”'
                    | '‘'
                    | '’'
                    | '。'
                    | '、'
                    | ','
                    | '.'
                    | '!'
                    | '?'
                    | ':'
                    | ';'
                    | '・'
            )
        })
}

fn mention(text: &str, start: usize, end: usize, kind: EntityType) -> Mention {
    Mention {
        start,
        end,
        canonical: canonical_surface(&text[start..end]),
        kind,
        by_pos: true,
    }
}

/// The canonical form of a name the gazetteer does not know: its surface.
pub fn canonical_surface(s: &str) -> String {
    s.trim().to_string()
}

/// Legal forms written before or after a company's name.
const LEGAL_FORMS: [&str; 5] = ["株式会社", "有限会社", "合同会社", "(株)", "(有)"];

/// The name of an organisation without its legal form (ヤフー株式会社,
/// 株式会社ミートホープ, 京セラ(株)) or the 社 ("the company") after a name
/// in katakana or Latin letters (マイクロソフト社, AP社): one facet value for
/// one company. `None` when there is nothing to take off. (社 after kanji
/// stays: 東京新聞社 is a company, 中国新聞社 a news agency, 神社 a shrine;
/// so does 社 after one or two kana, or one letter.)
pub fn organization_core(name: &str) -> Option<&str> {
    let long_enough = |rest: &str| rest.chars().count() >= 2;
    for form in LEGAL_FORMS {
        if let Some(rest) = name.strip_prefix(form).or_else(|| name.strip_suffix(form))
            && long_enough(rest.trim())
        {
            return Some(rest.trim());
        }
    }
    // ジー社 (for ジーコミュニケーション), A社 (a company left unnamed) stay.
    name.strip_suffix('社').filter(|rest| {
        let katakana = rest.chars().count() >= 3
            && rest
                .chars()
                .all(|c| is_katakana(c) || c == 'ー' || c == '・');
        let latin = long_enough(rest) && rest.bytes().all(|b| b.is_ascii_alphanumeric());
        katakana || latin
    })
}

/// The gazetteer's organisation that `name` (normalised) names once its
/// legal form is off (ヤフー株式会社 → ヤフー).
pub fn organization_entry<'g>(
    name: &str,
    gazetteer: &'g Gazetteer,
) -> Option<&'g super::gazetteer::Entry> {
    organization_core(name)
        .and_then(|core| gazetteer.lookup_normalized(core))
        .filter(|entry| entry.kind == EntityType::Organization)
}

/// An organisation named by its surface whose [`organization_entry`] the
/// gazetteer has gets the gazetteer's name. The others are shown without
/// their legal form (`display_canonical`).
pub fn canonical_organizations(mentions: &mut [Mention], gazetteer: &Gazetteer) {
    for m in mentions
        .iter_mut()
        .filter(|m| m.by_pos && m.kind == EntityType::Organization)
    {
        if let Some(entry) = organization_entry(&m.canonical, gazetteer) {
            m.canonical = entry.canonical.clone();
            m.by_pos = false;
        }
    }
}

/// Words that make a place name part of an event's name.
const EVENT_WORDS: &[&str] = &[
    "オリンピック",
    "パラリンピック",
    "五輪",
    "マラソン",
    "万博",
    "大会",
    "国際映画祭",
];

/// Words that end organisation names.
const ORG_SUFFIXES: &[&str] = &[
    "高校",
    "高等学校",
    "中学校",
    "小学校",
    "大学",
    "大学院",
    "学園",
    "警察署",
    "県警",
    "府警",
    "警察",
    "委員会",
    "協会",
    "連盟",
    "連合会",
    "組合",
    "省",
    "庁",
    "党",
    "銀行",
    "研究所",
    "機構",
    "議会",
    "航空",
    "鉄道",
    "電鉄",
    "軌道",
    "新聞",
    "新聞社",
    "放送",
    "商業",
    "工業高校",
    "株式会社",
    "裁判所",
    "地裁",
    "高裁",
    "財団",
    "球団",
    "商事",
    "物産",
    "電力",
    "電機",
    "製作所",
    "自動車",
    "重工",
    "証券",
    "学会",
    "協議会",
    "公社",
    "公団",
    "劇団",
    "事業団",
    "リーグ",
    "プロ野球",
    "ストアー",
    "センター",
    "病院",
    "捜査本部",
    "事務所",
    "社",
    "空軍",
    "海軍",
    "陸軍",
    "テレビ",
    "公安委員会",
    "厚生局",
];

/// Words that end place names (田町駅, 神宮球場, 下北半島, 東京都庁).
const PLACE_SUFFIXES_COMPOUND: &[&str] = &[
    "駅",
    "球場",
    "線",
    "空港",
    "半島",
    "灘",
    "崎",
    "岳",
    "ドーム",
    "スタジアム",
    "都庁",
    "県庁",
    "市役所",
    "港",
    "湾",
    "海峡",
    "山脈",
    "高原",
    "公園",
    "神社",
    "寺",
    "城",
    "通り",
    "競技場",
];

/// True when `span` ends with one of `set` that covers at least its last
/// morpheme (`last_len` bytes) and leaves a name before it.
fn ends_with_any(set: &rustc_hash::FxHashSet<&'static str>, span: &str, last_len: usize) -> bool {
    span.char_indices()
        .rev()
        .take(6)
        .map(|(i, _)| &span[i..])
        .any(|suffix| suffix.len() >= last_len && suffix.len() < span.len() && set.contains(suffix))
}

/// An organisation or a place named by a proper noun (or a gazetteer name)
/// followed by nouns ending in an organisation or place word: 秋田県警,
/// 日本将棋連盟, 田町駅, 東京都庁. The longest such name wins.
fn named_by_suffix(
    text: &str,
    ms: &[Morpheme<'_>],
    i: usize,
    gazetteer: &Gazetteer,
) -> Option<(usize, Mention)> {
    type Set = rustc_hash::FxHashSet<&'static str>;
    static ORGS: std::sync::OnceLock<Set> = std::sync::OnceLock::new();
    static PLACES: std::sync::OnceLock<Set> = std::sync::OnceLock::new();
    let orgs = ORGS.get_or_init(|| ORG_SUFFIXES.iter().copied().collect());
    let places = PLACES.get_or_init(|| PLACE_SUFFIXES_COMPOUND.iter().copied().collect());
    let m = &ms[i];
    let starts_name = m.pos(1) == "固有名詞"
        || (m.unknown && m.is_katakana_word())
        || gazetteer.lookup_normalized(m.surface).is_some();
    if !m.is_noun() || !starts_name {
        return None;
    }
    // A place before an organisation's name (ウクライナ内務省, 秋田朝日放送).
    // (Not a one-kanji abbreviation: 米シンクタンク is アメリカ + シンクタンク.)
    let starts_place = m.surface.chars().count() >= 2
        && (m.pos(2) == "地域"
            || gazetteer
                .lookup_normalized(m.surface)
                .is_some_and(|e| e.kind == EntityType::Place));
    // One katakana word IPADIC does not know, ending in a company's word
    // (ツネイシホールディングス, ギブソン・ギター・コーポレーション): the company.
    let mut best = is_company_word(m).then(|| {
        (
            i + 1,
            mention(text, m.start, m.end, EntityType::Organization),
        )
    });
    for j in i + 1..(i + 6).min(ms.len()) {
        let n = &ms[j];
        // (IPADIC calls an unknown symbol a noun: a name never runs on
        // over a bracket or a full stop, ドイツ社会民主党|(|SPD.)
        // Nor over 内 (東京都|内|病院 is a hospital in 東京都) or a pronoun
        // (ブラジル|GP|その他|国際|自動車|連盟, two names of a headline).
        if n.start != ms[j - 1].end
            || !n.is_noun()
            || n.pos(1) == "数"
            || n.pos(1) == "代名詞"
            || is_punctuation(n.surface)
            || AREA_INSIDE.contains(&n.surface)
        {
            break;
        }
        let span = &text[m.start..n.end];
        // A word that starts a municipality's name with the suffix after it
        // ends no place here: 東京都|港|区 is 東京都 and 港区, not a port.
        let starts_municipality = ms.get(j + 1).is_some_and(|k| {
            k.start == n.end && k.pos(1) == "接尾" && MUNICIPALITY_SUFFIXES.contains(&k.surface)
        });
        let kind = if starts_municipality {
            None
        } else if ends_with_any(places, span, n.surface.len()) {
            Some(EntityType::Place)
        } else if ends_with_any(orgs, span, n.surface.len())
            || (n.pos(1) == "固有名詞" && n.pos(2) == "組織" && starts_place)
            || is_company_word(n)
        {
            Some(EntityType::Organization)
        } else {
            None
        };
        if let Some(kind) = kind {
            best = Some((j + 1, mention(text, m.start, n.end, kind)));
        }
    }
    best
}

/// IPADIC part-of-speech rules (see the module docs).
fn pos_match(
    text: &str,
    ms: &[Morpheme<'_>],
    i: usize,
    gazetteer: &Gazetteer,
) -> Option<(usize, Mention)> {
    let m = &ms[i];
    let next = ms.get(i + 1);
    let adjacent = |a: &Morpheme<'_>, b: &Morpheme<'_>| a.end == b.start;
    if m.unknown {
        return katakana_person(text, ms, i, gazetteer);
    }
    // (A person suffix, 氏 of 橋|下|氏市長, is IPADIC's `接尾,人名`: it
    // starts no name.)
    let place_surname = place_read_before_given_name(ms, i, Some(gazetteer));
    if (m.pos(1) == "固有名詞" && m.pos(2) == "人名" && m.is_kanji_word()) || place_surname {
        let surname = m.pos(3) == "姓" || place_surname;
        // A kanji name: 人名 morphemes and single kanji glued to them (王+宏+仁,
        // 菅沼+雲+龍), up to four characters, before a title or all 人名.
        let mut j = i;
        let mut chars = m.surface.chars().count();
        while let Some(n) = ms.get(j + 1) {
            let len = n.surface.chars().count();
            let name_part = n.pos(2) == "人名"
                || (n.is_kanji_word() && n.pos(1) == "一般" && len == 1)
                || numeral_ends_given_name(ms, j + 1);
            if !adjacent(&ms[j], n) || is_title(n) || !name_part || chars + len > 5 {
                break;
            }
            chars += len;
            j += 1;
        }
        // A surname and a one-kanji given name, then one more kanji IPADIC
        // files otherwise (細川|綱|利, 中村|功|平 as a place, 樋口|真|嗣 as an
        // organisation, 岸本|斉|史 as a suffix, 井出|有|治 as a verbal noun,
        // 柳沢|亨|之 as a particle, 加藤|宗|現 as a prefix that prefixes
        // nothing: no kanji word or number follows it, as 他 does in
        // 茶谷亮|他|3名) before another word or none: a two-kanji given name.
        if surname
            && j == i + 1
            && ms[j].pos(3) == "名"
            && ms[j].surface.chars().count() == 1
            && let Some(n) = ms.get(j + 1)
            && adjacent(&ms[j], n)
            && n.is_kanji_word()
            && n.surface.chars().count() == 1
            && (n.pos(1) == "固有名詞"
                || (n.pos(1) == "接尾" && n.pos(2) != "人名")
                || n.pos(1) == "サ変接続"
                || n.surface == "之"
                || (n.pos(0) == "接頭詞"
                    && !ms.get(j + 2).is_some_and(|k| {
                        adjacent(n, k) && (k.is_kanji_word() || k.pos(1) == "数")
                    })))
            && !is_title(n)
            && !AFTER_NAMES.contains(&n.surface)
            && !ms.get(j + 2).is_some_and(|k| {
                adjacent(n, k) && k.is_kanji_word() && k.surface.chars().count() == 1
            })
        {
            chars += 1;
            j += 1;
        }
        let titled = ms
            .get(j + 1)
            .is_some_and(|n| adjacent(&ms[j], n) && (is_title(n) || title_at(text, n.start)));
        let all_names = (i..=j).all(|k| {
            (k == i && place_surname) || ms[k].pos(2) == "人名" || numeral_ends_given_name(ms, k)
        });
        // One kanji is a name only before a title (桂容疑者, 岸投手, 亨さん).
        if titled || (chars >= 2 && j > i && all_names && surname) {
            return Some((j + 1, mention(text, m.start, ms[j].end, EntityType::Person)));
        }
        // A surname and one or two more kanji of which one is a given name (青木+宣+親).
        let has_given = ms[i + 1..=j].iter().any(|t| t.pos(3) == "名");
        if surname && j > i && has_given && (3..=4).contains(&chars) {
            return Some((j + 1, mention(text, m.start, ms[j].end, EntityType::Person)));
        }
        if m.pos(3) == "一般" && chars >= 2 {
            return Some((i + 1, mention(text, m.start, m.end, EntityType::Person)));
        }
        return None;
    }
    if m.pos(1) == "固有名詞" {
        match m.pos(2) {
            "組織" => {
                let mut j = i + 1;
                while j < ms.len() && ms[j].pos(2) == "組織" && adjacent(&ms[j - 1], &ms[j]) {
                    j += 1;
                }
                // IPADIC tags ロ as an organisation everywhere: in 中ロ it is
                // Russia (the abbreviation rule's), in ダニーロ a name's
                // tail. One character is no organisation's name.
                if j == i + 1 && m.surface.chars().count() == 1 {
                    return None;
                }
                // A company named by a deictic prefix (自社 "our own
                // company", IPADIC's organisation; 同社, 他社) is one named
                // elsewhere, or none.
                if j == i + 1
                    && let Some(prefix) = m.surface.strip_suffix('社')
                    && DEICTIC_PREFIXES.contains(&prefix)
                {
                    return None;
                }
                return Some((
                    j,
                    mention(text, m.start, ms[j - 1].end, EntityType::Organization),
                ));
            }
            // One-kanji country abbreviations (日, 米, 中 …) are left to the
            // context rule: IPADIC tags them as countries everywhere.
            // (With a municipality's suffix it names the town, 港|区 and
            // 北|区 after a place or none, unless the town's name runs on
            // before it, 魚|崎|町, 楊|浦|区, or a person's after it,
            // 柳|町|光男.)
            "地域"
                if m.surface.chars().count() == 1
                    && next.is_some_and(|n| {
                        adjacent(m, n)
                            && n.pos(1) == "接尾"
                            && MUNICIPALITY_SUFFIXES.contains(&n.surface)
                            && !ms
                                .get(i + 2)
                                .is_some_and(|k| adjacent(n, k) && k.pos(2) == "人名")
                    })
                    && !i.checked_sub(1).map(|h| &ms[h]).is_some_and(|p| {
                        adjacent(p, m)
                            && p.surface.chars().last().is_some_and(is_kanji)
                            && p.pos(2) != "地域"
                            && !(p.pos(1) == "接尾" && PLACE_SUFFIXES.contains(&p.surface))
                    }) =>
            {
                let end = next.map_or(m.end, |n| n.end);
                return Some((i + 2, mention(text, m.start, end, EntityType::Place)));
            }
            "地域" if m.surface.chars().count() == 1 => {}
            // Japanese text names its own country 日本; ジャパン stands in
            // names of events, companies and teams (ジャパンカップ,
            // オートバイテル・ジャパン), not for the place.
            "地域" if m.surface == "ジャパン" => return None,
            "地域" => {
                let mut end = m.end;
                let mut j = i + 1;
                if let Some(n) = next
                    && adjacent(m, n)
                    && n.pos(1) == "接尾"
                    && PLACE_SUFFIXES.contains(&n.surface)
                {
                    end = n.end;
                    j += 1;
                }
                return Some((j, mention(text, m.start, end, EntityType::Place)));
            }
            _ => {}
        }
    }
    katakana_person(text, ms, i, gazetteer)
}

/// Whether `ms[i]` is a place to IPADIC (two kanji or more) right before a
/// kanji given name, and so the person's surname (赤崎|勇, 米満|達弘,
/// 上本|孝一), as IPADIC reads 千葉|真一 where it tags 千葉 a surname:
/// when IPADIC also knows the place as a surname, or (with `gazetteer`,
/// which must not know the place) when the place has at most three kanji
/// and the given name at least two (not 大韓民国|忠清, 京都|成章).
fn place_read_before_given_name(
    ms: &[Morpheme<'_>],
    i: usize,
    gazetteer: Option<&Gazetteer>,
) -> bool {
    let m = &ms[i];
    let place = m.pos(1) == "固有名詞" && m.pos(2) == "地域" && m.is_kanji_word();
    if !(place && given_name_after(ms, i)) {
        return false;
    }
    let place_len = m.surface.chars().count();
    place_len >= 2
        && (super::dictionary::is_surname(m.surface)
            || gazetteer.is_some_and(|g| {
                place_len <= 3
                    && ms[i + 1].surface.chars().count() >= 2
                    && g.lookup_normalized(m.surface).is_none()
            }))
}

/// Whether `ms[k]` is a kanji numeral that ends the one-kanji given name
/// before it (星野|仙|一 is 星野仙一; IPADIC knows 健一, 浩二, but not every
/// such name): the name before it is a surname and that given name, and no
/// counter or number follows (田中|仙|一|人 is no name of three kanji).
fn numeral_ends_given_name(ms: &[Morpheme<'_>], k: usize) -> bool {
    let given = |t: &Morpheme<'_>| t.pos(3) == "名" && t.surface.chars().count() == 1;
    let counted = |t: &Morpheme<'_>| t.pos(1) == "数" || t.pos(1) == "接尾" && t.pos(2) != "人名";
    k >= 2
        && ms[k].pos(1) == "数"
        && matches!(
            ms[k].surface,
            "一" | "二" | "三" | "四" | "五" | "六" | "七" | "八" | "九" | "十"
        )
        && given(&ms[k - 1])
        && ms[k - 2].pos(3) == "姓"
        && ms[k - 2].end == ms[k - 1].start
        && ms[k - 1].end == ms[k].start
        && !ms
            .get(k + 1)
            .is_some_and(|t| t.start == ms[k].end && counted(t))
}

/// Katakana names chained with `・` before a title: アレクサンダー・ガブエフ氏.
fn katakana_person(
    text: &str,
    ms: &[Morpheme<'_>],
    i: usize,
    gazetteer: &Gazetteer,
) -> Option<(usize, Mention)> {
    let m = &ms[i];
    let adjacent = |a: &Morpheme<'_>, b: &Morpheme<'_>| a.end == b.start;
    if !(m.is_katakana_word() && m.is_noun()) {
        return None;
    }
    let mut j = i;
    while j + 2 < ms.len()
        && ms[j + 1].surface == "・"
        && ms[j + 2].is_katakana_word()
        && adjacent(&ms[j], &ms[j + 1])
        && adjacent(&ms[j + 1], &ms[j + 2])
    {
        j += 2;
    }
    let full_name = j > i || ms[i..=j].iter().any(|t| t.surface.contains('・'));
    let title = ms
        .get(j + 1)
        .filter(|t| adjacent(&ms[j], t))
        .map(|t| t.surface);
    // An ordinary word IPADIC knows, alone before a title, is more often a
    // compound (プロ選手, スター選手, ゴルフ選手) than a name: it is one
    // before an honorific only (ホワイト氏).
    let ordinary = !full_name && !m.unknown && m.pos(1) != "固有名詞";
    let titled = title.is_some_and(|t| {
        if ordinary {
            HONORIFICS.contains(&t)
        } else {
            PERSON_TITLES.contains(&t) || (full_name && WEAK_PERSON_TITLES.contains(&t))
        }
    });
    // A full name joined with ・ is a person even without a title, unless one
    // of its parts names a place or an organisation (…・ホテル, …・タイムズ;
    // インドネシア・ムラピ, a volcano; アバ・チベット族, a people: a part the
    // gazetteer knows as a place or organisation, also inside one unknown
    // morpheme), or is an English function word, which titles and
    // companies have and names do not (ホーム・アンド・アウェー, ザ・…).
    let names_something_else = ms[i..=j].iter().any(|t| {
        t.surface.split('・').any(|part| {
            NOT_PERSON_ENDINGS.contains(&part)
                || FUNCTION_WORDS.contains(&part)
                || gazetteer
                    .lookup_normalized(part)
                    .is_some_and(|e| e.kind != EntityType::Person)
        }) || (!t.unknown && matches!(t.pos(2), "地域" | "組織"))
    });
    // Without a title, some part must read as a name: a word IPADIC does not
    // know, or knows as a person's or a proper noun (ジョージ・ホワイト,
    // ビナヤ・グルアチャリャ). Ordinary words joined (ワールド・ベースボール・
    // クラシック, セカンド・アルバム) name no one. (A chain IPADIC does not
    // know at all is one unknown word: スター・ウォーズ stays a person.)
    let reads_as_a_name = ms[i..=j]
        .iter()
        .any(|t| t.unknown || t.pos(1) == "固有名詞" && matches!(t.pos(2), "人名" | "一般"));
    // The last part of a full name is the surname; one IPADIC knows as an
    // ordinary noun only names a thing (ファイナンシャル・プランナー,
    // エイベックス・マネジメント, ウィンドウズ・ビスタ), unless another part
    // is a name (ジョージ・ウェア). (…・ジュニア: the part before it.)
    let ends_in_a_noun = || {
        ms[i..=j]
            .iter()
            .flat_map(|t| t.surface.split('・'))
            .rfind(|part| !part.is_empty() && *part != "ジュニア")
            .is_some_and(super::dictionary::is_katakana_noun)
            && !ms[i..=j]
                .iter()
                .any(|t| !t.unknown && t.pos(1) == "固有名詞" && t.pos(2) == "人名")
    };
    if titled || (full_name && !names_something_else && reads_as_a_name && !ends_in_a_noun()) {
        return Some((j + 1, mention(text, m.start, ms[j].end, EntityType::Person)));
    }
    None
}

/// Whether `m` is one katakana word IPADIC does not know that ends in one of
/// [`COMPANY_WORDS`] after a name of two characters or more that is no
/// ordinary word (ツネイシホールディングス, but not ヒップホップグループ).
fn is_company_word(m: &Morpheme<'_>) -> bool {
    m.unknown
        && m.is_katakana_word()
        && COMPANY_WORDS.iter().any(|w| {
            m.surface.strip_suffix(w).is_some_and(|name| {
                let name = name.trim_end_matches('・');
                name.chars().count() >= 2 && !super::dictionary::is_katakana_noun(name)
            })
        })
}

/// The words that end a company's name written as one katakana word
/// ([`named_by_suffix`]).
const COMPANY_WORDS: &[&str] = &[
    "ホールディングス",
    "コーポレーション",
    "カンパニー",
    "グループ",
];

/// Parts of `・`-joined katakana names that are not people (named storms
/// included: ハリケーン・エプシロン).
const NOT_PERSON_ENDINGS: &[&str] = &[
    "ハリケーン",
    "サイクロン",
    "タイフーン",
    "ストーム",
    "コモンズ",
    "ホテル",
    "センター",
    "タイムズ",
    "クラブ",
    "カンパニー",
    "グループ",
    "ジャパン",
    "ニュース",
    "ポスト",
    "ジャーナル",
    "プロジェクト",
    "システム",
    "サービス",
    "ホールディングス",
    "リーグ",
    "ストリート",
    "パーク",
    "タワー",
    "ビル",
    "スクエア",
    "シティ",
    "ユニオン",
    "エアライン",
    "エアラインズ",
    "テレビ",
    "ラジオ",
    "レコード",
    "スタジアム",
    "アリーナ",
];

/// English function words as written in katakana: a `・`-joined name with
/// one is a title or a company's, never a person's.
const FUNCTION_WORDS: &[&str] = &["アンド", "エンド", "オブ", "ザ"];

/// Titles that follow nothing but a person's name: the first of [`TITLES`].
const HONORIFICS: &[&str] = TITLES.split_at(9).0;

/// Titles that also follow organisation names (ソニー社長): they make a
/// katakana name a person only when it is a full name joined with `・`.
const WEAK_PERSON_TITLES: &[&str] = &[
    "所長",
    "社長",
    "会長",
    "代表",
    "研究員",
    "記者",
    "理事長",
    "最高経営責任者",
    "CEO",
    "ceo",
];

/// One-character country abbreviations of Japanese news.
const ABBREVIATIONS: &[(char, &str)] = &[
    ('日', "日本"),
    ('米', "アメリカ"),
    ('英', "イギリス"),
    ('仏', "フランス"),
    ('独', "ドイツ"),
    ('伊', "イタリア"),
    ('露', "ロシア"),
    ('ロ', "ロシア"),
    ('中', "中国"),
    ('韓', "韓国"),
    ('朝', "北朝鮮"),
    ('欧', "ヨーロッパ"),
    ('豪', "オーストラリア"),
    ('印', "インド"),
    ('加', "カナダ"),
    ('台', "台湾"),
    ('比', "フィリピン"),
    ('越', "ベトナム"),
    ('蘭', "オランダ"),
    ('ソ', "ソ連"),
];

/// Pairs that are also ordinary words (日中 = daytime, 朝日, 台中 = Taichung …):
/// they count only before a context word.
const AMBIGUOUS_PAIRS: &[&str] = &[
    "日中", "中日", "中米", "中欧", "台中", "朝日", "日比", "越中", "中越", "中加", "加中", "中台",
    "日台", "朝露",
];

/// Ordinary words that start with an abbreviation or with a prefix and an
/// abbreviation (印紙 "revenue stamp", 対比 "contrast"): never countries.
const ORDINARY_WORDS: &[&str] = &["印紙", "対比", "比較", "加工", "加減", "英気", "仏教"];

/// Words that show a run of abbreviations names countries (露朝**両国**, 日米**関係**).
const CONTEXT: &[&str] = &[
    "関係",
    "両国",
    "三国",
    "首脳",
    "会談",
    "外相",
    "間",
    "同盟",
    "主導",
    "共同",
    "協力",
    "合同",
    "貿易",
    "戦争",
    "対立",
    "連携",
    "交渉",
    "外交",
    "国境",
    "友好",
    "接近",
    "軍事",
    "演習",
    "政府",
    "安保",
    "条約",
    "和平",
    "摩擦",
    "協議",
    "国交",
    "通商",
    "首脳会談",
    "各国",
    "軍",
    "対話",
    "経済",
    "協定",
    "声明",
    "宣言",
    "合意",
    "平和",
    "緊張",
    "蜜月",
    "分断",
    "統一",
    "境界",
    "政策",
    "連合",
    "諸国",
    "関税",
    "輸出",
    "輸入",
    "制裁",
    "投資",
    "地位協定",
    "冷戦",
    "交流",
    "親善",
    "大使",
];

/// Titles that make one abbreviation after a katakana name a country
/// (プーチン**露大統領**).
const COUNTRY_TITLES: &[&str] = &["大統領", "首相", "外相", "国防相", "大使"];

/// Words after a prefixed abbreviation that make it a stance towards a
/// country (親ロ**派**, 反米**感情**, 親日**的**).
const STANCE_WORDS: &[&str] = &["派", "感情", "的", "デモ", "勢力", "路線"];

/// Words after a single abbreviation that make it a country (米**政府**, 英**紙**).
const INSTITUTIONS: &[&str] = &[
    "政府",
    "軍",
    "紙",
    "誌",
    "国務省",
    "国防総省",
    "国防省",
    "大統領",
    "首相",
    "当局",
    "側",
    "企業",
    "議会",
    "上院",
    "下院",
    "外務省",
    "外相",
    "国防相",
    "大使館",
    "大使",
    "政権",
    "メディア",
    "海軍",
    "空軍",
    "陸軍",
    "連邦",
    "情報機関",
    "高官",
    "司法省",
    "財務省",
    "商務省",
    "中央銀行",
    "国債",
    "兵",
    "部隊",
    "製",
    "系",
    "国籍",
    "通信",
    "報道",
    "民間",
    "主要",
    "大手",
    "経済",
    "株",
    "市場",
];

/// Prefixes that make a following abbreviation a country (**対**米, **訪**日, **脱**北).
const PREFIXES: &[char] = &[
    '対', '訪', '反', '親', '駐', '在', '来', '離', '脱', '渡', '知', '嫌',
];

pub(crate) fn is_kanji(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '々')
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー')
}

fn abbreviation(c: char) -> Option<&'static str> {
    ABBREVIATIONS.iter().find(|(a, _)| *a == c).map(|(_, n)| *n)
}

/// The rule for news abbreviations, on normalised text:
///
/// * **Runs** of two or more abbreviation characters (optionally joined by
///   `・`): 露朝, 中ロ, 米欧, 日米中, 英仏独. Each character is a mention of its
///   country. The run must stand alone: the character before it is not a
///   kanji (unless a prefix such as 対 or 訪), and the character after it is
///   not a kanji unless a context word starts there (露朝**両国**, 日米**関係**).
///   Pairs that are also ordinary words (日中 "daytime", 朝日, 台中) need that
///   context word.
/// * **Single** characters: after a prefix (**対**米, **訪**日, **脱**北), or
///   before an institution (米**政府**, 英**紙**) or a place (独ベルリン),
///   when not inside a longer kanji word. 日, 中 and 朝 count only after a
///   prefix. So 米を炊いた, 今朝, 日中は, 中でも yield nothing.
/// * **北** is North Korea in 北の核 / 北のミサイル …, after 対 / 脱, and in 南北 before a
///   context word (南北首脳会談 → 韓国 + 北朝鮮).
///
/// Characters already inside another mention are skipped.
pub fn abbreviations(text: &str, gazetteer: &Gazetteer, taken: &[Mention]) -> Vec<Mention> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut taken_bytes = vec![false; text.len()];
    for m in taken {
        for b in &mut taken_bytes[m.start.min(text.len())..m.end.min(text.len())] {
            *b = true;
        }
    }
    let covered = |byte: usize| taken_bytes.get(byte).copied().unwrap_or(false);
    let canonical = |name: &str| {
        gazetteer
            .lookup(name)
            .map(|e| e.canonical.clone())
            .unwrap_or_else(|| name.to_string())
    };
    let end_of = |k: usize| chars.get(k).map(|c| c.0).unwrap_or(text.len());
    let starts_with_any = |k: usize, words: &[&str]| {
        let rest = &text[end_of(k).min(text.len())..];
        words.iter().any(|w| rest.starts_with(w))
    };
    let place = |k: usize, name: &str| Mention {
        start: chars[k].0,
        end: end_of(k + 1),
        canonical: canonical(name),
        kind: EntityType::Place,
        by_pos: false,
    };
    // A place or an organisation named right after one abbreviation
    // (独ベルリン, 米アップル, 米民主党).
    let place_follows = |k: usize| {
        let b = end_of(k);
        taken
            .iter()
            .any(|m| m.start == b && m.kind != EntityType::Person)
    };

    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        // Only 北 and the abbreviations start a mention (the checks below
        // would cost every character of the text some fourteen string
        // comparisons: 3 % of a Wikinews ingest's CPU time).
        if covered(chars[i].0) || (c != '北' && abbreviation(c).is_none()) {
            i += 1;
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        // 日 after a number counts days (10日朝 "on the morning of the
        // 10th", 12日日中 "in the daytime of the 12th", 3日越し).
        let day = c == '日' && prev.is_some_and(|p| p.is_ascii_digit());
        let word_at = |k: usize| {
            ORDINARY_WORDS
                .iter()
                .any(|w| text[chars[k].0..].starts_with(w))
        };
        if day || word_at(i) || (i > 0 && word_at(i - 1)) {
            i += 1;
            continue;
        }
        // 在 is a prefix (在日, 在米) but 滞在中 / 在中 is "while staying".
        let prefixed = prev.is_some_and(|p| PREFIXES.contains(&p) && !(p == '在' && c == '中'));
        // A title after one abbreviation names a person's country right
        // after the name (プーチン露大統領).
        let titled = prev.is_some_and(is_katakana)
            && !matches!(c, '日' | '中' | '朝')
            && chars
                .get(i + 1)
                .is_some_and(|n| abbreviation(n.1).is_none())
            && starts_with_any(i + 1, COUNTRY_TITLES);
        let free_before =
            prev.is_none_or(|p| !is_kanji(p) && !is_katakana(p)) || prefixed || titled;

        // 北 = North Korea.
        if c == '北' {
            let after_no = text[end_of(i + 1)..].starts_with('の')
                && [
                    "核",
                    "ミサイル",
                    "脅威",
                    "挑発",
                    "体制",
                    "独裁",
                    "指導者",
                    "兵",
                    "軍",
                    "工作員",
                    "拉致",
                    "政権",
                ]
                .iter()
                .any(|w| {
                    text[end_of(i + 1)..]
                        .get('の'.len_utf8()..)
                        .is_some_and(|r| r.starts_with(w))
                });
            // (南北戦争 is the American Civil War.)
            let after_nan = prev == Some('南')
                && starts_with_any(i + 1, CONTEXT)
                && !starts_with_any(i + 1, &["戦争"]);
            if (after_no && prev.is_none_or(|p| !is_kanji(p)))
                || prev.is_some_and(|p| p == '対' || p == '脱')
            {
                out.push(place(i, "北朝鮮"));
            } else if after_nan {
                if !covered(chars[i - 1].0) {
                    out.push(place(i - 1, "韓国"));
                }
                out.push(place(i, "北朝鮮"));
            }
            i += 1;
            continue;
        }

        if abbreviation(c).is_none() || !free_before {
            i += 1;
            continue;
        }
        // The run: abbreviation characters, optionally joined by ・.
        let mut members = vec![i];
        let mut j = i + 1;
        loop {
            if j < chars.len() && abbreviation(chars[j].1).is_some() && !covered(chars[j].0) {
                members.push(j);
                j += 1;
            } else if j + 1 < chars.len()
                && chars[j].1 == '・'
                && abbreviation(chars[j + 1].1).is_some()
            {
                members.push(j + 1);
                j += 2;
            } else {
                break;
            }
        }
        let mut next = chars.get(j).map(|c| c.1);
        let mut free_after = next.is_none_or(|n| !is_kanji(n) && !is_katakana(n));
        // After a visit or a stay, a last 中 is "during" (訪米中, 来日中,
        // 訪中中): the run ends before it.
        if prefixed
            && matches!(prev, Some('訪' | '来' | '在' | '渡'))
            && members.len() >= 2
            && members
                .last()
                .is_some_and(|&k| chars[k].1 == '中' && k + 1 == j)
            && free_after
        {
            members.pop();
            j -= 1;
            next = Some('中');
        }
        let during = next == Some('中') && j < chars.len() && chars[j].1 == '中' && free_after;
        free_after = free_after || during;
        let context_follows = starts_with_any(j, CONTEXT);
        // (Katakana alone, ソロ is a word: solo.)
        let katakana_only = members.iter().all(|&k| is_katakana(chars[k].1));
        if members.len() >= 2 && !katakana_only {
            let run: String = members.iter().map(|&k| chars[k].1).collect();
            let ok = if AMBIGUOUS_PAIRS.contains(&run.as_str()) {
                context_follows
            } else {
                free_after || context_follows
            };
            if ok {
                for &k in &members {
                    out.push(place(k, abbreviation(chars[k].1).unwrap_or_default()));
                }
                i = j;
                continue;
            }
        } else {
            let single_ok = !matches!(c, '日' | '中' | '朝') || prefixed;
            let institution = starts_with_any(i + 1, INSTITUTIONS);
            // 親ロ派, 反米感情, 親日的: a stance towards the country.
            let stance = prefixed && starts_with_any(i + 1, STANCE_WORDS);
            if single_ok
                && ((prefixed && (free_after || institution || context_follows || stance))
                    || (!prefixed && (institution || place_follows(i + 1))))
                && !(c == 'ロ' && next.is_some_and(is_katakana))
            {
                out.push(place(i, abbreviation(c).unwrap_or_default()));
            }
        }
        i = j.max(i + 1);
    }
    out
}

/// A normalised lookup key for entity names given in queries.
pub fn entity_key(name: &str) -> String {
    normalize_str(name.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abbr(text: &str) -> Vec<(String, String)> {
        let g = Gazetteer::default();
        abbreviations(text, &g, &[])
            .into_iter()
            .map(|m| (text[m.start..m.end].to_string(), m.canonical))
            .collect()
    }

    #[test]
    fn legal_forms_and_the_company_are_not_part_of_the_name() {
        for (name, core) in [
            ("ヤフー株式会社", Some("ヤフー")),
            ("株式会社ミートホープ", Some("ミートホープ")),
            ("京セラ(株)", Some("京セラ")),
            ("マイクロソフト社", Some("マイクロソフト")),
            ("Apple社", Some("Apple")),
            (
                "ヒューレット・パッカード社",
                Some("ヒューレット・パッカード"),
            ),
            ("東京新聞社", None),
            ("靖国神社", None),
            ("ジー社", None),
            ("A社", None),
            ("株式会社", None),
            ("ソニー", None),
        ] {
            assert_eq!(organization_core(name), core, "{name}");
        }
    }

    #[test]
    fn inside_words_give_their_unit() {
        assert_eq!(unit_inside("市内"), Some('市'));
        assert_eq!(unit_inside("都内"), Some('都'));
        assert_eq!(unit_inside("県内"), Some('県'));
        assert_eq!(unit_inside("国内"), None);
        assert_eq!(unit_inside("内"), None);
        assert_eq!(unit_inside("市場"), None);
    }

    #[test]
    fn runs_of_abbreviations_are_countries() {
        assert_eq!(
            abbr("露朝の長期的な利害"),
            vec![
                ("露".into(), "ロシア".into()),
                ("朝".into(), "北朝鮮".into())
            ]
        );
        assert_eq!(abbr("中ロで火種").len(), 2);
        assert_eq!(abbr("ロシアと米欧の関係").len(), 2);
        assert_eq!(abbr("日米中関係に詳しい").len(), 3);
        assert_eq!(abbr("英仏独が").len(), 3);
        assert_eq!(abbr("米朝首脳会談").len(), 2);
        assert_eq!(abbr("日中関係").len(), 2);
        assert_eq!(abbr("中露主導の").len(), 2);
    }

    #[test]
    fn ordinary_words_are_not_countries() {
        assert!(abbr("今朝、米を炊いた").is_empty());
        assert!(abbr("日中は暑い").is_empty());
        assert!(abbr("その中でも").is_empty());
        assert!(abbr("毎日新聞").is_empty());
        assert!(abbr("朝日新聞によると").is_empty());
        assert!(abbr("朝露に濡れた草").is_empty());
        assert!(abbr("ロシア").is_empty());
        assert!(abbr("北海道の北の端").is_empty());
        // 日 after a number counts days: 10日朝 is a morning, not 日朝.
        for text in [
            "10日朝、事故が起きた",
            "12日日中は晴れる",
            "3日越しの熱闘",
            "2日日の12日",
            "新潟県中越地方",
            "中越地震の余震",
            "印紙税を納める",
            "なぜ対比できるか",
            "南北戦争の時代",
        ] {
            assert!(abbr(text).is_empty(), "{text}: {:?}", abbr(text));
        }
    }

    #[test]
    fn a_visit_ends_before_its_during() {
        assert_eq!(abbr("訪米中の首相"), vec![("米".into(), "アメリカ".into())]);
        assert_eq!(abbr("来日中の大統領"), vec![("日".into(), "日本".into())]);
        assert_eq!(abbr("訪中中に"), vec![("中".into(), "中国".into())]);
        assert_eq!(abbr("対米中外交").len(), 2);
    }

    #[test]
    fn trade_and_treaty_words_and_the_soviet_union_are_contexts() {
        assert_eq!(abbr("対中関税を"), vec![("中".into(), "中国".into())]);
        assert_eq!(abbr("対米輸出が").len(), 1);
        assert_eq!(abbr("日米地位協定").len(), 2);
        assert_eq!(abbr("駐日米大使").len(), 2);
        assert_eq!(abbr("中ソ対立").len(), 2);
        assert_eq!(abbr("米ソ冷戦")[1], ("ソ".into(), "ソ連".into()));
        assert!(abbr("ソースを").is_empty());
        assert!(abbr("引き続きソロで活動").is_empty());
    }

    #[test]
    fn single_abbreviations_need_context() {
        assert_eq!(abbr("米政府は"), vec![("米".into(), "アメリカ".into())]);
        assert_eq!(
            abbr("英紙フィナンシャル"),
            vec![("英".into(), "イギリス".into())]
        );
        assert_eq!(abbr("対北経済制裁"), vec![("北".into(), "北朝鮮".into())]);
        assert_eq!(abbr("北の核"), vec![("北".into(), "北朝鮮".into())]);
        assert_eq!(abbr("首相が訪米した").len(), 1);
        assert_eq!(abbr("南北首脳会談").len(), 2);
    }
}
