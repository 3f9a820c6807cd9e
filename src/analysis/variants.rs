//! Spelling variants (表記ゆれ) that kiji treats as the same text.
//!
//! Applied by [`super::normalize`] after NFKC and lower-casing, so the index,
//! queries, the gazetteer and snippets all see one spelling, while every
//! offset still points at the text as the article wrote it (a highlight for
//! `コンピュータ` covers `コンピューター` in an article that writes it so).
//!
//! | rule | examples |
//! |---|---|
//! | the long-vowel marks `ー` that end a katakana word of 3 or more other characters are dropped | コンピューター = コンピュータ, サーバー = サーバ, ゼレンスキー = ゼレンスキ; コピー, キー stay |
//! | `ヴ` + small vowel → the バ-row kana, `ヴュ` → `ビュ`, `ヴ` alone → `ブ` (also hiragana `ゔ`) | ヴァイオリン = バイオリン, ヴィ = ビ, ヴェ = ベ, ヴォ = ボ, インタヴュー = インタビュー |
//! | small ke/ka → large | 霞ヶ関 = 霞ケ関, ヵ = カ, ゕ = か, ゖ = け |
//! | old and variant kanji of names → the common form | see [`KANJI`] |
//!
//! A katakana word here is a run of katakana letters and `ー` (`・` and any
//! other character end it). [`KANJI`] is the whole kanji table.

/// Old and variant kanji (異体字) found in names, with the form news uses.
pub const KANJI: [(char, char); 39] = [
    ('髙', '高'),
    ('﨑', '崎'),
    ('嵜', '崎'),
    ('碕', '崎'),
    ('齋', '斎'),
    ('齊', '斎'),
    ('邊', '辺'),
    ('邉', '辺'),
    ('澤', '沢'),
    ('濱', '浜'),
    ('濵', '浜'),
    ('櫻', '桜'),
    ('廣', '広'),
    ('國', '国'),
    ('嶋', '島'),
    ('嶌', '島'),
    ('眞', '真'),
    ('冨', '富'),
    ('德', '徳'),
    ('惠', '恵'),
    ('瀨', '瀬'),
    ('龜', '亀'),
    ('藏', '蔵'),
    ('淺', '浅'),
    ('來', '来'),
    ('兒', '児'),
    ('實', '実'),
    ('壽', '寿'),
    ('豐', '豊'),
    ('榮', '栄'),
    ('圓', '円'),
    ('彌', '弥'),
    ('曾', '曽'),
    ('槇', '槙'),
    ('桒', '桑'),
    ('埜', '野'),
    ('舘', '館'),
    ('讀', '読'),
    ('賣', '売'),
];

/// Small kana that news also writes large.
pub const SMALL_KANA: &[(char, char)] = &[('ヶ', 'ケ'), ('ヵ', 'カ'), ('ゖ', 'け'), ('ゕ', 'か')];

/// `ヴ`/`ゔ` + small kana, the kana the `ヴ` becomes, and whether the small
/// kana goes with it (ヴァ → バ) or stays (ヴュ → ビュ).
pub const VU: &[(char, char, char, bool)] = &[
    ('ヴ', 'ァ', 'バ', true),
    ('ヴ', 'ィ', 'ビ', true),
    ('ヴ', 'ゥ', 'ブ', true),
    ('ヴ', 'ェ', 'ベ', true),
    ('ヴ', 'ォ', 'ボ', true),
    ('ヴ', 'ュ', 'ビ', false),
    ('ゔ', 'ぁ', 'ば', true),
    ('ゔ', 'ぃ', 'び', true),
    ('ゔ', 'ぅ', 'ぶ', true),
    ('ゔ', 'ぇ', 'べ', true),
    ('ゔ', 'ぉ', 'ぼ', true),
    ('ゔ', 'ゅ', 'び', false),
];

/// The long-vowel mark.
pub const LONG_VOWEL: char = 'ー';

/// Fewest other characters a katakana word needs before its final `ー` is dropped.
pub const MIN_STEM: usize = 3;

/// The character `c` folds to on its own (kanji variants, small ke/ka, a `ヴ`
/// without a small vowel after it); `None` when it stays.
pub fn fold_char(c: char) -> Option<char> {
    match c {
        'ヴ' => Some('ブ'),
        'ゔ' => Some('ぶ'),
        _ => KANJI
            .iter()
            .chain(SMALL_KANA)
            .find(|(from, _)| *from == c)
            .map(|&(_, to)| to),
    }
}

/// What `ヴ`/`ゔ` followed by `small` becomes, and whether `small` is part
/// of it, if that pair is a variant.
pub fn fold_vu(vu: char, small: char) -> Option<(char, bool)> {
    VU.iter()
        .find(|(v, s, _, _)| *v == vu && *s == small)
        .map(|&(_, _, to, takes)| (to, takes))
}

/// Every character some fold rule starts at, but the kanji of [`KANJI`].
const KANA_TRIGGERS: [char; 7] = ['ヴ', 'ゔ', 'ヶ', 'ヵ', 'ゖ', 'ゕ', LONG_VOWEL];

/// Every character some fold rule starts at (in normalised text).
pub const TRIGGERS: [char; KANA_TRIGGERS.len() + KANJI.len()] = {
    let mut all = ['\0'; KANA_TRIGGERS.len() + KANJI.len()];
    let mut i = 0;
    while i < KANA_TRIGGERS.len() {
        all[i] = KANA_TRIGGERS[i];
        i += 1;
    }
    let mut k = 0;
    while k < KANJI.len() {
        all[i + k] = KANJI[k].0;
        k += 1;
    }
    all
};

