//! The embedded IPADIC system dictionary, built by `build.rs`.

mod embedded {
    lindera_dictionary::embedded_dictionary!("/lindera-ipadic", EmbeddedIPADICLoader);
}

pub use embedded::load as load_system_dictionary;

/// Compact tables of the system dictionary's words, written by `build.rs`
/// (`write_word_tables`) beside the dictionary: what the analysis reads of
/// each word without touching its full record.
mod tables {
    include!(concat!(env!("OUT_DIR"), "/kiji-words/heads.rs"));
    pub(super) static HEAD_IDS: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/kiji-words/heads.bin"));
    pub(super) static BASE_REFS: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/kiji-words/baserefs.bin"));
    pub(super) static BASES: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/kiji-words/bases.bin"));
}

/// A list of words that `build.rs` writes one a line (as written and
/// folded), looked up as a set made at its first use.
struct WordList {
    text: &'static str,
    set: std::sync::OnceLock<std::collections::HashSet<&'static str>>,
}

impl WordList {
    const fn new(text: &'static str) -> WordList {
        WordList {
            text,
            set: std::sync::OnceLock::new(),
        }
    }

    fn contains(&self, word: &str) -> bool {
        self.set
            .get_or_init(|| self.text.lines().collect())
            .contains(word)
    }
}

/// IPADIC's surnames (`名詞,固有名詞,人名,姓`): `build.rs`'s `write_surnames`.
static SURNAMES: WordList = WordList::new(include_str!(concat!(env!("OUT_DIR"), "/surnames.txt")));

/// Whether IPADIC knows `word` as a surname (folded spellings too).
pub fn is_surname(word: &str) -> bool {
    SURNAMES.contains(word)
}

/// IPADIC's katakana words that are ordinary nouns only (`名詞,一般` or
/// `名詞,サ変接続` in every entry): `build.rs`'s `write_katakana_nouns`.
static KATAKANA_NOUNS: WordList = WordList::new(include_str!(concat!(
    env!("OUT_DIR"),
    "/katakana_nouns.txt"
)));

/// Whether IPADIC knows `word` (katakana) as an ordinary noun and as
/// nothing else (プランナー, マネジメント; not ブラウン, also a name).
pub fn is_katakana_noun(word: &str) -> bool {
    KATAKANA_NOUNS.contains(word)
}

use lindera::dictionary::{Dictionary, UserDictionary};
use lindera::segmenter::Segmenter;
use lindera_dictionary::dictionary::prefix_dictionary::PrefixDictionary;
use lindera_dictionary::viterbi::WordId;

