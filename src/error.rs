//! The library's error type. Every variant has a stable code from the one
//! vocabulary ([`ErrorCode`]), which knows its HTTP status.

use std::path::PathBuf;

pub use crate::code::ErrorCode;

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
    /// An article id that cannot be stored (empty or over `limits.id_bytes`).
    #[error("invalid id: {0}")]
    InvalidId(String),
    /// A request body with no article that could be taken: the code of its
    /// rejections when they share one (`invalid_json`, `too_large`,
    /// `invalid_id` …), else `invalid_body`.
    #[error("{message}")]
    InvalidBody { code: ErrorCode, message: String },
    /// A configuration value is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// Another process holds the index writer.
    #[error(
        "the index at {path} is being written by another kiji process; \
         send the articles to the running server instead (`kiji ingest --server http://ADDRESS:PORT …`, \
         the address it serves on) \
         or stop it first"
    )]
    IndexLocked { path: PathBuf },
    #[error("dictionary: {0}")]
    Dictionary(String),
    // The errors below show their cause in their own text, and are no
    // `source()` of it: `{:#}` printed it twice ("I/O: x: x").
    #[error("index: {0}")]
    Index(tantivy::TantivyError),
    #[error("index at {path}: {message}")]
    IndexOpen { path: PathBuf, message: String },
    /// The index was made by an older kiji with another schema.
    #[error(
        "the index at {path} was made by another version of kiji; rebuild it from the articles it \
         stores with `kiji ingest --reanalyze` (or move it away and ingest again)"
    )]
    IndexFormat { path: PathBuf },
    #[error("I/O: {0}")]
    Io(std::io::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The search backend (`server.backend`) cannot answer this request.
    #[error("{0}")]
    NotSupportedByBackend(String),
    /// The OpenSearch cluster could not be reached or kept failing.
    #[error("the search cluster is unavailable: {0}")]
    BackendUnavailable(String),
    /// The OpenSearch cluster refused a request or answered nonsense.
    #[error("search cluster: {0}")]
    Backend(String),
    /// The index's one writer stayed busy (a long ingest of a watched file)
    /// for as long as a write may wait.
    #[error(
        "the index's writer has been busy for {0} s (another write, or the watcher ingesting a file); try again"
    )]
    WriterBusy(u64),
    /// The disk holding the index is full: what was being written is not.
    #[error(
        "the disk holding the index is full ({0}); nothing of this write was stored: free some space and try again"
    )]
    DiskFull(String),
}

/// Whether `io` is a full disk (`ENOSPC`).
fn is_disk_full(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28)
}

impl From<tantivy::TantivyError> for Error {
    fn from(e: tantivy::TantivyError) -> Error {
        // (tantivy's I/O error names no source: its variant is read.)
        if let tantivy::TantivyError::IoError(io) = &e
            && is_disk_full(io)
        {
            return Error::DiskFull(e.to_string());
        }
        Error::Index(e)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        if is_disk_full(&e) {
            return Error::DiskFull(e.to_string());
        }
        Error::Io(e)
    }
}

impl Error {
    /// The stable machine-readable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidQuery(_) => ErrorCode::InvalidQuery,
            Error::InvalidParameter { .. } => ErrorCode::InvalidParameter,
            Error::ArticleNotFound(_) => ErrorCode::ArticleNotFound,
            Error::EntityNotFound(_) => ErrorCode::EntityNotFound,
            Error::InvalidId(_) => ErrorCode::InvalidId,
            Error::InvalidBody { code, .. } => *code,
            Error::Config(_) => ErrorCode::InvalidConfig,
            Error::IndexLocked { .. } => ErrorCode::IndexLocked,
            Error::Dictionary(_) => ErrorCode::DictionaryError,
            Error::Index(_) | Error::IndexOpen { .. } => ErrorCode::IndexError,
            Error::IndexFormat { .. } => ErrorCode::IndexFormat,
            Error::Io(_) => ErrorCode::IoError,
            Error::Corrupt(_) => ErrorCode::CorruptData,
            Error::NotSupportedByBackend(_) => ErrorCode::NotSupportedByBackend,
            Error::BackendUnavailable(_) => ErrorCode::BackendUnavailable,
            Error::Backend(_) => ErrorCode::BackendError,
            Error::WriterBusy(_) => ErrorCode::Overloaded,
            Error::DiskFull(_) => ErrorCode::DiskFull,
        }
    }

    /// Errors caused by the caller (4xx), as opposed to kiji itself (5xx).
    pub fn is_user_error(&self) -> bool {
        self.code().status() < 500
    }

    pub fn param(name: &str, message: impl Into<String>) -> Error {
        Error::InvalidParameter {
            name: name.to_string(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_its_own_error() {
        let full = || std::io::Error::from_raw_os_error(28);
        let e = Error::from(tantivy::TantivyError::IoError(std::sync::Arc::new(full())));
        assert_eq!(e.code(), ErrorCode::DiskFull);
        assert_eq!(e.code().status(), 507);
        assert!(e.code().is_public());
        assert!(
            e.to_string().contains("nothing of this write was stored"),
            "{e}"
        );
        assert_eq!(Error::from(full()).code(), ErrorCode::DiskFull);
        let other = std::io::Error::from_raw_os_error(13);
        assert_eq!(Error::from(other).code(), ErrorCode::IoError);
    }
}