/// True for the characters some fold rule starts at (in normalised text).
pub fn is_fold_trigger(c: char) -> bool {
    matches!(c, 'ヴ' | 'ゔ' | 'ヶ' | 'ヵ' | 'ゖ' | 'ゕ' | LONG_VOWEL)
        || ('\u{4E00}'..='\u{FA6D}').contains(&c) && KANJI.iter().any(|&(k, _)| k == c)
}

/// Katakana letters and `ー`: what a katakana word is made of (normalised text).
pub const fn is_katakana_letter(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | LONG_VOWEL)
}

/// The same, for original text: also half-width katakana, which NFKC turns
/// into katakana letters.
pub const fn is_katakana_source(c: char) -> bool {
    // Half-width katakana, and the squared katakana words (㌍ = カロリー).
    is_katakana_letter(c) || matches!(c, '\u{FF66}'..='\u{FF9D}' | '\u{3300}'..='\u{3357}')
}

/// Folds normalised text (NFKC, lower case) by the rules above: the
/// definition that [`super::normalize`] implements in one pass with an
/// offset map.
pub fn fold(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    fold_into(&mut out, &chars, false);
    out
}

/// Appends `chars` (normalised text) to `out`, folded; `out` is the folded
/// text before them (a word-final `ー` looks at it), `next_kana` says whether
/// a katakana letter follows them.
pub fn fold_into(out: &mut String, chars: &[char], next_kana: bool) {
    fold_with(out, chars, Some(next_kana));
}

/// The spelling of a name as entity facets show it: NFKC text (case kept)
/// folded by every rule above but the long-vowel one (小澤 → 小沢, 霞ヶ関 →
/// 霞ケ関, ヴィクトリア → ビクトリア; ピーター keeps its `ー`). Two names
/// with one entity key then show as one facet value, but for case and
/// word-final `ー`.
pub fn fold_spelling(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    fold_with(&mut out, &chars, None);
    out
}

/// [`fold_into`], with `long_vowels: None` leaving every `ー` as it is.
fn fold_with(out: &mut String, chars: &[char], long_vowels: Option<bool>) {
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if let Some((to, takes)) = chars.get(i + 1).and_then(|&s| fold_vu(c, s)) {
            out.push(to);
            i += if takes { 2 } else { 1 };
            continue;
        }
        if c == LONG_VOWEL
            && let Some(next_kana) = long_vowels
        {
            let end = (i..chars.len())
                .find(|&k| chars[k] != LONG_VOWEL)
                .unwrap_or(chars.len());
            let word_ends = match chars.get(end) {
                Some(&n) => !is_katakana_letter(n),
                None => !next_kana,
            };
            if !(word_ends && katakana_stem_before(out) >= MIN_STEM) {
                out.extend(&chars[i..end]);
            }
            i = end;
            continue;
        }
        out.push(fold_char(c).unwrap_or(c));
        i += 1;
    }
}

/// Katakana letters (`ー` included) at the end of `text`, counted up to [`MIN_STEM`].
pub fn katakana_stem_before(text: &str) -> usize {
    text.chars()
        .rev()
        .take(MIN_STEM)
        .take_while(|&c| is_katakana_letter(c))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_spellings_fold_all_but_long_vowels() {
        for (written, shown) in [
            ("小澤征爾", "小沢征爾"),
            ("髙橋", "高橋"),
            ("讀賣新聞", "読売新聞"),
            ("霞ヶ関", "霞ケ関"),
            ("ヴィクトリア", "ビクトリア"),
            ("ピーター・ドラッカー", "ピーター・ドラッカー"),
            ("NASA", "NASA"),
        ] {
            assert_eq!(fold_spelling(written), shown, "{written}");
            // One facet value for one key: what the key folds, the display
            // folds too (but for `ー` and case).
            assert_eq!(
                fold(&fold_spelling(written).to_lowercase()),
                fold(&written.to_lowercase())
            );
        }
    }

    #[test]
    fn the_issue_pairs_fold_together() {
        for (a, b) in [
            ("コンピューター", "コンピュータ"),
            ("サーバー", "サーバ"),
            ("ヴァイオリン", "バイオリン"),
            ("齋藤", "斎藤"),
            ("齊藤", "斎藤"),
            ("髙橋", "高橋"),
            ("山﨑", "山崎"),
            ("渡邊", "渡辺"),
            ("渡邉", "渡辺"),
            ("霞ヶ関", "霞ケ関"),
        ] {
            assert_eq!(fold(a), fold(b), "{a} / {b}");
        }
    }

    #[test]
    fn short_words_and_inner_marks_stay() {
        assert_eq!(fold("コピー"), "コピー");
        assert_eq!(fold("キー"), "キー");
        assert_eq!(fold("コーヒー"), "コーヒ");
        assert_eq!(fold("サーバーの"), "サーバの");
        assert_eq!(fold("コンピューターシステム"), "コンピューターシステム");
        assert_eq!(
            fold("ユーザー・インターフェース"),
            "ユーザ・インターフェース"
        );
        assert_eq!(fold("ヴ"), "ブ");
        assert_eq!(fold("インタヴュー"), fold("インタビュー"));
        assert_eq!(fold("インタヴュー"), "インタビュ");
        assert_eq!(fold("センターーー"), "センタ");
    }

    #[test]
    fn folding_is_idempotent() {
        for s in [
            "コンピューター",
            "ヴァヴィヴ",
            "センターーー",
            "齋藤髙﨑",
            "ーーー",
        ] {
            assert_eq!(fold(&fold(s)), fold(s), "{s}");
        }
    }

    #[test]
    fn triggers_cover_every_rule() {
        for &(c, _) in KANJI.iter().chain(SMALL_KANA) {
            assert!(is_fold_trigger(c), "{c}");
        }
        for &(v, _, _, _) in VU {
            assert!(is_fold_trigger(v));
        }
    }
}
