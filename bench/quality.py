#!/usr/bin/env python3
"""Search quality of kiji on the retrieval development sets of ../shared/eval (standard library only).

For each set: ingest docs.jsonl into a fresh index, start `kiji serve` on a free port, send every query of
queries.jsonl raw over one persistent HTTP connection (GET /search?q=<query as written>&op=or&limit=10,
snippets on, as a user sees them), write a run file, score it with ../shared/eval/score_retrieval.py (the
reference scorer) and record latency p50/p99 (client round trip). Writes bench/QUALITY.md.

usage: bench/quality.sh (builds, then runs this) or bench/quality.py [--sets jsquad-dev,wikinews-knownitem-dev] [--param k=v ...] [--label TEXT]
                        [--no-write] [--reuse-index]
env:   KIJI_BIN (default target/release/kiji), KIJI_EVAL (default ../shared/eval), QUALITY_SCRATCH (/tmp/kiji-quality)

--param adds request parameters (e.g. --param op=and, --param min_match=75%) to every query; the table then
names them. --reuse-index keeps an index built by an earlier run of the same binary (faster iteration).
"""
import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
EVAL = os.environ.get("KIJI_EVAL", os.path.join(REPO, "..", "shared", "eval"))
KIJI = os.environ.get("KIJI_BIN", os.path.join(REPO, "target", "release", "kiji"))
SCRATCH = os.environ.get("QUALITY_SCRATCH", "/tmp/kiji-quality")
SETS = ["jsquad-dev", "wikinews-knownitem-dev"]


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def ingest(name, reuse):
    index = os.path.join(SCRATCH, name, "index")
    stamp = os.path.join(SCRATCH, name, "binary")
    binary_id = "%s %d" % (KIJI, os.path.getmtime(KIJI))
    if reuse and os.path.exists(stamp) and open(stamp).read() == binary_id:
        return index
    subprocess.run(["rm", "-rf", index], check=True)
    os.makedirs(os.path.dirname(index), exist_ok=True)
    t0 = time.perf_counter()
    subprocess.run([KIJI, "--index", index, "ingest", os.path.join(EVAL, "retrieval", name, "docs.jsonl")],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, KIJI_LOG="warn"))
    log(f"{name}: ingested in {time.perf_counter() - t0:.1f} s")
    with open(stamp, "w") as f:
        f.write(binary_id)
    return index


def serve(index):
    port = free_port()
    proc = subprocess.Popen([KIJI, "--index", index, "serve", "--bind", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, KIJI_LOG="warn"), cwd=SCRATCH)
    for _ in range(200):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                c.close()
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    sys.exit("kiji serve did not start")


def run_set(name, params, reuse):
    queries = read_jsonl(os.path.join(EVAL, "retrieval", name, "queries.jsonl"))
    index = ingest(name, reuse)
    proc, port = serve(index)
    run_path = os.path.join(SCRATCH, name, "run.jsonl")
    errors, lat = {}, []
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for q in queries[:20]:  # warm-up
            conn.request("GET", "/search?" + urllib.parse.urlencode({"q": q["query"], "op": "or", **params}))
            conn.getresponse().read()
        with open(run_path, "w", encoding="utf-8") as out:
            for q in queries:
                url = "/search?" + urllib.parse.urlencode({"q": q["query"], "op": "or", "limit": 10, **params})
                t0 = time.perf_counter()
                conn.request("GET", url)
                r = conn.getresponse()
                body = r.read()
                lat.append((time.perf_counter() - t0) * 1000)
                ranked = []
                if r.status == 200:
                    ranked = [h["id"] for h in json.loads(body)["hits"]]
                else:
                    errors[q["qid"]] = (r.status, body[:200].decode("utf-8", "replace"))
                out.write(json.dumps({"qid": q["qid"], "ranked": ranked}) + "\n")
    finally:
        proc.terminate()
        proc.wait()
    score = subprocess.run([sys.executable, os.path.join(EVAL, "score_retrieval.py"),
                            os.path.join(EVAL, "retrieval", name, "queries.jsonl"), run_path],
                           check=True, capture_output=True, text=True).stdout
    summary = json.loads([line for line in score.splitlines() if line.startswith("{")][-1])
    metrics = summary.get("metrics", summary)
    res = {"set": name, "queries": len(queries), "errors": len(errors),
           "p50_ms": round(pct(lat, 50), 2), "p99_ms": round(pct(lat, 99), 2), **metrics}
    if errors:
        log(f"{name}: {len(errors)} errors, e.g. {list(errors.items())[:3]}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", default=",".join(SETS))
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--label", default="")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--reuse-index", action="store_true")
    a = ap.parse_args()
    params = dict(p.split("=", 1) for p in a.param)
    if not os.path.isdir(os.path.join(EVAL, "retrieval")):
        sys.exit(f"no development sets at {EVAL} (set KIJI_EVAL)")
    if not os.access(KIJI, os.X_OK):
        sys.exit(f"no kiji binary at {KIJI}: cargo build --release (or set KIJI_BIN)")
    os.makedirs(SCRATCH, exist_ok=True)
    version = subprocess.run([KIJI, "--version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    rows = [run_set(s, params, a.reuse_index) for s in a.sets.split(",") if s]
    request = "GET /search?q=<query as written>&op=or&limit=10" + "".join(f"&{k}={v}" for k, v in params.items())
    lines = [
        "# Search quality on the development sets",
        "",
        f"`bench/quality.sh` — {version}, commit {commit}{' (' + a.label + ')' if a.label else ''}, "
        f"{time.strftime('%Y-%m-%d')}. Every query sent raw as `{request}` "
        "(snippets on), scored by `../shared/eval/score_retrieval.py`; latency is the client's HTTP round trip "
        "on one persistent connection (2-core machine, one run).",
        "",
        "| set | queries | MRR@10 | R@1 | R@10 | nDCG@10 | no result | errors | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| `{r['set']}` | {r['queries']} | {r['MRR@10']:.4f} | {r['R@1']:.4f} | {r['R@10']:.4f} | "
                     f"{r['nDCG@10']:.4f} | {r['zero_results']} | {r['errors']} | {r['p50_ms']} | {r['p99_ms']} |")
    table = "\n".join(lines) + "\n"
    print(table)
    for r in rows:
        print(json.dumps(r))
    if not a.no_write:
        path = os.path.join(HERE, "QUALITY.md")
        extra = ""
        if os.path.exists(path):
            old = open(path, encoding="utf-8").read()
            marker = "\n## Notes\n"
            if marker in old:
                extra = old[old.index(marker):]
        with open(path, "w", encoding="utf-8") as f:
            f.write(table + extra)
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
