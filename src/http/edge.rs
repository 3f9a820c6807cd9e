//! The edge every request passes first: the `Host` check (DNS rebinding),
//! the URI length limit, error bodies in the one shape for whatever answers
//! an error without it (actix's extractors, CORS), metrics and the access
//! log (one structured line per request).

use std::time::Instant;

use actix_web::HttpResponse;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;

use super::MAX_URI_BYTES;
use super::error::ApiError;
use crate::code::ErrorCode;
use crate::config::Config;

/// Why a request is refused before it is routed, if it is.
pub fn refuse(config: &Config, req: &ServiceRequest) -> Option<ApiError> {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or("\u{fffd}").to_string())
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let listed = &config.server.allowed_hosts;
    match host {
        Some(host) if !config.host_allowed(&host) => {
            return Some(ApiError::new(
                ErrorCode::InvalidHost,
                format!("host {host:?} is not served here (server.allowed_hosts)"),
            ));
        }
        // An HTTP/1.0 request may name no host: with hosts listed, it is
        // not one of them.
        None if !listed.is_empty() && !listed.iter().any(|h| h == "*") => {
            return Some(ApiError::new(
                ErrorCode::InvalidHost,
                "the request names no host (no Host header); this server answers only \
                 server.allowed_hosts",
            ));
        }
        _ => {}
    }
    let len = req.path().len() + req.query_string().len();
    if len > MAX_URI_BYTES {
        return Some(ApiError::new(
            ErrorCode::UriTooLong,
            format!("the URI is {len} bytes, over the limit of {MAX_URI_BYTES}; POST long texts"),
        ));
    }
    // Text that is not UTF-8 is named, on every route, rather than decoded
    // into replacement characters and searched for (or answered 404).
    if percent_encoding::percent_decode_str(req.path())
        .decode_utf8()
        .is_err()
    {
        return Some(ApiError::new(
            ErrorCode::InvalidParameter,
            "the path is not valid UTF-8 once percent-decoded (percent-encode ids and names as UTF-8)",
        ));
    }
    super::handlers::undecodable_parameter(req.query_string()).map(ApiError::from)
}

fn is_json(res: &HttpResponse) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// An error response in the one shape: unchanged when it already is
/// (JSON), else rebuilt with the code its status implies and its text (or
/// the status's reason) as the message.
pub async fn shape(res: HttpResponse) -> HttpResponse {
    let status = res.status();
    if status.as_u16() < 400 || is_json(&res) {
        return res;
    }
    let mut headers = res.headers().clone();
    let text = actix_web::body::to_bytes_limited(res.into_body(), 4096)
        .await
        .ok()
        .and_then(|b| b.ok())
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
        });
    let code = ErrorCode::for_status(status.as_u16());
    let mut out = HttpResponse::build(status).json(ApiError::body(code, &text));
    headers.remove(header::CONTENT_TYPE);
    headers.remove(header::CONTENT_LENGTH);
    for (name, value) in headers.iter() {
        out.headers_mut().append(name.clone(), value.clone());
    }
    out
}

/// Records the request in the metrics and the access log.
pub fn record(res: &ServiceResponse<BoxBody>, started: Instant) {
    let req = res.request();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let status = res.status().as_u16();
    let secs = started.elapsed().as_secs_f64();
    // Method names are the client's to invent: only the standard ones get
    // series of their own, so the metrics cannot grow without bound.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS") => m,
        _ => "other",
    };
    crate::metrics::metrics().request(&route, method, status, secs);
    tracing::info!(
        target: "kiji::access",
        method = %req.method(),
        route = %route,
        path = %req.path(),
        status,
        ms = secs * 1000.0,
        peer = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default(),
        "request"
    );
}

/// The response to a request the edge refused (`Err`), or of the app's
/// pending answer; shaped, recorded and returned. (An error the app itself
/// returns, rather than a response, goes back as an [`ApiError`] of the
/// code its status implies, which actix answers in the one shape.)
pub async fn finish<B, F>(
    pending: Result<F, ServiceResponse<BoxBody>>,
    started: Instant,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error>
where
    B: MessageBody + 'static,
    F: std::future::Future<Output = Result<ServiceResponse<B>, actix_web::Error>>,
{
    let res = match pending {
        Err(refused) => refused,
        Ok(fut) => match fut.await {
            Ok(res) => res.map_into_boxed_body(),
            Err(e) => {
                let status = e.as_response_error().status_code().as_u16();
                let code = ErrorCode::for_status(status);
                let message = if code == ErrorCode::Internal {
                    tracing::error!(error = %e, "internal error");
                    super::error::INTERNAL_MESSAGE.to_string()
                } else {
                    e.to_string()
                };
                return Err(ApiError::new(code, message).into());
            }
        },
    };
    let (http_req, response) = res.into_parts();
    let mut res = ServiceResponse::new(http_req, shape(response).await);
    if res.status().as_u16() == 408 {
        // The client was too slow: do not wait for the rest of its body.
        res.response_mut()
            .head_mut()
            .set_connection_type(actix_web::http::ConnectionType::Close);
    }
    record(&res, started);
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_hosts_refuse_a_request_that_names_none() {
        let mut config = Config::default();
        let bare = || {
            actix_web::test::TestRequest::get()
                .uri("/stats")
                .to_srv_request()
        };
        let named = |host: &str| {
            actix_web::test::TestRequest::get()
                .uri("/stats")
                .insert_header((header::HOST, host))
                .to_srv_request()
        };
        // Not listed: the loopback names and the bound address, or no host.
        assert!(refuse(&config, &bare()).is_none());
        config.server.allowed_hosts = vec!["foo.example".into()];
        let refused = refuse(&config, &bare()).expect("no host is not foo.example");
        assert_eq!(refused.code, ErrorCode::InvalidHost);
        assert!(refuse(&config, &named("foo.example")).is_none());
        assert!(refuse(&config, &named("evil.example")).is_some());
        config.server.allowed_hosts = vec!["*".into()];
        assert!(refuse(&config, &bare()).is_none());
    }
}
