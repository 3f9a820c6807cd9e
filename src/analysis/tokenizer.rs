//! The two tantivy tokenizers every text field is indexed with.
//!
//! * [`MorphTokenizer`] (`ja`): IPADIC morphemes from lindera (through
//!   lindera-tantivy) over NFKC + lower-cased text. Whole-word recall and ranking.
//! * [`BigramTokenizer`] (`ja_bigram`): overlapping CJK bigrams with
//!   *increasing* positions, plus whole Latin/digit words. A phrase of bigrams
//!   is an exact substring, so `北朝` finds `北朝鮮` and `エラー` finds
//!   `エラーメッセージ`. (tantivy's `NgramTokenizer` puts every gram at
//!   position 0, which turns a phrase into "all grams somewhere".)
//!
//! In both, whitespace takes no position (a phrase matches with or without
//! spaces between its words), a symbol inside a Latin or number word is a
//! word of its own (`7.4` is `7` `.` `4`, never `7月4日`: see
//! [`is_word_symbol`]), and any other symbol is an empty position that no
//! phrase crosses. Both report offsets in the *original* text, on char
//! boundaries.

use std::hash::BuildHasher;
use std::sync::{Arc, Condvar, Mutex};

use std::borrow::Cow;

use lindera_analysis::token_filter::{BoxTokenFilter, TokenFilter};
use lindera_tantivy::tokenizer::LinderaTokenizer;
use rustc_hash::{FxBuildHasher, FxHashMap};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

use super::dictionary::{Features, Place};
use super::normalize::{Normalized, normalize, normalize_str};

/// Tokens computed up front, handed to tantivy one by one.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream { tokens, next: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

/// True for tokens worth indexing: anything with a letter, digit, kana or kanji.
pub fn is_indexable(text: &str) -> bool {
    text.chars().any(is_alphanumeric)
}

/// Whether the one-character symbol at `text[from..to]` (normalised text)
/// is a word of both views in its own right: an ASCII symbol inside a run of
/// Latin letters or digits (`7.4`, `1,000`, `3:00`, `utc+9`, `2-1`,
/// `j-cast`) or a percent sign after a digit (`5%`). Any other symbol is
/// only a gap a phrase does not cross; so was this one, which made `7.4`
/// the phrase "`7`, any word, `4`" and found `7月4日`.
pub fn is_word_symbol(text: &str, from: usize, to: usize) -> bool {
    let mut chars = text[from..to].chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return false;
    };
    // ASCII punctuation only (full-width forms are ASCII once normalised):
    // `、`, `・` and `〜` separate words (`100m、200m`, `15・16日`, `40〜45%`),
    // and so does `~`, the same range mark (`2025~30年`, `～` normalised).
    if !joins_words(c) {
        return false;
    }
    let before = text[..from].chars().next_back().map(class);
    let after = text[to..].chars().next().map(class);
    let word = |k: Option<Class>| matches!(k, Some(Class::Letters | Class::Digits));
    (word(before) && word(after)) || (c == '%' && before == Some(Class::Digits))
}

/// What a number that goes on a word before it across a symbol (the `200`
/// of `1,200`, the `5` of `72.5`, the `15` of `F-15`) is indexed under,
/// after this mark: `200` typed alone does not find `1,200`, nor `5%`
/// `72.5%`, while `1,200` (its words in a row) does. A Latin word is not
/// marked: `NHK` finds `BS-NHK` and `www.nhk.or.jp`.
pub const CONTINUED: char = '·';

/// Whether the number starting at byte `at` of normalised `text` goes on a
/// word before it across one ASCII symbol (`1,200` at `200`).
pub fn continues_word(text: &str, at: usize) -> bool {
    let word =
        |c: Option<char>| c.is_some_and(|c| matches!(class(c), Class::Letters | Class::Digits));
    let mut before = text[..at].chars().rev();
    let symbol = before.next();
    text[at..]
        .chars()
        .next()
        .is_some_and(|c| class(c) == Class::Digits)
        && symbol.is_some_and(joins_words)
        && word(before.next())
}

/// The symbols that may join two words into one ([`is_word_symbol`]): ASCII
/// punctuation but the range mark `~`.
fn joins_words(c: char) -> bool {
    c.is_ascii_punctuation() && c != '~'
}

