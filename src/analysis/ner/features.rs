//! What the CRF sees of each morpheme. One enumeration ([`each`]) serves
//! training (`examples/train_ner.rs`, as CRFsuite attribute strings through
//! [`features`]) and tagging (as 64-bit keys through [`super::fast`]), so the
//! two can never drift apart.
//!
//! A feature is a [`Template`] and up to two values (`w[-1]|w[0]=東京|都`).
//! Every value carries its string and a hash of it, computed once per
//! morpheme: the tagger combines hashes ([`key`]) instead of building strings.

use std::hash::Hasher;

use crfs::Attribute;
use rustc_hash::FxHasher;

use super::super::entities::{Mention, Morpheme, is_title_word, title_at};
use super::super::gazetteer::{EntityType, Gazetteer};
use super::clusters::{Clusters, IDS};

/// A feature template. The discriminant indexes [`Template::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Template {
    Bias,
    W0m2,
    W0m1,
    W0,
    W0p1,
    W0p2,
    Wm1W0,
    W0W1,
    P0,
    Pm2,
    Pm1,
    Pp1,
    Pp2,
    Pm1P0,
    P0P1,
    Base,
    Cm1,
    C0,
    Cp1,
    C0C1,
    Cm1C0,
    Len,
    First,
    Last,
    Unk,
    Rm2,
    Rm1,
    R0,
    Rp1,
    Rp2,
    R0R1,
    Gaz,
    TitleNext,
    TitlePrev,
    Title,
    // The extended set (appended: a model trained on the base set sees its
    // features in the same order).
    Wm2Wm1,
    W1W2,
    Pm2Pm1,
    P1P2,
    Cm2,
    Cp2,
    Pre2,
    Suf2,
    // Word clusters (`super::clusters`): the word's own (coarse, middle,
    // fine, or none), then the neighbours' (coarse and middle).
    K64,
    K256,
    K1024,
    KNone,
    K64m1,
    K256m1,
    K64p1,
    K256p1,
    // The run of nouns the morpheme stands in (`noun_runs`): its place in
    // it (B, I, E, S), the run's last and first words, its length, and the
    // words either side of it.
    RunPos,
    RunLast,
    RunFirst,
    RunLen,
    RunNext,
    RunPrev,
}

impl Template {
    pub const ALL: [Template; 57] = [
        Template::Bias,
        Template::W0m2,
        Template::W0m1,
        Template::W0,
        Template::W0p1,
        Template::W0p2,
        Template::Wm1W0,
        Template::W0W1,
        Template::P0,
        Template::Pm2,
        Template::Pm1,
        Template::Pp1,
        Template::Pp2,
        Template::Pm1P0,
        Template::P0P1,
        Template::Base,
        Template::Cm1,
        Template::C0,
        Template::Cp1,
        Template::C0C1,
        Template::Cm1C0,
        Template::Len,
        Template::First,
        Template::Last,
        Template::Unk,
        Template::Rm2,
        Template::Rm1,
        Template::R0,
        Template::Rp1,
        Template::Rp2,
        Template::R0R1,
        Template::Gaz,
        Template::TitleNext,
        Template::TitlePrev,
        Template::Title,
        Template::Wm2Wm1,
        Template::W1W2,
        Template::Pm2Pm1,
        Template::P1P2,
        Template::Cm2,
        Template::Cp2,
        Template::Pre2,
        Template::Suf2,
        Template::K64,
        Template::K256,
        Template::K1024,
        Template::KNone,
        Template::K64m1,
        Template::K256m1,
        Template::K64p1,
        Template::K256p1,
        Template::RunPos,
        Template::RunLast,
        Template::RunFirst,
        Template::RunLen,
        Template::RunNext,
        Template::RunPrev,
    ];

