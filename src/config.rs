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
    pub limits: LimitsConfig,
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
    pub max_merge_docs: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CorpusConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Deprecated: `limits.article_bytes` (still read from older files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_file_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub bind: String,
    pub cors_origins: Vec<String>,
    /// Host names (or IP addresses) the service answers to; empty = the
    /// loopback names and the bind address (DNS-rebinding protection).
    pub allowed_hosts: Vec<String>,
    /// Deprecated: `limits.body_bytes` (still read from older files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
    pub api_token: String,
    pub watch: bool,
    pub delete_removed_files: bool,
    /// What answers searches: kiji's index, or the `[opensearch]` cluster.
    pub backend: SearchBackend,
}

/// `server.backend`: what answers `/search`, `/articles/{id}`, `/timeline`,
/// `/cooccurrence` and `/export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchBackend {
    /// kiji's own index.
    #[default]
    Local,
    /// The alias of `[opensearch]` on its cluster.
    OpenSearch,
}

impl SearchBackend {
    /// `local` or `opensearch`.
    pub fn parse(s: &str) -> Result<SearchBackend> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" | "" => Ok(SearchBackend::Local),
            "opensearch" => Ok(SearchBackend::OpenSearch),
            other => Err(Error::Config(with_origin(format!(
                "server.backend = {other:?}: use \"local\" or \"opensearch\""
            )))),
        }
    }
}

/// The `[limits]` section: what one request or article may cost, applied to
/// every way in (CLI, watcher, API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// The largest article, in bytes (a text file, a JSON Lines line, or
    /// one article of a JSON file or of a request).
    pub article_bytes: u64,
    /// The largest request body, and the largest JSON file, in bytes.
    pub body_bytes: usize,
    /// The longest article id, in bytes (UTF-8).
    pub id_bytes: usize,
    /// The largest text `/analyze` takes, in bytes.
    pub analyze_bytes: usize,
    /// Seconds a client has to send a request's head.
    pub request_timeout_secs: u64,
    /// Seconds a client has to send a request's body.
    pub body_timeout_secs: u64,
}

/// tantivy drops terms longer than this many bytes, so no id may be longer.
pub const MAX_ID_BYTES: usize = 65_530;

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            article_bytes: 5_000_000,
            body_bytes: 32 * 1024 * 1024,
            id_bytes: 512,
            analyze_bytes: 1_000_000,
            request_timeout_secs: 5,
            body_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntitiesConfig {
    pub user_file: String,
    /// Run the shipped entity model on top of the gazetteer and rules
    /// (default: on; off = the gazetteer and rules alone; see config.toml).
    pub model: bool,
    /// How the analysis (`kiji analyze`, `/analyze`, the evaluation
    /// commands) reports an address the model finds as one place (`whole`,
    /// the default: 東京都世田谷区; `parts`: 東京都 | 世田谷区). The index
    /// counts its units either way.
    pub addresses: crate::analysis::ner::merge::Addresses,
}

impl Default for EntitiesConfig {
    fn default() -> Self {
        EntitiesConfig {
            user_file: String::new(),
            model: true,
            addresses: Default::default(),
        }
    }
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
            max_merge_docs: crate::index::merge::DEFAULT_MAX_MERGE_DOCS,
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

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: "127.0.0.1:8080".into(),
            cors_origins: vec!["http://localhost".into(), "http://127.0.0.1".into()],
            allowed_hosts: Vec::new(),
            max_body_bytes: None,
            api_token: String::new(),
            watch: false,
            delete_removed_files: false,
            backend: SearchBackend::Local,
        }
    }
}

/// An on/off environment variable: `1 true yes on` or `0 false no off`, in
/// any case; anything else is an error that names it (a typo must not turn
/// a feature off unnoticed).
fn env_bool(name: &str, v: &str) -> Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        other => Err(Error::Config(format!(
            "{name} = {other:?} must be on or off (1/0, true/false, yes/no)"
        ))),
    }
}