/// The term of the word at `text[from..to]`: its text, after [`CONTINUED`]
/// where it goes on a word before it.
pub fn word_term(text: &str, from: usize, to: usize) -> String {
    if continues_word(text, from) {
        format!("{CONTINUED}{}", &text[from..to])
    } else {
        text[from..to].to_string()
    }
}

/// Positions of the `ja` view, morpheme by morpheme: a word takes the next
/// one; whitespace takes none (a phrase matches with or without spaces
/// between its words: `"2008 北京"` finds `2008北京`, and no longer
/// `2008年北京`); a morpheme of symbols takes one per character that is not
/// whitespace (IPADIC groups a run of symbols, `%、` in `5%、`), where a word
/// symbol ([`is_word_symbol`]) is indexed and any other is an empty
/// position, which no phrase crosses.
#[derive(Debug, Default)]
pub struct MorphPositions {
    next: usize,
}

impl MorphPositions {
    /// Places morpheme `surface` at `text[from..to]`: calls `index(position,
    /// start, end)` for each piece of it that is indexed (the word, or a
    /// word symbol) with its byte range in `text`; returns the word's
    /// position (`None` for symbols and whitespace).
    pub fn place(
        &mut self,
        text: &str,
        surface: &str,
        from: usize,
        to: usize,
        mut index: impl FnMut(usize, usize, usize),
    ) -> Option<usize> {
        if is_indexable(surface) {
            let position = self.next;
            self.next += 1;
            index(position, from, to);
            return Some(position);
        }
        for (i, c) in text[from..to].char_indices() {
            if c.is_whitespace() {
                continue;
            }
            let (start, end) = (from + i, from + i + c.len_utf8());
            if is_word_symbol(text, start, end) {
                index(self.next, start, end);
            }
            self.next += 1;
        }
        None
    }
}

/// [`char::is_alphanumeric`], answered without the Unicode tables for ASCII,
/// kana and the common kanji (std looks those up in its tables: 1.5 % of
/// ingest's instructions went there).
#[inline]
fn is_alphanumeric(c: char) -> bool {
    match c {
        _ if c.is_ascii() => c.is_ascii_alphanumeric(),
        '\u{3041}'..='\u{3096}' | '\u{30A1}'..='\u{30FA}' | 'ー' | '\u{4E00}'..='\u{9FFF}' => true,
        _ => c.is_alphanumeric(),
    }
}

/// Segmentations made by the analysis pass, kept until tantivy's indexing
/// thread asks [`MorphTokenizer`] for the tokens of the same text.
///
/// Ingest segments each title and body once, on the analysis threads, and
/// uses that segmentation both for the entities and for the `ja` tokens.
/// Handing the tokens to tantivy as a `PreTokenizedString` made it serialise
/// them to JSON and parse them back (11 % of ingest time in `perf`); instead
/// the writer leaves them here, keyed by the text, and the tokenizer takes
/// them out. A text it does not find is segmented as usual, so the memo
/// changes how fast indexing is, never what is indexed.
///
/// The texts waiting here are those of the documents queued in tantivy's
/// writer and not yet indexed, so the memo also gives the writer its
/// back-pressure ([`TokenMemo::wait_below`]): tantivy's queue holds up to
/// 10,000 documents, and with their tokens (about 40 KB an article) a full
/// queue was most of an ingest's anonymous memory.
#[derive(Default)]
pub struct TokenMemo {
    waiting: Mutex<Waiting>,
    /// Signalled when texts are taken (or forgotten).
    taken: Condvar,
}

/// A text and its `ja` tokens.
type Text = (Box<str>, Vec<Token>);

#[derive(Default)]
struct Waiting {
    /// By hash of the text: the texts with that hash and their tokens.
    entries: FxHashMap<u64, Vec<Text>>,
    /// Texts in `entries`.
    count: usize,
    /// The most texts that were ever waiting at once.
    most: usize,
}

impl Waiting {
    fn clear(&mut self) {
        self.entries.clear();
        self.count = 0;
    }
}

impl TokenMemo {
    /// More waiting texts than any batch leaves behind: beyond it the memo
    /// is cleared (tokens of documents that were never indexed, after an error).
    const MAX_ENTRIES: usize = 50_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Leaves the `ja` tokens of `text` for the indexing thread.
    pub fn put(&self, text: &str, tokens: Vec<Token>) {
        if text.is_empty() {
            return;
        }
        let mut waiting = self.lock();
        if waiting.count >= Self::MAX_ENTRIES {
            waiting.clear();
        }
        waiting
            .entries
            .entry(FxBuildHasher.hash_one(text))
            .or_default()
            .push((text.into(), tokens));
        waiting.count += 1;
        waiting.most = waiting.most.max(waiting.count);
    }

