//! The `kiji` command line: ingest, analyze, search, serve.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use kiji::config::Config;
use kiji::index::{Store, Writer};
use kiji::ingest::{self, IngestReport, Progress};

/// mimalloc: the analysis and the per-hit work allocate many small strings;
/// glibc malloc took 10–15 % of ingest and query time in `perf` profiles.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// kiji (記事): search archives of Japanese news by keyword and by entity.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file (default: ./config.toml when present, else built-in defaults).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Index folder (overrides the config's index.path).
    #[arg(long, global = true, value_name = "DIR", env = "KIJI_INDEX")]
    index: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ingest article files and folders (default: the corpus folder of the config).
    Ingest {
        /// Files (.txt, .json, .jsonl, .ndjson) and folders.
        paths: Vec<PathBuf>,
        /// Re-extract the entities of every stored article (after the gazetteer changed).
        #[arg(long, conflicts_with_all = ["paths", "server", "json"])]
        reanalyze: bool,
        /// Hand the articles to a running `kiji serve` at this URL instead of
        /// writing the index directly (needs the server's API token).
        #[arg(long, value_name = "URL")]
        server: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Analyse Japanese text from standard input; prints tokens and entities as JSON.
    Analyze {
        /// Print instead what kiji searches in each line of the input: the
        /// line NFKC-normalised, lower-cased and with spelling variants
        /// folded (one line out per line in; send JSON strings to keep
        /// line breaks).
        #[arg(long)]
        normalize: bool,
        /// Read one sentence a line (a JSON object with "text", a JSON
        /// string, or plain text) and print one line of entities for each:
        /// `{"entities":[{"start","end","type","text"}]}`, code points (the
        /// prediction format of `eval-entities` and `score_ner.py`).
        #[arg(long, conflicts_with = "normalize")]
        jsonl: bool,
    },
    /// Score kiji's entities against a gold JSONL file
    /// (`{"text","entities":[{"start","end","type"}],"ignore":[…]}` a line):
    /// prints the EXACT and PARTIAL tables of `score_ner.py`.
    EvalEntities {
        gold: PathBuf,
        /// Also write the predictions (one JSON line per sentence) here.
        #[arg(long, value_name = "FILE")]
        pred_out: Option<PathBuf>,
    },
    /// Search the index from the terminal.
    Search {
        /// The query (same syntax as GET /search?q=).
        query: Option<String>,
        /// Entity filter (canonical name or alias); repeatable.
        #[arg(long)]
        entity: Vec<String>,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        /// Print the JSON response instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Export to an OpenSearch cluster (see docs/scale-out.md).
    Opensearch {
        #[command(subcommand)]
        command: OpenSearchCommand,
    },
    /// Serve the REST API (ingests the corpus first when the index is empty).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR:PORT")]
        bind: Option<String>,
        /// Watch the corpus folder and ingest new or changed files.
        #[arg(long)]
        watch: bool,
        /// What answers searches: `local` (kiji's index) or `opensearch`
        /// (the alias of `[opensearch]`; see docs/scale-out.md).
        #[arg(long, value_name = "local|opensearch")]
        backend: Option<String>,
    },
}

