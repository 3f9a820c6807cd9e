#!/usr/bin/env python3
"""Deterministic synthetic news archive for scale benchmarks (standard library only).

Articles are assembled from the *sentences* of a real corpus (default: ../shared/corpus/wikinews/
articles.jsonl), not copied whole, so that vocabulary, entity frequencies and postings lengths grow the
way a real archive's do rather than like replicas:

* each generated article takes the shape of a real one (its length in sentences) and fills it mostly from
  one "topic" article plus sentences of two or three others, so co-occurrences stay plausible;
* titles are real titles, sometimes with a follow-up marker (続報, 速報, 詳報 …) or a date prefix;
* dates are spread over 30 years (1996–2025) with more articles in later years, in Asia/Tokyo;
* sources are a few dozen outlets with a Zipf-like share; ids are `gen-<seed>-<n>`.

Output is JSON Lines written as a stream (the corpus is never held in memory: only the source corpus's
sentences are); the same --seed and --count give byte-identical output.

usage: gen_corpus.py --count N [--seed 1] [--source articles.jsonl] [--out FILE|-]
"""
import argparse
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SOURCE = os.path.join(HERE, "..", "..", "..", "shared", "corpus", "wikinews", "articles.jsonl")
SOURCES = [
    "共同通信", "時事通信", "朝日新聞", "読売新聞", "毎日新聞", "日本経済新聞", "産経新聞", "東京新聞",
    "中日新聞", "北海道新聞", "西日本新聞", "河北新報", "神戸新聞", "京都新聞", "中国新聞", "信濃毎日新聞",
    "静岡新聞", "新潟日報", "沖縄タイムス", "琉球新報", "NHK", "TBS", "テレビ朝日", "フジテレビ",
    "日本テレビ", "ロイター", "AFP", "AP", "聯合ニュース", "新華社", "ブルームバーグ", "ウォール・ストリート・ジャーナル",
    "ニューズウィーク日本版", "東洋経済", "ダイヤモンド", "週刊文春",
]
FOLLOW_UPS = ["", "", "", "", "【速報】", "【続報】", "【詳報】", "（更新）", "【解説】"]
SENTENCE = re.compile(r"[^。！？!?]*[。！？!?]|[^。！？!?]+$")


def load(path):
    """Sentences of each source article, and its title."""
    docs = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            a = json.loads(line)
            sentences = [s for s in SENTENCE.findall(a.get("body") or "") if s.strip()]
            if sentences and a.get("title"):
                docs.append((a["title"], sentences))
    if not docs:
        sys.exit(f"no articles with a title and a body in {path}")
    return docs


def date(rng):
    # Later years hold more articles (archives grow): year weight rises linearly.
    year = 1996 + int(30 * (rng.random() ** 0.7))
    year = min(year, 2025)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    hour, minute = rng.randint(5, 23), rng.randint(0, 59)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:00+09:00"


def source(rng, weights):
    return rng.choices(SOURCES, weights=weights, k=1)[0]


def article(rng, docs, n, seed, weights):
    title, shape = docs[rng.randrange(len(docs))]
    topic = docs[rng.randrange(len(docs))][1]
    others = [docs[rng.randrange(len(docs))][1] for _ in range(rng.randint(2, 3))]
    length = max(1, len(shape) + rng.randint(-2, 2))
    body = []
    start = rng.randrange(len(topic))
    for i in range(length):
        if rng.random() < 0.65:
            body.append(topic[(start + i) % len(topic)])
        else:
            pool = others[rng.randrange(len(others))]
            body.append(pool[rng.randrange(len(pool))])
    # Paragraphs of 2–5 sentences, like a printed article.
    paragraphs, i = [], 0
    while i < len(body):
        k = rng.randint(2, 5)
        paragraphs.append("".join(body[i:i + k]))
        i += k
    published = date(rng)
    marker = FOLLOW_UPS[rng.randrange(len(FOLLOW_UPS))]
    if marker.startswith("【"):
        title = marker + title
    else:
        title = title + marker
    return {
        "id": f"gen-{seed}-{n:08d}",
        "title": title,
        "published": published,
        "source": source(rng, weights),
        "body": "\n\n".join(paragraphs),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--source", default=os.environ.get("KIJI_WIKINEWS", DEFAULT_SOURCE))
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    docs = load(a.source)
    rng = random.Random(a.seed)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(SOURCES))]
    out = sys.stdout if a.out == "-" else open(a.out, "w", encoding="utf-8")
    try:
        for n in range(a.count):
            out.write(json.dumps(article(rng, docs, n, a.seed, weights), ensure_ascii=False))
            out.write("\n")
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    main()
