//! The one `Article` model and the input formats that produce it.
//!
//! Formats, chosen by file extension:
//! * `.txt` — plain text as in the seed article: title on the first line, date
//!   lines (`2024/10/31`, `更新: 2024/11/01`), paragraphs, photo-credit lines
//!   (`… (Photo by … via Getty Images)`), and a closing byline.
//! * `.json` — one article object or an array of them.
//! * `.jsonl` / `.ndjson` — one article object per line (the Wikinews corpus).
//!
//! A bad article rejects only itself: parsing a file yields one result per
//! article, each either an [`Article`] or a [`Rejection`] naming file and line.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Asia/Tokyo: UTC+9, no daylight saving time. Dates without a zone are read in it.
pub fn tokyo() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// A news article, whatever format it came in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Article {
    /// Stable id: the given id, else derived from the url, else from the content
    /// (plain-text files: the file name).
    pub id: String,
    pub title: String,
    /// Publication time (RFC 3339; Asia/Tokyo where the input gave no zone).
    #[schema(value_type = Option<String>)]
    pub published: Option<DateTime<FixedOffset>>,
    #[schema(value_type = Option<String>)]
    pub updated: Option<DateTime<FixedOffset>>,
    pub source: Option<String>,
    pub url: Option<String>,
    pub author: Option<String>,
    /// The byline's profile text (e.g. `エポックタイムズ記者。…`), kept out of the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_profile: Option<String>,
    pub body: String,
    /// Photo credits and captions, kept apart from the body.
    #[serde(default)]
    pub credits: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Outlets the article cites (Wikinews `cited_outlets`).
    #[serde(default)]
    pub cited_outlets: Vec<String>,
}

impl Article {
    /// The bytes of its text (every string field): what the per-article
    /// limit (`limits.article_bytes`) counts.
    pub fn text_bytes(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let list = |v: &[String]| v.iter().map(String::len).sum::<usize>();
        self.id.len()
            + self.title.len()
            + self.body.len()
            + opt(&self.source)
            + opt(&self.url)
            + opt(&self.author)
            + opt(&self.author_profile)
            + list(&self.credits)
            + list(&self.tags)
            + list(&self.cited_outlets)
    }

    /// A hash of everything stored, to tell "unchanged" from "updated".
    /// (The hash of its JSON, streamed into the hasher: no copy of the JSON.)
    pub fn content_hash(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        serde_json::to_writer(&mut hasher, self).expect("an Article always serialises");
        hasher.finalize().to_hex()[..32].to_string()
    }
}

/// Why one article (or a whole file) was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArticleError {
    #[error("invalid UTF-8 (at byte {0})")]
    InvalidUtf8(usize),
    #[error("the body is empty")]
    EmptyBody,
    #[error(
        "unreadable date {value:?} in field `{field}` (expected e.g. 2024-10-31, 2024/10/31, 2024年10月31日 or RFC 3339, in the years 1000 to 2999)"
    )]
    BadDate { field: &'static str, value: String },
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("unknown format {0:?} (expected .txt, .json, .jsonl or .ndjson)")]
    UnknownFormat(String),
    #[error("{size} bytes, over the limit of {limit} bytes for one article (limits.article_bytes)")]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "a JSON file of {size} bytes, over the limit of {limit} bytes for one (limits.body_bytes, as for one POST): split it, or write it as JSON Lines, which has no file limit"
    )]
    FileTooLarge { size: u64, limit: u64 },
    #[error("cannot be read: {0}")]
    Io(String),
    #[error("field `{0}` must be {1}")]
    BadField(&'static str, &'static str),
    #[error("id is {len} bytes, over the limit of {limit} bytes (limits.id_bytes)")]
    IdTooLong { len: usize, limit: usize },
    #[error(
        "id {id:?} is also the id of {other}, read before it (a .txt file's id is its file name when it gives no url): rename one of them"
    )]
    IdTaken { id: String, other: String },
}

