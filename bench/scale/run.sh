#!/bin/bash
# bench/scale/run.sh — kiji at 100k / 300k / 1M generated articles, Groonga TokenMecab beside it at the
# largest size; writes bench/SCALE.md. Needs ../shared/corpus/wikinews (the sentence source), Groonga
# (installed when missing, bench/tools.sh) and ~15 GB free in BENCH_SCRATCH (default /tmp/kiji-scale). Takes about
# half an hour on 2 cores (plus about a minute to generate the corpora the first time). Env: see bench/scale/scale.py
# (SCALE_SIZES="10000 30000" for a quick try).
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# Groonga and the tools, before half an hour of kiji runs (only when missing).
source "$REPO/bench/tools.sh"
if [ -z "${KIJI_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release --bin kiji)
  export KIJI_BIN="$REPO/target/release/kiji"
fi
exec python3 "$REPO/bench/scale/scale.py" "$@"