#[derive(Subcommand)]
enum OpenSearchCommand {
    /// Print the index template generated from the configuration (JSON).
    Template {
        /// Write it to this file instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Send the local index to the cluster: a full rebuild into a new
    /// versioned index and an atomic alias swap (first delivers what the
    /// outbox holds).
    Push {
        /// The cluster's base URL (default: opensearch.url of the config).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// The alias to (re)build (default: opensearch.alias). The index
        /// behind it is `<alias>-v<UTC time>`.
        #[arg(long, value_name = "NAME")]
        alias: Option<String>,
        /// Upsert every article into the index behind the alias instead of
        /// rebuilding (articles deleted locally stay in the cluster).
        #[arg(long)]
        incremental: bool,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The log filter of `KIJI_LOG` (default `info,tantivy=warn`) and whether
/// `KIJI_LOG_FORMAT` asks for JSON; a value that would silently log nothing
/// or something else than asked (`KIJI_LOG=verbose`, `KIJI_LOG_FORMAT=xml`)
/// is an error that names the variable.
fn log_settings() -> Result<(tracing_subscriber::EnvFilter, bool), String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let filter = match std::env::var("KIJI_LOG") {
        Err(_) => tracing_subscriber::EnvFilter::new("info,tantivy=warn"),
        Ok(v) => {
            // A bare word is a target, not a level: `verbose` would log
            // only a target of that name, that is nothing.
            let bare = |d: &str| {
                let d = d.trim();
                !d.is_empty()
                    && !d.contains(['=', ':', '['])
                    && !LEVELS.contains(&d.to_ascii_lowercase().as_str())
            };
            if v.split(',').any(bare) {
                return Err(format!(
                    "KIJI_LOG={v:?}: use a level ({}) or tracing directives (info,kiji=debug)",
                    LEVELS.join(", ")
                ));
            }
            tracing_subscriber::EnvFilter::try_new(&v)
                .map_err(|e| format!("KIJI_LOG={v:?}: {e}"))?
        }
    };
    let json = match std::env::var("KIJI_LOG_FORMAT") {
        Err(_) => false,
        Ok(v) => match v.trim().to_ascii_lowercase().as_str() {
            "json" => true,
            "text" | "plain" | "" => false,
            _ => return Err(format!("KIJI_LOG_FORMAT={v:?}: use text or json")),
        },
    };
    Ok((filter, json))
}

fn main() -> ExitCode {
    let (filter, json) = match log_settings() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a terminal only: a log file gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // KIJI_LOG_FORMAT=json: one JSON object a line (the access log among them).
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    for (name, near) in
        Config::unknown_env_vars(std::env::vars_os().filter_map(|(k, _)| k.into_string().ok()))
    {
        match near {
            Some(k) => tracing::warn!(
                "{name} is not a variable kiji reads (did you mean {k}?); it is ignored"
            ),
            None => tracing::warn!(
                "{name} is not a variable kiji reads; it is ignored (the list: README, Configuration)"
            ),
        }
    }
    let mut config = Config::load(cli.config.as_deref(), |k| std::env::var(k).ok())?;
    if let Some(index) = cli.index {
        config.index.path = index;
    }
    if let Command::Opensearch {
        command: OpenSearchCommand::Push { url, alias, .. },
    } = &cli.command
    {
        if let Some(u) = url {
            config.opensearch.url = u.clone();
        }
        if let Some(a) = alias {
            config.opensearch.alias = a.clone();
        }
    }
    if let Command::Serve {
        bind,
        watch,
        backend,
    } = &cli.command
    {
        if let Some(b) = bind {
            config.server.bind = b.clone();
        }
        config.server.watch |= *watch;
        if let Some(b) = backend {
            config.server.backend = kiji::config::SearchBackend::parse(b)?;
        }
    }
    config.validate()?;
    if matches!(
        cli.command,
        Command::Search { .. } | Command::Analyze { .. } | Command::EvalEntities { .. }
    ) {
        // Output piped into `head` ends quietly when the reader goes, as
        // for any Unix filter, instead of a panic at the next print. (Not
        // for the server or the HTTP client: their sockets need EPIPE.)
        // SAFETY: setting a signal's disposition to the default, before any
        // thread is started.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let reads_index = match &cli.command {
        Command::Search { .. } => true,
        Command::Ingest { reanalyze, .. } => *reanalyze,
        _ => false,
    };
    if reads_index && !config.index.path.join("meta.json").exists() {
        anyhow::bail!(
            "no index at {}: `kiji ingest` makes one (or give the right one with --index or KIJI_INDEX)",
            config.index.path.display()
        );
    }

    match cli.command {
        Command::Analyze { jsonl: true, .. } => {
            let analyzer = config.analyzer()?;
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for (n, line) in std::io::stdin().lock().lines().enumerate() {
                let line = line.context("standard input is not valid UTF-8 text")?;
                let text = match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(serde_json::Value::Object(o)) => match o.get("text") {
                        Some(serde_json::Value::String(t)) => t.clone(),
                        _ => anyhow::bail!(
                            "line {n} of standard input: a JSON object needs a string \"text\"",
                            n = n + 1
                        ),
                    },
                    Ok(serde_json::Value::String(t)) => t,
                    _ => line,
                };
                let entities = analyzer.entities(&text);
                writeln!(out, "{}", serde_json::json!({ "entities": entities }))?;
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::EvalEntities { gold, pred_out } => {
            let analyzer = config.analyzer()?;
            let sentences = kiji::analysis::ner::gold::read_jsonl(&gold)?;
            let predicted = kiji::analysis::ner::gold::predict(&analyzer, &sentences);
            if let Some(path) = pred_out {
                let lines: Vec<String> = predicted
                    .iter()
                    .map(|p| serde_json::json!({ "entities": p }).to_string())
                    .collect();
                std::fs::write(&path, lines.join("\n") + "\n")
                    .with_context(|| format!("cannot write {}", path.display()))?;
            }
            let report = kiji::analysis::ner::gold::score(&sentences, &predicted);
            let model = analyzer
                .recognizer()
                .map(|r| format!("{} {} ({})", r.info().name, r.info().version, r.info().hash))
                .unwrap_or_else(|| "none".into());
            println!(
                "kiji (entity model: {model})  gold={}  sentences={}",
                gold.display(),
                report.sentences
            );
            print!("{}", report.render());
            Ok(ExitCode::SUCCESS)
        }
        Command::Analyze {
            normalize: true, ..
        } => {
            // One line out for each line in, at once (a caller may wait for it).
            let mut out = std::io::LineWriter::new(std::io::stdout().lock());
            for line in std::io::stdin().lock().lines() {
                let line = line.context("standard input is not valid UTF-8 text")?;
                writeln!(out, "{}", kiji::analysis::normalize::normalize_str(&line))?;
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Analyze {
            normalize: false, ..
        } => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("standard input is not valid UTF-8 text")?;
            let analyzer = config.analyzer()?;
            println!("{}", serde_json::to_string(&analyzer.analyze(&text))?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest {
            paths,
            reanalyze,
            server,
            json,
        } => run_ingest(&config, paths, reanalyze, server, json),
        Command::Search {
            query,
            entity,
            limit,
            json,
        } => kiji_cli::search(&config, query, entity, limit, json),
        Command::Opensearch { command } => kiji_cli::opensearch(&config, command),
        Command::Serve { .. } => {
            server_allocator();
            kiji_cli::serve(config)
        }
    }
}

fn open_store(config: &Config) -> anyhow::Result<Store> {
    let analyzer = config.analyzer()?;
    let mut store = Store::open(&config.index.path, analyzer)?;
    store.dedup = config.dedup();
    store.max_merge_docs = config.index.max_merge_docs;
    Ok(store)
}

/// A progress bar on stderr when it is a terminal (or KIJI_PROGRESS=1).
struct Bar(ProgressBar);

impl Bar {
    fn new(bytes: bool) -> Bar {
        let visible =
            std::io::stderr().is_terminal() || std::env::var_os("KIJI_PROGRESS").is_some();
        let pb = if visible {
            ProgressBar::new(0)
        } else {
            ProgressBar::hidden()
        };
        let template = if bytes {
            "{spinner} [{elapsed_precise}] [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}"
        } else {
            "{spinner} [{elapsed_precise}] [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})"
        };
        pb.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Bar(pb)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
    fn file(&self, path: &Path) {
        self.0.set_message(
            path.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
        );
    }
}

/// `kiji ingest` keeps its memory lean: no transparent huge pages for its
/// heap (see [`no_huge_pages`]), and mimalloc gives freed memory back to the
/// system at once (not a second later) and commits arenas as they are used.
/// The ingest frees analysis buffers batch after batch: its peak RSS over
/// the Wikinews corpus drops from about 230 to 150 MB at the same speed.
fn lean_allocator() {
    no_huge_pages();
    allocator_options_off(&[ARENA_EAGER_COMMIT, PURGE_DELAY]);
}

/// The server keeps mimalloc's second of delay before freed memory goes
/// back to the system (its requests reuse it; at once cost co-occurrence
/// requests about a quarter more time), but takes no transparent huge
/// pages either: with them, a server on a 1M-article index held about
/// 200 MB of anonymous memory after a round of analytics requests, against
/// about 120 MB without, at the same latencies.
fn server_allocator() {
    no_huge_pages();
}

/// No transparent huge pages for this process's heap: a 2 MB page touched
/// in part counts whole in the RSS, and while they are allowed mimalloc
/// purges freed memory only in pieces of 2 MB (its `minimal_purge_size`).
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes an integer flag and touches no memory.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

// The option numbers of `mi_option_e` in the mimalloc (v3) that
// libmimalloc-sys 0.1.49 builds (its `mimalloc.h`), with their defaults;
// the crate names neither constant.
const ARENA_EAGER_COMMIT: (libmimalloc_sys::mi_option_t, std::ffi::c_long) = (4, 2);
const PURGE_DELAY: (libmimalloc_sys::mi_option_t, std::ffi::c_long) = (15, 1000);

/// Sets each of `options` to 0 while it holds its default: another
/// numbering, or the user's own MIMALLOC_* setting, is left alone.
fn allocator_options_off(options: &[(libmimalloc_sys::mi_option_t, std::ffi::c_long)]) {
    for &(option, default) in options {
        // SAFETY: reading and setting an option is allowed at any time;
        // these are read when an arena is reserved and when freed pages are
        // purged.
        unsafe {
            if libmimalloc_sys::mi_option_get(option) == default {
                libmimalloc_sys::mi_option_set(option, 0);
            }
        }
    }
}

fn run_ingest(
    config: &Config,
    paths: Vec<PathBuf>,
    reanalyze: bool,
    server: Option<String>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let paths = if paths.is_empty() {
        // (`--reanalyze` reads the index's own articles: no corpus needed.)
        if !reanalyze && !config.corpus.path.exists() {
            anyhow::bail!(
                "nothing to ingest: no corpus folder at {} (give files or folders, or set corpus.path or KIJI_CORPUS)",
                config.corpus.path.display()
            );
        }
        vec![config.corpus.path.clone()]
    } else {
        paths
    };
    if let Some(url) = server {
        return kiji_cli::ingest_via_server(config, &url, &paths, json);
    }
    lean_allocator();
    let analyzer = config.analyzer()?;
    let store = match Store::open(&config.index.path, analyzer.clone()) {
        Ok(mut store) => {
            store.dedup = config.dedup();
            store.max_merge_docs = config.index.max_merge_docs;
            store.doc_store_cache_budget = kiji::index::WRITER_DOC_STORE_CACHE_BUDGET;
            store.expect_long_reads();
            store
        }
        Err(kiji::Error::IndexFormat { path }) if reanalyze => {
            eprintln!(
                "rebuilding the index at {} for this version of kiji",
                path.display()
            );
            let bar = Bar::new(false);
            let n = kiji::index::rebuild::rebuild(
                &path,
                analyzer,
                config.dedup(),
                config.index.writer_memory_mb,
                &mut |p| match p {
                    kiji::index::rebuild::Progress::Total(n) => bar.0.set_length(n),
                    kiji::index::rebuild::Progress::Done(n) => bar.0.inc(n),
                },
            )?;
            bar.0.finish_and_clear();
            eprintln!("rebuilt: {n} articles analysed again");
            return Ok(ExitCode::SUCCESS);
        }
        other => other?,
    };
    // The index pages the ingest reads leave its resident set as it goes
    // (those of the doc stores, which merges copy whole, every 10 ms).
    let ms = std::time::Duration::from_millis;
    let _release = store.release_mapped_every(ms(250), ms(10));
    if !reanalyze && let Some((before, now)) = store.analysis_change() {
        tracing::warn!(
            "some of the index's articles were analysed with {before}; this ingest analyses new and changed articles with {now}: run `kiji ingest --reanalyze` to bring every article up to it"
        );
    }
    let mut writer = Writer::new(&store, config.index.writer_memory_mb)?;
    if reanalyze {
        let bar = Bar::new(false);
        let n = ingest::reanalyze(&store, &mut writer, &bar)?;
        bar.0.finish_and_clear();
        writer.close()?;
        finish_segments(store);
        eprintln!("analysed again: {n} articles rewritten (entities, duplicate groups)");
        return Ok(ExitCode::SUCCESS);
    }
    let mut report = IngestReport::default();
    let files = ingest::collect_files(&paths, &mut report);
    let bar = Bar::new(true);
    let started = std::time::Instant::now();
    let result = ingest::ingest_files(
        &store,
        &mut writer,
        &files,
        &config.limits,
        &bar,
        &mut report,
    );
    bar.0.finish_and_clear();
    result?;
    writer.close()?;
    finish_segments(store);
    let secs = started.elapsed().as_secs_f64();
    print_report(&report, secs, json)?;
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The end of a batch ingest: merges the small segments it left
/// (`kiji::index::merge::finish`), saying so when it does. Takes the store:
/// its searchers go first, so that the merged segments' files can (the
/// caller's releaser of mapped pages runs on: the merge reads through the
/// same directory). The articles are committed already: a merge that
/// fails is a warning.
fn finish_segments(store: Store) {
    let started = std::time::Instant::now();
    let (index, max_docs) = (store.index.clone(), store.max_merge_docs);
    drop(store);
    let done = match kiji::index::merge::finish(&index, max_docs) {
        Ok(done) => done,
        Err(e) => {
            eprintln!(
                "warning: every article is in, but merging the small segments the ingest left failed: {e}"
            );
            return;
        }
    };
    let (before, after) = done.segments;
    if done.merged_segments > 0 {
        eprintln!(
            "merged {} small segments into {} ({} articles, {:.1} s): the index has {after} segment{}",
            done.merged_segments,
            done.merged_segments + after - before,
            done.merged_docs,
            started.elapsed().as_secs_f64(),
            if after == 1 { "" } else { "s" }
        );
    }
}

fn print_report(report: &IngestReport, secs: f64, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    for r in &report.rejected {
        match r.line {
            Some(l) => eprintln!("rejected: {}:{l}: {}", r.file, r.reason),
            None => eprintln!("rejected: {}: {}", r.file, r.reason),
        }
    }
    if !report.skipped_files.is_empty() {
        eprintln!(
            "skipped {} file(s) (hidden, not .txt/.json/.jsonl/.ndjson, or the same file as another): {}",
            report.skipped_files.len(),
            report.skipped_files.join(", ")
        );
    }
    println!(
        "{} ({} files, {:.1} MB in {:.1} s)",
        report.summary(),
        report.files,
        report.bytes as f64 / 1e6,
        secs
    );
    Ok(())
}

mod kiji_cli {
    use super::*;
    use actix_web::web;
    use kiji::article::Article;
    use kiji::http::AppState;
    use kiji::search::SearchRequest;

    pub fn search(
        config: &Config,
        q: Option<String>,
        entity: Vec<String>,
        limit: usize,
        json: bool,
    ) -> anyhow::Result<ExitCode> {
        let search = kiji::search::Engine::new(Arc::new(open_store(config)?), config.ranking());
        let color = std::io::stdout().is_terminal() && !json;
        let mut pairs = vec![("limit".to_string(), limit.to_string())];
        if let Some(q) = q {
            pairs.push(("q".into(), q));
        }
        for e in entity {
            pairs.push(("entity".into(), e));
        }
        if !json {
            let (pre, post) = if color {
                ("\x1b[1;31m", "\x1b[0m")
            } else {
                ("【", "】")
            };
            pairs.push(("pre_tag".into(), pre.into()));
            pairs.push(("post_tag".into(), post.into()));
        }
        let request = SearchRequest::from_pairs(&pairs, &[])?;
        let response = search.search(&request)?;
        if json {
            println!("{}", serde_json::to_string_pretty(&response)?);
            return Ok(ExitCode::SUCCESS);
        }
        println!("{} articles ({:.1} ms)", response.total, response.took_ms);
        for hit in &response.hits {
            let date = hit
                .published
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default();
            println!("\n{}  {}  [{}]", date, render(&hit.title_html), hit.id);
            for s in &hit.snippets {
                println!("  … {}", render(&s.html));
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    /// The highlighted HTML of a snippet, unescaped for the terminal.
    fn render(html: &str) -> String {
        html.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
    }

    /// The file in an index folder that says its first ingest of the corpus
    /// has not ended.
    const FIRST_INGEST_MARK: &str = "first-ingest.unfinished";

    /// Seconds the requests in flight get to finish when the server stops.
    const SHUTDOWN_SECS: u64 = 30;

    pub fn serve(config: Config) -> anyhow::Result<ExitCode> {
        let addr = config.bind_addr()?;
        let store = Arc::new(open_store(&config)?);
        let mut writer = Writer::new(&store, config.index.writer_memory_mb)?;
        let remote = config.server.backend == kiji::config::SearchBackend::OpenSearch;
        if !remote && let Some((before, now)) = store.analysis_change() {
            tracing::warn!(
                "some of the index's articles were analysed with {before}; articles written now are analysed with {now}: run `kiji ingest --reanalyze` (server stopped) to bring every article up to it"
            );
        }
        // The first ingest of the corpus leaves a mark until it has ended:
        // a start after an interrupted one ingests the corpus again (what
        // is in already is unchanged) instead of serving part of it.
        let unfinished = config.index.path.join(FIRST_INGEST_MARK);
        let resume = unfinished.exists();
        if !remote && store.doc_count() == 0 && !config.corpus.path.is_dir() {
            tracing::warn!(
                corpus = %config.corpus.path.display(),
                "the index is empty and there is no corpus folder to ingest first (corpus.path, KIJI_CORPUS)"
            );
        }
        if !remote && (store.doc_count() == 0 || resume) && config.corpus.path.is_dir() {
            if resume {
                tracing::warn!(corpus = %config.corpus.path.display(), "the first ingest of the corpus did not finish: ingesting the corpus again");
            } else {
                tracing::info!(corpus = %config.corpus.path.display(), "the index is empty: ingesting the corpus first");
            }
            std::fs::write(&unfinished, config.corpus.path.display().to_string())
                .with_context(|| format!("cannot write {}", unfinished.display()))?;
            let mut report = IngestReport::default();
            let files =
                ingest::collect_files(std::slice::from_ref(&config.corpus.path), &mut report);
            ingest::ingest_files(
                &store,
                &mut writer,
                &files,
                &config.limits,
                &ingest::Quiet,
                &mut report,
            )?;
            for r in &report.rejected {
                tracing::warn!(file = %r.file, line = r.line.unwrap_or(0), reason = %r.reason, "rejected");
            }
            tracing::info!("{}", report.summary());
            std::fs::remove_file(&unfinished)
                .with_context(|| format!("cannot remove {}", unfinished.display()))?;
        }
        let config = Arc::new(config);
        let mut state = AppState::new(store.clone(), writer, config.clone());
        if remote {
            let search = kiji::opensearch::RemoteSearch::new(
                &config.opensearch,
                store.analyzer.clone(),
                config.ranking(),
            )?;
            tracing::info!(url = %config.opensearch.url, alias = %search.alias(), "searches are answered by the OpenSearch cluster");
            // Checked once, without retries: the server starts anyway (the
            // cluster may come up later), but says now what is wrong.
            match search.check() {
                Ok(n) => tracing::info!(documents = n, "the cluster answers"),
                Err(e) => tracing::warn!(
                    url = %config.opensearch.url,
                    "the OpenSearch cluster cannot be searched: {e}; searches answer 503 backend_unavailable until it can"
                ),
            }
            state = state.with_remote(search);
        }
        let state = web::Data::new(state);
        if state.config.server.watch {
            kiji::watch::spawn(
                state.clone().into_inner(),
                state.config.corpus.path.clone(),
                std::time::Duration::from_secs(2),
            );
        }
        let server_state = state.clone();
        let limits = state.config.limits.clone();
        actix_web::rt::System::new().block_on(async move {
            let server = actix_web::HttpServer::new(move || kiji::http::app(server_state.clone()))
                .client_request_timeout(std::time::Duration::from_secs(limits.request_timeout_secs))
                .bind(addr)
                .with_context(|| format!("cannot listen on {addr}"))?
                .shutdown_timeout(SHUTDOWN_SECS)
                .disable_signals();
            // The address bound (port 0 asks the system for a free one).
            let bound = server.addrs().first().copied().unwrap_or(addr);
            let server = server.run();
            // Ctrl-C and SIGTERM both stop gracefully: the requests in flight
            // (a POST being read) finish first. actix's own handling of
            // SIGINT stopped at once and dropped them unanswered.
            let handle = server.handle();
            actix_web::rt::spawn(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut term) = signal(SignalKind::terminate()) else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                tracing::info!(
                    "stopping: the requests in flight finish first (at most {SHUTDOWN_SECS} s)"
                );
                handle.stop(true).await;
            });
            tracing::info!(
                documents = store.doc_count(),
                writes = state.config.writes_enabled(),
                "kiji listening on http://{bound}"
            );
            server.await.context("the HTTP server failed")
        })?;
        // In-flight requests have finished; every write was committed when it was acknowledged.
        tracing::info!("stopped");
        Ok(ExitCode::SUCCESS)
    }

    pub fn opensearch(config: &Config, command: OpenSearchCommand) -> anyhow::Result<ExitCode> {
        use kiji::opensearch::{Provenance, Sink, template};
        let analyzer = config.analyzer()?;
        let tpl = template::index_template(&config.opensearch, &analyzer);
        match command {
            OpenSearchCommand::Template { out } => {
                let text = serde_json::to_string_pretty(&tpl)? + "\n";
                match out {
                    Some(path) => std::fs::write(&path, text)
                        .with_context(|| format!("cannot write {}", path.display()))?,
                    None => {
                        use std::io::Write;
                        match std::io::stdout().lock().write_all(text.as_bytes()) {
                            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                                return Err(e).context("cannot write to standard output");
                            }
                            _ => {}
                        }
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            OpenSearchCommand::Push {
                incremental, json, ..
            } => {
                let url = config.opensearch.url.trim();
                if url.is_empty() {
                    bail!("no cluster: give --url URL (or opensearch.url / KIJI_OPENSEARCH_URL)");
                }
                let store = Store::open(&config.index.path, analyzer.clone())?;
                let sink = Sink::new(url, &config.opensearch, Provenance::of(&analyzer))?;
                let report = kiji::opensearch::push(&store, &sink, &tpl, incremental)?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    for r in report.rejected() {
                        eprintln!("rejected: {} ({}): {}", r.id, r.op, r.reason);
                    }
                    println!("{}", report.summary(sink.alias()));
                }
                if let Some(e) = report.stopped() {
                    eprintln!(
                        "error: {e}; the writes wait in {}",
                        sink.outbox().path().display()
                    );
                    return Ok(ExitCode::from(2));
                }
                Ok(if report.rejected().is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                })
            }
        }
    }

    /// What the server had acknowledged when a `kiji ingest --server` stopped.
    fn acknowledged(report: &IngestReport) -> String {
        format!(
            " (stopped; acknowledged before: {} added, {} updated, {} unchanged)",
            report.added, report.updated, report.unchanged
        )
    }

    pub fn ingest_via_server(
        config: &Config,
        url: &str,
        paths: &[PathBuf],
        json: bool,
    ) -> anyhow::Result<ExitCode> {
        let token = config.api_token().context(
            "--server needs the server's API token: set KIJI_API_TOKEN (or server.api_token)",
        )?;
        let endpoint = format!("{}/articles", url.trim_end_matches('/'));
        let mut report = IngestReport::default();
        let files = ingest::collect_files(paths, &mut report);
        let started = std::time::Instant::now();
        let bar = Bar::new(false);
        // The same reading path as `kiji ingest`; the server checks each batch again.
        ingest::read_files(
            &files,
            &config.limits,
            500,
            &ingest::Quiet,
            &mut report,
            &mut Default::default(),
            |file, batch, report| {
                // A batch goes in requests of at most `limits.body_bytes`
                // (the server's limit, when the two share a configuration);
                // a request the server still finds too large (413) is split
                // in two and sent again, down to one article.
                let limit = config.limits.body_bytes;
                let mut pending = vec![(0, batch.len())];
                while let Some((from, to)) = pending.pop() {
                    let part = &batch[from..to];
                    let articles: Vec<&Article> = part.iter().map(|s| &s.article).collect();
                    let body = serde_json::to_vec(&articles).map_err(|e| {
                        kiji::Error::Corrupt(format!("cannot serialise a batch: {e}"))
                    })?;
                    let split = |pending: &mut Vec<(usize, usize)>| {
                        let mid = from + (to - from) / 2;
                        pending.extend([(mid, to), (from, mid)]);
                    };
                    if body.len() > limit && part.len() > 1 {
                        split(&mut pending);
                        continue;
                    }
                    let response = ureq::post(&endpoint)
                        .set("Authorization", &format!("Bearer {token}"))
                        .set("Content-Type", "application/json")
                        .send_bytes(&body);
                    let body: serde_json::Value = match response {
                        Err(ureq::Error::Status(413, _)) if part.len() > 1 => {
                            split(&mut pending);
                            continue;
                        }
                        Ok(r) => r.into_json()?,
                        Err(ureq::Error::Status(code, r))
                            if code < 500 && code != 401 && code != 403 =>
                        {
                            // The server refused these articles as a whole (its limits
                            // may be stricter).
                            let text = r.into_string().unwrap_or_default();
                            let api_code = serde_json::from_str::<serde_json::Value>(&text)
                                .ok()
                                .and_then(|v| v["error"]["code"].as_str().map(str::to_string))
                                .unwrap_or_else(|| format!("http_{code}"));
                            for s in part {
                                report.rejected.push(kiji::article::Rejection {
                                    file: file.to_string(),
                                    line: s.line,
                                    code: api_code.clone(),
                                    reason: format!("{endpoint} answered {code}: {text}"),
                                });
                            }
                            bar.advance(part.len() as u64);
                            continue;
                        }
                        Err(ureq::Error::Status(code, r)) => {
                            let text = r.into_string().unwrap_or_default();
                            return Err(kiji::Error::Io(std::io::Error::other(format!(
                                "{endpoint} answered {code}: {text}{}",
                                acknowledged(report)
                            ))));
                        }
                        Err(e) => {
                            return Err(kiji::Error::Io(std::io::Error::other(format!(
                                "cannot reach {endpoint}: {e}{}",
                                acknowledged(report)
                            ))));
                        }
                    };
                    let n = |k: &str| body[k].as_array().map(|a| a.len()).unwrap_or(0);
                    report.added += n("added");
                    report.updated += n("updated");
                    report.unchanged += n("unchanged");
                    for r in body["rejected"].as_array().into_iter().flatten() {
                        let at = r["position"].as_u64().unwrap_or(0) as usize;
                        report.rejected.push(kiji::article::Rejection {
                            file: file.to_string(),
                            line: part.get(at.wrapping_sub(1)).and_then(|s| s.line),
                            code: r["code"].as_str().unwrap_or("rejected").to_string(),
                            reason: r["message"].as_str().unwrap_or("rejected").to_string(),
                        });
                    }
                    bar.advance(part.len() as u64);
                }
                Ok(())
            },
        )?;
        bar.0.finish_and_clear();
        print_report(&report, started.elapsed().as_secs_f64(), json)?;
        Ok(if report.rejected.is_empty() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        })
    }
}
