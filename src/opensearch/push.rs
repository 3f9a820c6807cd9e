//! `kiji opensearch push`: the local index, sent to the cluster.

use serde::Serialize;
use serde_json::Value;

use super::error::Result;
use super::outbox::Rejected;
use super::sink::{RebuildReport, Sink, SinkReport};
use crate::index::{Store, StoredArticle};

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PushReport {
    /// Delivering what the outbox held from before.
    pub outbox: SinkReport,
    /// The full rebuild, when there was one.
    pub rebuild: Option<RebuildReport>,
    /// The upserts of an incremental push.
    pub incremental: Option<SinkReport>,
}

impl PushReport {
    /// Every article the cluster refused, whichever step sent it.
    pub fn rejected(&self) -> Vec<&Rejected> {
        let rebuild = self.rebuild.iter().flat_map(|r| &r.rejected);
        let incremental = self.incremental.iter().flat_map(|r| &r.rejected);
        self.outbox
            .rejected
            .iter()
            .chain(rebuild)
            .chain(incremental)
            .collect()
    }

    /// Why writes were left waiting in the outbox, if they were.
    pub fn stopped(&self) -> Option<&str> {
        self.incremental
            .as_ref()
            .and_then(|r| r.error.as_deref())
            .or(self.outbox.error.as_deref())
    }

    /// What happened, in a few lines for a person.
    pub fn summary(&self, alias: &str) -> String {
        let list = |v: &[String]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.join(", ")
            }
        };
        let mut lines = Vec::new();
        if self.outbox.delivered + self.outbox.pending > 0 {
            lines.push(format!(
                "outbox: {} delivered ({} superseded), {} still waiting",
                self.outbox.delivered, self.outbox.superseded, self.outbox.pending
            ));
        }
        if let Some(r) = &self.rebuild {
            lines.push(format!(
                "{} articles into {} ({} refused); alias {alias} now points to it (before: {}); deleted: {}",
                r.indexed,
                r.index,
                r.rejected.len(),
                list(&r.previous),
                list(&r.deleted)
            ));
        }
        if let Some(r) = &self.incremental {
            lines.push(format!(
                "{} articles upserted into {alias} ({} refused, {} waiting in the outbox)",
                r.delivered,
                r.rejected.len(),
                r.pending
            ));
        }
        lines.join("\n")
    }
}

/// Drains the outbox, then sends every article of `store`: by default (or
/// when the alias does not exist yet) as a full rebuild with an alias swap;
/// with `incremental`, as upserts into the index behind the alias (through
/// the outbox, so a cluster that goes down loses nothing).
pub fn push(store: &Store, sink: &Sink, template: &Value, incremental: bool) -> Result<PushReport> {
    let mut report = PushReport {
        outbox: sink.drain()?,
        ..Default::default()
    };
    if !incremental || sink.alias_indices()?.is_empty() {
        // The snapshot is taken inside: after the rebuild drew its version.
        report.rebuild = Some(sink.rebuild(template, |each| {
            each_article(store, &store.searcher(), each)
        })?);
        // Writes that waited for the alias: older than the rebuild's
        // snapshot, so the cluster answers them as superseded.
        let after = sink.drain()?;
        report.outbox.delivered += after.delivered;
        report.outbox.superseded += after.superseded;
        report.outbox.requests += after.requests;
        report.outbox.rejected.extend(after.rejected);
        report.outbox.pending = after.pending;
        report.outbox.error = after.error;
        return Ok(report);
    }
    let searcher = store.searcher();
    sink.put_template(template)?;
    let mut total = SinkReport::default();
    let mut chunk: Vec<StoredArticle> = Vec::new();
    let send = |chunk: &mut Vec<StoredArticle>, total: &mut SinkReport| -> Result<bool> {
        let r = sink.forward(chunk, &[])?;
        chunk.clear();
        total.delivered += r.delivered;
        total.superseded += r.superseded;
        total.requests += r.requests;
        total.rejected.extend(r.rejected);
        total.pending = r.pending;
        total.error = r.error;
        Ok(total.error.is_none())
    };
    let mut stopped = false;
    each_article(store, &searcher, &mut |a| {
        if !stopped {
            chunk.push(a);
            if chunk.len() >= 500 {
                // The cluster is down: the rest would only fill the outbox.
                stopped = !send(&mut chunk, &mut total)?;
            }
        }
        Ok(())
    })?;
    if !stopped {
        send(&mut chunk, &mut total)?;
    }
    report.incremental = Some(total);
    Ok(report)
}

/// Every stored article of the searcher's snapshot, handed to `f`; the
/// first error of `f` stops the walk and is returned as it is.
fn each_article(
    store: &Store,
    searcher: &tantivy::Searcher,
    f: &mut dyn FnMut(StoredArticle) -> Result<()>,
) -> Result<()> {
    let mut failure = None;
    let walked = store.for_each_article(searcher, |a| {
        f(a).map_err(|e| {
            failure = Some(e);
            crate::Error::Corrupt("stopped".into())
        })
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(walked?),
    }
}
