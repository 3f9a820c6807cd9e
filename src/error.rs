//! The library's error type. Every variant has a stable snake_case code; the
//! HTTP layer (`http::error`) maps codes to statuses.

use std::path::PathBuf;

/// Result with kiji's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The query text could not be understood.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A request parameter is out of range or malformed.
    #[error("invalid parameter `{name}`: {message}")]
    InvalidParameter { name: String, message: String },
    #[error("no article with id {0:?}")]
    ArticleNotFound(String),
    #[error("no entity named {0:?}")]
    EntityNotFound(String),
    /// A configuration value is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// Another process holds the index writer.
    #[error(
        "the index at {path} is being written by another kiji process; \
         send the articles to the running server instead (`kiji ingest --server http://127.0.0.1:8080 …`) \
         or stop it first"
    )]
    IndexLocked { path: PathBuf },
    #[error("dictionary: {0}")]
    Dictionary(String),
    #[error("index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("index at {path}: {message}")]
    IndexOpen { path: PathBuf, message: String },
    /// The index was made by an older kiji with another schema.
    #[error(
        "the index at {path} was made by another version of kiji; rebuild it from the articles it \
         stores with `kiji ingest --reanalyze` (or move it away and ingest again)"
    )]
    IndexFormat { path: PathBuf },
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl Error {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidQuery(_) => "invalid_query",
            Error::InvalidParameter { .. } => "invalid_parameter",
            Error::ArticleNotFound(_) => "article_not_found",
            Error::EntityNotFound(_) => "entity_not_found",
            Error::Config(_) => "invalid_config",
            Error::IndexLocked { .. } => "index_locked",
            Error::Dictionary(_) => "dictionary_error",
            Error::Index(_) | Error::IndexOpen { .. } => "index_error",
            Error::IndexFormat { .. } => "index_format",
            Error::Io(_) => "io_error",
            Error::Corrupt(_) => "corrupt_data",
        }
    }

    /// Errors caused by the caller (4xx), as opposed to kiji itself (5xx).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidQuery(_)
                | Error::InvalidParameter { .. }
                | Error::ArticleNotFound(_)
                | Error::EntityNotFound(_)
        )
    }

    pub fn param(name: &str, message: impl Into<String>) -> Error {
        Error::InvalidParameter {
            name: name.to_string(),
            message: message.into(),
        }
    }
}
