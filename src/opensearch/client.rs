//! The HTTP client for the cluster: retries with exponential backoff on 429,
//! 5xx and unanswered requests; basic authentication; JSON helpers.

use std::time::Duration;

use base64::Engine;
use serde_json::Value;

use super::error::{Error, Result};
use crate::config::OpenSearchConfig;

/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// An answer that is not a 429 or 5xx (those are retried, then an error).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A client for one cluster.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: String,
    auth: Option<String>,
    max_retries: u32,
    retry_base: Duration,
}

impl Client {
    /// A client for `url` with the retry and auth settings of `config`.
    pub fn new(url: &str, config: &OpenSearchConfig) -> Result<Client> {
        let base = url.trim().trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Config(format!(
                "the cluster URL {url:?} is not an http:// or https:// URL"
            )));
        }
        let auth = (!config.username.is_empty()).then(|| {
            let pair = format!("{}:{}", config.username, config.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            )
        });
        let agent = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(config.timeout_secs.min(10)))
            .timeout(Duration::from_secs(config.timeout_secs))
            .build();
        Ok(Client {
            agent,
            base,
            auth,
            max_retries: config.max_retries,
            retry_base: Duration::from_millis(config.retry_base_ms),
        })
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    /// The same client, trying each request once.
    pub fn once(&self) -> Client {
        Client {
            max_retries: 0,
            ..self.clone()
        }
    }

    /// The wait before try `n + 1` (after `n` failed tries, n ≥ 1).
    fn backoff(&self, n: u32) -> Duration {
        self.retry_base
            .saturating_mul(1u32 << (n - 1).min(16))
            .min(MAX_BACKOFF)
    }

    /// Sends a request; 429, 5xx and transport failures are retried with
    /// backoff, and after the last try are [`Error::Unavailable`]. Any other
    /// answer is returned, whatever its status.
    pub fn send(&self, method: &str, path: &str, body: Option<(&str, &[u8])>) -> Result<Response> {
        let url = format!("{}{path}", self.base);
        let mut tries = 0;
        loop {
            tries += 1;
            let mut request = self.agent.request(method, &url);
            if let Some(a) = &self.auth {
                request = request.set("Authorization", a);
            }
            let result = match body {
                Some((content_type, bytes)) => {
                    request.set("Content-Type", content_type).send_bytes(bytes)
                }
                None => request.call(),
            };
            let failure = match result {
                Ok(r) => return Ok(read(r)),
                Err(ureq::Error::Status(status, r)) if status != 429 && status < 500 => {
                    return Ok(read(r));
                }
                Err(ureq::Error::Status(status, r)) => {
                    let text = r.into_string().unwrap_or_default();
                    format!("HTTP {status}: {}", excerpt(&text))
                }
                Err(ureq::Error::Transport(t)) => t.to_string(),
            };
            if tries > self.max_retries {
                return Err(Error::Unavailable {
                    url: self.base.clone(),
                    message: format!("{method} {path}: {failure} (after {tries} tries)"),
                });
            }
            tracing::debug!(%method, %path, %failure, tries, "retrying");
            std::thread::sleep(self.backoff(tries));
        }
    }

    /// Sends JSON (or nothing) and expects a 2xx JSON answer.
    pub fn json(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let bytes = body.map(|b| serde_json::to_vec(b).expect("JSON values always serialise"));
        let r = self.send(
            method,
            path,
            bytes.as_deref().map(|b| ("application/json", b)),
        )?;
        if !r.is_success() {
            return Err(Error::Refused {
                method: method.into(),
                path: path.into(),
                status: r.status,
                message: excerpt(&r.body),
            });
        }
        serde_json::from_str(&r.body).map_err(|e| Error::Protocol {
            path: path.into(),
            message: format!("not JSON: {e}"),
        })
    }
}

fn read(r: ureq::Response) -> Response {
    let status = r.status();
    Response {
        status,
        body: r.into_string().unwrap_or_default(),
    }
}

/// The start of an error body, for messages (whole characters).
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let c = OpenSearchConfig {
            retry_base_ms: 100,
            ..Default::default()
        };
        let client = Client::new("http://127.0.0.1:9200/", &c).unwrap();
        assert_eq!(client.url(), "http://127.0.0.1:9200");
        assert_eq!(client.backoff(1), Duration::from_millis(100));
        assert_eq!(client.backoff(3), Duration::from_millis(400));
        assert_eq!(client.backoff(40), MAX_BACKOFF);
        assert!(Client::new("localhost:9200", &c).is_err());
    }

    #[test]
    fn excerpts_cut_at_characters() {
        let long = "北".repeat(400);
        assert_eq!(excerpt(&long).chars().count(), 301);
    }
}
