//! All integration tests form one binary (shared helpers, one link).

mod common;

mod analysis;
mod api;
mod dedup;
mod hardening;
mod ingest;
mod ner;
mod opensearch;
mod opensearch_query;
mod parity;
mod query;
mod real_corpus;
mod related;
mod server;