    /// The name in the model's attribute strings (`name`, `name=value`,
    /// `name=value|value`).
    pub fn name(self) -> &'static str {
        use Template::*;
        match self {
            Bias => "b",
            W0m2 => "w[-2]",
            W0m1 => "w[-1]",
            W0 => "w[0]",
            W0p1 => "w[1]",
            W0p2 => "w[2]",
            Wm1W0 => "w[-1]|w[0]",
            W0W1 => "w[0]|w[1]",
            P0 => "p[0]",
            Pm2 => "p[-2]",
            Pm1 => "p[-1]",
            Pp1 => "p[1]",
            Pp2 => "p[2]",
            Pm1P0 => "p[-1]|p[0]",
            P0P1 => "p[0]|p[1]",
            Base => "base",
            Cm1 => "c[-1]",
            C0 => "c[0]",
            Cp1 => "c[1]",
            C0C1 => "c[0]|c[1]",
            Cm1C0 => "c[-1]|c[0]",
            Len => "len",
            First => "first",
            Last => "last",
            Unk => "unk",
            Rm2 => "r[-2]",
            Rm1 => "r[-1]",
            R0 => "r[0]",
            Rp1 => "r[1]",
            Rp2 => "r[2]",
            R0R1 => "r[0]|r[1]",
            Gaz => "gaz",
            TitleNext => "title[1]",
            TitlePrev => "title[-1]",
            Title => "title[0]",
            Wm2Wm1 => "w[-2]|w[-1]",
            W1W2 => "w[1]|w[2]",
            Pm2Pm1 => "p[-2]|p[-1]",
            P1P2 => "p[1]|p[2]",
            Cm2 => "c[-2]",
            Cp2 => "c[2]",
            Pre2 => "pre2",
            Suf2 => "suf2",
            K64 => "k64",
            K256 => "k256",
            K1024 => "k1024",
            KNone => "knone",
            K64m1 => "k64[-1]",
            K256m1 => "k256[-1]",
            K64p1 => "k64[1]",
            K256p1 => "k256[1]",
            RunPos => "rp",
            RunLast => "rlast",
            RunFirst => "rfirst",
            RunLen => "rlen",
            RunNext => "rnext",
            RunPrev => "rprev",
        }
    }

    /// How many values the template takes (0, 1 or 2).
    pub fn arity(self) -> usize {
        use Template::*;
        match self {
            Bias | Unk | TitleNext | TitlePrev | Title | KNone => 0,
            Wm1W0 | W0W1 | Pm1P0 | P0P1 | C0C1 | Cm1C0 | R0R1 | Wm2Wm1 | W1W2 | Pm2Pm1 | P1P2 => 2,
            _ => 1,
        }
    }

    /// The template of a name (`w[-1]|w[0]`), if it is one.
    pub fn parse(name: &str) -> Option<Template> {
        static BY_NAME: std::sync::LazyLock<rustc_hash::FxHashMap<&'static str, Template>> =
            std::sync::LazyLock::new(|| Template::ALL.iter().map(|&t| (t.name(), t)).collect());
        BY_NAME.get(name).copied()
    }
}

/// A set of templates (bit `t as u8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemplateSet(pub u64);

impl TemplateSet {
    /// The templates of kiji's first model (MODEL_VERSION 1).
    pub const BASE: TemplateSet = TemplateSet((1 << (Template::Title as u64 + 1)) - 1);
    /// Every template.
    pub const ALL: TemplateSet = TemplateSet((1 << Template::ALL.len() as u64) - 1);
    pub const EMPTY: TemplateSet = TemplateSet(0);

    #[inline]
    pub fn contains(self, t: Template) -> bool {
        self.0 & (1 << t as u64) != 0
    }
    pub fn insert(&mut self, t: Template) {
        self.0 |= 1 << t as u64;
    }
    /// Whether a model of these templates reads the word-cluster table.
    pub fn reads_clusters(self) -> bool {
        self.contains(Template::K64) || self.contains(Template::KNone)
    }
    /// `base` or `all` (the training command's `--features`).
    pub fn parse(s: &str) -> Option<TemplateSet> {
        match s {
            "base" => Some(TemplateSet::BASE),
            "all" => Some(TemplateSet::ALL),
            _ => None,
        }
    }
}