    /// Takes the tokens left for exactly this text, if any.
    pub fn take(&self, text: &str) -> Option<Vec<Token>> {
        let key = FxBuildHasher.hash_one(text);
        let mut waiting = self.lock();
        let texts = waiting.entries.get_mut(&key)?;
        let at = texts.iter().position(|(t, _)| &**t == text)?;
        let (_, tokens) = texts.swap_remove(at);
        if texts.is_empty() {
            waiting.entries.remove(&key);
        }
        waiting.count -= 1;
        drop(waiting);
        self.taken.notify_all();
        Some(tokens)
    }

    /// Waits until at most `max` texts are waiting (the indexing threads
    /// took the others), for up to `timeout`. True when they were taken in
    /// time; false after the timeout, when the memo is cleared: texts that
    /// long untaken belong to documents that will not be indexed, and a
    /// queued document whose tokens are gone is segmented again (slower,
    /// the same tokens).
    pub fn wait_below(&self, max: usize, timeout: std::time::Duration) -> bool {
        let waiting = self.lock();
        if waiting.count <= max {
            return true;
        }
        let (mut waiting, result) = self
            .taken
            .wait_timeout_while(waiting, timeout, |w| w.count > max)
            .unwrap_or_else(|e| e.into_inner());
        if result.timed_out() && waiting.count > max {
            waiting.clear();
            return false;
        }
        true
    }

    /// Forgets every waiting text (their documents were dropped).
    pub fn clear(&self) {
        self.lock().clear();
        self.taken.notify_all();
    }

