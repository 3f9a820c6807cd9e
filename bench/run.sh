#!/bin/bash
# bench/run.sh — side-by-side benchmark of kiji against Groonga 13 (TokenMecab and TokenBigram,
# both NormalizerNFKC150) on this machine, loopback only, in one run:
#   ingest ×5 (median; kiji also with detection off at 1×), query latency (median/p99, persistent HTTP), wrk throughput (-t2 -c16 -d10s),
#   hit-count / highlight correctness on bench/queries.txt, and a 1×/4×/16× scale curve.
# Writes bench/RESULTS.md (raw results.json stays in /tmp/bench: its snippets quote the corpus); indexes, DBs and scaled corpora go to /tmp/bench.
# Installs what is missing (apt: groonga-bin groonga-tokenizer-mecab mecab-ipadic-utf8 wrk) and
# builds kiji in target/bench-build. Takes ~4 min on 2 cores once kiji is built (first build ~10 min more),
# plus up to QUIET_WAIT s (default 300) waiting for the machine to go idle.
# Usage: bench/run.sh     Env: KIJI_WIKINEWS=corpus.jsonl, QUIET_WAIT=300, BENCH_REPS=5, BENCH_ROUNDS=30,
#        BENCH_SCALES="1 4 16", BENCH_SCALE_REPS=1, BENCH_SCALE_ROUNDS=15, BENCH_WRK_ROUNDS=3,
#        KIJI_BIN=prebuilt binary.
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
export BENCH_RUN_T0=$(date +%s.%N)
export BENCH_SCRATCH=${BENCH_SCRATCH:-/tmp/bench}
export KIJI_WIKINEWS=${KIJI_WIKINEWS:-$REPO/../shared/corpus/wikinews/articles.jsonl}
PY=/usr/bin/python3; [ -x $PY ] || PY=python3

[ -r "$KIJI_WIKINEWS" ] || { echo "corpus not found: $KIJI_WIKINEWS" >&2; exit 1; }

# 1. tools (Debian packages), only when missing
source "$BENCH/tools.sh"

# 2. kiji, release build in its own target dir (does not block other builds of the repo)
if [ -z "${KIJI_BIN:-}" ]; then
  (cd "$REPO" && CARGO_TARGET_DIR="$REPO/target/bench-build" cargo build --release --bin kiji)
  export KIJI_BIN="$REPO/target/bench-build/release/kiji"
fi
# The servers run in a scratch folder: a relative KIJI_BIN must not break.
KIJI_BIN=$(realpath "$KIJI_BIN") || { echo "KIJI_BIN not found" >&2; exit 1; }
export KIJI_BIN
"$KIJI_BIN" --version

# 3. fresh scratch space (scaled corpora are kept and reused when still newer than the source corpus)
mkdir -p "$BENCH_SCRATCH"
rm -rf "$BENCH_SCRATCH/db" "$BENCH_SCRATCH/logs"

# 4. wait for an idle machine (other sessions compile here); continue anyway after QUIET_WAIT s
if q=$("$BENCH/wait_quiet.sh" "${QUIET_WAIT:-300}" | tee /dev/stderr | tail -1); then
  export BENCH_QUIET_RESULT="machine idle before start ($q)"
else
  export BENCH_QUIET_RESULT="machine still busy after ${QUIET_WAIT:-300} s ($q), ran anyway"
fi
echo "$BENCH_QUIET_RESULT"

# 5. measure (bench.py stops every server it started, also on failure) and write the report
$PY "$BENCH/bench.py"
$PY "$BENCH/report.py" > /dev/null
echo "wrote $BENCH/RESULTS.md ($(( $(date +%s) - ${BENCH_RUN_T0%.*} )) s)"