/// The IPADIC features of a morpheme (pos, pos1..3, conjugation type/form,
/// base, reading, pronunciation), borrowed from the dictionary.
#[derive(Debug, Clone)]
pub enum Features<'a> {
    /// A word of the embedded system dictionary.
    System(SystemWord<'a>),
    /// A record read whole (a user dictionary's, or one of a system
    /// dictionary the compact tables do not describe): fields joined by `\0`.
    Joined(Record<'a>),
    /// The fields of an unknown-word entry (or none).
    List(Vec<&'a str>),
}

/// Fields of a [`Record`] read when it is made: the part of speech, which
/// the entity rules ask every morpheme for.
const HEAD_FIELDS: usize = 4;

/// A dictionary record (fields joined by `\0`) with its first fields found
/// and checked once, when the morpheme is made: the entity rules ask each
/// morpheme for its part of speech several times, and splitting the record
/// and checking the field's UTF-8 on every question was a tenth of ingest's
/// instructions. Later fields are found when asked for.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    bytes: &'a [u8],
    /// The first fields (`None`: absent, or not UTF-8).
    head: [Option<&'a str>; HEAD_FIELDS],
    /// Where the fields after them start, if there are any.
    rest: Option<usize>,
}

impl<'a> Record<'a> {
    fn new(bytes: &'a [u8]) -> Record<'a> {
        // The separators after the head fields (fewer: the record ends sooner).
        let mut seps = [0; HEAD_FIELDS];
        let mut found = 0;
        for (at, &b) in bytes.iter().enumerate() {
            if b == 0 {
                seps[found] = at;
                found += 1;
                if found == HEAD_FIELDS {
                    break;
                }
            }
        }
        let fields = (found + 1).min(HEAD_FIELDS);
        let end_of = |i: usize| if i < found { seps[i] } else { bytes.len() };
        let start_of = |i: usize| if i == 0 { 0 } else { seps[i - 1] + 1 };
        let mut head = [None; HEAD_FIELDS];
        // One check of the head's UTF-8 (its fields split at ASCII bytes);
        // field by field only when it fails.
        match std::str::from_utf8(&bytes[..end_of(fields - 1)]) {
            Ok(text) => {
                for (i, field) in head.iter_mut().enumerate().take(fields) {
                    *field = text.get(start_of(i)..end_of(i));
                }
            }
            Err(_) => {
                for (i, field) in head.iter_mut().enumerate().take(fields) {
                    *field = std::str::from_utf8(&bytes[start_of(i)..end_of(i)]).ok();
                }
            }
        }
        Record {
            bytes,
            head,
            rest: (found == HEAD_FIELDS).then(|| seps[HEAD_FIELDS - 1] + 1),
        }
    }

    /// Field `i`, if present (and UTF-8).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self.head.get(i) {
            Some(field) => *field,
            None => self.bytes[self.rest?..]
                .split(|&b| b == 0)
                .nth(i - HEAD_FIELDS)
                .and_then(|f| std::str::from_utf8(f).ok()),
        }
    }

    /// The record as stored, fields joined by `\0`.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// A word of the embedded system dictionary. Its part of speech,
/// conjugation and base form (the fields the analysis reads of every word)
/// come from the compact tables `build.rs` makes; a later field (reading,
/// pronunciation) from its full record. The full records take 32 MB, which
/// analysing a corpus paged in whole: a fifth of the peak memory of an
/// ingest of the Wikinews corpus.
#[derive(Clone, Copy)]
pub struct SystemWord<'a> {
    id: u32,
    /// Its head's index in `HEADS` (read once: the rules ask for the part
    /// of speech many times).
    head: u16,
    dictionary: &'a PrefixDictionary,
}

impl std::fmt::Debug for SystemWord<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SystemWord")
            .field("id", &self.id)
            .field("fields", &(0..9).map(|i| self.get(i)).collect::<Vec<_>>())
            .finish()
    }
}

impl<'a> SystemWord<'a> {
    /// Field `i`, if present (and UTF-8).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match i {
            0..6 => tables::HEADS[self.head as usize][i],
            6 => {
                let r = self.base_ref();
                let (at, len) = ((r >> 8) as usize, (r & 0xff) as usize);
                // (`build.rs` wrote whole UTF-8 strings: never fails.)
                (r != u32::MAX)
                    .then(|| std::str::from_utf8(tables::BASES.get(at..at + len)?).ok())
                    .flatten()
            }
            _ => {
                let d = self.dictionary;
                Record::new(joined_record(
                    &d.words_idx_data,
                    &d.words_data,
                    self.id as usize,
                )?)
                .get(i)
            }
        }
    }

    /// The word's id in the system dictionary (below [`system_words`]):
    /// its surface and every field are the same wherever it stands.
    #[inline]
    pub fn id(&self) -> u32 {
        self.id
    }

    fn new(id: u32, dictionary: &'a PrefixDictionary) -> SystemWord<'a> {
        let at = 2 * id as usize;
        let head = u16::from_le_bytes([tables::HEAD_IDS[at], tables::HEAD_IDS[at + 1]]);
        SystemWord {
            id,
            head,
            dictionary,
        }
    }

    fn base_ref(&self) -> u32 {
        let at = 4 * self.id as usize;
        u32::from_le_bytes(tables::BASE_REFS[at..at + 4].try_into().expect("4 bytes"))
    }

    /// The word's head and base form, packed: two words with the same
    /// value have the same fields up to the base form.
    pub fn packed(&self) -> u64 {
        (u64::from(self.head) << 32) | u64::from(self.base_ref())
    }
}

