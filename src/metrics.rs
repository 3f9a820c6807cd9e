//! Operational metrics in the Prometheus text format (`GET /metrics`), with
//! the `prometheus` crate: requests and latency per route and status,
//! ingest outcomes and rejections per code, writer commits; documents,
//! segments and index bytes are read from the index when scraped.

use std::sync::LazyLock;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The process's metrics (one registry per process).
pub struct Metrics {
    registry: Registry,
    /// `kiji_http_requests_total{route,method,status}`
    pub requests: IntCounterVec,
    /// `kiji_http_request_duration_seconds{route,method,status}`
    pub latency: HistogramVec,
    /// `kiji_ingest_articles_total{outcome}`: added, updated, unchanged.
    pub ingested: IntCounterVec,
    /// `kiji_ingest_rejected_total{code}`
    pub rejected: IntCounterVec,
    /// `kiji_index_commits_total`
    pub commits: IntCounter,
    /// `kiji_dedup_candidates_total{stage}`: committed articles that shared
    /// an LSH band with an article written (`shared_band`, within the bounds
    /// on postings read) and those whose signature was compared (`compared`).
    pub dedup_candidates: IntCounterVec,
    documents: IntGauge,
    segments: IntGauge,
    index_bytes: IntGauge,
}

fn new_metrics() -> prometheus::Result<Metrics> {
    let registry = Registry::new();
    let requests = IntCounterVec::new(
        Opts::new("kiji_http_requests_total", "HTTP requests answered"),
        &["route", "method", "status"],
    )?;
    let latency = HistogramVec::new(
        HistogramOpts::new(
            "kiji_http_request_duration_seconds",
            "Time to answer an HTTP request (until the response head)",
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]),
        &["route", "method", "status"],
    )?;
    let ingested = IntCounterVec::new(
        Opts::new(
            "kiji_ingest_articles_total",
            "Articles taken in, by outcome",
        ),
        &["outcome"],
    )?;
    let rejected = IntCounterVec::new(
        Opts::new("kiji_ingest_rejected_total", "Articles rejected, by code"),
        &["code"],
    )?;
    let commits = IntCounter::new("kiji_index_commits_total", "Index commits")?;
    let dedup_candidates = IntCounterVec::new(
        Opts::new(
            "kiji_dedup_candidates_total",
            "Near-duplicate candidates of written articles, by stage",
        ),
        &["stage"],
    )?;
    let documents = IntGauge::new("kiji_index_documents", "Articles in the index")?;
    let segments = IntGauge::new("kiji_index_segments", "Segments of the index")?;
    let index_bytes = IntGauge::new("kiji_index_bytes", "Size of the index on disk")?;
    registry.register(Box::new(requests.clone()))?;
    registry.register(Box::new(latency.clone()))?;
    registry.register(Box::new(ingested.clone()))?;
    registry.register(Box::new(rejected.clone()))?;
    registry.register(Box::new(commits.clone()))?;
    registry.register(Box::new(dedup_candidates.clone()))?;
    registry.register(Box::new(documents.clone()))?;
    registry.register(Box::new(segments.clone()))?;
    registry.register(Box::new(index_bytes.clone()))?;
    Ok(Metrics {
        registry,
        requests,
        latency,
        ingested,
        rejected,
        commits,
        dedup_candidates,
        documents,
        segments,
        index_bytes,
    })
}

/// The metrics of this process.
pub fn metrics() -> &'static Metrics {
    static M: LazyLock<Metrics> =
        LazyLock::new(|| new_metrics().expect("metric names and labels are valid"));
    &M
}

impl Metrics {
    /// One answered request.
    pub fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [route, method, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The text exposition, with the index gauges set to `documents`,
    /// `segments` and `index_bytes`.
    pub fn render(&self, documents: u64, segments: usize, index_bytes: u64) -> String {
        self.documents.set(documents as i64);
        self.segments.set(segments as i64);
        self.index_bytes.set(index_bytes as i64);
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_gauges_in_the_text_format() {
        let m = metrics();
        m.request("/search", "GET", 200, 0.002);
        m.rejected.with_label_values(&["too_large"]).inc();
        let text = m.render(7, 2, 1234);
        assert!(
            text.contains(r#"kiji_http_requests_total{method="GET",route="/search",status="200"}"#),
            "{text}"
        );
        assert!(text.contains("kiji_http_request_duration_seconds_bucket"));
        assert!(text.contains("kiji_index_documents 7"));
        assert!(text.contains("kiji_index_segments 2"));
        assert!(text.contains(r#"kiji_ingest_rejected_total{code="too_large"}"#));
    }
}
