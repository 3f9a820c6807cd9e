//! The embedded IPADIC system dictionary, built by `build.rs`.

mod embedded {
    lindera_dictionary::embedded_dictionary!("/lindera-ipadic", EmbeddedIPADICLoader);
}

pub use embedded::load as load_system_dictionary;

use lindera::segmenter::Segmenter;
use lindera_dictionary::viterbi::WordId;

/// The IPADIC features of a morpheme (pos, pos1..3, conjugation type/form,
/// base, reading, pronunciation), borrowed from the dictionary: split once
/// from the dictionary's `\0`-joined record, no allocation per morpheme.
#[derive(Debug, Clone, Copy)]
pub struct Features<'a> {
    fields: [&'a str; Features::MAX],
    len: usize,
}

impl<'a> Features<'a> {
    /// IPADIC has nine feature fields; more are ignored.
    const MAX: usize = 9;

    fn from_fields(fields: impl IntoIterator<Item = &'a str>) -> Self {
        let mut f = Features {
            fields: [""; Features::MAX],
            len: 0,
        };
        for (slot, field) in f.fields.iter_mut().zip(fields) {
            *slot = field;
            f.len += 1;
        }
        f
    }

    /// Field `i`, if present.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        self.fields[..self.len].get(i).copied()
    }

    /// All fields, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.fields[..self.len].iter().copied()
    }

    /// The features of a word of `segmenter`'s dictionaries.
    pub fn of(segmenter: &'a Segmenter, word_id: WordId) -> Features<'a> {
        let id = word_id.id() as usize;
        if word_id.is_unknown() {
            return Features::from_fields(segmenter.dictionary.unknown_word_details(id));
        }
        let record = if word_id.is_system() {
            let d = &segmenter.dictionary.prefix_dictionary;
            joined_record(&d.words_idx_data, &d.words_data, id)
        } else {
            segmenter
                .user_dictionary
                .as_ref()
                .and_then(|u| joined_record(&u.dict.words_idx_data, &u.dict.words_data, id))
        };
        let Some(record) = record else {
            return Features::from_fields([]);
        };
        // Split at the `\0` bytes (ASCII, so every piece is a char boundary).
        let mut f = Features::from_fields([]);
        let mut start = 0;
        for (i, &b) in record.as_bytes().iter().enumerate() {
            if b == 0 {
                if f.len == Features::MAX {
                    return f;
                }
                f.fields[f.len] = &record[start..i];
                f.len += 1;
                start = i + 1;
            }
        }
        if f.len < Features::MAX {
            f.fields[f.len] = &record[start..];
            f.len += 1;
        }
        f
    }
}

/// Record `id` of a lindera words file: a u32 offset per id into `data`,
/// where a u32 length precedes the `\0`-joined fields.
fn joined_record<'a>(index: &'a [u8], data: &'a [u8], id: usize) -> Option<&'a str> {
    let at = index.get(4 * id..4 * id + 4)?;
    let offset = u32::from_le_bytes(at.try_into().ok()?) as usize;
    let len = u32::from_le_bytes(data.get(offset..offset + 4)?.try_into().ok()?) as usize;
    std::str::from_utf8(data.get(offset + 4..offset + 4 + len)?).ok()
}
