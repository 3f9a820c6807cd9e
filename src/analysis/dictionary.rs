//! The embedded IPADIC system dictionary, built by `build.rs`.

mod embedded {
    lindera_dictionary::embedded_dictionary!("/lindera-ipadic", EmbeddedIPADICLoader);
}

pub use embedded::load as load_system_dictionary;

use lindera::dictionary::{Dictionary, UserDictionary};
use lindera::segmenter::Segmenter;
use lindera_dictionary::viterbi::WordId;

/// The IPADIC features of a morpheme (pos, pos1..3, conjugation type/form,
/// base, reading, pronunciation), borrowed from the dictionary and read in
/// place: a field is found when asked for, so the many morphemes whose part
/// of speech rules out an entity cost a few bytes of scanning each.
#[derive(Debug, Clone)]
pub enum Features<'a> {
    /// A system or user dictionary record: fields joined by `\0`.
    Joined(&'a [u8]),
    /// The fields of an unknown-word entry (or none).
    List(Vec<&'a str>),
}

impl<'a> Features<'a> {
    /// Field `i`, if present.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        match self {
            Features::Joined(record) => record
                .split(|&b| b == 0)
                .nth(i)
                .and_then(|f| std::str::from_utf8(f).ok()),
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
            joined_record(&d.words_idx_data, &d.words_data, id)
        } else {
            user.and_then(|u| joined_record(&u.dict.words_idx_data, &u.dict.words_data, id))
        };
        record.map_or(Features::List(Vec::new()), Features::Joined)
    }

    /// The dictionary form an inflected content word (a verb or adjective,
    /// `自立`) is also indexed under, when it differs from `surface`: a
    /// query for 行う then finds 行った and 行われる.
    pub fn base_form_token(&self, surface: &str) -> Option<&'a str> {
        if !matches!(self.get(0), Some("動詞" | "形容詞")) || self.get(1) != Some("自立") {
            return None;
        }
        self.get(6)
            .filter(|b| *b != "*" && !b.is_empty() && *b != surface)
    }
}

/// Record `id` of a lindera words file: a u32 offset per id into `data`,
/// where a u32 length precedes the `\0`-joined fields.
fn joined_record<'a>(index: &'a [u8], data: &'a [u8], id: usize) -> Option<&'a [u8]> {
    let at = index.get(4 * id..4 * id + 4)?;
    let offset = u32::from_le_bytes(at.try_into().ok()?) as usize;
    let len = u32::from_le_bytes(data.get(offset..offset + 4)?.try_into().ok()?) as usize;
    data.get(offset + 4..offset + 4 + len)
}
