#!/usr/bin/env python3
"""Trains kiji's entity model (data/ner.crfsuite) with CRFsuite.

The features are kiji's own: `cargo run --release --example train_ner --
--features all --export-features FILE` writes every sentence of the sets in
train/ner/data.txt with its attribute strings and BIO labels
(src/analysis/ner/features.rs computes them; the tagger computes the same).

    pip install -r train/ner/requirements.txt
    python3 train/ner/train.py FILE [--folds-dir DIR] [--out MODEL]

1. 5-fold cross-validation on the first set of data.txt (sentence i in fold
   i % 5; each fold's model trained on the other folds plus the other sets):
   prints EXACT micro / per-type F1 of the model's own spans, and keeps the
   fold models in --folds-dir (train_ner --folds-dir then scores them with
   kiji's policies and the news gold).
2. The full model on all the data, written to --out (data/ner.crfsuite).

Every model is decoded with an O penalty (--o-penalty, default 1.0): the
weight of the bias feature for label O is lowered by it after training, so
the tagger prefers an entity reading a little more (L-BFGS CRFs trained on
few names are precise but miss names; the penalty trades some precision for
recall). CRFsuite: L-BFGS, c1 0.05, c2 0.01, 100 iterations.
"""
import argparse
import json
import multiprocessing as mp
import os
import struct
import sys

import pycrfsuite

P = argparse.ArgumentParser()
P.add_argument("features")
P.add_argument("--data", default="train/ner/data.txt")
P.add_argument("--folds-dir", default=None)
P.add_argument("--out", default="data/ner.crfsuite")
P.add_argument("--c1", type=float, default=0.05)
P.add_argument("--c2", type=float, default=0.01)
P.add_argument("--iterations", type=int, default=100)
P.add_argument("--o-penalty", type=float, default=1.0)
P.add_argument("--jobs", type=int, default=2)
A = P.parse_args()
FOLDS = 5


def weights():
    out = []
    for line in open(A.data, encoding="utf-8"):
        if not line.strip() or line.startswith("#"):
            continue
        w, _, path = line.rstrip("\n").partition("\t")
        w = float(w)
        if w not in (0.0, 1.0):
            sys.exit(f"{A.data}: weight {w} of {path}: CRFsuite takes 0 or 1")
        out.append(w)
    return out


SETS = weights()
SENTS = [json.loads(line) for line in open(A.features, encoding="utf-8")]


def penalise_o(path, delta):
    """Lowers the state weight of (bias, O) by delta in a CRFsuite model."""
    tagger = pycrfsuite.Tagger()
    tagger.open(path)
    info = tagger.info()
    target = info.state_features.get(("b", "O"))
    labels = tagger.labels()
    tagger.close()
    if target is None:
        sys.exit(f"{path}: no (b, O) feature to penalise")
    o = labels.index("O")
    data = bytearray(open(path, "rb").read())
    # crf1dm: the feature chunk's offset at byte 28; the chunk: "FEAT", size,
    # count, then (type, source, target: u32, weight: f64) per feature. The
    # bias attribute "b" is every item's first, so CRFsuite numbers it 0.
    off = struct.unpack_from("<I", data, 28)[0]
    num_features = struct.unpack_from("<I", data, off + 8)[0]
    hits = []
    for f in range(num_features):
        at = off + 12 + 20 * f
        kind, src, dst = struct.unpack_from("<III", data, at)
        (w,) = struct.unpack_from("<d", data, at + 12)
        if kind == 0 and src == 0 and dst == o and abs(w - target) < 1e-5:
            hits.append((at, w))
    if len(hits) != 1:
        sys.exit(f"{path}: {len(hits)} features look like (b, O)")
    target = hits[0][1]
    struct.pack_into("<d", data, hits[0][0] + 12, target - delta)
    open(path, "wb").write(bytes(data))
    check = pycrfsuite.Tagger()
    check.open(path)
    assert abs(check.info().state_features[("b", "O")] - (target - delta)) < 1e-5
    check.close()


def train(held_out, path):
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    for s in SENTS:
        if SETS[s["set"]] == 0 or not s["x"]:
            continue
        if s["set"] == 0 and held_out is not None and s["i"] % FOLDS == held_out:
            continue
        trainer.append(s["x"], s["y"])
    trainer.set_params({"c1": A.c1, "c2": A.c2, "max_iterations": A.iterations})
    trainer.train(path)
    penalise_o(path, A.o_penalty)


def spans(labels, offsets):
    out, cur = [], None
    for label, (s, e) in zip(labels, offsets):
        kind = label[2:]
        if label.startswith("B-") or (label.startswith("I-") and (cur is None or cur[2] != kind)):
            if cur:
                out.append(tuple(cur))
            cur = [s, e, kind]
        elif label.startswith("I-"):
            cur[1] = e
        elif cur:
            out.append(tuple(cur))
            cur = None
    if cur:
        out.append(tuple(cur))
    return out


def fold(k):
    path = os.path.join(A.folds_dir, f"fold{k}.crfsuite")
    train(k, path)
    tagger = pycrfsuite.Tagger()
    tagger.open(path)
    out = {}
    for s in SENTS:
        if s["set"] == 0 and s["i"] % FOLDS == k:
            out[s["i"]] = spans(tagger.tag(s["x"]) if s["x"] else [], s["spans"])
    return out


def score(gold_path, pred):
    types = ["person", "organization", "place"]
    tp = dict.fromkeys(types, 0)
    fp = dict.fromkeys(types, 0)
    fn = dict.fromkeys(types, 0)
    for i, line in enumerate(open(gold_path, encoding="utf-8")):
        g = json.loads(line)
        gold = {(e["start"], e["end"], e["type"]) for e in g["entities"]}
        ignore = [(e["start"], e["end"]) for e in g.get("ignore", [])]
        for p in pred[i]:
            if p in gold:
                tp[p[2]] += 1
            elif not any(p[0] < b and a < p[1] for a, b in ignore):
                fp[p[2]] += 1
        for q in gold - set(pred[i]):
            fn[q[2]] += 1
    f1 = lambda t, p, n: 200 * t / (2 * t + p + n) if t else 0.0
    micro = f1(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    return f"EXACT micro {micro:.1f} | " + " | ".join(f"{t} {f1(tp[t], fp[t], fn[t]):.1f}" for t in types)


def main():
    if A.folds_dir:
        os.makedirs(A.folds_dir, exist_ok=True)
        with mp.Pool(A.jobs) as pool:
            parts = pool.map(fold, range(FOLDS))
        pred = {}
        for p in parts:
            pred.update(p)
        first = next(l for l in open(A.data, encoding="utf-8") if l.strip() and not l.startswith("#"))
        gold = first.rstrip("\n").partition("\t")[2]
        print(f"5-fold CV, model spans alone, {gold}: {score(gold, pred)}", flush=True)
    train(None, A.out)
    print(f"wrote {A.out} ({os.path.getsize(A.out)} bytes)")


if __name__ == "__main__":
    main()