    /// Texts waiting.
    pub fn len(&self) -> usize {
        self.lock().count
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most texts that were ever waiting at once (how far the writer
    /// ran ahead of tantivy's indexing threads).
    pub fn most_waiting(&self) -> usize {
        self.lock().most
    }
}

/// IPADIC morphemes (see the module docs).
#[derive(Clone)]
pub struct MorphTokenizer {
    inner: LinderaTokenizer,
    memo: Arc<TokenMemo>,
}

impl MorphTokenizer {
    pub fn new(segmenter: lindera::segmenter::Segmenter, memo: Arc<TokenMemo>) -> Self {
        let mut inner = LinderaTokenizer::from_segmenter(segmenter);
        inner.append_token_filter(BoxTokenFilter::from(BaseForms));
        MorphTokenizer { inner, memo }
    }

    /// Tokens of already normalised text, offsets into the original: the
    /// morphemes of lindera's stream (a dictionary form follows its word at
    /// the same position) through [`tokens_from_morphemes`], as at index time.
    pub fn tokens_of(&mut self, norm: &Normalized) -> Vec<Token> {
        // (lindera's position, surface, range, dictionary form)
        let mut morphemes: Vec<(usize, String, usize, usize, Option<String>)> = Vec::new();
        let mut stream = self.inner.token_stream(&norm.text);
        while stream.advance() {
            let t = stream.token();
            match morphemes.last_mut() {
                Some(last) if last.0 == t.position => last.4 = Some(t.text.clone()),
                _ => morphemes.push((t.position, t.text.clone(), t.offset_from, t.offset_to, None)),
            }
        }
        tokens_from_morphemes(
            norm,
            morphemes.iter().map(|(_, surface, from, to, base)| {
                (surface.as_str(), *from, *to, base.as_deref())
            }),
        )
    }
}

/// A lindera token filter: after each inflected content word, its
/// dictionary form at the same position (see
/// [`Features::base_form_token`]). The index-time analysis pass gives the
/// same tokens through [`tokens_from_morphemes`].
#[derive(Clone)]
struct BaseForms;

impl TokenFilter for BaseForms {
    fn name(&self) -> &'static str {
        "kiji_base_forms"
    }

    fn apply(&self, tokens: &mut Vec<lindera::token::Token<'_>>) -> lindera::LinderaResult<()> {
        let mut out = Vec::with_capacity(tokens.len() + tokens.len() / 8);
        let features: Vec<(usize, usize, Features<'_>)> = tokens
            .iter()
            .map(|t| {
                let f = Features::in_dictionaries(t.dictionary, t.user_dictionary, t.word_id);
                (t.byte_start, t.byte_end, f)
            })
            .collect();
        for (i, t) in tokens.drain(..).enumerate() {
            let place = Place::in_run(&features, i, |(s, e, f)| (*s, *e, f.get(0)));
            let base = features[i]
                .2
                .base_form_token(&t.surface, place)
                .map(str::to_string);
            let base = base.map(|b| {
                let mut extra = lindera::token::Token::new(
                    Cow::Owned(b),
                    t.byte_start,
                    t.byte_end,
                    t.position,
                    t.word_id,
                    t.dictionary,
                    t.user_dictionary,
                );
                extra.position_length = 1;
                extra
            });
            out.push(t);
            out.extend(base);
        }
        *tokens = out;
        Ok(())
    }
}

/// One morpheme for [`tokens_from_morphemes`]: surface, byte range in the
/// normalised text, and the dictionary form it is also indexed under.
pub type MorphemeSpan<'a> = (&'a str, usize, usize, Option<&'a str>);

/// The `ja` tokens for morphemes of normalised text, placed as
/// [`MorphPositions`] says; an inflected word's dictionary form shares its
/// position; offsets map into the original. Index time and query time both
/// come here.
pub fn tokens_from_morphemes<'a>(
    norm: &Normalized,
    morphemes: impl Iterator<Item = MorphemeSpan<'a>>,
) -> Vec<Token> {
    // A token per morpheme, and about one in eight inflected.
    let n = morphemes.size_hint().0;
    let mut tokens = Vec::with_capacity(n + n / 8);
    let mut cursor = 0;
    let mut positions = MorphPositions::default();
    for (surface, from, to, base) in morphemes {
        let word = positions.place(&norm.text, surface, from, to, |position, start, end| {
            let (offset_from, offset_to) = norm.original_range_from(&mut cursor, start, end);
            tokens.push(Token {
                offset_from,
                offset_to,
                position,
                text: word_term(&norm.text, start, end),
                position_length: 1,
            });
        });
        if let (Some(base), Some(last)) = (base.filter(|_| word.is_some()), tokens.last()) {
            let token = Token {
                text: base.to_string(),
                ..last.clone()
            };
            tokens.push(token);
        }
    }
    tokens
}

impl Tokenizer for MorphTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        if let Some(tokens) = self.memo.take(text) {
            return VecTokenStream::new(tokens);
        }
        let norm = normalize(text);
        VecTokenStream::new(self.tokens_of(&norm))
    }
}

/// Han, kana, the prolonged sound mark and the iteration marks.
pub fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3005}'..='\u{3007}'
        | '\u{3041}'..='\u{309F}'
        | '\u{30A0}'..='\u{30FA}'
        | '\u{30FC}'..='\u{30FF}'
        | '\u{31F0}'..='\u{31FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{3134F}')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Cjk,
    Letters,
    Digits,
    Other,
}

fn class(c: char) -> Class {
    if c.is_ascii() {
        if c.is_ascii_digit() {
            Class::Digits
        } else if c.is_ascii_alphabetic() {
            Class::Letters
        } else {
            Class::Other
        }
    } else if is_cjk(c) {
        Class::Cjk
    } else if matches!(c, '\u{3000}'..='\u{3004}' | '\u{3008}'..='\u{3020}' | '・') {
        // Japanese spaces, punctuation and brackets, without the Unicode tables.
        Class::Other
    } else if c.is_numeric() {
        Class::Digits
    } else if c.is_alphanumeric() {
        Class::Letters
    } else {
        Class::Other
    }
}

/// True when `a` and `b` belong to one word of the bigram view (a run of
/// letters, or of digits): a Latin term only matches whole such words.
pub fn same_word_class(a: char, b: char) -> bool {
    let (ca, cb) = (class(a), class(b));
    ca == cb && matches!(ca, Class::Letters | Class::Digits)
}

/// Overlapping CJK bigrams, and whole runs of letters or digits (`g20` is
/// `g` + `20` at consecutive positions, so the phrase `g20` still matches).
#[derive(Clone, Default)]
pub struct BigramTokenizer;

