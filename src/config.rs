//! Configuration: built-in defaults < `config.toml` < `KIJI_*` env < CLI flags,
//! validated once at start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::search::query::build::Ranking;

/// The annotated default configuration, embedded.
pub const DEFAULT_TOML: &str = include_str!("../config.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub index: IndexConfig,
    pub corpus: CorpusConfig,
    pub ingest: IngestConfig,
    pub server: ServerConfig,
    pub entities: EntitiesConfig,
    pub search: SearchConfig,
    pub opensearch: OpenSearchConfig,
    pub dedup: DedupConfig,
}

/// The `[dedup]` section: near-duplicate detection at ingest (`src/dedup/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    pub enabled: bool,
    pub threshold: f64,
}

impl Default for DedupConfig {
    fn default() -> Self {
        let d = crate::dedup::Settings::default();
        DedupConfig {
            enabled: d.enabled,
            threshold: d.threshold,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndexConfig {
    pub path: PathBuf,
    pub writer_memory_mb: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorpusConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub max_file_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    pub cors_origins: Vec<String>,
    pub max_body_bytes: usize,
    pub api_token: String,
    pub watch: bool,
    pub delete_removed_files: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct EntitiesConfig {
    pub user_file: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchConfig {
    pub title_weight: f32,
    pub body_weight: f32,
    pub lead_weight: f32,
    pub bigram_weight: f32,
}

impl Default for SearchConfig {
    fn default() -> Self {
        let r = Ranking::default();
        SearchConfig {
            title_weight: r.title,
            body_weight: r.body,
            lead_weight: r.lead,
            bigram_weight: r.bigram,
        }
    }
}

/// The `[opensearch]` section: the cluster kiji exports to (see `src/opensearch/`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OpenSearchConfig {
    pub url: String,
    pub alias: String,
    pub username: String,
    pub password: String,
    pub shards: u32,
    pub replicas: u32,
    pub keep_previous: usize,
    pub batch_docs: usize,
    pub batch_bytes: usize,
    pub max_retries: u32,
    pub retry_base_ms: u64,
    pub timeout_secs: u64,
    pub outbox_path: PathBuf,
}

impl Default for OpenSearchConfig {
    fn default() -> Self {
        OpenSearchConfig {
            url: String::new(),
            alias: "kiji-articles".into(),
            username: String::new(),
            password: String::new(),
            shards: 1,
            replicas: 1,
            keep_previous: 1,
            batch_docs: 500,
            batch_bytes: 5_000_000,
            max_retries: 5,
            retry_base_ms: 250,
            timeout_secs: 60,
            outbox_path: PathBuf::from("opensearch-outbox"),
        }
    }
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            path: PathBuf::from("index"),
            writer_memory_mb: 128,
        }
    }
}

impl Default for CorpusConfig {
    fn default() -> Self {
        CorpusConfig {
            path: PathBuf::from("corpus"),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_file_bytes: 5_000_000,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            cors_origins: vec!["http://localhost".into(), "http://127.0.0.1".into()],
            max_body_bytes: 32 * 1024 * 1024,
            api_token: String::new(),
            watch: false,
            delete_removed_files: false,
        }
    }
}

impl Config {
    /// Loads the file (when `path` is given it must exist; `./config.toml` is
    /// used when present), then applies `KIJI_*` variables from `env`.
    pub fn load(path: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut config = match path {
            Some(p) => Self::from_file(p)?,
            None if Path::new("config.toml").is_file() => {
                Self::from_file(Path::new("config.toml"))?
            }
            None => Config::default(),
        };
        config.apply_env(env)?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        let parse = |name: &str, v: &str| -> Result<u64> {
            v.trim().parse().map_err(|_| {
                Error::Config(format!("{name}={v:?} is not a non-negative whole number"))
            })
        };
        if let Some(v) = env("KIJI_INDEX") {
            self.index.path = v.into();
        }
        if let Some(v) = env("KIJI_CORPUS") {
            self.corpus.path = v.into();
        }
        if let Some(v) = env("KIJI_WRITER_MEMORY_MB") {
            self.index.writer_memory_mb = parse("KIJI_WRITER_MEMORY_MB", &v)? as usize;
        }
        if let Some(v) = env("KIJI_MAX_FILE_BYTES") {
            self.ingest.max_file_bytes = parse("KIJI_MAX_FILE_BYTES", &v)?;
        }
        if let Some(v) = env("KIJI_BIND") {
            self.server.bind = v;
        }
        if let Some(v) = env("KIJI_CORS_ORIGINS") {
            self.server.cors_origins = v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
        }
        if let Some(v) = env("KIJI_MAX_BODY_BYTES") {
            self.server.max_body_bytes = parse("KIJI_MAX_BODY_BYTES", &v)? as usize;
        }
        if let Some(v) = env("KIJI_API_TOKEN") {
            self.server.api_token = v;
        }
        if let Some(v) = env("KIJI_WATCH") {
            self.server.watch = matches!(v.trim(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = env("KIJI_DELETE_REMOVED_FILES") {
            self.server.delete_removed_files = matches!(v.trim(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = env("KIJI_ENTITIES_FILE") {
            self.entities.user_file = v;
        }
        let weight = |name: &str, v: &str| -> Result<f32> {
            v.trim()
                .parse()
                .map_err(|_| Error::Config(format!("{name}={v:?} is not a number")))
        };
        for (name, slot) in [
            ("KIJI_SEARCH_TITLE_WEIGHT", &mut self.search.title_weight),
            ("KIJI_SEARCH_BODY_WEIGHT", &mut self.search.body_weight),
            ("KIJI_SEARCH_LEAD_WEIGHT", &mut self.search.lead_weight),
            ("KIJI_SEARCH_BIGRAM_WEIGHT", &mut self.search.bigram_weight),
        ] {
            if let Some(v) = env(name) {
                *slot = weight(name, &v)?;
            }
        }
        if let Some(v) = env("KIJI_OPENSEARCH_URL") {
            self.opensearch.url = v;
        }
        if let Some(v) = env("KIJI_OPENSEARCH_ALIAS") {
            self.opensearch.alias = v;
        }
        if let Some(v) = env("KIJI_OPENSEARCH_PASSWORD") {
            self.opensearch.password = v;
        }
        if let Some(v) = env("KIJI_OPENSEARCH_OUTBOX") {
            self.opensearch.outbox_path = v.into();
        }
        if let Some(v) = env("KIJI_DEDUP") {
            self.dedup.enabled = matches!(v.trim(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = env("KIJI_DEDUP_THRESHOLD") {
            self.dedup.threshold = v.trim().parse().map_err(|_| {
                Error::Config(format!("KIJI_DEDUP_THRESHOLD={v:?} is not a number"))
            })?;
        }
        Ok(())
    }

    /// Checks every value; the message names the setting.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.index.path.as_os_str().is_empty() {
            return bad("index.path is empty".into());
        }
        if self.index.writer_memory_mb < 30 {
            return bad(format!(
                "index.writer_memory_mb = {} is below the minimum of 30",
                self.index.writer_memory_mb
            ));
        }
        if self.ingest.max_file_bytes == 0 {
            return bad("ingest.max_file_bytes must be positive".into());
        }
        if self.server.max_body_bytes == 0 {
            return bad("server.max_body_bytes must be positive".into());
        }
        self.bind_addr()?;
        let s = &self.search;
        for (name, w) in [
            ("search.title_weight", s.title_weight),
            ("search.body_weight", s.body_weight),
            ("search.lead_weight", s.lead_weight),
            ("search.bigram_weight", s.bigram_weight),
        ] {
            if !w.is_finite() || w < 0.0 {
                return bad(format!("{name} = {w} must be a number of 0 or more"));
            }
        }
        if s.title_weight + s.body_weight == 0.0 {
            return bad("search.title_weight and search.body_weight cannot both be 0".into());
        }
        self.opensearch.validate()?;
        let t = self.dedup.threshold;
        if !(t > 0.0 && t <= 1.0) {
            return bad(format!(
                "dedup.threshold = {t} must be above 0 and at most 1"
            ));
        }
        let user = self.user_entities_file();
        if let Some(p) = user
            && !p.is_file()
        {
            return bad(format!("entities.user_file {} does not exist", p.display()));
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr> {
        self.server.bind.parse().map_err(|_| {
            Error::Config(format!(
                "server.bind = {:?} is not an ADDRESS:PORT such as 127.0.0.1:8080",
                self.server.bind
            ))
        })
    }

    pub fn user_entities_file(&self) -> Option<&Path> {
        let f = self.entities.user_file.trim();
        (!f.is_empty()).then(|| Path::new(f))
    }

    /// How matches rank.
    pub fn ranking(&self) -> Ranking {
        Ranking {
            title: self.search.title_weight,
            body: self.search.body_weight,
            lead: self.search.lead_weight,
            bigram: self.search.bigram_weight,
        }
    }

    /// Near-duplicate detection at ingest.
    pub fn dedup(&self) -> crate::dedup::Settings {
        crate::dedup::Settings {
            enabled: self.dedup.enabled,
            threshold: self.dedup.threshold,
        }
    }

    /// The API token, if writes are enabled.
    pub fn api_token(&self) -> Option<&str> {
        let t = self.server.api_token.trim();
        (!t.is_empty()).then_some(t)
    }
}

impl OpenSearchConfig {
    /// Checks the section; the message names the setting.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        let url = self.url.trim();
        if !(url.is_empty() || url.starts_with("http://") || url.starts_with("https://")) {
            return bad(format!(
                "opensearch.url = {url:?} is not an http:// or https:// URL"
            ));
        }
        let a = &self.alias;
        let legal = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
        if a.is_empty() || !a.chars().all(legal) || a.starts_with(['-', '_', '.']) {
            return bad(format!(
                "opensearch.alias = {a:?} must be lower-case letters, digits, '-', '_' or '.', not starting with '-', '_' or '.'"
            ));
        }
        if self.shards == 0 {
            return bad("opensearch.shards must be at least 1".into());
        }
        if self.batch_docs == 0 || self.batch_bytes == 0 {
            return bad("opensearch.batch_docs and opensearch.batch_bytes must be positive".into());
        }
        if self.timeout_secs == 0 {
            return bad("opensearch.timeout_secs must be positive".into());
        }
        if self.outbox_path.as_os_str().is_empty() {
            return bad("opensearch.outbox_path is empty".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_file_is_the_default() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
        parsed.validate().unwrap();
    }

    #[test]
    fn env_overrides_file() {
        let env = |k: &str| match k {
            "KIJI_INDEX" => Some("/tmp/x".to_string()),
            "KIJI_CORS_ORIGINS" => Some("https://a.example, http://b".to_string()),
            _ => None,
        };
        let mut c = Config::default();
        c.apply_env(env).unwrap();
        assert_eq!(c.index.path, PathBuf::from("/tmp/x"));
        assert_eq!(c.server.cors_origins, vec!["https://a.example", "http://b"]);
    }

    #[test]
    fn validation_names_the_setting() {
        let mut c = Config::default();
        c.server.bind = "localhost".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("server.bind")
        );
        let err = toml::from_str::<Config>("[index]\npaht = 'x'\n").unwrap_err();
        assert!(err.to_string().contains("paht"));
        let bad_env = |k: &str| (k == "KIJI_MAX_FILE_BYTES").then(|| "lots".to_string());
        assert!(Config::default().apply_env(bad_env).is_err());
    }

    #[test]
    fn opensearch_section_from_env_and_validated() {
        let env = |k: &str| match k {
            "KIJI_OPENSEARCH_URL" => Some("https://search.internal:9200".to_string()),
            "KIJI_OPENSEARCH_PASSWORD" => Some("s3cret".to_string()),
            _ => None,
        };
        let mut c = Config::default();
        c.apply_env(env).unwrap();
        assert_eq!(c.opensearch.url, "https://search.internal:9200");
        assert_eq!(c.opensearch.password, "s3cret");
        c.validate().unwrap();
        c.opensearch.alias = "Kiji Articles".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("opensearch.alias")
        );
        c.opensearch.alias = "kiji".into();
        c.opensearch.url = "search.internal:9200".into();
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("opensearch.url")
        );
    }
}
