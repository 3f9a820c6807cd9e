//! The sink: kiji's writes, forwarded to the cluster.
//!
//! ```text
//! forward(upserts, deletes) ──► outbox (on disk) ──► _bulk batches ──► alias
//!                                  ▲    │ refused items: rejected.ndjson + report
//!            drain() after restart ┘    └ 429/5xx/down: stays, retried later
//! rebuild(articles) ──► new versioned index ──► atomic alias swap
//! ```
//!
//! [`Sink::forward`] returns once the writes are durable in the outbox and
//! one delivery attempt is over; what the cluster did not acknowledge stays
//! there for the next [`Sink::forward`] or [`Sink::drain`] (also after a
//! restart). Deliveries are serialised; every operation carries an external
//! version, so retries and overlaps never let an older write win.

use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Value, json};

use super::bulk::{self, ItemOutcome, Op, Target, VersionClock};
use super::client::Client;
use super::document::{Provenance, document};
use super::error::{Error, Result};
use super::outbox::{Outbox, Rejected};
use super::template::{index_pattern, versioned_index};
use crate::config::OpenSearchConfig;
use crate::index::StoredArticle;

/// What a delivery did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SinkReport {
    /// Operations the cluster acknowledged (including superseded ones).
    pub delivered: usize,
    /// Of those, operations a newer version had already overtaken (409).
    pub superseded: usize,
    /// Operations refused for good, with the article id and the reason
    /// (also appended to the outbox's `rejected.ndjson`).
    pub rejected: Vec<Rejected>,
    /// Operations still waiting in the outbox.
    pub pending: usize,
    /// `_bulk` requests sent.
    pub requests: usize,
    /// Why delivery stopped early (the cluster is down, or refused a request).
    pub error: Option<String>,
}

/// What a rebuild did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RebuildReport {
    /// The new index the alias now points to.
    pub index: String,
    /// The indices the alias pointed to before.
    pub previous: Vec<String>,
    /// Older indices deleted (beyond `keep_previous`).
    pub deleted: Vec<String>,
    /// Articles indexed.
    pub indexed: usize,
    /// Articles refused, with the reason (the alias is swapped all the same).
    pub rejected: Vec<Rejected>,
    pub requests: usize,
}

/// The outcome of sending some operations.
struct Sent {
    outcomes: Vec<Option<ItemOutcome>>,
    requests: usize,
    error: Option<Error>,
}

/// Forwards kiji's writes to one cluster.
pub struct Sink {
    client: Client,
    outbox: Outbox,
    alias: String,
    provenance: Provenance,
    clock: VersionClock,
    config: OpenSearchConfig,
    /// The index a rebuild is filling: writes go there too until the swap.
    rebuilding: Mutex<Option<String>>,
    /// One delivery at a time.
    delivery: Mutex<()>,
}

impl Sink {
    /// A sink for the cluster at `url`, with the outbox and batch settings of
    /// `config`. Opening reads nothing from the cluster.
    pub fn new(url: &str, config: &OpenSearchConfig, provenance: Provenance) -> Result<Sink> {
        config
            .validate()
            .map_err(|e| Error::Config(e.to_string()))?;
        Ok(Sink {
            client: Client::new(url, config)?,
            outbox: Outbox::open(&config.outbox_path)?,
            alias: config.alias.clone(),
            provenance,
            clock: VersionClock::default(),
            config: config.clone(),
            rebuilding: Mutex::new(None),
            delivery: Mutex::new(()),
        })
    }

