#!/bin/bash
# bench/quality.sh — search quality on ../shared/eval's retrieval development sets (writes bench/QUALITY.md).
# Builds kiji (release) unless KIJI_BIN is set, then runs bench/quality.py; extra arguments go to it
# (e.g. --param min_match=75%, --no-write). Not part of CI: it needs ../shared/eval. About 2 minutes.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${KIJI_BIN:-}" ]; then
  (cd "$REPO" && cargo build --release --bin kiji)
  export KIJI_BIN="$REPO/target/release/kiji"
fi
exec python3 "$REPO/bench/quality.py" "$@"