impl ArticleError {
    /// The rejection's code in the one vocabulary.
    pub fn code(&self) -> crate::code::ErrorCode {
        use crate::code::ErrorCode;
        match self {
            ArticleError::InvalidUtf8(_) => ErrorCode::InvalidUtf8,
            ArticleError::EmptyBody => ErrorCode::EmptyBody,
            ArticleError::BadDate { .. } => ErrorCode::InvalidDate,
            ArticleError::Json(_) => ErrorCode::InvalidJson,
            ArticleError::UnknownFormat(_) => ErrorCode::UnknownFormat,
            ArticleError::TooLarge { .. } | ArticleError::FileTooLarge { .. } => {
                ErrorCode::TooLarge
            }
            ArticleError::Io(_) => ErrorCode::IoError,
            ArticleError::BadField(..) => ErrorCode::InvalidField,
            ArticleError::IdTooLong { .. } => ErrorCode::InvalidId,
            ArticleError::IdTaken { .. } => ErrorCode::IdTaken,
        }
    }
}

/// An article that was not taken, with where it was and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub file: String,
    /// 1-based line (JSON Lines) or position in an array (JSON), where known.
    pub line: Option<usize>,
    /// The reason's code in the API's vocabulary (`invalid_json`, `too_large` …).
    pub code: String,
    pub reason: String,
}

/// The input formats kiji reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    PlainText,
    Json,
    JsonLines,
}

impl Format {
    /// The format of a file, from its extension.
    pub fn from_path(path: &std::path::Path) -> Result<Format, ArticleError> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        match ext.as_str() {
            "txt" => Ok(Format::PlainText),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" => Ok(Format::JsonLines),
            other => Err(ArticleError::UnknownFormat(format!(".{other}"))),
        }
    }
}

/// One parsed item: an article, or why it was rejected and where (line).
pub type Parsed = Result<Article, (Option<usize>, ArticleError)>;

/// Parses the bytes of one file. `stem` (the file name without extension)
/// names plain-text articles.
pub fn parse_bytes(format: Format, bytes: &[u8], stem: &str) -> Vec<Parsed> {
    match format {
        Format::PlainText => vec![
            std::str::from_utf8(bytes)
                .map_err(|e| ArticleError::InvalidUtf8(e.valid_up_to()))
                .and_then(|text| parse_plain_text(text, stem))
                .map_err(|e| (None, e)),
        ],
        Format::Json => parse_json_document(bytes),
        Format::JsonLines => parse_json_lines(bytes),
    }
}

/// The fields accepted in JSON input: Article's, plus the Wikinews names.
#[derive(Debug, Default, Deserialize)]
pub struct RawArticle {
    #[serde(default)]
    pub id: Option<serde_json::Value>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub published: Option<String>,
    #[serde(default)]
    pub updated: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub author_profile: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default, alias = "captions")]
    pub credits: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub cited_outlets: Vec<String>,
}

impl RawArticle {
    /// Validates and completes the article: dates parsed, id derived.
    pub fn into_article(self) -> Result<Article, ArticleError> {
        let body = self.body.unwrap_or_default().trim().to_string();
        if body.is_empty() {
            return Err(ArticleError::EmptyBody);
        }
        let published = self
            .published
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_date(s).ok_or_else(|| bad_date("published", s)))
            .transpose()?;
        let updated = self
            .updated
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| parse_date(s).ok_or_else(|| bad_date("updated", s)))
            .transpose()?;
        let id = given_id(self.id)?;
        let title = self
            .title
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| first_line_title(&body));
        let url = self.url.filter(|u| !u.trim().is_empty());
        let id = id.unwrap_or_else(|| derive_id(url.as_deref(), &title, &body));
        Ok(Article {
            id,
            title,
            published,
            updated,
            source: self.source.filter(|s| !s.trim().is_empty()),
            url,
            author: self.author.filter(|s| !s.trim().is_empty()),
            author_profile: self.author_profile.filter(|s| !s.trim().is_empty()),
            body,
            credits: self.credits,
            tags: self.tags,
            cited_outlets: self.cited_outlets,
        })
    }
}

fn bad_date(field: &'static str, value: &str) -> ArticleError {
    ArticleError::BadDate {
        field,
        value: value.chars().take(80).collect(),
    }
}

fn first_line_title(body: &str) -> String {
    let line = body.lines().next().unwrap_or("");
    let end = line
        .find('。')
        .map(|i| i + '。'.len_utf8())
        .unwrap_or(line.len());
    line[..end].chars().take(60).collect()
}

