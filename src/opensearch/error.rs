//! Errors of the OpenSearch export and sink.

use std::path::PathBuf;

/// Result with the OpenSearch [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cluster could not be reached, or kept answering 429/5xx after every retry.
    #[error("OpenSearch at {url} is unavailable: {message}")]
    Unavailable { url: String, message: String },
    /// The cluster refused a request that retrying cannot fix (4xx other than 429).
    #[error("OpenSearch refused {method} {path}: HTTP {status}: {message}")]
    Refused {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
    /// The cluster answered something that is not what its API documents.
    #[error("unexpected answer from OpenSearch to {path}: {message}")]
    Protocol { path: String, message: String },
    /// The outbox on disk could not be read or written.
    #[error("outbox {path}: {message}")]
    Outbox { path: PathBuf, message: String },
    /// A setting of the `[opensearch]` section is unusable.
    #[error("opensearch configuration: {0}")]
    Config(String),
    /// Reading the local index failed (during a rebuild).
    #[error(transparent)]
    Index(#[from] crate::Error),
}

impl Error {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Unavailable { .. } => "opensearch_unavailable",
            Error::Refused { .. } => "opensearch_refused",
            Error::Protocol { .. } => "opensearch_protocol",
            Error::Outbox { .. } => "outbox_error",
            Error::Config(_) => "invalid_config",
            Error::Index(e) => e.code().as_str(),
        }
    }

    pub(crate) fn outbox(path: &std::path::Path, e: impl std::fmt::Display) -> Error {
        Error::Outbox {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
    }
}
