#!/usr/bin/env python3
"""Builds data/word_clusters.tsv: word clusters for the entity model.

The word vectors are chiVe's (Works Applications, Apache-2.0) as the PyPI
package ja-ginza 5.3.0 ships them (20,000 distinct 300-dimensional vectors
for 480,443 words). The words are clustered by k-means (cosine, seeded) into
1,024 clusters, whose centroids are clustered again into 256 and 64: a word
gets three ids, fine to coarse. Kept: the words that IPADIC lists (Debian's
mecab-ipadic CSVs) and the words made only of katakana or Latin letters and
digits (what IPADIC's unknown-word model makes of names); 383k words.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install -r train/ner/requirements.txt
    /tmp/venv/bin/pip download --no-deps -d /tmp/ginza ja-ginza==5.3.0
    /tmp/venv/bin/python train/ner/clusters.py /tmp/ginza/ja_ginza-5.3.0-py3-none-any.whl

Deterministic for the same wheel, dictionary and numpy.
"""
import glob
import io
import json
import re
import sys
import zipfile

import numpy as np
import srsly

IPADIC = "/usr/share/mecab/dic/ipadic"
OUT = "data/word_clusters.tsv"
M, MASK = 0xC6A4A7935BD1E995, (1 << 64) - 1


def spacy_hash(s):
    """spaCy's string hash: MurmurHash64A of the UTF-8 bytes, seed 1."""
    d = s.encode("utf8")
    n = len(d)
    h = (1 ^ ((n * M) & MASK)) & MASK
    for i in range(n // 8):
        k = int.from_bytes(d[8 * i : 8 * i + 8], "little")
        k = (k * M) & MASK
        k ^= k >> 47
        k = (k * M) & MASK
        h ^= k
        h = (h * M) & MASK
    tail = d[8 * (n // 8) :]
    if tail:
        for i, b in enumerate(tail):
            h ^= b << (8 * i)
        h = (h * M) & MASK
    h ^= h >> 47
    h = (h * M) & MASK
    h ^= h >> 47
    return h


def kmeans(x, k, rng, iterations=25):
    c = x[rng.choice(len(x), k, replace=False)].copy()
    for _ in range(iterations):
        a = np.argmax(x @ c.T, axis=1)
        for j in range(k):
            m = a == j
            if m.any():
                v = x[m].mean(0)
                c[j] = v / max(np.linalg.norm(v), 1e-9)
    return np.argmax(x @ c.T, axis=1), c


def main():
    wheel = zipfile.ZipFile(sys.argv[1])
    prefix = "ja_ginza/ja_ginza-5.3.0/vocab/"
    vec = np.load(io.BytesIO(wheel.read(prefix + "vectors")), allow_pickle=False)
    key2row = srsly.msgpack_loads(wheel.read(prefix + "key2row"))
    strings = json.loads(wheel.read(prefix + "strings.json"))
    x = vec / np.maximum(np.linalg.norm(vec, axis=1, keepdims=True), 1e-9)
    x = x.astype(np.float32)
    rng = np.random.default_rng(0)
    fine, centroids = kmeans(x, 1024, rng)
    mid, _ = kmeans(centroids, 256, rng)
    coarse, _ = kmeans(centroids, 64, rng)
    ipadic = set()
    for f in sorted(glob.glob(IPADIC + "/*.csv")):
        with open(f, encoding="euc-jp", errors="replace") as fh:
            for line in fh:
                ipadic.add(line.split(",", 1)[0])
    name_like = re.compile(r"^[\u30a0-\u30ffー・A-Za-z0-9Ａ-Ｚａ-ｚ０-９]+$")
    words = {}
    for s in strings:
        row = key2row.get(spacy_hash(s))
        if row is None or row < 0 or not s or s[0] in "#@" or "\t" in s or "\n" in s:
            continue
        if s in ipadic or name_like.match(s):
            words[s] = int(fine[row])
    with open(OUT, "w", encoding="utf-8", newline="\n") as out:
        out.write("# kiji word clusters (see data/SOURCES.md; built by train/ner/clusters.py)\n")
        out.write("# @fine<TAB>mid<TAB>coarse, then word<TAB>fine\n")
        for c in range(1024):
            out.write(f"@{c}\t{int(mid[c])}\t{int(coarse[c])}\n")
        for w in sorted(words):
            out.write(f"{w}\t{words[w]}\n")
    print(f"wrote {OUT}: {len(words)} words")


if __name__ == "__main__":
    main()