/// Where each setting a check can refuse is set besides the configuration
/// file: its variables and its flag.
const ORIGINS: &[(&str, &str)] = &[
    ("index.path", "KIJI_INDEX or --index"),
    ("index.writer_memory_mb", "KIJI_WRITER_MEMORY_MB"),
    ("index.max_merge_docs", "KIJI_MAX_MERGE_DOCS"),
    ("corpus.path", "KIJI_CORPUS"),
    ("limits.article_bytes", "KIJI_MAX_ARTICLE_BYTES"),
    ("limits.body_bytes", "KIJI_MAX_BODY_BYTES"),
    ("limits.id_bytes", "KIJI_MAX_ID_BYTES"),
    ("limits.analyze_bytes", "KIJI_MAX_ANALYZE_BYTES"),
    ("limits.request_timeout_secs", "KIJI_REQUEST_TIMEOUT_SECS"),
    ("limits.body_timeout_secs", "KIJI_BODY_TIMEOUT_SECS"),
    ("server.bind", "KIJI_BIND or --bind"),
    ("server.backend", "KIJI_BACKEND or --backend"),
    ("server.watch", "KIJI_WATCH or --watch"),
    ("search.title_weight", "KIJI_SEARCH_TITLE_WEIGHT"),
    ("search.body_weight", "KIJI_SEARCH_BODY_WEIGHT"),
    ("search.lead_weight", "KIJI_SEARCH_LEAD_WEIGHT"),
    ("search.bigram_weight", "KIJI_SEARCH_BIGRAM_WEIGHT"),
    ("dedup.threshold", "KIJI_DEDUP_THRESHOLD"),
    ("opensearch.url", "KIJI_OPENSEARCH_URL or --url"),
    ("opensearch.alias", "KIJI_OPENSEARCH_ALIAS or --alias"),
];

/// A check's message with where the setting it starts with can be set.
fn with_origin(message: String) -> String {
    let setting = message.split([' ', ',']).next().unwrap_or("");
    match ORIGINS.iter().find(|(name, _)| *name == setting) {
        Some((name, ways)) => {
            format!("{message} ({name} is set in the configuration file, or by {ways})")
        }
        None => message,
    }
}

/// Every `KIJI_*` environment variable kiji reads (the configuration's,
/// the log's, `KIJI_PROGRESS`). Any other `KIJI_*` name but those of
/// [`TOOL_ENV_VARS`] is likely a typo (`KIJI_INDX`), which would silently
/// leave a setting at its default: kiji warns about it at start, naming the
/// nearest of these.
pub const ENV_VARS: &[&str] = &[
    "KIJI_ALLOWED_HOSTS",
    "KIJI_API_TOKEN",
    "KIJI_BACKEND",
    "KIJI_BIND",
    "KIJI_BODY_TIMEOUT_SECS",
    "KIJI_CORPUS",
    "KIJI_CORS_ORIGINS",
    "KIJI_DEDUP",
    "KIJI_DEDUP_THRESHOLD",
    "KIJI_DELETE_REMOVED_FILES",
    "KIJI_ENTITIES_FILE",
    "KIJI_ENTITY_ADDRESSES",
    "KIJI_ENTITY_MODEL",
    "KIJI_INDEX",
    "KIJI_LOG",
    "KIJI_LOG_FORMAT",
    "KIJI_MAX_ANALYZE_BYTES",
    "KIJI_MAX_ARTICLE_BYTES",
    "KIJI_MAX_BODY_BYTES",
    "KIJI_MAX_FILE_BYTES",
    "KIJI_MAX_ID_BYTES",
    "KIJI_MAX_MERGE_DOCS",
    "KIJI_OPENSEARCH_ALIAS",
    "KIJI_OPENSEARCH_OUTBOX",
    "KIJI_OPENSEARCH_PASSWORD",
    "KIJI_OPENSEARCH_URL",
    "KIJI_PROGRESS",
    "KIJI_REQUEST_TIMEOUT_SECS",
    "KIJI_SEARCH_BIGRAM_WEIGHT",
    "KIJI_SEARCH_BODY_WEIGHT",
    "KIJI_SEARCH_LEAD_WEIGHT",
    "KIJI_SEARCH_TITLE_WEIGHT",
    "KIJI_WATCH",
    "KIJI_WRITER_MEMORY_MB",
];