/// How many words the embedded system dictionary holds (their ids run from
/// 0 to this).
pub const fn system_words() -> usize {
    tables::WORDS
}

impl<'a> Features<'a> {
    /// Field `i`, if present.
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Features::System(word) => word.get(i),
            Features::Joined(record) => record.get(i),
            Features::List(fields) => fields.get(i).copied(),
        }
    }

    /// All fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..).map_while(move |i| self.get(i))
    }

    /// The features of a word of `segmenter`'s dictionaries.
    pub fn of(segmenter: &'a Segmenter, word_id: WordId) -> Features<'a> {
        Self::in_dictionaries(
            &segmenter.dictionary,
            segmenter.user_dictionary.as_ref(),
            word_id,
        )
    }

    /// The features of a word of these dictionaries (as a lindera token
    /// carries them).
    pub fn in_dictionaries(
        dictionary: &'a Dictionary,
        user: Option<&'a UserDictionary>,
        word_id: WordId,
    ) -> Features<'a> {
        let id = word_id.id() as usize;
        if word_id.is_unknown() {
            return Features::List(dictionary.unknown_word_details(id));
        }
        let record = if word_id.is_system() {
            let d = &dictionary.prefix_dictionary;
            // The tables describe the embedded dictionary, the only system
            // dictionary kiji loads (another's records are read in full).
            if d.words_idx_data.len() == 4 * tables::WORDS && id < tables::WORDS {
                return Features::System(SystemWord::new(id as u32, d));
            }
            joined_record(&d.words_idx_data, &d.words_data, id)
        } else {
            user.and_then(|u| joined_record(&u.dict.words_idx_data, &u.dict.words_data, id))
        };
        record.map_or(Features::List(Vec::new()), |r| {
            Features::Joined(Record::new(r))
        })
    }

    /// The dictionary form an inflected content word (a verb or adjective,
    /// `自立`) is also indexed under, when it differs from `surface`: a
    /// query for 行う then finds 行った and 行われる. Not for a stem that
    /// stands inside a noun ([`stem_inside_noun`]; `place` says where the
    /// morpheme and its neighbours are).
    pub fn base_form_token(&self, surface: &str, place: Place<'_>) -> Option<&'a str> {
        if !matches!(self.get(0), Some("動詞" | "形容詞")) || self.get(1) != Some("自立") {
            return None;
        }
        if stem_inside_noun(surface, place) {
            return None;
        }
        self.get(6)
            .filter(|b| *b != "*" && !b.is_empty() && *b != surface)
    }
}

/// Where a morpheme stands, as [`stem_inside_noun`] reads it: its byte
/// range, and the end and first part of speech of the morpheme before it,
/// the start and first part of speech of the one after it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Place<'p> {
    pub start: usize,
    pub end: usize,
    pub before: Option<(usize, Option<&'p str>)>,
    pub after: Option<(usize, Option<&'p str>)>,
}

impl<'p> Place<'p> {
    /// The place of item `i` of a run, each item giving its byte range and
    /// first part of speech.
    pub fn in_run<T>(
        items: &'p [T],
        i: usize,
        of: impl Fn(&'p T) -> (usize, usize, Option<&'p str>),
    ) -> Place<'p> {
        let (start, end, _) = of(&items[i]);
        Place {
            start,
            end,
            before: i.checked_sub(1).map(|p| {
                let (_, end, pos) = of(&items[p]);
                (end, pos)
            }),
            after: items.get(i + 1).map(|n| {
                let (start, _, pos) = of(n);
                (start, pos)
            }),
        }
    }
}