/// `url-…` from the url when there is one, else `sha-…` from title and body.
/// The id an article's `id` field gives: a string (trimmed) or a number;
/// none when absent, null or blank.
fn given_id(id: Option<serde_json::Value>) -> Result<Option<String>, ArticleError> {
    Ok(match id {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) if s.trim().is_empty() => None,
        Some(serde_json::Value::String(s)) => Some(s.trim().to_string()),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        Some(_) => return Err(ArticleError::BadField("id", "a string or a number")),
    })
}

/// The id of a JSON Lines line that gives one or a url, read without the
/// rest of the article (its body is skipped, not copied): what the first
/// pass over a file that finds repeated ids reads. None for a line that is
/// no such object, or whose id comes from its content (two such lines of
/// one id hold the same article).
pub fn line_id(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ids {
        #[serde(default)]
        id: Option<serde_json::Value>,
        #[serde(default)]
        url: Option<String>,
    }
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    let ids: Ids = serde_json::from_slice(line).ok()?;
    match given_id(ids.id).ok()? {
        Some(id) => Some(id),
        None => ids
            .url
            .filter(|u| !u.trim().is_empty())
            .map(|u| derive_id(Some(&u), "", "")),
    }
}

pub fn derive_id(url: Option<&str>, title: &str, body: &str) -> String {
    match url {
        Some(u) => format!("url-{}", &blake3::hash(u.trim().as_bytes()).to_hex()[..16]),
        None => {
            let mut h = blake3::Hasher::new();
            h.update(title.as_bytes());
            h.update(b"\0");
            h.update(body.as_bytes());
            format!("sha-{}", &h.finalize().to_hex()[..16])
        }
    }
}

/// Parses one JSON value (object) into an article.
pub fn parse_json_value(value: serde_json::Value) -> Result<Article, ArticleError> {
    let Some(fields) = value.as_object() else {
        return Err(ArticleError::Json("expected a JSON object".into()));
    };
    check_field_types(fields)?;
    let raw: RawArticle =
        serde_json::from_value(value).map_err(|e| ArticleError::Json(e.to_string()))?;
    raw.into_article()
}

/// The byte-order mark some editors write at the start of UTF-8 text.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The JSON fields an article reads and what each must be: text (a
/// string, or null for none) or a list of texts.
const TEXT_FIELDS: [&str; 8] = [
    "title",
    "published",
    "updated",
    "source",
    "url",
    "author",
    "author_profile",
    "body",
];
const LIST_FIELDS: [&str; 4] = ["credits", "captions", "tags", "cited_outlets"];

/// A field of the wrong type is `invalid_field`, named, rather than
/// serde's "invalid type" as malformed JSON.
fn check_field_types(
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<(), ArticleError> {
    use serde_json::Value;
    for name in TEXT_FIELDS {
        if let Some(v) = fields.get(name)
            && !matches!(v, Value::String(_) | Value::Null)
        {
            return Err(ArticleError::BadField(name, "a string"));
        }
    }
    for name in LIST_FIELDS {
        if let Some(v) = fields.get(name)
            && !matches!(v, Value::Array(items) if items.iter().all(Value::is_string))
        {
            return Err(ArticleError::BadField(name, "an array of strings"));
        }
    }
    Ok(())
}

fn parse_json_document(bytes: &[u8]) -> Vec<Parsed> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        // An array is parsed item by item: a bad byte in one article
        // rejects that article, not the others.
        Err(e) => {
            return match array_items(bytes) {
                Some(items) => items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| parse_json_item(item).map_err(|e| (Some(i + 1), e)))
                    .collect(),
                None => vec![Err((None, ArticleError::InvalidUtf8(e.valid_up_to())))],
            };
        }
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        Err(e) => vec![Err((Some(e.line()), ArticleError::Json(e.to_string())))],
        Ok(serde_json::Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| parse_json_value(v).map_err(|e| (Some(i + 1), e)))
            .collect(),
        Ok(v) => vec![parse_json_value(v).map_err(|e| (None, e))],
    }
}

/// One article's JSON text, as bytes.
fn parse_json_item(item: &[u8]) -> Result<Article, ArticleError> {
    let text = std::str::from_utf8(item).map_err(|e| ArticleError::InvalidUtf8(e.valid_up_to()))?;
    serde_json::from_str::<serde_json::Value>(text)
        .map_err(|e| ArticleError::Json(e.to_string()))
        .and_then(parse_json_value)
}

