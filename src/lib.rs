//! kiji (記事): a search service for archives of Japanese news articles.
//!
//! Articles ([`article`]) are analysed with IPADIC ([`analysis`]) into a
//! tantivy index ([`index`]) by [`ingest`], searched by [`search`], and
//! served over HTTP by [`http`]. See `ARCHITECTURE.md`.

pub mod analysis;
pub mod article;
pub mod code;
pub mod config;
pub mod dedup;
pub mod error;
pub mod http;
pub mod index;
pub mod ingest;
pub mod metrics;
pub mod opensearch;
pub mod search;
pub mod watch;

pub use config::Config;
pub use error::{Error, Result};
