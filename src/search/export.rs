//! Full exports (`/export`): every matching article, streamed one row at a
//! time as CSV or NDJSON — memory stays flat however many match. Optional
//! KWIC (keyword-in-context) lines for concordance work.
//!
//! Rows come in index order (the order articles were added), segment by
//! segment, straight from the query's document stream.

use serde::Serialize;
use tantivy::query::EnableScoring;
use tantivy::{DocAddress, DocSet, TERMINATED};

use super::{Highlighter, SearchRequest};
use crate::error::Result;
use crate::index::StoredArticle;
use crate::search::EntitiesByType;

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Ndjson,
}

/// Export options.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// Add keyword-in-context lines.
    pub kwic: bool,
    /// Characters of context on each side of a KWIC match.
    pub kwic_width: usize,
    /// Start a CSV with a UTF-8 byte-order mark (for Excel).
    pub bom: bool,
}

/// One keyword-in-context line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Kwic {
    /// `title` or `body`: where the match is.
    pub field: &'static str,
    pub left: String,
    #[serde(rename = "match")]
    pub hit: String,
    pub right: String,
}

#[derive(Serialize)]
struct Row<'a> {
    id: &'a str,
    title: &'a str,
    published: Option<String>,
    source: Option<&'a str>,
    url: Option<&'a str>,
    entities: EntitiesByType,
    #[serde(skip_serializing_if = "Option::is_none")]
    kwic: Option<Vec<Kwic>>,
}

/// The CSV header.
pub const CSV_HEADER: [&str; 8] = [
    "id",
    "title",
    "published",
    "source",
    "url",
    "persons",
    "organizations",
    "places",
];

impl super::Engine {
    /// Streams every matching article to `sink`, one chunk (a CSV row or an
    /// NDJSON line) at a time; stops early when `sink` returns false (the
    /// client went away). Returns the number of articles written.
    pub fn export(
        &self,
        r: &SearchRequest,
        opts: &ExportOptions,
        mut sink: impl FnMut(Vec<u8>) -> bool,
    ) -> Result<u64> {
        let searcher = self.searcher();
        let query = self.build_query(r)?;
        let weight = query.weight(EnableScoring::disabled_from_searcher(&searcher))?;
        let head = export_head(opts);
        if !head.is_empty() && !sink(head) {
            return Ok(0);
        }
        let highlighter = self.highlighter(r);
        let mut n = 0;
        if r.dedup {
            // One article per duplicate group: its earliest matched one.
            let aliases = self.aliases();
            for addr in
                crate::dedup::collapse::earliest_of_groups(&searcher, query.as_ref(), &aliases)?
            {
                let stored = self.load(&searcher, addr)?;
                n += 1;
                if !sink(export_row(&stored, &highlighter, opts)) {
                    return Ok(n);
                }
            }
            return Ok(n);
        }
        for (ord, segment) in searcher.segment_readers().iter().enumerate() {
            let alive = segment.alive_bitset();
            let mut scorer = weight.scorer(segment, 1.0)?;
            let mut doc = scorer.doc();
            while doc != TERMINATED {
                if alive.is_none_or(|a| a.is_alive(doc)) {
                    let stored = self.load(&searcher, DocAddress::new(ord as u32, doc))?;
                    let chunk = export_row(&stored, &highlighter, opts);
                    n += 1;
                    if !sink(chunk) {
                        return Ok(n);
                    }
                }
                doc = scorer.advance();
            }
        }
        Ok(n)
    }
}

/// What an export starts with: the CSV header (after a BOM if asked), or
/// nothing for NDJSON.
pub fn export_head(opts: &ExportOptions) -> Vec<u8> {
    let mut head = Vec::new();
    if opts.format == ExportFormat::Csv {
        if opts.bom {
            head.extend_from_slice("\u{feff}".as_bytes());
        }
        let mut header: Vec<&str> = CSV_HEADER.to_vec();
        if opts.kwic {
            header.extend(["kwic_field", "kwic_left", "kwic_match", "kwic_right"]);
        }
        head.extend(csv_line(&header));
    }
    head
}