/// The items of the JSON array `bytes`, found by its structure alone
/// (strings and their escapes, brackets and braces, commas at the top level;
/// all ASCII, so a byte that is not UTF-8 inside a string does not move
/// them). None when `bytes` is not one closed array.
fn array_items(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[start] != b'[' {
        return None;
    }
    let mut items = Vec::new();
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut item_start = start + 1;
    for (i, &b) in bytes.iter().enumerate().skip(start + 1) {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' if depth > 0 => depth -= 1,
            b']' => {
                let last = &bytes[item_start..i];
                if !items.is_empty() || !last.iter().all(u8::is_ascii_whitespace) {
                    items.push(last);
                }
                return bytes[i + 1..]
                    .iter()
                    .all(u8::is_ascii_whitespace)
                    .then_some(items);
            }
            b',' if depth == 0 => {
                items.push(&bytes[item_start..i]);
                item_start = i + 1;
            }
            _ => {}
        }
    }
    None
}

fn parse_json_lines(bytes: &[u8]) -> Vec<Parsed> {
    bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(n, line)| parse_json_line(line, n + 1))
        .collect()
}

/// Parses one line of JSON Lines (None for a blank line).
pub fn parse_json_line(raw_line: &[u8], line_no: usize) -> Option<Parsed> {
    let raw_line = raw_line.strip_prefix(BOM).unwrap_or(raw_line);
    let line = match std::str::from_utf8(raw_line) {
        Ok(l) => l.trim(),
        Err(e) => {
            return Some(Err((
                Some(line_no),
                ArticleError::InvalidUtf8(e.valid_up_to()),
            )));
        }
    };
    if line.is_empty() {
        return None;
    }
    let parsed = serde_json::from_str::<serde_json::Value>(line)
        .map_err(|e| ArticleError::Json(e.to_string()))
        .and_then(parse_json_value);
    Some(parsed.map_err(|e| (Some(line_no), e)))
}

/// The years a date may have: a placeholder (0000-01-01, 9999-12-31) or a
/// typo is no date, and would stretch every timeline of the index over
/// thousands of years.
pub const YEARS: std::ops::RangeInclusive<i32> = 1000..=2999;

/// Parses a date as news archives write it. Dates without a zone are
/// Asia/Tokyo. Years outside [`YEARS`] are refused.
pub fn parse_date(s: &str) -> Option<DateTime<FixedOffset>> {
    read_date(s).filter(|d| YEARS.contains(&d.year()))
}

fn read_date(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt);
    }
    let ascii: String = crate::analysis::normalize::normalize_str(s);
    let t = ascii.trim();
    for fmt in [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y年%m月%d日 %H:%M",
        "%Y年%m月%d日%H時%M分",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(t, fmt) {
            return tokyo().from_local_datetime(&naive).single();
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"] {
        if let Ok(date) = NaiveDate::parse_from_str(t, fmt) {
            return tokyo()
                .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
                .single();
        }
    }
    None
}

/// Whether a line is written as a date is (`2024/10/31`, `2024-10-31
/// 14:30`, `2024年10月31日 14時30分`): four digits, a separator, one or two
/// digits, a separator, one or two digits, then at most a time.
fn looks_like_date(line: &str) -> bool {
    let t = crate::analysis::normalize::normalize_str(line);
    let mut rest = t.trim();
    let digits = |min: usize, max: usize, rest: &mut &str| {
        let n = rest.chars().take_while(char::is_ascii_digit).count();
        *rest = &rest[n..];
        (min..=max).contains(&n)
    };
    let sep = |seps: &[char], rest: &mut &str| match rest.chars().next() {
        Some(c) if seps.contains(&c) => {
            *rest = &rest[c.len_utf8()..];
            true
        }
        _ => false,
    };
    let date = digits(4, 4, &mut rest)
        && sep(&['/', '-', '.', '年'], &mut rest)
        && digits(1, 2, &mut rest)
        && sep(&['/', '-', '.', '月'], &mut rest)
        && digits(1, 2, &mut rest);
    sep(&['日'], &mut rest);
    date && rest.chars().all(|c| {
        c.is_ascii_digit() || matches!(c, ' ' | ':' | 't' | '時' | '分' | '秒' | '+' | 'z')
    })
}

