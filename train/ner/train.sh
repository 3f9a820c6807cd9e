#!/usr/bin/env bash
# Rebuilds the entity model, data/ner.crfsuite, from the data in train/ner/data.txt
# and prints its scores (see train/ner/README.md). Needs ../shared/eval/ner/ and
# Python 3 with venv; the packages come pinned from PyPI (requirements.txt).
#
#   train/ner/train.sh             # CV report, news gold report, writes data/ner.crfsuite
#   train/ner/train.sh --no-write  # the reports only (the fold models are trained all the same)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${KIJI_TRAIN_DIR:-/tmp/kiji-train-ner}
mkdir -p "$work"
if [[ ! -x $work/venv/bin/python ]]; then
    python3 -m venv "$work/venv"
fi
"$work/venv/bin/pip" install -q -r train/ner/requirements.txt
# kiji's features of every training sentence (the tagger computes the same).
cargo run --release --example train_ner -- --features all --export-features "$work/features.jsonl"
rm -rf "$work/folds"
"$work/venv/bin/python" train/ner/train.py "$work/features.jsonl" --folds-dir "$work/folds" --out "$work/ner.crfsuite"
# The fold models under each merge policy, and the news gold (never trained on).
cargo run --release --example train_ner -- --model "$work/ner.crfsuite" --folds-dir "$work/folds" --no-write
if [[ " $* " != *" --no-write "* ]]; then
    cp "$work/ner.crfsuite" data/ner.crfsuite
    echo "wrote data/ner.crfsuite"
fi