/// Whether a verb or adjective written as its stem alone, in kanji, is a
/// piece of a noun IPADIC cut it out of: a noun right after it (高|さ,
/// 深|さ, 誤|発注, 着|順) or a prefix right before it (自|見). Such a stem is
/// part of that noun: it is not indexed, searched or marked as the word it
/// could inflect (高さ is no form of 高い to a search for 高かった). A stem
/// written with its ending (受け|政府: "on receiving it, the government")
/// is the verb.
pub fn stem_inside_noun(surface: &str, place: Place<'_>) -> bool {
    let touches = |n: Option<(usize, Option<&str>)>, at: usize, pos: &str| {
        n.is_some_and(|(edge, p)| edge == at && p == Some(pos))
    };
    !surface
        .chars()
        .any(|c| ('\u{3041}'..='\u{30ff}').contains(&c))
        && (touches(place.after, place.end, "名詞") || touches(place.before, place.start, "接頭詞"))
}

/// Record `id` of a lindera words file: a u32 offset per id into `data`,
/// where a u32 length precedes the `\0`-joined fields.
fn joined_record<'a>(index: &'a [u8], data: &'a [u8], id: usize) -> Option<&'a [u8]> {
    let at = index.get(4 * id..4 * id + 4)?;
    let offset = u32::from_le_bytes(at.try_into().ok()?) as usize;
    let len = u32::from_le_bytes(data.get(offset..offset + 4)?.try_into().ok()?) as usize;
    data.get(offset + 4..offset + 4 + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reading `Record` replaced: split, then check the field.
    fn by_split(bytes: &[u8], i: usize) -> Option<&str> {
        bytes
            .split(|&b| b == 0)
            .nth(i)
            .and_then(|f| std::str::from_utf8(f).ok())
    }

    /// Every field of every word of the embedded dictionary reads the same
    /// from the compact tables as from its full record.
    #[test]
    fn system_words_read_as_their_full_records() {
        let dictionary = load_system_dictionary().unwrap();
        let d = &dictionary.prefix_dictionary;
        assert_eq!(d.words_idx_data.len(), 4 * tables::WORDS);
        for id in 0..tables::WORDS as u32 {
            let word_id = WordId::new(lindera_dictionary::viterbi::LexType::System, id);
            let features = Features::in_dictionaries(&dictionary, None, word_id);
            assert!(matches!(features, Features::System(_)), "word {id}");
            let record = joined_record(&d.words_idx_data, &d.words_data, id as usize).unwrap();
            for i in 0..11 {
                assert_eq!(features.get(i), by_split(record, i), "word {id} field {i}");
            }
        }
    }

    #[test]
    fn record_fields_are_the_split_fields() {
        let ipadic = "名詞\0固有名詞\0人名\0姓\0*\0*\0佐藤\0サトウ\0サトー";
        let records: [&[u8]; 12] = [
            ipadic.as_bytes(),
            b"",
            b"\0",
            b"a\0\0b",
            "名詞\0".as_bytes(),
            b"a\0b\0c\0d",
            b"a\0b\0c\0d\0",
            b"a\0b\0c\0d\0e\0\0f",
            // Not UTF-8 in a head field, and in a later one.
            b"\xe5\x90\x8d\0\xff\0c\0d\0e",
            b"a\0b\0c\0d\0\xe5\x90\0f",
            b"\xff",
            b"a\0\xff\0",
        ];
        for bytes in records {
            let record = Record::new(bytes);
            assert_eq!(record.as_bytes(), bytes);
            let features = Features::Joined(record);
            for i in 0..12 {
                assert_eq!(features.get(i), by_split(bytes, i), "{bytes:?} field {i}");
            }
            let all: Vec<&str> = features.iter().collect();
            let split: Vec<&str> = (0..).map_while(|i| by_split(bytes, i)).collect();
            assert_eq!(all, split, "{bytes:?}");
        }
        let record = Record::new(ipadic.as_bytes());
        assert_eq!(record.get(0), Some("名詞"));
        assert_eq!(record.get(3), Some("姓"));
        assert_eq!(record.get(6), Some("佐藤"));
        assert_eq!(record.get(9), None);
    }
}
