//! The one error vocabulary: every stable, machine-readable code kiji gives
//! (library errors, HTTP error bodies, per-article rejections), each with
//! the HTTP status it implies. The README's list is tested against
//! [`ErrorCode::ALL`].

use serde::Serialize;

/// A stable snake_case error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    // The caller's request.
    BadRequest,
    InvalidQuery,
    InvalidParameter,
    InvalidId,
    IdTaken,
    InvalidBody,
    InvalidJson,
    InvalidUtf8,
    InvalidHost,
    Unauthorized,
    WritesDisabled,
    Forbidden,
    NotFound,
    ArticleNotFound,
    EntityNotFound,
    MethodNotAllowed,
    RequestTimeout,
    PayloadTooLarge,
    UriTooLong,
    UnsupportedMediaType,
    HeadersTooLarge,
    NotSupportedByBackend,
    // One article of a batch or a file (a rejection; the rest goes in).
    EmptyBody,
    InvalidDate,
    InvalidField,
    TooLarge,
    UnknownFormat,
    // kiji itself.
    IndexLocked,
    Overloaded,
    BackendUnavailable,
    DiskFull,
    Internal,
    InvalidConfig,
    DictionaryError,
    IndexError,
    IndexFormat,
    IoError,
    CorruptData,
    BackendError,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 39] = [
        ErrorCode::BadRequest,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidParameter,
        ErrorCode::InvalidId,
        ErrorCode::IdTaken,
        ErrorCode::InvalidBody,
        ErrorCode::InvalidJson,
        ErrorCode::InvalidUtf8,
        ErrorCode::InvalidHost,
        ErrorCode::Unauthorized,
        ErrorCode::WritesDisabled,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::ArticleNotFound,
        ErrorCode::EntityNotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::RequestTimeout,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UriTooLong,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::HeadersTooLarge,
        ErrorCode::NotSupportedByBackend,
        ErrorCode::EmptyBody,
        ErrorCode::InvalidDate,
        ErrorCode::InvalidField,
        ErrorCode::TooLarge,
        ErrorCode::UnknownFormat,
        ErrorCode::IndexLocked,
        ErrorCode::Overloaded,
        ErrorCode::BackendUnavailable,
        ErrorCode::DiskFull,
        ErrorCode::Internal,
        ErrorCode::InvalidConfig,
        ErrorCode::DictionaryError,
        ErrorCode::IndexError,
        ErrorCode::IndexFormat,
        ErrorCode::IoError,
        ErrorCode::CorruptData,
        ErrorCode::BackendError,
    ];

    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::InvalidQuery => "invalid_query",
            ErrorCode::InvalidParameter => "invalid_parameter",
            ErrorCode::InvalidId => "invalid_id",
            ErrorCode::IdTaken => "id_taken",
            ErrorCode::InvalidBody => "invalid_body",
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidUtf8 => "invalid_utf8",
            ErrorCode::InvalidHost => "invalid_host",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::WritesDisabled => "writes_disabled",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::ArticleNotFound => "article_not_found",
            ErrorCode::EntityNotFound => "entity_not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UriTooLong => "uri_too_long",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::HeadersTooLarge => "headers_too_large",
            ErrorCode::NotSupportedByBackend => "not_supported_by_backend",
            ErrorCode::BackendUnavailable => "backend_unavailable",
            ErrorCode::BackendError => "backend_error",
            ErrorCode::EmptyBody => "empty_body",
            ErrorCode::InvalidDate => "invalid_date",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::UnknownFormat => "unknown_format",
            ErrorCode::IndexLocked => "index_locked",
            ErrorCode::Overloaded => "overloaded",
            ErrorCode::DiskFull => "disk_full",
            ErrorCode::Internal => "internal",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::DictionaryError => "dictionary_error",
            ErrorCode::IndexError => "index_error",
            ErrorCode::IndexFormat => "index_format",
            ErrorCode::IoError => "io_error",
            ErrorCode::CorruptData => "corrupt_data",
        }
    }

    /// The HTTP status this code implies. Codes of kiji's own failures are
    /// 5xx; an HTTP body never shows them (it says `internal`, the detail is
    /// logged).
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            BadRequest | InvalidQuery | InvalidParameter | InvalidId | InvalidBody
            | InvalidJson | InvalidUtf8 | InvalidHost | EmptyBody | InvalidDate | InvalidField
            | UnknownFormat => 400,
            Unauthorized => 401,
            WritesDisabled | Forbidden => 403,
            NotFound | ArticleNotFound | EntityNotFound => 404,
            MethodNotAllowed => 405,
            RequestTimeout => 408,
            IndexLocked | IdTaken => 409,
            PayloadTooLarge | TooLarge => 413,
            UriTooLong => 414,
            UnsupportedMediaType => 415,
            HeadersTooLarge => 431,
            NotSupportedByBackend => 501,
            Overloaded | BackendUnavailable => 503,
            DiskFull => 507,
            Internal | InvalidConfig | DictionaryError | IndexError | IndexFormat | IoError
            | CorruptData | BackendError => 500,
        }
    }

    /// Whether an HTTP error body can carry this code (a 4xx, 501, 503 or
    /// 507, or `internal`); the other 5xx codes are only logged.
    pub fn is_public(self) -> bool {
        self == ErrorCode::Internal
            || self.status() < 500
            || matches!(self.status(), 501 | 503 | 507)
    }

    /// The code an HTTP error body uses for a status with no more specific
    /// code (errors made by actix or its middleware, e.g. a CORS refusal).
    pub fn for_status(status: u16) -> ErrorCode {
        match status {
            401 => ErrorCode::Unauthorized,
            403 => ErrorCode::Forbidden,
            404 => ErrorCode::NotFound,
            405 => ErrorCode::MethodNotAllowed,
            408 => ErrorCode::RequestTimeout,
            413 => ErrorCode::PayloadTooLarge,
            414 => ErrorCode::UriTooLong,
            415 => ErrorCode::UnsupportedMediaType,
            431 => ErrorCode::HeadersTooLarge,
            503 => ErrorCode::Overloaded,
            s if s >= 500 => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_serialise_as_shown() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
            );
            assert_eq!(
                serde_json::to_value(c).unwrap(),
                serde_json::json!(c.as_str())
            );
            assert!((400..600).contains(&c.status()));
        }
    }

    #[test]
    fn statuses_map_back_to_codes_with_that_status() {
        for s in [401, 403, 404, 405, 408, 413, 414, 415, 431, 500, 503] {
            assert_eq!(ErrorCode::for_status(s).status(), s);
        }
        assert_eq!(ErrorCode::for_status(400).status(), 400);
    }
}