/// True for a photo-credit or caption line such as
/// `プーチンと金正恩 (Photo by … via Getty Images)`.
fn is_credit_line(line: &str) -> bool {
    let lower = line.to_lowercase();
    lower.contains("(photo by")
        || lower.contains("(photo:")
        || lower.contains("via getty images")
        || lower.contains("(写真")
        || lower.contains("（写真")
        || line.starts_with("写真:")
        || line.starts_with("写真：")
}

/// True for a byline profile line (`エポックタイムズ記者。…`).
fn is_profile_line(line: &str) -> bool {
    [
        "記者",
        "解説員",
        "ジャーナリスト",
        "編集委員",
        "特派員",
        "コラムニスト",
    ]
    .iter()
    .any(|w| line.contains(w))
        && line.chars().count() <= 200
}

/// A line short enough, and bare enough, to be a reporter's name.
fn is_name_line(line: &str) -> bool {
    let n = line.chars().count();
    (1..=20).contains(&n)
        && !line.contains(['。', '、', '「', '」', '(', ')', '（', '）', '!', '?'])
}

/// Parses the plain-text format (see the module docs). `stem` becomes the id.
pub fn parse_plain_text(text: &str, stem: &str) -> Result<Article, ArticleError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().map(str::trim);
    let title = lines
        .by_ref()
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string();
    let mut raw = RawArticle {
        id: (!stem.is_empty()).then(|| serde_json::Value::String(stem.to_string())),
        title: Some(title),
        ..RawArticle::default()
    };
    let mut content: Vec<&str> = Vec::new();
    let mut in_header = true;
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if in_header && header_line(line, &mut raw)? {
            continue;
        }
        in_header = false;
        if is_credit_line(line) {
            raw.credits.push(line.to_string());
        } else {
            content.push(line);
        }
    }
    // The closing byline: a name line followed only by profile lines.
    let profile_start = content
        .iter()
        .rposition(|l| !is_profile_line(l))
        .map(|i| i + 1)
        .unwrap_or(0);
    if profile_start < content.len()
        && profile_start > 0
        && is_name_line(content[profile_start - 1])
    {
        raw.author = Some(content[profile_start - 1].to_string());
        raw.author_profile = Some(content[profile_start..].join("\n"));
        content.truncate(profile_start - 1);
    }
    raw.body = Some(content.join("\n"));
    raw.into_article()
}