/// Calls `f(from, to, position)` for every bigram-view token of normalised
/// `text` (byte ranges of `text`).
fn for_each_bigram(text: &str, mut f: impl FnMut(usize, usize, usize)) {
    let mut position = 0usize;
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let kind = class(c);
        // The run of characters of this class: `start..run_end`.
        let mut prev_start = start;
        let mut run_len = 1;
        let mut run_end = start + c.len_utf8();
        while let Some(&(i, n)) = chars.peek() {
            if class(n) != kind {
                break;
            }
            if kind == Class::Cjk {
                // Each CJK character with its successor.
                f(prev_start, i + n.len_utf8(), position);
                position += 1;
                prev_start = i;
            }
            run_len += 1;
            run_end = i + n.len_utf8();
            chars.next();
        }
        match kind {
            Class::Cjk if run_len == 1 => {
                f(start, run_end, position);
                position += 1;
            }
            Class::Cjk => {}
            Class::Letters | Class::Digits => {
                f(start, run_end, position);
                position += 1;
            }
            // Symbols one by one, as the `ja` view places them
            // ([`MorphPositions`]): whitespace takes no position, a word
            // symbol (`7.4`, `5%`) is a token, any other symbol is a gap that
            // no phrase crosses.
            Class::Other => {
                for (i, c) in text[start..run_end].char_indices() {
                    if c.is_whitespace() {
                        continue;
                    }
                    let (from, to) = (start + i, start + i + c.len_utf8());
                    if is_word_symbol(text, from, to) {
                        f(from, to, position);
                    }
                    position += 1;
                }
            }
        }
    }
}

impl BigramTokenizer {
    /// Tokens of normalised text; offsets into the original text of `norm`.
    pub fn tokens_of(norm: &Normalized) -> Vec<Token> {
        let text = norm.text.as_str();
        let mut tokens = Vec::new();
        for_each_bigram(text, |from, to, position| {
            let (offset_from, offset_to) = norm.original_range(from, to);
            tokens.push(Token {
                offset_from,
                offset_to,
                position,
                text: word_term(text, from, to),
                position_length: 1,
            });
        });
        tokens
    }
}

/// The bigram view as tantivy indexes it: one pass over the normalised text,
/// no allocation per token. Offsets are into the normalised text (tantivy
/// records positions, not offsets).
pub struct BigramTokenStream {
    text: String,
    spans: Vec<(u32, u32, u32)>,
    next: usize,
    token: Token,
}

impl TokenStream for BigramTokenStream {
    fn advance(&mut self) -> bool {
        let Some(&(from, to, position)) = self.spans.get(self.next) else {
            return false;
        };
        self.next += 1;
        let (from, to) = (from as usize, to as usize);
        self.token.text.clear();
        if continues_word(&self.text, from) {
            self.token.text.push(CONTINUED);
        }
        self.token.text.push_str(&self.text[from..to]);
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = position as usize;
        true
    }

    fn token(&self) -> &Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = BigramTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> BigramTokenStream {
        let text = normalize_str(text);
        let mut spans = Vec::with_capacity(text.len() / 2);
        // tantivy caps a field's text far below 4 GiB; u32 spans halve the buffer.
        for_each_bigram(&text, |from, to, position| {
            spans.push((from as u32, to as u32, position as u32))
        });
        BigramTokenStream {
            text,
            spans,
            next: 0,
            token: Token::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bigrams(s: &str) -> Vec<(String, usize)> {
        BigramTokenizer::tokens_of(&normalize(s))
            .into_iter()
            .map(|t| (t.text, t.position))
            .collect()
    }

    fn token(text: &str) -> Token {
        Token {
            text: text.to_string(),
            ..Token::default()
        }
    }

    #[test]
    fn the_writer_waits_until_the_indexing_threads_take_texts() {
        let memo = Arc::new(TokenMemo::default());
        for text in ["北朝鮮", "派兵", "ロシア"] {
            memo.put(text, vec![token(text)]);
        }
        // At or under the bound: no wait.
        assert!(memo.wait_below(3, std::time::Duration::ZERO));
        let taker = {
            let memo = memo.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                memo.take("派兵")
            })
        };
        // Over the bound until the other thread takes one.
        assert!(memo.wait_below(2, std::time::Duration::from_secs(60)));
        assert_eq!(taker.join().unwrap(), Some(vec![token("派兵")]));
        // The others are still there, untouched.
        assert_eq!(memo.len(), 2);
        assert_eq!(memo.take("ロシア"), Some(vec![token("ロシア")]));
        assert_eq!(memo.most_waiting(), 3);
    }

