//! `_bulk` requests: the operations kiji sends, NDJSON bodies in bounded
//! batches, and what the cluster said about each item.
//!
//! Every operation carries an external version (see [`VersionClock`]): a
//! retried or reordered write can never overwrite a newer one — the cluster
//! answers 409 for it, which counts as done ([`ItemOutcome::Superseded`]).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::{Error, Result};

/// Where an operation goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The alias: sent with `require_alias`, so that a missing alias is an
    /// error instead of a new index named like it.
    Alias(String),
    /// A concrete index (the one a rebuild fills).
    Index(String),
}

impl Target {
    pub fn name(&self) -> &str {
        match self {
            Target::Alias(n) | Target::Index(n) => n,
        }
    }
}

/// One write for the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Op {
    /// Create or replace the article `id` with `doc`.
    Index {
        id: String,
        version: u64,
        doc: Value,
    },
    /// Delete the article `id`.
    Delete { id: String, version: u64 },
}

impl Op {
    pub fn id(&self) -> &str {
        match self {
            Op::Index { id, .. } | Op::Delete { id, .. } => id,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Op::Index { .. } => "index",
            Op::Delete { .. } => "delete",
        }
    }

    /// Appends the NDJSON lines of this operation on `target` to `out`.
    pub fn write_ndjson(&self, target: &Target, out: &mut Vec<u8>) {
        let (kind, id, version) = match self {
            Op::Index { id, version, .. } => ("index", id, version),
            Op::Delete { id, version } => ("delete", id, version),
        };
        let mut action = json!({
            "_index": target.name(), "_id": id, "version": version, "version_type": "external",
        });
        if matches!(target, Target::Alias(_)) {
            action["require_alias"] = json!(true);
        }
        let action = json!({ kind: action });
        serde_json::to_writer(&mut *out, &action).expect("JSON values always serialise");
        out.push(b'\n');
        if let Op::Index { doc, .. } = self {
            serde_json::to_writer(&mut *out, doc).expect("JSON values always serialise");
            out.push(b'\n');
        }
    }

    /// Bytes this operation adds to a request body (for one target).
    pub fn ndjson_len(&self, target: &Target) -> usize {
        let mut v = Vec::new();
        self.write_ndjson(target, &mut v);
        v.len()
    }
}

/// The body of one `_bulk` request: every op, once for each target.
pub fn body(ops: &[Op], targets: &[Target]) -> Vec<u8> {
    let mut out = Vec::new();
    for op in ops {
        for t in targets {
            op.write_ndjson(t, &mut out);
        }
    }
    out
}

/// Splits `ops` into consecutive batches of at most `max_docs` operations
/// and about `max_bytes` bytes (a batch holds at least one operation, so one
/// article larger than the limit still goes, alone).
pub fn batches(
    ops: &[Op],
    target: &Target,
    max_docs: usize,
    max_bytes: usize,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, op) in ops.iter().enumerate() {
        let len = op.ndjson_len(target);
        if i > start && (i - start >= max_docs || bytes + len > max_bytes) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += len;
    }
    if start < ops.len() {
        out.push(start..ops.len());
    }
    out
}

/// Versions for external versioning: microseconds since the epoch, strictly
/// increasing within a process (and across restarts, as long as the clock
/// does not go back).
#[derive(Debug, Default)]
pub struct VersionClock {
    last: AtomicU64,
}

impl VersionClock {
    pub fn next(&self) -> u64 {
        let now = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0);
        let mut last = self.last.load(Ordering::Relaxed);
        loop {
            let v = now.max(last + 1);
            match self
                .last
                .compare_exchange_weak(last, v, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return v,
                Err(seen) => last = seen,
            }
        }
    }
}

/// What became of one operation on one index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    /// Written (or, for a delete, already absent).
    Done,
    /// A newer version is already there (409): nothing to do.
    Superseded,
    /// The cluster could not take it now (429, 5xx): retry later.
    Retry(String),
    /// The cluster refused it for good (e.g. a mapping error): report it.
    Rejected(String),
}

impl ItemOutcome {
    fn rank(&self) -> u8 {
        match self {
            ItemOutcome::Done => 0,
            ItemOutcome::Superseded => 1,
            ItemOutcome::Retry(_) => 2,
            ItemOutcome::Rejected(_) => 3,
        }
    }

    /// The outcome of an op sent to several indices: the worst one.
    pub fn worst(self, other: ItemOutcome) -> ItemOutcome {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }
}