/// Reads one header line (dates, `更新:`, `URL:`, `Source:`, `Tags:`, `著者:`).
/// Returns false when the line is not a header (the body starts).
fn header_line(line: &str, raw: &mut RawArticle) -> Result<bool, ArticleError> {
    // A date line, also with a time (`2024/10/31 14:30`, whose colon is no
    // key's); one that reads as a date but is none (`2024/13/45`) is an
    // error, not the body's first line.
    if raw.published.is_none() && looks_like_date(line) {
        parse_date(line).ok_or_else(|| bad_date("published", line))?;
        raw.published = Some(line.to_string());
        return Ok(true);
    }
    let (key, value) = match line.split_once([':', '：']) {
        Some((k, v)) => (k.trim().to_lowercase(), v.trim()),
        None => (String::new(), line),
    };
    match key.as_str() {
        "" if parse_date(value).is_some() && raw.published.is_none() => {
            raw.published = Some(value.to_string());
        }
        "更新" | "updated" | "更新日" => {
            parse_date(value).ok_or_else(|| bad_date("updated", value))?;
            raw.updated = Some(value.to_string());
        }
        "公開" | "published" | "date" | "日付" | "配信" => {
            parse_date(value).ok_or_else(|| bad_date("published", value))?;
            raw.published = Some(value.to_string());
        }
        "url" => raw.url = Some(value.to_string()),
        "source" | "出典" | "媒体" => raw.source = Some(value.to_string()),
        "tags" | "タグ" => {
            raw.tags = value
                .split([',', '、'])
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        }
        "author" | "著者" | "記者" => raw.author = Some(value.to_string()),
        "id" => raw.id = Some(serde_json::Value::String(value.to_string())),
        _ if key.starts_with("http") => raw.url = Some(line.to_string()),
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hash_is_the_hash_of_the_json() {
        // Indexes store this value: it must stay what it always was.
        let text = "見出し\n\n2024/10/31\n\n本文です。「引用」\\\"\n\n二段落目。\n";
        let a = parse_plain_text(text, "sample").unwrap();
        let json = serde_json::to_vec(&a).unwrap();
        let expected = blake3::hash(&json).to_hex()[..32].to_string();
        assert_eq!(a.content_hash(), expected);
        assert_eq!(a.content_hash().len(), 32);
    }

    #[test]
    fn a_bad_byte_in_one_item_of_an_array_rejects_that_item_alone() {
        let mut bytes = "\u{feff}".as_bytes().to_vec();
        bytes.extend_from_slice(
            r#"[{"id":"a","title":"露朝","body":"本文、\"引用],{\\"},"#.as_bytes(),
        );
        bytes.extend_from_slice(b" {\"id\":\"b\",\"title\":\"t\",\"body\":\"\xff\"},");
        bytes.extend_from_slice("{\"id\":\"c\",\"title\":\"中ロ\",\"body\":[\"x\"]},".as_bytes());
        bytes.extend_from_slice(
            "{\"id\":\"d\",\"title\":\"米欧\",\"body\":\"本文\"} ]\n".as_bytes(),
        );
        let parsed = parse_bytes(Format::Json, &bytes, "x");
        assert_eq!(parsed.len(), 4, "{parsed:?}");
        assert_eq!(parsed[0].as_ref().unwrap().body, r#"本文、"引用],{\"#);
        assert!(matches!(
            parsed[1],
            Err((Some(2), ArticleError::InvalidUtf8(_)))
        ));
        assert!(matches!(
            parsed[2],
            Err((Some(3), ArticleError::BadField("body", _)))
        ));
        assert_eq!(parsed[3].as_ref().unwrap().id, "d");
        // not an array, or not closed: one error, as before
        assert_eq!(parse_bytes(Format::Json, b"{\"a\":\"\xff\"}", "x").len(), 1);
        assert_eq!(
            parse_bytes(Format::Json, b"[{\"a\":\"\xff\"}", "x").len(),
            1
        );
        // a byte-order mark before a document or a line is not an error
        let line = "\u{feff}{\"id\":\"e\",\"title\":\"t\",\"body\":\"b\"}";
        assert_eq!(
            parse_bytes(Format::JsonLines, line.as_bytes(), "x")[0]
                .as_ref()
                .unwrap()
                .id,
            "e"
        );
        assert_eq!(
            parse_bytes(Format::Json, line.as_bytes(), "x")[0]
                .as_ref()
                .unwrap()
                .id,
            "e"
        );
    }

    #[test]
    fn placeholder_and_impossible_years_are_no_dates() {
        for s in [
            "0000-01-01",
            "-0044-03-15T00:00:00Z",
            "9999-12-31",
            "0999-12-31",
        ] {
            assert!(parse_date(s).is_none(), "{s}");
        }
        assert!(parse_date("1000-01-01").is_some());
        assert!(parse_date("2999-12-31").is_some());
    }

    #[test]
    fn dates_default_to_tokyo() {
        let d = parse_date("2024/10/31").unwrap();
        assert_eq!(d.to_rfc3339(), "2024-10-31T00:00:00+09:00");
        assert_eq!(
            parse_date("2024年11月1日").unwrap().to_rfc3339(),
            "2024-11-01T00:00:00+09:00"
        );
        assert_eq!(
            parse_date("２０２４／１０／３１").unwrap().to_rfc3339(),
            "2024-10-31T00:00:00+09:00"
        );
        assert_eq!(
            parse_date("2024-10-31T03:00:00Z").unwrap().to_rfc3339(),
            "2024-10-31T03:00:00+00:00"
        );
        assert!(parse_date("yesterday").is_none());
        assert!(parse_date("2024/13/45").is_none());
    }

    #[test]
    fn plain_text_header_body_credits_byline() {
        let text = "見出し\n\n2024/10/31\n更新: 2024/11/01\n\n本文です。\n\nプーチンと金正恩 (Photo by X/AFP via Getty Images)\n\n二段落目。\n\n山田太郎\n東西新聞記者。政治担当。\n";
        let a = parse_plain_text(text, "sample").unwrap();
        assert_eq!(a.id, "sample");
        assert_eq!(a.title, "見出し");
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2024-10-31T00:00:00+09:00"
        );
        assert_eq!(a.updated.unwrap().to_rfc3339(), "2024-11-01T00:00:00+09:00");
        assert_eq!(a.body, "本文です。\n二段落目。");
        assert_eq!(
            a.credits,
            vec!["プーチンと金正恩 (Photo by X/AFP via Getty Images)"]
        );
        assert_eq!(a.author.as_deref(), Some("山田太郎"));
        assert_eq!(
            a.author_profile.as_deref(),
            Some("東西新聞記者。政治担当。")
        );
    }

    #[test]
    fn bad_updated_date_rejects() {
        // A date with a time is read; a line written as a date that is
        // none is an error, never the body's first line.
        let a = parse_plain_text("t\n2024/10/31 14:30\n更新: 2024/11/01 09:00\n本文", "x").unwrap();
        assert_eq!(
            a.published.unwrap().to_rfc3339(),
            "2024-10-31T14:30:00+09:00"
        );
        assert_eq!(a.updated.unwrap().to_rfc3339(), "2024-11-01T09:00:00+09:00");
        assert_eq!(a.body, "本文");
        assert!(parse_plain_text("t\n2024/13/45\n本文", "x").is_err());
        assert!(parse_plain_text("t\n\n2024年10月31日 14時30分\n本文", "x").is_ok());
        // A body line that starts with a year is body.
        let b = parse_plain_text("t\n2024/10/31\n2024年は選挙の年だった。", "x").unwrap();
        assert_eq!(b.body, "2024年は選挙の年だった。");
        let err = parse_plain_text("t\n2024/10/31\n更新: いつか\n本文", "x").unwrap_err();
        assert!(matches!(
            err,
            ArticleError::BadDate {
                field: "updated",
                ..
            }
        ));
    }

    #[test]
    fn json_lines_reject_only_bad_lines() {
        let input = b"{\"id\":\"a\",\"title\":\"t\",\"body\":\"b\"}\nnot json\n{\"id\":\"c\",\"body\":\"\"}\n\xff\xfe\n{\"title\":\"t\",\"body\":\"x\",\"published\":\"2011-04-07\"}\n";
        let out = parse_bytes(Format::JsonLines, input, "f");
        assert_eq!(out.len(), 5);
        assert!(out[0].is_ok());
        assert!(matches!(out[1], Err((Some(2), ArticleError::Json(_)))));
        assert!(matches!(out[2], Err((Some(3), ArticleError::EmptyBody))));
        assert!(matches!(
            out[3],
            Err((Some(4), ArticleError::InvalidUtf8(_)))
        ));
        let last = out[4].as_ref().unwrap();
        assert!(last.id.starts_with("sha-"));
    }

    #[test]
    fn ids_are_stable() {
        assert_eq!(
            derive_id(Some("https://e.x/1"), "a", "b"),
            derive_id(Some("https://e.x/1"), "c", "d")
        );
        assert_ne!(derive_id(None, "a", "b"), derive_id(None, "a", "c"));
        assert!(derive_id(Some("u"), "", "").starts_with("url-"));
    }

    #[test]
    fn json_array_and_object() {
        let arr = br#"[{"id":1,"title":"t","body":"b"},{"id":{},"body":"b"}]"#;
        let out = parse_bytes(Format::Json, arr, "f");
        assert_eq!(out[0].as_ref().unwrap().id, "1");
        assert!(matches!(
            out[1],
            Err((Some(2), ArticleError::BadField("id", _)))
        ));
        let obj = br#"{"title":"t","body":"b","url":"https://e.x/a"}"#;
        assert!(
            parse_bytes(Format::Json, obj, "f")[0]
                .as_ref()
                .unwrap()
                .id
                .starts_with("url-")
        );
    }

    #[test]
    fn unknown_format_is_named() {
        let e = Format::from_path(std::path::Path::new("a.pdf")).unwrap_err();
        assert!(e.to_string().contains(".pdf"));
    }
}