    pub fn alias(&self) -> &str {
        &self.alias
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The operations for these writes, in order (upserts, then deletes),
    /// each with a new version.
    pub fn operations(&self, upserts: &[StoredArticle], deletes: &[String]) -> Vec<Op> {
        let mut ops: Vec<Op> = upserts
            .iter()
            .map(|s| self.index_op(s, self.clock.next()))
            .collect();
        ops.extend(deletes.iter().map(|id| Op::Delete {
            id: id.clone(),
            version: self.clock.next(),
        }));
        ops
    }

    fn index_op(&self, stored: &StoredArticle, version: u64) -> Op {
        Op::Index {
            id: stored.article.id.clone(),
            version,
            doc: document(stored, &self.provenance),
        }
    }

    /// Records the writes in the outbox, durably, and returns: the fast half
    /// of [`Sink::forward`], for a write path that must not wait for the
    /// cluster (a background thread then calls [`Sink::drain`]).
    pub fn record(&self, upserts: &[StoredArticle], deletes: &[String]) -> Result<()> {
        let ops = self.operations(upserts, deletes);
        if !ops.is_empty() {
            self.outbox.push(&ops)?;
        }
        Ok(())
    }

    /// Records the writes in the outbox, durably, then delivers everything
    /// waiting. Errors only when the outbox cannot be written; a cluster that
    /// is down is reported in [`SinkReport::error`], its writes kept. (With a
    /// cluster down this waits for the client's retries: `max_retries` tries
    /// with backoff.)
    pub fn forward(&self, upserts: &[StoredArticle], deletes: &[String]) -> Result<SinkReport> {
        self.record(upserts, deletes)?;
        self.drain()
    }

    /// Delivers what waits in the outbox, oldest batch first.
    pub fn drain(&self) -> Result<SinkReport> {
        let _one = self.delivery.lock().unwrap_or_else(|e| e.into_inner());
        let mut report = SinkReport::default();
        for seq in self.outbox.batches()? {
            let ops = self.outbox.read(seq)?;
            let mut targets = vec![Target::Alias(self.alias.clone())];
            if let Some(t) = self
                .rebuilding
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                targets.push(Target::Index(t));
            }
            let sent = self.send(&ops, &targets);
            report.requests += sent.requests;
            let mut left = Vec::new();
            let mut rejected = Vec::new();
            for (op, outcome) in ops.into_iter().zip(sent.outcomes) {
                match outcome {
                    Some(ItemOutcome::Done) => report.delivered += 1,
                    Some(ItemOutcome::Superseded) => {
                        report.delivered += 1;
                        report.superseded += 1;
                    }
                    Some(ItemOutcome::Rejected(reason)) => rejected.push(Rejected {
                        id: op.id().to_string(),
                        op: op.kind(),
                        reason,
                    }),
                    Some(ItemOutcome::Retry(_)) | None => left.push(op),
                }
            }
            for r in &rejected {
                tracing::warn!(id = %r.id, op = r.op, reason = %r.reason, "OpenSearch refused an article");
            }
            self.outbox.reject(&rejected)?;
            report.rejected.extend(rejected);
            self.outbox.settle(seq, &left)?;
            if let Some(e) = sent.error {
                report.error = Some(e.to_string());
                break;
            }
        }
        report.pending = self.outbox.pending();
        Ok(report)
    }

    /// Sends `ops` to every target index in bounded `_bulk` batches; stops at
    /// the first request that fails as a whole (the rest stay unsent: `None`).
    fn send(&self, ops: &[Op], targets: &[Target]) -> Sent {
        let mut sent = Sent {
            outcomes: vec![None; ops.len()],
            requests: 0,
            error: None,
        };
        let bytes = (self.config.batch_bytes / targets.len().max(1)).max(1);
        for range in bulk::batches(ops, &targets[0], self.config.batch_docs, bytes) {
            let batch = &ops[range.clone()];
            sent.requests += 1;
            match self.bulk(batch, targets) {
                Ok(outcomes) => {
                    for (i, o) in outcomes.into_iter().enumerate() {
                        sent.outcomes[range.start + i] = Some(o);
                    }
                }
                Err(e) => {
                    sent.error = Some(e);
                    break;
                }
            }
        }
        sent
    }

