//! The evaluation's copy maker: syndicated copies of real articles made the
//! way outlets make them (a new headline, the last sentences cut, a sentence
//! reworded, one inserted, an `更新:` line, full-width/half-width changes),
//! deterministic from a seed. Used by `examples/dedup_eval.rs` and the tests.

use crate::article::Article;

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

const OUTLETS: [&str; 6] = [
    "共同通信",
    "時事通信",
    "ロイター",
    "地方新報",
    "北日本日報",
    "西海タイムズ",
];

const INSERTED: [&str; 5] = [
    "関係者によると、詳しい経緯は現在も調査中だという。",
    "この件について、当局はコメントを控えている。",
    "（共同）",
    "専門家は今後の動向を注視する必要があると指摘している。",
    "詳細は分かり次第、追って伝える。",
];

/// The sentences of a body, each with its closing `。` (and any closing bracket).
pub fn sentences(body: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        cur.push(c);
        if matches!(c, '。' | '！' | '？') {
            while let Some(&n) = chars.peek() {
                if matches!(n, '」' | '』' | '）' | ')') {
                    cur.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

/// A sentence said a little differently: its first clause dropped, or its
/// ending changed.
fn reword(sentence: &str, rng: &mut Rng) -> String {
    if let Some((_, rest)) = sentence.split_once('、')
        && rest.chars().count() > 8
        && rng.chance(50)
    {
        return rest.to_string();
    }
    let body = sentence.trim_end_matches('。');
    match rng.below(3) {
        0 => format!("{body}という。"),
        1 => format!("{body}とみられる。"),
        _ => format!("なお、{body}。"),
    }
}

/// ASCII letters and digits to full width.
fn full_width(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// Full-width letters and digits to ASCII.
fn half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0xFF10..=0xFF19 | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A => {
                char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// The `n`-th copy of `original`, as an outlet would print it.
pub fn copy_of(original: &Article, n: usize, rng: &mut Rng) -> Article {
    let mut s = sentences(&original.body);
    // The last sentences cut (at most a third of them).
    let cut = rng.below(s.len() / 3 + 1);
    s.truncate(s.len() - cut);
    // One or two sentences reworded.
    if s.len() >= 2 {
        for _ in 0..1 + rng.below(2) {
            let i = rng.below(s.len());
            s[i] = reword(&s[i], rng);
        }
    }
    // A sentence inserted.
    if rng.chance(60) {
        let at = rng.below(s.len() + 1);
        s.insert(at, INSERTED[rng.below(INSERTED.len())].to_string());
    }
    let mut body = s.concat();
    // Full-width / half-width.
    body = match rng.below(3) {
        0 => full_width(&body),
        1 => half_width(&body),
        _ => body,
    };
    let published = original
        .published
        .map(|p| p + chrono::Duration::hours(1 + rng.below(48) as i64));
    // An update line.
    if rng.chance(40) {
        let when = published
            .map(|p| p.format("%Y年%-m月%-d日 %H:%M").to_string())
            .unwrap_or_else(|| "2024年1月1日 09:00".to_string());
        body = if rng.chance(50) {
            format!("更新: {when}\n{body}")
        } else {
            format!("{body}\n更新: {when}")
        };
    }
    let title = match rng.below(4) {
        0 => format!("【共同】{}", original.title),
        1 => format!("{}（時事）", original.title),
        2 => {
            let t: String = original.title.chars().take(12).collect();
            format!("{t}…関係者が明かす")
        }
        _ => format!("速報：{}", full_width(&original.title)),
    };
    Article {
        id: format!("{}-copy{n}", original.id),
        title,
        published,
        updated: None,
        source: Some(OUTLETS[rng.below(OUTLETS.len())].to_string()),
        url: None,
        author: None,
        author_profile: None,
        body,
        credits: Vec::new(),
        tags: Vec::new(),
        cited_outlets: Vec::new(),
    }
}

/// Copies of `sources` articles picked from `originals` (one to three each),
/// with the index of the original each copies.
pub fn make_copies(originals: &[Article], sources: usize, seed: u64) -> Vec<(Article, usize)> {
    let mut rng = Rng::new(seed);
    let mut picked: Vec<usize> = (0..originals.len()).collect();
    // Fisher–Yates, then the first `sources`.
    for i in (1..picked.len()).rev() {
        let j = rng.below(i + 1);
        picked.swap(i, j);
    }
    picked.truncate(sources);
    picked.sort_unstable();
    let mut out = Vec::new();
    for i in picked {
        for n in 0..1 + rng.below(3) {
            out.push((copy_of(&originals[i], n, &mut rng), i));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_keep_their_closing_brackets() {
        assert_eq!(
            sentences("「行く。」と言った。次だ"),
            vec!["「行く。」", "と言った。", "次だ"]
        );
    }

    #[test]
    fn widths_round_trip() {
        assert_eq!(full_width("M7.4"), "Ｍ７.４");
        assert_eq!(half_width("Ｍ７.４"), "M7.4");
    }

    #[test]
    fn copies_are_deterministic_and_change_the_text() {
        let original = Article {
            id: "a".into(),
            title: "見出し".into(),
            published: None,
            updated: None,
            source: None,
            url: None,
            author: None,
            author_profile: None,
            body: "一つ目の文です。二つ目の文、ここで続く長い文です。三つ目の文です。四つ目。"
                .into(),
            credits: Vec::new(),
            tags: Vec::new(),
            cited_outlets: Vec::new(),
        };
        let a = make_copies(std::slice::from_ref(&original), 1, 7);
        let b = make_copies(std::slice::from_ref(&original), 1, 7);
        assert_eq!(a.len(), b.len());
        assert!(!a.is_empty());
        for ((x, _), (y, _)) in a.iter().zip(&b) {
            assert_eq!(x.body, y.body);
            assert_ne!(x.body, original.body);
            assert_ne!(x.title, original.title);
        }
    }
}