/// The hash of a value string.
pub fn hash_str(s: &str) -> u64 {
    hash_bytes(s.as_bytes())
}

/// [`hash_str`] of bytes.
pub fn hash_bytes(b: &[u8]) -> u64 {
    let mut h = FxHasher::default();
    h.write(b);
    h.finish()
}

/// A strong 64-bit mix (splitmix64's finaliser).
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The key of a feature: its template and the hashes of its values (0 for
/// an absent value). [`super::fast`] maps the model's attribute strings to
/// the same keys when it loads the model.
pub fn key(t: Template, a: u64, b: u64) -> u64 {
    mix((t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ a ^ b.rotate_left(23))
}

/// A feature value: its string and [`hash_str`] of it.
#[derive(Debug, Clone, Copy)]
pub struct Val<'a> {
    pub s: &'a str,
    pub h: u64,
}

impl<'a> Val<'a> {
    pub fn new(s: &'a str) -> Val<'a> {
        Val { s, h: hash_str(s) }
    }
    /// No value (templates of arity 0 and 1).
    pub const NONE: Val<'static> = Val { s: "", h: 0 };
}

/// Receives the features of each morpheme, in order.
pub trait Sink {
    /// A new morpheme starts.
    fn item(&mut self);
    /// One feature of the current morpheme (`a`, `b` as the arity says).
    fn add(&mut self, t: Template, a: Val<'_>, b: Val<'_>);
}

/// What every feature needs of one morpheme (the context features read it
/// from the neighbours).
struct Tok<'a> {
    word: Val<'a>,
    pos3: Val<'a>,
    pos4: Val<'a>,
    class: Val<'a>,
    rule: Val<'static>,
    title: bool,
    clusters: Option<[Val<'static>; 3]>,
}

pub(crate) const LENS: [&str; 7] = ["0", "1", "2", "3", "4", "5", "6"];

/// Sends the features of every morpheme of `text` (normalised) to `sink`.
/// `rules` are the mentions the gazetteer and the rules found, sorted by start.
pub fn each<S: Sink>(
    text: &str,
    ms: &[Morpheme<'_>],
    rules: &[Mention],
    gazetteer: &Gazetteer,
    set: TemplateSet,
    sink: &mut S,
) {
    let mut sink = Only { set, sink };
    let sink = &mut sink;
    let n = ms.len();
    let tags = rule_tags(ms, rules);
    // Part-of-speech strings (3 and 4 levels: the 3-level one is a prefix
    // of the 4-level one) and shapes of every morpheme, in one buffer.
    let mut arena = String::with_capacity(n * 24);
    let mut spans: Vec<(usize, usize, usize, usize)> = Vec::with_capacity(n);
    for m in ms {
        let start = arena.len();
        let mut end3 = start;
        for l in 0..4 {
            let p = m.details.get(l).unwrap_or("*");
            if l > 0 {
                if p == "*" {
                    break;
                }
                arena.push('/');
            }
            arena.push_str(p);
            if l < 3 {
                end3 = arena.len();
            }
        }
        let end4 = arena.len();
        push_shape(&mut arena, m.surface);
        spans.push((start, end3, end4, arena.len()));
    }
    let rule_vals: Vec<Val<'static>> = RULE_TAGS.iter().map(|t| Val::new(t)).collect();
    let toks: Vec<Tok<'_>> = ms
        .iter()
        .zip(&spans)
        .zip(&tags)
        .map(|((m, &(s, e3, e4, ec)), &tag)| Tok {
            word: Val::new(m.surface),
            pos3: Val::new(&arena[s..e3]),
            pos4: Val::new(&arena[s..e4]),
            class: Val::new(&arena[e4..ec]),
            rule: rule_vals[tag as usize],
            title: is_title_word(m.surface),
            clusters: cluster_values(m),
        })
        .collect();
    let runs = noun_runs(ms);
    let bos = Val::new("<s>");
    let eos = Val::new("</s>");
    let dash = Val::new("-");
    let at = |i: isize| -> Option<&Tok<'_>> { if i < 0 { None } else { toks.get(i as usize) } };
    let word = |i: isize| match at(i) {
        Some(t) => t.word,
        None if i < 0 => bos,
        None => eos,
    };
    let pos3 = |i: isize| at(i).map_or(dash, |t| t.pos3);
    let class = |i: isize| at(i).map_or(dash, |t| t.class);
    let rule = |i: isize| at(i).map_or(dash, |t| t.rule);
    let none = Val::NONE;
    use Template::*;
    for (idx, m) in ms.iter().enumerate() {
        let i = idx as isize;
        let t = &toks[idx];
        sink.item();
        // What depends on the word alone comes first (the tagger sums it
        // once per word: see `super::fast`), in this order.
        sink.add(Bias, none, none);
        sink.add(W0, t.word, none);
        sink.add(P0, t.pos4, none);
        if let Some(base) = m.details.get(6)
            && base != m.surface
            && base != "*"
        {
            sink.add(Base, Val::new(base), none);
        }
        sink.add(C0, t.class, none);
        let len = m.surface.chars().count();
        sink.add(Len, Val::new(LENS[len.min(6)]), none);
        if let Some(c) = m.surface.chars().next() {
            sink.add(First, Val::new(&m.surface[..c.len_utf8()]), none);
        }
        if len > 1
            && let Some(c) = m.surface.chars().next_back()
        {
            sink.add(
                Last,
                Val::new(&m.surface[m.surface.len() - c.len_utf8()..]),
                none,
            );
        }
        if m.unknown {
            sink.add(Unk, none, none);
        }
        if let Some(e) = gazetteer.lookup_normalized(m.surface) {
            sink.add(Gaz, Val::new(e.kind.as_str()), none);
        }
        if t.title {
            sink.add(Title, none, none);
        }
        if len > 2 {
            let mut cs = m.surface.char_indices();
            if let Some((two, _)) = cs.nth(2) {
                sink.add(Pre2, Val::new(&m.surface[..two]), none);
            }
            if let Some((from, _)) = m.surface.char_indices().nth_back(1) {
                sink.add(Suf2, Val::new(&m.surface[from..]), none);
            }
        }
        match &t.clusters {
            Some([coarse, mid, fine]) => {
                sink.add(K64, *coarse, none);
                sink.add(K256, *mid, none);
                sink.add(K1024, *fine, none);
            }
            None => sink.add(KNone, none, none),
        }
        // The context.
        for (tpl, d) in [(W0m2, -2isize), (W0m1, -1), (W0p1, 1), (W0p2, 2)] {
            sink.add(tpl, word(i + d), none);
        }
        sink.add(Wm1W0, word(i - 1), t.word);
        sink.add(W0W1, t.word, word(i + 1));
        for (tpl, d) in [(Pm2, -2isize), (Pm1, -1), (Pp1, 1), (Pp2, 2)] {
            sink.add(tpl, pos3(i + d), none);
        }
        sink.add(Pm1P0, pos3(i - 1), t.pos3);
        sink.add(P0P1, t.pos3, pos3(i + 1));
        sink.add(Cm1, class(i - 1), none);
        sink.add(Cp1, class(i + 1), none);
        sink.add(C0C1, t.class, class(i + 1));
        sink.add(Cm1C0, class(i - 1), t.class);
        for (tpl, d) in [(Rm2, -2isize), (Rm1, -1), (R0, 0), (Rp1, 1), (Rp2, 2)] {
            sink.add(tpl, rule(i + d), none);
        }
        sink.add(R0R1, t.rule, rule(i + 1));
        if idx + 1 < n && title_at(text, ms[idx + 1].start) {
            sink.add(TitleNext, none, none);
        }
        if idx > 0 && toks[idx - 1].title {
            sink.add(TitlePrev, none, none);
        }
        sink.add(Wm2Wm1, word(i - 2), word(i - 1));
        sink.add(W1W2, word(i + 1), word(i + 2));
        sink.add(Pm2Pm1, pos3(i - 2), pos3(i - 1));
        sink.add(P1P2, pos3(i + 1), pos3(i + 2));
        sink.add(Cm2, class(i - 2), none);
        sink.add(Cp2, class(i + 2), none);
        for (d, coarse, mid) in [(-1isize, K64m1, K256m1), (1, K64p1, K256p1)] {
            if let Some(Some([c, m, _])) = at(i + d).map(|t| &t.clusters) {
                sink.add(coarse, *c, none);
                sink.add(mid, *m, none);
            }
        }
        if let Some(r) = runs[idx] {
            sink.add(RunPos, Val::new(r.place()), none);
            sink.add(RunLast, toks[r.last].word, none);
            sink.add(RunFirst, toks[r.first].word, none);
            sink.add(RunLen, Val::new(LENS[(r.last - r.first + 1).min(6)]), none);
            sink.add(RunNext, word(r.last as isize + 1), none);
            sink.add(RunPrev, word(r.first as isize - 1), none);
        }
    }
}

/// Whether a morpheme continues a run of nouns: a noun (not a pronoun or a
/// dependent noun), a prefix, or a joining symbol (`・`, `=`, `&`).
pub(crate) fn in_noun_run(m: &Morpheme<'_>) -> bool {
    match m.details.get(0) {
        Some("名詞") => !matches!(m.details.get(1), Some("非自立" | "代名詞")),
        Some("接頭詞") => true,
        _ => matches!(m.surface, "・" | "＝" | "=" | "&" | "＆"),
    }
}

/// The run of nouns a morpheme stands in (morpheme indices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NounRun {
    pub first: usize,
    pub last: usize,
    pub at: usize,
}

/// The values of the `rp` feature: alone in its run, at its beginning,
/// inside it, at its end.
pub(crate) const RUN_PLACES: [&str; 4] = ["S", "B", "I", "E"];

impl NounRun {
    /// Index into [`RUN_PLACES`].
    pub fn place_index(self) -> usize {
        if self.first == self.last {
            0
        } else if self.at == self.first {
            1
        } else if self.at == self.last {
            3
        } else {
            2
        }
    }

    /// `S` (alone), `B`, `I` or `E`.
    pub fn place(self) -> &'static str {
        RUN_PLACES[self.place_index()]
    }
}

/// The noun run of every morpheme (`None` outside one).
pub(crate) fn noun_runs(ms: &[Morpheme<'_>]) -> Vec<Option<NounRun>> {
    noun_runs_by(ms.len(), |i| in_noun_run(&ms[i]))
}

/// [`noun_runs`] of `n` morphemes, of which `in_run(i)` says whether
/// morpheme `i` may stand in a run ([`in_noun_run`]; the tagger reads it from
/// its cached words).
pub(crate) fn noun_runs_by(n: usize, in_run: impl Fn(usize) -> bool) -> Vec<Option<NounRun>> {
    let mut out = vec![None; n];
    let mut i = 0;
    while i < n {
        if !in_run(i) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < n && in_run(j + 1) {
            j += 1;
        }
        for (at, slot) in out.iter_mut().enumerate().take(j + 1).skip(i) {
            *slot = Some(NounRun {
                first: i,
                last: j,
                at,
            });
        }
        i = j + 1;
    }
    out
}

/// The cluster values (coarse, middle, fine) of a morpheme, if it has any.
pub(crate) fn cluster_values(m: &Morpheme<'_>) -> Option<[Val<'static>; 3]> {
    let c = Clusters::embedded().get(m.surface, m.details.get(6))?;
    let ids = &*IDS;
    Some([
        Val::new(&ids[c.coarse as usize]),
        Val::new(&ids[c.mid as usize]),
        Val::new(&ids[c.fine as usize]),
    ])
}

/// Passes on the features of the templates in `set`.
struct Only<'s, S> {
    set: TemplateSet,
    sink: &'s mut S,
}

impl<S: Sink> Sink for Only<'_, S> {
    #[inline]
    fn item(&mut self) {
        self.sink.item();
    }
    #[inline]
    fn add(&mut self, t: Template, a: Val<'_>, b: Val<'_>) {
        if self.set.contains(t) {
            self.sink.add(t, a, b);
        }
    }
}