/// The `KIJI_*` variables of kiji's build, tests, benchmarks and training
/// scripts (`KIJI_IPADIC_DIR`, `KIJI_WIKINEWS`, `KIJI_BIN` …): no typo.
pub const TOOL_ENV_VARS: &[&str] = &[
    "KIJI_BIN",
    "KIJI_CWD",
    "KIJI_DICTIONARY_SOURCE",
    "KIJI_DICTIONARY_VERSION",
    "KIJI_EVAL",
    "KIJI_IPADIC_DIR",
    "KIJI_IPADIC_VERSION",
    "KIJI_LUCENE_DIR",
    "KIJI_PARITY_KEEP",
    "KIJI_REQUIRE_PARITY",
    "KIJI_SCREENSHOT",
    "KIJI_TEST_TIMEOUT_MS",
    "KIJI_TEST_VERBOSE",
    "KIJI_TRAIN_DIR",
    "KIJI_TRAIN_VERBOSE",
    "KIJI_URL",
    "KIJI_WIKINEWS",
];

impl Config {
    /// Loads the file (when `path` is given it must exist; `./config.toml` is
    /// used when present), then applies `KIJI_*` variables from `env`.
    /// The `KIJI_*` variables among `names` that kiji does not read
    /// ([`ENV_VARS`], [`TOOL_ENV_VARS`]), each with the name kiji reads it
    /// is likely a typo of.
    pub fn unknown_env_vars(
        names: impl Iterator<Item = String>,
    ) -> Vec<(String, Option<&'static str>)> {
        names
            .filter(|n| {
                n.starts_with("KIJI_")
                    && !ENV_VARS.contains(&n.as_str())
                    && !TOOL_ENV_VARS.contains(&n.as_str())
            })
            .map(|n| {
                // Compared in upper case (KIJI_entity_model is KIJI_ENTITY_MODEL),
                // with the variables kiji itself reads (not its tools').
                let upper = n.to_ascii_uppercase();
                let near = ENV_VARS
                    .iter()
                    .map(|k| (strsim::damerau_levenshtein(&upper, k), *k))
                    .filter(|(d, _)| *d <= 2)
                    .min()
                    .map(|(_, k)| k);
                (n, near)
            })
            .collect()
    }

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
        let mut config: Config =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let raw: toml::Table =
            toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        let set = |section: &str, key: &str| {
            raw.get(section)
                .and_then(|s| s.as_table())
                .is_some_and(|s| s.contains_key(key))
        };
        for (old, new) in [
            (("ingest", "max_file_bytes"), ("limits", "article_bytes")),
            (("server", "max_body_bytes"), ("limits", "body_bytes")),
        ] {
            if set(old.0, old.1) && set(new.0, new.1) {
                return Err(Error::Config(format!(
                    "{}: both {}.{} (its old name) and {}.{} are set: keep {}.{}",
                    path.display(),
                    old.0,
                    old.1,
                    new.0,
                    new.1,
                    new.0,
                    new.1
                )));
            }
        }
        config.take_deprecated();
        Ok(config)
    }

    /// Moves settings of older files (`ingest.max_file_bytes`,
    /// `server.max_body_bytes`) to `[limits]` (a file that sets both names
    /// of one setting is refused by [`Config::from_file`]).
    fn take_deprecated(&mut self) {
        if let Some(v) = self.ingest.max_file_bytes.take() {
            tracing::warn!("ingest.max_file_bytes is now limits.article_bytes");
            self.limits.article_bytes = v;
        }
        if let Some(v) = self.server.max_body_bytes.take() {
            tracing::warn!("server.max_body_bytes is now limits.body_bytes");
            self.limits.body_bytes = v;
        }
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
        if let Some(v) = env("KIJI_MAX_MERGE_DOCS") {
            self.index.max_merge_docs = parse("KIJI_MAX_MERGE_DOCS", &v)?
                .try_into()
                .map_err(|_| Error::Config(format!("KIJI_MAX_MERGE_DOCS={v:?} is too large")))?;
        }
        for name in ["KIJI_MAX_FILE_BYTES", "KIJI_MAX_ARTICLE_BYTES"] {
            if let Some(v) = env(name) {
                self.limits.article_bytes = parse(name, &v)?;
            }
        }
        if let Some(v) = env("KIJI_MAX_ID_BYTES") {
            self.limits.id_bytes = parse("KIJI_MAX_ID_BYTES", &v)? as usize;
        }
        if let Some(v) = env("KIJI_MAX_ANALYZE_BYTES") {
            self.limits.analyze_bytes = parse("KIJI_MAX_ANALYZE_BYTES", &v)? as usize;
        }
        if let Some(v) = env("KIJI_REQUEST_TIMEOUT_SECS") {
            self.limits.request_timeout_secs = parse("KIJI_REQUEST_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = env("KIJI_BODY_TIMEOUT_SECS") {
            self.limits.body_timeout_secs = parse("KIJI_BODY_TIMEOUT_SECS", &v)?;
        }
        if let Some(v) = env("KIJI_ALLOWED_HOSTS") {
            self.server.allowed_hosts = v
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect();
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
            self.limits.body_bytes = parse("KIJI_MAX_BODY_BYTES", &v)? as usize;
        }
        if let Some(v) = env("KIJI_API_TOKEN") {
            self.server.api_token = v;
        }
        if let Some(v) = env("KIJI_BACKEND") {
            self.server.backend = SearchBackend::parse(&v)?;
        }
        if let Some(v) = env("KIJI_WATCH") {
            self.server.watch = env_bool("KIJI_WATCH", &v)?;
        }
        if let Some(v) = env("KIJI_DELETE_REMOVED_FILES") {
            self.server.delete_removed_files = env_bool("KIJI_DELETE_REMOVED_FILES", &v)?;
        }
        if let Some(v) = env("KIJI_ENTITIES_FILE") {
            self.entities.user_file = v;
        }
        if let Some(v) = env("KIJI_ENTITY_MODEL") {
            self.entities.model = env_bool("KIJI_ENTITY_MODEL", &v)?;
        }
        if let Some(v) = env("KIJI_ENTITY_ADDRESSES") {
            self.entities.addresses = crate::analysis::ner::merge::Addresses::parse(v.trim())
                .ok_or_else(|| {
                    Error::Config(format!(
                        "KIJI_ENTITY_ADDRESSES = {v:?} must be parts or whole"
                    ))
                })?;
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
            self.dedup.enabled = env_bool("KIJI_DEDUP", &v)?;
        }
        if let Some(v) = env("KIJI_DEDUP_THRESHOLD") {
            self.dedup.threshold = v.trim().parse().map_err(|_| {
                Error::Config(format!("KIJI_DEDUP_THRESHOLD={v:?} is not a number"))
            })?;
        }
        Ok(())
    }

    /// Checks every value; the message names the setting.
    /// Checks every setting; the message names the setting and where it can
    /// be set (the value may come from the file, a variable or a flag).
    pub fn validate(&self) -> Result<()> {
        self.check().map_err(|e| match e {
            Error::Config(m) => Error::Config(with_origin(m)),
            other => other,
        })
    }

    fn check(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.index.path.as_os_str().is_empty() {
            return bad("index.path is empty".into());
        }
        if !(30..=4000).contains(&self.index.writer_memory_mb) {
            return bad(format!(
                "index.writer_memory_mb = {} is out of range (30..=4000: tantivy's arena for one \
                 indexing thread holds at most 4 GB)",
                self.index.writer_memory_mb
            ));
        }
        if self.corpus.path.as_os_str().is_empty() {
            return bad("corpus.path is empty".into());
        }
        if self.index.max_merge_docs < 10_000 {
            return bad(format!(
                "index.max_merge_docs = {} is below the minimum of 10000",
                self.index.max_merge_docs
            ));
        }
        let l = &self.limits;
        for (name, v) in [
            ("limits.article_bytes", l.article_bytes),
            ("limits.body_bytes", l.body_bytes as u64),
            ("limits.id_bytes", l.id_bytes as u64),
            ("limits.analyze_bytes", l.analyze_bytes as u64),
            ("limits.request_timeout_secs", l.request_timeout_secs),
            ("limits.body_timeout_secs", l.body_timeout_secs),
        ] {
            if v == 0 {
                return bad(format!("{name} must be positive"));
            }
        }
        if l.id_bytes > MAX_ID_BYTES {
            return bad(format!(
                "limits.id_bytes = {} is over {MAX_ID_BYTES}, the longest term the index keeps",
                l.id_bytes
            ));
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
        if self.server.backend == SearchBackend::OpenSearch {
            if self.opensearch.url.trim().is_empty() {
                return bad(
                    "server.backend = \"opensearch\" needs opensearch.url (KIJI_OPENSEARCH_URL)"
                        .into(),
                );
            }
            if self.server.watch {
                return bad(
                    "server.watch writes kiji's index; a server with server.backend = \"opensearch\" takes no writes"
                        .into(),
                );
            }
        }
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

    /// The analyser this configuration asks for (user entities file, entity
    /// model on or off).
    ///
    /// The entity model loads on a thread of its own while the gazetteer and
    /// dictionaries are built: each takes tens of milliseconds, at every
    /// command's start-up.
    pub fn analyzer(&self) -> Result<std::sync::Arc<crate::analysis::Analyzer>> {
        use crate::analysis::ner::Recognizer;
        std::thread::scope(|scope| {
            let loading = self
                .entities
                .model
                .then(|| scope.spawn(Recognizer::embedded));
            let gazetteer = crate::analysis::gazetteer::Gazetteer::load(self.user_entities_file())?;
            crate::analysis::Analyzer::with_model_from(
                gazetteer,
                || match loading {
                    Some(thread) => thread
                        .join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                    None => Ok(None),
                },
                self.entities.addresses,
            )
        })
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

    /// Whether a request's `Host` header (`name`, `name:port`, `[v6]:port`)
    /// names this service: one of `server.allowed_hosts` (`*` = any), or,
    /// when that is empty, a loopback name or the bind address; with an
    /// unspecified bind address (0.0.0.0, ::) any IP address too (DNS
    /// rebinding needs a name).
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim();
        let name = if let Some(rest) = host.strip_prefix('[') {
            rest.split(']').next().unwrap_or("")
        } else {
            host.rsplit_once(':')
                .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
                .map_or(host, |(name, _)| name)
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if !self.server.allowed_hosts.is_empty() {
            return self
                .server
                .allowed_hosts
                .iter()
                .any(|h| h == "*" || h.trim_matches(['[', ']']).eq_ignore_ascii_case(&name));
        }
        if ["localhost", "127.0.0.1", "::1"].contains(&name.as_str()) {
            return true;
        }
        match (self.bind_addr(), name.parse::<std::net::IpAddr>()) {
            (Ok(bind), Ok(ip)) => bind.ip() == ip || bind.ip().is_unspecified(),
            _ => false,
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

    /// Whether the server takes writes: a token is set and the local index
    /// answers (with `--backend opensearch` every write is a 501).
    pub fn writes_enabled(&self) -> bool {
        self.api_token().is_some() && self.server.backend != SearchBackend::OpenSearch
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
    fn misspelt_variables_are_named_with_the_nearest() {
        let names = [
            "KIJI_INDX",
            "KIJI_DEDUPE",
            "KIJI_INDEX",
            "KIJI_SOMETHING_ELSE_ENTIRELY",
            "HOME",
            "KIJI_entity_model",
            "KIJI_X",
        ]
        .map(String::from);
        let unknown = Config::unknown_env_vars(names.into_iter());
        assert_eq!(
            unknown,
            vec![
                ("KIJI_INDX".to_string(), Some("KIJI_INDEX")),
                ("KIJI_DEDUPE".to_string(), Some("KIJI_DEDUP")),
                ("KIJI_SOMETHING_ELSE_ENTIRELY".to_string(), None),
                ("KIJI_entity_model".to_string(), Some("KIJI_ENTITY_MODEL")),
                ("KIJI_X".to_string(), None),
            ]
        );
    }

    #[test]
    fn entity_model_is_on_unless_switched_off() {
        assert!(Config::default().entities.model);
        let partial: Config = toml::from_str("[entities]\nuser_file = \"\"\n").unwrap();
        assert!(
            partial.entities.model,
            "a section without `model` keeps the default"
        );
        let off: Config = toml::from_str("[entities]\nmodel = false\n").unwrap();
        assert!(!off.entities.model);
    }

    #[test]
    fn shipped_file_is_the_default() {
        let parsed: Config = toml::from_str(DEFAULT_TOML).unwrap();
        assert_eq!(parsed, Config::default());
        parsed.validate().unwrap();
    }

    #[test]
    fn limits_in_one_section_with_older_names_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(
            &p,
            "[ingest]\nmax_file_bytes = 7\n[server]\nmax_body_bytes = 9\n",
        )
        .unwrap();
        let c = Config::from_file(&p).unwrap();
        assert_eq!((c.limits.article_bytes, c.limits.body_bytes), (7, 9));
        std::fs::write(
            &p,
            "[ingest]\nmax_file_bytes = 7\n[limits]\narticle_bytes = 100000\n",
        )
        .unwrap();
        let err = Config::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("keep limits.article_bytes"), "{err}");
        let env = |k: &str| match k {
            "KIJI_MAX_FILE_BYTES" => Some("11".to_string()),
            "KIJI_MAX_ID_BYTES" => Some("100".to_string()),
            _ => None,
        };
        let mut c = Config::default();
        c.apply_env(env).unwrap();
        assert_eq!((c.limits.article_bytes, c.limits.id_bytes), (11, 100));
        c.limits.id_bytes = MAX_ID_BYTES + 1;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("limits.id_bytes")
        );
        c.limits.id_bytes = 512;
        c.limits.body_timeout_secs = 0;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("body_timeout")
        );
    }

    #[test]
    fn hosts_default_to_loopback_and_the_bind_address() {
        let mut c = Config::default();
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "LOCALHOST.",
        ] {
            assert!(c.host_allowed(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:8080",
            "localhost.evil.example",
        ] {
            assert!(!c.host_allowed(bad), "{bad}");
        }
        c.server.bind = "0.0.0.0:8080".into();
        assert!(c.host_allowed("10.0.0.1:8080"));
        assert!(!c.host_allowed("evil.example:8080"));
        c.server.allowed_hosts = vec!["kiji.internal".into()];
        assert!(c.host_allowed("kiji.internal:8080"));
        assert!(!c.host_allowed("localhost:8080"));
        c.server.allowed_hosts = vec!["*".into()];
        assert!(c.host_allowed("evil.example"));
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
    fn on_off_variables_take_any_case_and_refuse_typos() {
        for name in [
            "KIJI_DEDUP",
            "KIJI_WATCH",
            "KIJI_DELETE_REMOVED_FILES",
            "KIJI_ENTITY_MODEL",
        ] {
            Config::default()
                .apply_env(|k| (k == name).then(|| "TRUE".to_string()))
                .unwrap();
            let err = Config::default()
                .apply_env(|k| (k == name).then(|| "maybe".to_string()))
                .unwrap_err()
                .to_string();
            assert!(err.contains(name) && err.contains("on or off"), "{err}");
        }
        let mut c = Config::default();
        c.apply_env(|k| (k == "KIJI_DEDUP").then(|| "Off".to_string()))
            .unwrap();
        assert!(!c.dedup.enabled);
        c.apply_env(|k| (k == "KIJI_WATCH").then(|| "YES".to_string()))
            .unwrap();
        assert!(c.server.watch);
    }

    #[test]
    fn backend_from_env_and_validated() {
        let mut c = Config::default();
        c.apply_env(|k| (k == "KIJI_BACKEND").then(|| "OpenSearch".to_string()))
            .unwrap();
        assert_eq!(c.server.backend, SearchBackend::OpenSearch);
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("opensearch.url"), "{err}");
        c.opensearch.url = "http://127.0.0.1:9200".into();
        c.validate().unwrap();
        c.server.watch = true;
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("server.watch")
        );
        let mut c = Config::default();
        assert!(
            c.apply_env(|k| (k == "KIJI_BACKEND").then(|| "elastic".to_string()))
                .is_err()
        );
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