    /// One `_bulk` request (retried by the client on 429/5xx); one outcome
    /// per operation, the worst over its targets.
    fn bulk(&self, batch: &[Op], targets: &[Target]) -> Result<Vec<ItemOutcome>> {
        let body = bulk::body(batch, targets);
        let r = self
            .client
            .send("POST", "/_bulk", Some(("application/x-ndjson", &body)))?;
        if !r.is_success() {
            return Err(Error::Refused {
                method: "POST".into(),
                path: "/_bulk".into(),
                status: r.status,
                message: r.body.chars().take(300).collect(),
            });
        }
        let items = bulk::parse_response(&r.body, batch.len() * targets.len())?;
        let mut items = items.into_iter();
        Ok(batch
            .iter()
            .map(|_| {
                (0..targets.len())
                    .filter_map(|_| items.next())
                    .reduce(ItemOutcome::worst)
                    .unwrap_or(ItemOutcome::Retry("no answer".into()))
            })
            .collect())
    }

    /// Installs (or replaces) the index template under the alias's name.
    pub fn put_template(&self, template: &Value) -> Result<()> {
        self.client.json(
            "PUT",
            &format!("/_index_template/{}", self.alias),
            Some(template),
        )?;
        Ok(())
    }

    /// The indices the alias points to now (none when it does not exist).
    pub fn alias_indices(&self) -> Result<Vec<String>> {
        let path = format!("/_alias/{}", self.alias);
        let r = self.client.send("GET", &path, None)?;
        if r.status == 404 {
            return Ok(Vec::new());
        }
        if !r.is_success() {
            return Err(Error::Refused {
                method: "GET".into(),
                path,
                status: r.status,
                message: r.body,
            });
        }
        let v: Value = serde_json::from_str(&r.body).map_err(|e| Error::Protocol {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut names: Vec<String> = v
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        Ok(names)
    }

    /// A full rebuild: installs `template`, creates a new versioned index,
    /// indexes every article `articles` hands over (a function that calls
    /// its argument once per article), then points the alias at the new
    /// index in one atomic `_aliases` request and deletes indices older than
    /// the `keep_previous` newest. If it fails, the alias is left as it was.
    ///
    /// `articles` must read from a snapshot taken when it is called: every
    /// article of the rebuild carries the version drawn just before, so a
    /// write that [`Sink::forward`] sends meanwhile (to the new index too,
    /// while the rebuild runs) is newer and wins over the snapshot's copy.
    pub fn rebuild<F>(&self, template: &Value, articles: F) -> Result<RebuildReport>
    where
        F: FnOnce(&mut dyn FnMut(StoredArticle) -> Result<()>) -> Result<()>,
    {
        self.put_template(template)?;
        let index = versioned_index(&self.alias, chrono::Utc::now());
        // Loading: no refreshes, no replicas (restored before the swap).
        self.client.json(
            "PUT",
            &format!("/{index}"),
            Some(&json!({ "settings": { "index": {
                "refresh_interval": "-1", "number_of_replicas": 0 } } })),
        )?;
        *self.rebuilding.lock().unwrap_or_else(|e| e.into_inner()) = Some(index.clone());
        let version = self.clock.next();
        let result = self.load(&index, version, articles);
        let result = result.and_then(|report| self.swap(&index, report));
        *self.rebuilding.lock().unwrap_or_else(|e| e.into_inner()) = None;
        result
    }

    fn load<F>(&self, index: &str, version: u64, articles: F) -> Result<RebuildReport>
    where
        F: FnOnce(&mut dyn FnMut(StoredArticle) -> Result<()>) -> Result<()>,
    {
        let mut report = RebuildReport {
            index: index.to_string(),
            ..Default::default()
        };
        let mut batch: Vec<StoredArticle> = Vec::new();
        let mut bytes = 0;
        let flush = |batch: &mut Vec<StoredArticle>, report: &mut RebuildReport| {
            let ops = batch.iter().map(|s| self.index_op(s, version)).collect();
            batch.clear();
            self.load_batch(index, ops, report)
        };
        articles(&mut |stored| {
            bytes += stored.article.body.len() + stored.article.title.len();
            batch.push(stored);
            if batch.len() >= self.config.batch_docs || bytes >= self.config.batch_bytes {
                bytes = 0;
                flush(&mut batch, &mut report)?;
            }
            Ok(())
        })?;
        flush(&mut batch, &mut report)?;
        Ok(report)
    }

    /// Indexes one batch into the new index; items the cluster could not
    /// take now are retried (with the client's backoff) before giving up.
    fn load_batch(&self, index: &str, mut ops: Vec<Op>, report: &mut RebuildReport) -> Result<()> {
        let targets = [Target::Index(index.to_string())];
        let mut refused = Vec::new();
        let mut round = 0;
        while !ops.is_empty() {
            let sent = self.send(&ops, &targets);
            report.requests += sent.requests;
            if let Some(e) = sent.error {
                return Err(e);
            }
            let mut again = Vec::new();
            let mut last_reason = String::new();
            for (op, outcome) in ops.into_iter().zip(sent.outcomes) {
                match outcome {
                    Some(ItemOutcome::Done | ItemOutcome::Superseded) => report.indexed += 1,
                    Some(ItemOutcome::Rejected(reason)) => refused.push(Rejected {
                        id: op.id().to_string(),
                        op: op.kind(),
                        reason,
                    }),
                    Some(ItemOutcome::Retry(reason)) => {
                        last_reason = reason;
                        again.push(op);
                    }
                    None => again.push(op),
                }
            }
            if !again.is_empty() {
                round += 1;
                if round > self.config.max_retries {
                    return Err(Error::Unavailable {
                        url: self.client.url().to_string(),
                        message: format!(
                            "{} articles still not taken after {round} tries ({last_reason}); \
                             the alias was not changed",
                            again.len()
                        ),
                    });
                }
                std::thread::sleep(std::time::Duration::from_millis(
                    self.config.retry_base_ms << (round - 1).min(7),
                ));
            }
            ops = again;
        }
        self.outbox.reject(&refused)?;
        for r in &refused {
            tracing::warn!(id = %r.id, reason = %r.reason, "OpenSearch refused an article");
        }
        report.rejected.extend(refused);
        Ok(())
    }

    /// Restores the serving settings, refreshes, swaps the alias, prunes.
    fn swap(&self, index: &str, mut report: RebuildReport) -> Result<RebuildReport> {
        self.client.json(
            "PUT",
            &format!("/{index}/_settings"),
            Some(&json!({ "index": {
                "refresh_interval": null, "number_of_replicas": self.config.replicas } })),
        )?;
        self.client
            .json("POST", &format!("/{index}/_refresh"), None)?;
        report.previous = self.alias_indices()?;
        let mut actions: Vec<Value> = report
            .previous
            .iter()
            .map(|old| json!({ "remove": { "index": old, "alias": self.alias } }))
            .collect();
        actions.push(
            json!({ "add": { "index": index, "alias": self.alias, "is_write_index": true } }),
        );
        self.client
            .json("POST", "/_aliases", Some(&json!({ "actions": actions })))?;
        let listed = self.client.json(
            "GET",
            &format!(
                "/_cat/indices/{}?format=json&h=index",
                index_pattern(&self.alias)
            ),
            None,
        )?;
        let mut older: Vec<String> = listed
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["index"].as_str().map(String::from))
                    .filter(|n| n.as_str() < index)
                    .collect()
            })
            .unwrap_or_default();
        older.sort();
        older.reverse();
        for old in older.into_iter().skip(self.config.keep_previous) {
            self.client.json("DELETE", &format!("/{old}"), None)?;
            report.deleted.push(old);
        }
        Ok(report)
    }
}