/// The attribute string of a feature, as the model stores it.
pub fn attribute_name(t: Template, a: &str, b: &str) -> String {
    match t.arity() {
        0 => t.name().to_string(),
        1 => format!("{}={a}", t.name()),
        _ => format!("{}={a}|{b}", t.name()),
    }
}

/// Features as CRFsuite attributes (training, and the reference tagger).
struct Strings(Vec<Vec<Attribute>>);

impl Sink for Strings {
    fn item(&mut self) {
        self.0.push(Vec::with_capacity(40));
    }
    fn add(&mut self, t: Template, a: Val<'_>, b: Val<'_>) {
        if let Some(item) = self.0.last_mut() {
            item.push(Attribute::new(attribute_name(t, a.s, b.s), 1.0));
        }
    }
}

/// Features (of the templates in `set`) of every morpheme of `text`
/// (normalised) as CRFsuite attribute strings. `rules` are the mentions the
/// gazetteer and the rules found, sorted by start.
pub fn features(
    text: &str,
    ms: &[Morpheme<'_>],
    rules: &[Mention],
    gazetteer: &Gazetteer,
    set: TemplateSet,
) -> Vec<Vec<Attribute>> {
    let mut sink = Strings(Vec::with_capacity(ms.len()));
    each(text, ms, rules, gazetteer, set, &mut sink);
    sink.0
}

/// The rule features' values: `O`, then `B-person/g` (gazetteer, suffix and
/// abbreviation rules), `I-person/p` (part-of-speech rules) …
pub(crate) const RULE_TAGS: [&str; 13] = [
    "O",
    "B-person/g",
    "B-person/p",
    "B-organization/g",
    "B-organization/p",
    "B-place/g",
    "B-place/p",
    "I-person/g",
    "I-person/p",
    "I-organization/g",
    "I-organization/p",
    "I-place/g",
    "I-place/p",
];

/// Index into [`RULE_TAGS`] of each morpheme (BIO of the rule spans).
pub(crate) fn rule_tags(ms: &[Morpheme<'_>], rules: &[Mention]) -> Vec<u8> {
    let mut tags = vec![0u8; ms.len()];
    for r in rules {
        let from = ms.partition_point(|m| m.start < r.start);
        for (i, m) in ms.iter().enumerate().skip(from) {
            if m.start >= r.end {
                break;
            }
            if m.start >= r.start && m.end <= r.end {
                tags[i] = rule_tag(m.start == r.start, r.kind, r.by_pos);
            }
        }
    }
    tags
}

fn rule_tag(begin: bool, kind: EntityType, by_pos: bool) -> u8 {
    let k = match kind {
        EntityType::Person => 0,
        EntityType::Organization => 1,
        EntityType::Place => 2,
    };
    1 + if begin { 0 } else { 6 } + 2 * k + u8::from(by_pos)
}

/// The character class of `c`: `K` kanji, `H` hiragana, `T` katakana, `A`
/// Latin, `D` digits, `S` other.
pub(crate) fn char_class(c: char) -> char {
    match c {
        '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々' | '〆' => 'K',
        '\u{3041}'..='\u{309F}' => 'H',
        '\u{30A0}'..='\u{30FF}' => 'T',
        c if c.is_ascii_alphabetic() => 'A',
        c if c.is_ascii_digit() => 'D',
        _ => 'S',
    }
}

/// Appends the character classes of a word ([`char_class`]), runs
/// collapsed, at most four.
pub(crate) fn push_shape(out: &mut String, s: &str) {
    let mut last = ' ';
    let mut count = 0;
    for c in s.chars() {
        let k = char_class(c);
        if k != last {
            if count == 4 {
                break;
            }
            out.push(k);
            count += 1;
            last = k;
        }
    }
}

/// The character classes of a word (see [`push_shape`]).
pub fn shape(s: &str) -> String {
    let mut out = String::new();
    push_shape(&mut out, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(shape("東京都"), "K");
        assert_eq!(shape("アメリカ人"), "TK");
        assert_eq!(shape("g7サミット"), "ADT");
        assert_eq!(shape("a1a1a1"), "ADAD");
    }

    #[test]
    fn rule_tags_index_their_names() {
        use EntityType::*;
        for (begin, bio) in [(true, "B"), (false, "I")] {
            for kind in [Person, Organization, Place] {
                for (by_pos, how) in [(false, "g"), (true, "p")] {
                    let name = RULE_TAGS[rule_tag(begin, kind, by_pos) as usize];
                    assert_eq!(name, format!("{bio}-{}/{how}", kind.as_str()));
                }
            }
        }
    }

    #[test]
    fn templates_round_trip_and_keys_differ() {
        for t in Template::ALL {
            assert_eq!(Template::ALL[t as usize], t);
            assert_eq!(Template::parse(t.name()), Some(t));
        }
        let (a, b) = (hash_str("東京"), hash_str("都"));
        assert_ne!(key(Template::Wm1W0, a, b), key(Template::Wm1W0, b, a));
        assert_ne!(key(Template::W0m1, a, 0), key(Template::W0, a, 0));
        assert_eq!(
            attribute_name(Template::Wm1W0, "東京", "都"),
            "w[-1]|w[0]=東京|都"
        );
        assert_eq!(attribute_name(Template::Unk, "", ""), "unk");
        assert!(TemplateSet::BASE.contains(Template::Title));
        assert!(!TemplateSet::BASE.contains(Template::Wm2Wm1));
        assert!(TemplateSet::ALL.contains(Template::Suf2));
        assert_eq!(
            TemplateSet::ALL.0.count_ones() as usize,
            Template::ALL.len()
        );
    }

    #[test]
    fn noun_runs_and_clusters_reach_every_part_of_a_name() {
        let analyzer = crate::analysis::Analyzer::new(None).unwrap();
        let text = "トヨタファイナンシャルサービス証券株式会社を吸収合併した。";
        let ms = analyzer.morphemes(text);
        let runs = noun_runs(&ms);
        let name_end = ms.iter().position(|m| m.surface == "を").unwrap();
        // one run over the whole name, every part of it knows its last word
        let first = runs[0].unwrap();
        assert_eq!((first.first, first.last), (0, name_end - 1));
        assert_eq!(first.place(), "B");
        assert_eq!(runs[name_end - 1].unwrap().place(), "E");
        assert_eq!(runs[name_end], None);
        let rules = crate::analysis::entities::extract(text, &ms, analyzer.gazetteer());
        let xs = features(text, &ms, &rules, analyzer.gazetteer(), TemplateSet::ALL);
        for x in &xs[..name_end] {
            assert!(x.iter().any(|a| a.name == "rlast=株式会社"), "{x:?}");
            assert!(x.iter().any(|a| a.name == "rnext=を"), "{x:?}");
        }
        // a known word has its three clusters, the neighbours' coarse ones
        let w = xs[name_end - 1]
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>();
        for t in ["k64=", "k256=", "k1024=", "k64[-1]=", "k256[1]="] {
            assert!(w.iter().any(|a| a.starts_with(t)), "{t} in {w:?}");
        }
    }
}
