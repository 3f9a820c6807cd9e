//! The cost of kiji's searches as `bench/run.sh` sends them, for callgrind
//! (instruction counts stay put on a shared machine; wall clock does not).
//!
//! ```sh
//! cargo build --release --example search_cost
//! B=$CARGO_TARGET_DIR/release/examples/search_cost
//! $B --build /tmp/sc/index                 # ingest the Wikinews corpus once (not measured)
//! valgrind --tool=callgrind --callgrind-out-file=cg.none $B --index /tmp/sc/index --rounds 0
//! valgrind --tool=callgrind --callgrind-out-file=cg.all  $B --index /tmp/sc/index
//! $B --index /tmp/sc/index --dump hits.jsonl   # every response's hits, to diff two builds
//! ```
//!
//! Each round sends the 42 queries of `bench/queries.txt` through the call
//! the HTTP handler makes (`SearchRequest::from_pairs` + `Engine::search`,
//! `limit=10&fragments=1` as `bench/bench.py` asks) and serialises the
//! response to JSON as the handler does; 6 rounds by default (252 searches).
//! The searches cost the total of the default run less that of
//! `--rounds 0` (open the index, load the dictionary, read the queries).

use std::io::Write;

// The server's allocator (`src/main.rs`): allocation is part of a search's cost.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::sync::Arc;

use kiji::config::Config;
use kiji::index::{Store, Writer};
use kiji::search::{Engine, SearchRequest};

/// The cost of kiji's searches as `bench/run.sh` sends them.
#[derive(clap::Parser)]
struct Args {
    /// The Wikinews corpus (default: $KIJI_WIKINEWS, else ../shared/corpus/wikinews/articles.jsonl).
    #[arg(long, env = "KIJI_WIKINEWS", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/wikinews/articles.jsonl"))]
    corpus: PathBuf,
    /// The queries, one a line.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/queries.txt"))]
    queries: PathBuf,
    /// Ingest the corpus into a new index here, then stop.
    #[arg(long)]
    build: Option<PathBuf>,
    /// The index to search.
    #[arg(long)]
    index: Option<PathBuf>,
    /// Rounds over all the queries.
    #[arg(long, default_value_t = 6)]
    rounds: usize,
    /// Write every response's hits here (JSON Lines).
    #[arg(long)]
    dump: Option<PathBuf>,
}

/// Ingests the corpus into a new index at `path` (as `kiji ingest` does:
/// batches of 256, one commit at the end).
fn build(config: &Config, corpus: &std::path::Path, path: &std::path::Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        !path.exists(),
        "{} exists: --build makes a new index",
        path.display()
    );
    let bytes = std::fs::read(corpus)?;
    let articles: Vec<_> = kiji::article::parse_bytes(kiji::article::Format::JsonLines, &bytes, "")
        .into_iter()
        .filter_map(|r| r.ok())
        .collect();
    let mut store = Store::open(path, config.analyzer()?)?;
    store.dedup = config.dedup();
    let mut writer = Writer::new(&store, config.index.writer_memory_mb)?;
    let n = articles.len();
    for batch in articles.chunks(256) {
        writer.upsert_many(&store, batch.to_vec(), None)?;
    }
    writer.commit(&store)?;
    writer.close()?;
    eprintln!("indexed {n} articles into {}", path.display());
    Ok(())
}

/// The searches (kept out of line: `--toggle-collect=*run_queries*` works too).
#[inline(never)]
fn run_queries(
    engine: &Engine,
    queries: &[String],
    rounds: usize,
    mut dump: Option<&mut dyn Write>,
) -> anyhow::Result<(usize, usize)> {
    let (mut hits, mut bytes) = (0, 0);
    for _ in 0..rounds {
        for q in queries {
            let pairs = [
                ("q".to_string(), q.clone()),
                ("limit".to_string(), "10".to_string()),
                ("fragments".to_string(), "1".to_string()),
            ];
            let r = SearchRequest::from_pairs(&pairs, &[])?;
            let response = engine.search(&r)?;
            let json = serde_json::to_vec(&response)?;
            hits += response.hits.len();
            bytes += json.len();
            if let Some(out) = dump.as_deref_mut() {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"q": q, "total": response.total, "hits": response.hits})
                )?;
            }
        }
        // Only the first round is written.
        dump = None;
    }
    Ok((hits, bytes))
}

fn main() -> anyhow::Result<()> {
    let args = <Args as clap::Parser>::parse();
    let config = Config::default();
    if let Some(path) = &args.build {
        return build(&config, &args.corpus, path);
    }
    let Some(path) = &args.index else {
        anyhow::bail!("give --build PATH (make an index) or --index PATH (search it)");
    };
    let queries: Vec<String> = std::fs::read_to_string(&args.queries)?
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let store = Arc::new(Store::open(path, config.analyzer()?)?);
    anyhow::ensure!(
        store.doc_count() > 0,
        "{} holds no articles",
        path.display()
    );
    let engine = Engine::new(store, config.ranking());
    let mut file = match &args.dump {
        Some(p) => Some(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => None,
    };
    let (hits, bytes) = run_queries(
        &engine,
        &queries,
        args.rounds,
        file.as_mut().map(|f| f as &mut dyn Write),
    )?;
    println!(
        "{} searches ({} queries × {} rounds): {hits} hits, {bytes} bytes of JSON",
        queries.len() * args.rounds,
        queries.len(),
        args.rounds
    );
    Ok(())
}