    #[test]
    fn texts_nobody_takes_are_dropped_after_the_timeout() {
        let memo = TokenMemo::default();
        memo.put("北朝鮮", vec![token("北朝鮮")]);
        memo.put("派兵", vec![token("派兵")]);
        assert!(!memo.wait_below(1, std::time::Duration::from_millis(20)));
        assert!(memo.is_empty());
        assert_eq!(memo.take("北朝鮮"), None);
        // The memo works as before afterwards.
        memo.put("派兵", vec![token("派兵")]);
        assert!(memo.wait_below(1, std::time::Duration::ZERO));
        assert_eq!(memo.take("派兵"), Some(vec![token("派兵")]));
    }

    #[test]
    fn bigram_positions_increase() {
        assert_eq!(
            bigrams("北朝鮮"),
            vec![("北朝".into(), 0), ("朝鮮".into(), 1)]
        );
        assert_eq!(
            bigrams("ＣＳＩＳの米"),
            vec![("csis".into(), 0), ("の米".into(), 1)]
        );
        assert_eq!(bigrams("米、日"), vec![("米".into(), 0), ("日".into(), 2)]);
    }

    #[test]
    fn index_stream_yields_the_query_tokens() {
        let text = "ＣＳＩＳの北朝鮮、g20 米 1,000人。ロシア・ウクライナ";
        let mut stream = BigramTokenizer.token_stream(text);
        let mut streamed = Vec::new();
        while stream.advance() {
            let t = stream.token();
            streamed.push((t.text.clone(), t.position));
        }
        assert_eq!(streamed, bigrams(text));
        // Whitespace takes no position.
        assert_eq!(
            bigrams("g20 米"),
            vec![("g".into(), 0), ("20".into(), 1), ("米".into(), 2)]
        );
    }

    #[test]
    fn symbols_in_words_are_tokens_and_others_are_gaps() {
        // The word after the symbol goes on the one before: marked.
        assert_eq!(
            bigrams("7.4"),
            vec![("7".into(), 0), (".".into(), 1), ("·4".into(), 2)]
        );
        // `%` after a digit, in a run of symbols too; `、` and `(` are gaps.
        assert_eq!(
            bigrams("5%、(3)"),
            vec![("5".into(), 0), ("%".into(), 1), ("3".into(), 4)]
        );
        assert_eq!(
            bigrams("utc+9"),
            vec![("utc".into(), 0), ("+".into(), 1), ("·9".into(), 2)]
        );
        // Not inside a word, or not ASCII: a gap.
        assert_eq!(bigrams("a. b"), vec![("a".into(), 0), ("b".into(), 2)]);
        assert_eq!(
            bigrams("100m、200m"),
            vec![
                ("100".into(), 0),
                ("m".into(), 1),
                ("200".into(), 3),
                ("m".into(), 4)
            ]
        );
        assert!(!is_word_symbol("7.", 1, 2));
        assert!(!is_word_symbol("北.京", 3, 4));
        assert!(is_word_symbol("1,000", 1, 2));
        assert!(!is_word_symbol("15・16", 2, 5));
        assert!(continues_word("1,200", 2) && !continues_word("1,200", 0));
    }

    #[test]
    fn bigram_offsets_point_into_original() {
        let original = "㈱ＣＳＩＳ";
        for t in BigramTokenizer::tokens_of(&normalize(original)) {
            assert!(original.is_char_boundary(t.offset_from));
            assert!(original.is_char_boundary(t.offset_to));
        }
    }

    #[test]
    fn fast_alphanumeric_is_std_alphanumeric() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_alphanumeric(c), c.is_alphanumeric(), "{c:?}");
        }
        assert!(is_indexable("派兵"));
        assert!(is_indexable("、a"));
        assert!(!is_indexable("、。「」・"));
    }

    #[test]
    fn fast_class_is_the_unicode_class() {
        let by_tables = |c: char| {
            if is_cjk(c) {
                Class::Cjk
            } else if c.is_numeric() {
                Class::Digits
            } else if c.is_alphanumeric() {
                Class::Letters
            } else {
                Class::Other
            }
        };
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert!(class(c) == by_tables(c), "{c:?}");
        }
    }
}
