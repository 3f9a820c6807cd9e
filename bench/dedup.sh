#!/bin/bash
# bench/dedup.sh — near-duplicate detection on syndicated copies of the Wikinews corpus.
# Writes bench/DEDUP.md: pair precision / recall of kiji's duplicate groups (seed 16, 300
# originals copied 1–3 times each by kiji::dedup::synth, the whole corpus as distractors),
# all-pairs scores by threshold, groups joining different Wikinews articles, and the ingest
# cost with detection on vs off: wall clock in the same run (medians of 5 alternating runs of
# each), and callgrind instruction counts
# (stable on a shared machine) of ingesting the first CALLGRIND_LIMIT articles (default 600);
# then appends bench/DEDUP-notes.md, the hand-written part of the report.
# Usage: bench/dedup.sh   Env: KIJI_WIKINEWS=articles.jsonl, CALLGRIND_LIMIT=600, SKIP_CALLGRIND=1
set -euo pipefail
BENCH=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$BENCH")
cd "$REPO"
export KIJI_WIKINEWS=${KIJI_WIKINEWS:-$REPO/../shared/corpus/wikinews/articles.jsonl}
[ -r "$KIJI_WIKINEWS" ] || { echo "corpus not found: $KIJI_WIKINEWS" >&2; exit 1; }
LIMIT=${CALLGRIND_LIMIT:-600}
cargo build --release --example dedup_eval
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/examples/dedup_eval
OUT=$BENCH/DEDUP.md
"$BIN" > "$OUT.tmp"
if [ -z "${SKIP_CALLGRIND:-}" ] && command -v valgrind >/dev/null; then
  count() {
    local f; f=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$f" "$BIN" --ingest-only "$1" --limit "$LIMIT" >/dev/null 2>&1
    callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}'
    rm -f "$f"
  }
  base=$(count none); off=$(count off); on=$(count on)
  {
    echo
    echo "## Ingest cost, callgrind instruction counts (first $LIMIT articles of the test set)"
    echo
    echo "Instructions of the ingest alone: each run's total less that of a run that loads the"
    echo "dictionary and prepares the articles but ingests nothing ($base instructions)."
    echo
    echo "| detection off | detection on | on / off |"
    echo "|---|---|---|"
    awk -v z="$base" -v a="$off" -v b="$on" 'BEGIN { printf "| %.0f | %.0f | %.4f |\n", a - z, b - z, (b - z) / (a - z) }'
  } >> "$OUT.tmp"
fi
{
  echo
  echo "Command: \`bench/dedup.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores shared with other builds)."
  # The hand-written part of the report (kept in its own file, so a run does not lose it).
  if [ -r "$BENCH/DEDUP-notes.md" ]; then
    echo
    cat "$BENCH/DEDUP-notes.md"
  fi
} >> "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
