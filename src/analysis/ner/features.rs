//! What the CRF sees of each morpheme. The same function serves training
//! (`examples/train_ner.rs`) and tagging, so the two can never drift apart.

use crfs::Attribute;

use super::super::entities::{Mention, Morpheme, is_title_word, title_at};
use super::super::gazetteer::{EntityType, Gazetteer};

/// Features of every morpheme of `text` (normalised). `rules` are the
/// mentions the gazetteer and the rules found, sorted by start.
pub fn features(
    text: &str,
    ms: &[Morpheme<'_>],
    rules: &[Mention],
    gazetteer: &Gazetteer,
) -> Vec<Vec<Attribute>> {
    let rule_tags = rule_tags(ms, rules);
    let n = ms.len();
    let word = |i: isize| -> &str {
        if i < 0 {
            "<s>"
        } else if i as usize >= n {
            "</s>"
        } else {
            ms[i as usize].surface
        }
    };
    let pos = |i: isize, levels: usize| -> String {
        if i < 0 || i as usize >= n {
            return "-".to_string();
        }
        let m = &ms[i as usize];
        let mut s = String::new();
        for l in 0..levels {
            let p = m.details.get(l).unwrap_or("*");
            if l > 0 {
                if p == "*" {
                    break;
                }
                s.push('/');
            }
            s.push_str(p);
        }
        s
    };
    let class = |i: isize| -> String {
        if i < 0 || i as usize >= n {
            "-".to_string()
        } else {
            shape(ms[i as usize].surface)
        }
    };
    let rule = |i: isize| -> &str {
        if i < 0 || i as usize >= n {
            "-"
        } else {
            rule_tags[i as usize]
        }
    };
    let mut out = Vec::with_capacity(n);
    for (idx, m) in ms.iter().enumerate() {
        let i = idx as isize;
        let mut f: Vec<Attribute> = Vec::with_capacity(40);
        let mut add = |name: String| f.push(Attribute::new(name, 1.0));
        add("b".into());
        for d in [-2isize, -1, 0, 1, 2] {
            add(format!("w[{d}]={}", word(i + d)));
        }
        add(format!("w[-1]|w[0]={}|{}", word(i - 1), word(i)));
        add(format!("w[0]|w[1]={}|{}", word(i), word(i + 1)));
        add(format!("p[0]={}", pos(i, 4)));
        for d in [-2isize, -1, 1, 2] {
            add(format!("p[{d}]={}", pos(i + d, 3)));
        }
        add(format!("p[-1]|p[0]={}|{}", pos(i - 1, 3), pos(i, 3)));
        add(format!("p[0]|p[1]={}|{}", pos(i, 3), pos(i + 1, 3)));
        if let Some(base) = m.details.get(6)
            && base != m.surface
            && base != "*"
        {
            add(format!("base={base}"));
        }
        for d in [-1isize, 0, 1] {
            add(format!("c[{d}]={}", class(i + d)));
        }
        add(format!("c[0]|c[1]={}|{}", class(i), class(i + 1)));
        add(format!("c[-1]|c[0]={}|{}", class(i - 1), class(i)));
        let len = m.surface.chars().count();
        add(format!("len={}", len.min(6)));
        if let Some(c) = m.surface.chars().next() {
            add(format!("first={c}"));
        }
        if len > 1
            && let Some(c) = m.surface.chars().next_back()
        {
            add(format!("last={c}"));
        }
        if m.unknown {
            add("unk".into());
        }
        for d in [-2isize, -1, 0, 1, 2] {
            add(format!("r[{d}]={}", rule(i + d)));
        }
        add(format!("r[0]|r[1]={}|{}", rule(i), rule(i + 1)));
        if let Some(e) = gazetteer.lookup_normalized(m.surface) {
            add(format!("gaz={}", e.kind.as_str()));
        }
        let next_title = idx + 1 < n && title_at(text, ms[idx + 1].start);
        if next_title {
            add("title[1]".into());
        }
        if idx > 0 && is_title_word(ms[idx - 1].surface) {
            add("title[-1]".into());
        }
        if is_title_word(m.surface) {
            add("title[0]".into());
        }
        out.push(f);
    }
    out
}

/// BIO tag of each morpheme in the rule spans: `B-place/g` (gazetteer,
/// suffix and abbreviation rules), `I-person/p` (part-of-speech rules), `O`.
fn rule_tags<'a>(ms: &[Morpheme<'_>], rules: &[Mention]) -> Vec<&'a str> {
    let mut tags = vec!["O"; ms.len()];
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

fn rule_tag(begin: bool, kind: EntityType, by_pos: bool) -> &'static str {
    use EntityType::*;
    match (begin, kind, by_pos) {
        (true, Person, false) => "B-person/g",
        (true, Person, true) => "B-person/p",
        (true, Organization, false) => "B-organization/g",
        (true, Organization, true) => "B-organization/p",
        (true, Place, false) => "B-place/g",
        (true, Place, true) => "B-place/p",
        (false, Person, false) => "I-person/g",
        (false, Person, true) => "I-person/p",
        (false, Organization, false) => "I-organization/g",
        (false, Organization, true) => "I-organization/p",
        (false, Place, false) => "I-place/g",
        (false, Place, true) => "I-place/p",
    }
}

/// The character classes of a word, runs collapsed, at most four:
/// `K` kanji, `H` hiragana, `T` katakana, `A` Latin, `D` digits, `S` other.
pub fn shape(s: &str) -> String {
    let mut out = String::new();
    let mut last = ' ';
    for c in s.chars() {
        let k = match c {
            '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々' | '〆' => 'K',
            '\u{3041}'..='\u{309F}' => 'H',
            '\u{30A0}'..='\u{30FF}' => 'T',
            c if c.is_ascii_alphabetic() => 'A',
            c if c.is_ascii_digit() => 'D',
            _ => 'S',
        };
        if k != last {
            if out.len() == 4 {
                break;
            }
            out.push(k);
            last = k;
        }
    }
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
}