/// One exported article: a CSV record (one per KWIC line) or an NDJSON line.
pub fn export_row(
    stored: &StoredArticle,
    highlighter: &Highlighter,
    opts: &ExportOptions,
) -> Vec<u8> {
    let a = &stored.article;
    let entities = EntitiesByType::of(&stored.entities);
    // The title's matches, then the body's (an article may match in its
    // title alone).
    let kwic = opts.kwic.then(|| {
        let mut lines = Vec::new();
        for (field, text, in_title) in [("title", &a.title, true), ("body", &a.body, false)] {
            let spans = highlighter.matches(text, in_title, &stored.entities);
            lines.extend(kwic_lines(field, text, &spans, opts.kwic_width));
        }
        lines
    });
    // As `/search` writes it (serde's RFC 3339: `Z` for UTC).
    let published = a
        .published
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
    match opts.format {
        ExportFormat::Ndjson => {
            let row = Row {
                id: &a.id,
                title: &a.title,
                published,
                source: a.source.as_deref(),
                url: a.url.as_deref(),
                entities,
                kwic,
            };
            let mut line = serde_json::to_vec(&row).unwrap_or_default();
            line.push(b'\n');
            line
        }
        ExportFormat::Csv => {
            let base = [
                a.id.clone(),
                a.title.clone(),
                published.unwrap_or_default(),
                a.source.clone().unwrap_or_default(),
                a.url.clone().unwrap_or_default(),
                entities.person.join("|"),
                entities.organization.join("|"),
                entities.place.join("|"),
            ];
            match kwic {
                None => csv_line(&base),
                Some(lines) if lines.is_empty() => {
                    let mut row: Vec<String> = base.to_vec();
                    row.extend([String::new(), String::new(), String::new(), String::new()]);
                    csv_line(&row)
                }
                Some(lines) => lines
                    .into_iter()
                    .flat_map(|k| {
                        let mut row: Vec<String> = base.to_vec();
                        row.extend([k.field.to_string(), k.left, k.hit, k.right]);
                        csv_line(&row)
                    })
                    .collect(),
            }
        }
    }
}

/// One CSV record (RFC 4180 quoting), CRLF-terminated. A field that a
/// spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`,
/// a tab or a carriage return: `=HYPERLINK(…)` in a title) gets a `'`
/// before it, as OWASP advises, so opening an export runs nothing.
fn csv_line<S: AsRef<str>>(fields: &[S]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let _ = w.write_record(fields.iter().map(|f| inert(f.as_ref()).into_owned()));
    w.into_inner().unwrap_or_default()
}

/// `field`, with a `'` before it when a spreadsheet would run it.
fn inert(field: &str) -> std::borrow::Cow<'_, str> {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{field}").into()
    } else {
        field.into()
    }
}

/// KWIC lines for the (merged, byte) spans of `text` (of `field`); contexts
/// of `width` characters, line breaks shown as spaces.
pub fn kwic_lines(
    field: &'static str,
    text: &str,
    spans: &[(usize, usize)],
    width: usize,
) -> Vec<Kwic> {
    let flat = |s: &str| s.replace(['\n', '\r', '\t'], " ");
    spans
        .iter()
        .map(|&(s, e)| {
            let left_start = text[..s]
                .char_indices()
                .rev()
                .nth(width.saturating_sub(1))
                .map(|(i, _)| i)
                .unwrap_or(0);
            let right_end = text[e..]
                .char_indices()
                .nth(width)
                .map(|(i, _)| e + i)
                .unwrap_or(text.len());
            Kwic {
                field,
                left: flat(&text[left_start..s]),
                hit: flat(&text[s..e]),
                right: flat(&text[e..right_end]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kwic_has_context_on_both_sides() {
        let text = "あいうえお北朝鮮かきくけこ";
        let at = text.find("北朝鮮").unwrap();
        let k = kwic_lines("body", text, &[(at, at + "北朝鮮".len())], 2);
        assert_eq!(
            k,
            vec![Kwic {
                field: "body",
                left: "えお".into(),
                hit: "北朝鮮".into(),
                right: "かき".into()
            }]
        );
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        let line = String::from_utf8(csv_line(&["a,b", "c\"d", "北朝鮮"])).unwrap();
        assert_eq!(line, "\"a,b\",\"c\"\"d\",北朝鮮\r\n");
    }

    #[test]
    fn csv_fields_never_run_as_formulas() {
        let line = String::from_utf8(csv_line(&[
            "=HYPERLINK(\"http://evil\",\"x\")",
            "@evil",
            "+1",
            "-2",
            "a=b",
            "北朝鮮",
        ]))
        .unwrap();
        assert_eq!(
            line,
            "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",'@evil,'+1,'-2,a=b,北朝鮮\r\n"
        );
    }
}