/// Reads a `_bulk` response: one outcome per item, in request order.
pub fn parse_response(body: &str, expected: usize) -> Result<Vec<ItemOutcome>> {
    let protocol = |message: String| Error::Protocol {
        path: "/_bulk".into(),
        message,
    };
    let v: Value = serde_json::from_str(body).map_err(|e| protocol(format!("not JSON: {e}")))?;
    let items = v["items"]
        .as_array()
        .ok_or_else(|| protocol("no `items` array".into()))?;
    if items.len() != expected {
        return Err(protocol(format!(
            "{} items for {expected} operations",
            items.len()
        )));
    }
    items
        .iter()
        .map(|item| {
            let (kind, result) = item
                .as_object()
                .and_then(|o| o.iter().next())
                .ok_or_else(|| protocol(format!("item {item} is not {{action: result}}")))?;
            let status = result["status"]
                .as_u64()
                .ok_or_else(|| protocol(format!("item {item} has no status")))?;
            let reason = || {
                let e = &result["error"];
                match (e["type"].as_str(), e["reason"].as_str()) {
                    (Some(t), Some(r)) => format!("HTTP {status} {t}: {r}"),
                    (Some(t), None) => format!("HTTP {status} {t}"),
                    _ => format!("HTTP {status}"),
                }
            };
            let no_index = result["error"]["type"] == "index_not_found_exception";
            Ok(match status {
                200..=299 => ItemOutcome::Done,
                // The alias has no index yet (`require_alias`): wait for a rebuild.
                404 if no_index => ItemOutcome::Retry(reason()),
                404 if kind == "delete" => ItemOutcome::Done,
                409 => ItemOutcome::Superseded,
                429 | 500..=599 => ItemOutcome::Retry(reason()),
                _ => ItemOutcome::Rejected(reason()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: &str, body: &str) -> Op {
        Op::Index {
            id: id.into(),
            version: 7,
            doc: json!({ "id": id, "body": body }),
        }
    }

    #[test]
    fn ndjson_has_action_and_source_lines() {
        let ops = [
            op("a1", "北朝鮮"),
            Op::Delete {
                id: "a2".into(),
                version: 8,
            },
        ];
        let i1 = Target::Index("i1".into());
        let text = String::from_utf8(body(&ops, std::slice::from_ref(&i1))).unwrap();
        assert_eq!(
            text,
            concat!(
                r#"{"index":{"_id":"a1","_index":"i1","version":7,"version_type":"external"}}"#,
                "\n",
                r#"{"body":"北朝鮮","id":"a1"}"#,
                "\n",
                r#"{"delete":{"_id":"a2","_index":"i1","version":8,"version_type":"external"}}"#,
                "\n"
            )
        );
        let two = body(&ops[1..], &[Target::Alias("a".into()), i1]);
        let two = String::from_utf8(two).unwrap();
        assert_eq!(two.lines().count(), 2);
        assert!(
            two.lines()
                .next()
                .unwrap()
                .contains(r#""require_alias":true"#)
        );
    }

    #[test]
    fn batches_are_bounded_by_count_and_bytes() {
        let ops: Vec<Op> = (0..5).map(|i| op(&format!("a{i}"), "本文")).collect();
        let i = Target::Index("i".into());
        assert_eq!(batches(&ops, &i, 2, 1 << 20), vec![0..2, 2..4, 4..5]);
        let one = ops[0].ndjson_len(&i);
        assert_eq!(batches(&ops, &i, 100, one * 2), vec![0..2, 2..4, 4..5]);
        // Larger than the byte limit alone: still sent, alone.
        assert_eq!(batches(&ops[..2], &i, 100, 1), vec![0..1, 1..2]);
        assert!(batches(&[], &i, 2, 10).is_empty());
    }

    #[test]
    fn response_items_are_classified() {
        let body = r#"{"took":3,"errors":true,"items":[
            {"index":{"_id":"a","status":201,"result":"created"}},
            {"index":{"_id":"b","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [published]"}}},
            {"index":{"_id":"c","status":429,"error":{"type":"es_rejected_execution_exception","reason":"queue full"}}},
            {"index":{"_id":"d","status":409,"error":{"type":"version_conflict_engine_exception","reason":"newer"}}},
            {"delete":{"_id":"e","status":404,"result":"not_found"}},
            {"index":{"_id":"f","status":404,"error":{"type":"index_not_found_exception","reason":"no such index [kiji-articles] and [require_alias] request flag is [true]"}}}]}"#;
        let out = parse_response(body, 6).unwrap();
        assert_eq!(out[0], ItemOutcome::Done);
        assert_eq!(
            out[1],
            ItemOutcome::Rejected(
                "HTTP 400 mapper_parsing_exception: failed to parse field [published]".into()
            )
        );
        assert!(matches!(out[2], ItemOutcome::Retry(_)));
        assert_eq!(out[3], ItemOutcome::Superseded);
        assert_eq!(out[4], ItemOutcome::Done);
        assert!(
            matches!(out[5], ItemOutcome::Retry(_)),
            "waits for the alias"
        );
        assert!(parse_response(body, 4).is_err());
        assert!(parse_response("<html>", 1).is_err());
    }

    #[test]
    fn versions_increase() {
        let c = VersionClock::default();
        let (a, b) = (c.next(), c.next());
        assert!(b > a && a > 1_600_000_000_000_000);
    }
}
