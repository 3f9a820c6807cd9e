//! HTTP errors: every error body is `{"error":{"code","message"}}` with a
//! code from the one vocabulary ([`ErrorCode`]) and the status that code
//! implies. kiji's own failures answer `500 internal` with a generic
//! message; the detail goes to the log.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::code::ErrorCode;
use crate::error::Error;

/// The error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable; the README lists them (`ErrorCode` in the code).
    pub code: String,
    pub message: String,
}

/// The message of every `500 internal` answer.
pub const INTERNAL_MESSAGE: &str = "internal error; the server log has the details";

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON body of an error.
    pub fn body(code: ErrorCode, message: &str) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: code.as_str().to_string(),
                message: message.to_string(),
            },
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = e.code();
        if code.is_public() {
            ApiError::new(code, e.to_string())
        } else {
            tracing::error!(code = %code, error = %e, "internal error");
            ApiError::new(ErrorCode::Internal, INTERNAL_MESSAGE)
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::new(
            ErrorCode::Overloaded,
            "the server is shutting down or overloaded; try again",
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status()).json(ApiError::body(self.code, &self.message))
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_answer_a_generic_message() {
        let e: ApiError = Error::Corrupt("segment 3 at /secret/path".into()).into();
        assert_eq!(e.code, ErrorCode::Internal);
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!e.message.contains("/secret/path"));
        let e: ApiError = Error::param("limit", "too big").into();
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.message.contains("limit"));
    }
}
