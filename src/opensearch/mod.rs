//! kiji on an OpenSearch cluster, kiji's side: what the cluster needs to
//! analyse text as kiji does, and a sink that forwards kiji's writes.
//!
//! * [`template`] — the index template generated from the configuration:
//!   kuromoji (search mode) with [`user_dictionary`] rules from the
//!   gazetteer, kiji's [`normalization`] as a `mapping` char filter, a
//!   bigram sub-field, dates, entities, provenance; versioned index names.
//! * [`document`] — the document of an article (entities, spans, provenance).
//! * [`bulk`] — `_bulk` operations, NDJSON batches, per-item outcomes.
//! * [`client`] — HTTP with retries and backoff.
//! * [`outbox`] — the durable queue of unacknowledged writes.
//! * [`sink`] — [`Sink`]: `forward(upserts, deletes)`, `drain()`, `rebuild()`.
//! * [`query`] — kiji's queries, filters, sorts and aggregations translated
//!   into OpenSearch request bodies.
//! * [`remote`] — [`RemoteSearch`]: kiji's API answered from the cluster
//!   (`kiji serve --backend opensearch`), responses built by kiji's own code.
//!
//! See `docs/scale-out.md`.

pub mod bulk;
pub mod client;
pub mod document;
pub mod error;
pub mod normalization;
pub mod outbox;
pub mod push;
pub mod query;
pub mod remote;
pub mod sink;
pub mod template;
pub mod user_dictionary;

pub use document::Provenance;
pub use error::{Error, Result};
pub use push::{PushReport, push};
pub use remote::RemoteSearch;
pub use sink::{RebuildReport, Sink, SinkReport};
