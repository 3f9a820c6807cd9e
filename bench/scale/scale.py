#!/usr/bin/env python3
"""kiji at archive scale (issue 13): ingest, memory, cold start and endpoint latency at 100k, 300k and 1M
generated articles (bench/scale/gen_corpus.py), with Groonga TokenMecab side by side at the largest size.
Standard library only; reuses bench/bench.py's servers and Groonga recipes. Writes bench/SCALE.md.

usage: bench/scale/run.sh      env: SCALE_SIZES="100000 300000 1000000", SCALE_ROUNDS=30, SCALE_SEED=1,
       SCALE_GROONGA_AT=<largest size> ("" = no Groonga), SCALE_SIDE_ROUNDS=200, SCALE_EXPORT=100000, KIJI_BIN,
       BENCH_SCRATCH
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
os.environ.setdefault("BENCH_SCRATCH", "/tmp/kiji-scale")
sys.path.insert(0, os.path.dirname(HERE))
sys.dont_write_bytecode = True
import bench  # noqa: E402  (after the scratch folder is chosen)

SIZES = [int(s) for s in os.environ.get("SCALE_SIZES", "100000 300000 1000000").split()]
ROUNDS = int(os.environ.get("SCALE_ROUNDS", "30"))
SEED = int(os.environ.get("SCALE_SEED", "1"))
GROONGA_AT = [int(s) for s in os.environ.get("SCALE_GROONGA_AT", str(max(SIZES))).split()]
EXPORT_N = int(os.environ.get("SCALE_EXPORT", "100000"))
# Rounds of the side-by-side keyword latencies (kiji and Groonga, the same two requests in turn): enough
# that p99 is not simply the slowest of a handful.
SIDE_ROUNDS = int(os.environ.get("SCALE_SIDE_ROUNDS", "200"))
SCRATCH = bench.SCRATCH
KIJI = bench.KIJI
log = bench.log
# Common words: the first one in ≥ 10 % of the articles is the "common keyword".
COMMON = ["日本", "発表", "政府", "東京"]
RARE = "クニマス"
PHRASE = '"記者会見で"'
ENTITY = "ロシア"
CO_ENTITY = "アメリカ"


def corpus(n):
    path = os.path.join(SCRATCH, "corpus", f"gen_{SEED}_{n}.jsonl")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        t0 = time.time()
        subprocess.run([sys.executable, os.path.join(HERE, "gen_corpus.py"), "--count", str(n), "--seed", str(SEED),
                        "--out", path + ".tmp"], check=True)
        os.replace(path + ".tmp", path)
        log(f"generated {n} articles in {time.time() - t0:.0f} s ({os.path.getsize(path) / 1e9:.2f} GB)")
    return path


def time_v(path):
    txt = open(path, encoding="utf-8", errors="replace").read()
    get = lambda pat: float(re.search(pat, txt).group(1))  # noqa: E731
    return {"rss_mb": get(r"Maximum resident set size \(kbytes\): (\d+)") / 1024,
            "cpu_s": get(r"User time \(seconds\): ([\d.]+)") + get(r"System time \(seconds\): ([\d.]+)")}


def child_pid(pid, wait_s=10.0):
    """The first child of a process (kiji under /usr/bin/time), once it has one."""
    t0 = time.time()
    while time.time() - t0 < wait_s:
        try:
            kids = open(f"/proc/{pid}/task/{pid}/children").read().split()
            if kids:
                return int(kids[0])
        except OSError:
            return None
        time.sleep(0.01)
    return None


def ingest_kiji(jsonl, n):
    d = os.path.join(SCRATCH, "db", f"kiji_{n}")
    shutil.rmtree(d, ignore_errors=True)
    tf = os.path.join(SCRATCH, f"time_kiji_{n}.txt")
    t0 = time.perf_counter()
    p = subprocess.Popen(["/usr/bin/time", "-v", "-o", tf, KIJI, "--index", d, "ingest", "--json", jsonl],
                         env=bench.kiji_env(), cwd=bench.KIJI_CWD, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The split of the ingest's resident memory: anonymous (heap: analysis, tantivy's writer) and
    # file-backed (index segments memory-mapped by merges and the reader).
    sampler = Sampler(child_pid(p.pid) or p.pid, 0.25)
    sampler.start()
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    sampler.stop.set()
    sampler.join()
    if p.returncode:
        raise RuntimeError(f"kiji ingest failed: {err[-2000:].decode(errors='replace')}")
    rep = json.loads(out)
    if rep["added"] != n or rep["rejected"]:
        raise RuntimeError(f"kiji ingest added {rep['added']} of {n}, rejected {len(rep['rejected'])}")
    r = {"wall_s": wall, "articles_per_s": n / wall, **time_v(tf),
         "rss_anon_mb": sampler.peak, "rss_file_mb": sampler.peak_file}
    r["disk_mb"] = bench.du(d)[0] / 1e6
    return r


def ingest_groonga(jsonl, n):
    loadfile, _ = bench.groonga_loadfile(jsonl, n)
    r = bench.ingest_groonga("mecab", loadfile, n, n)
    os.remove(loadfile)
    return {"wall_s": r["wall_s"], "articles_per_s": n / r["wall_s"], "rss_mb": r["rss_kb"] / 1024,
            "disk_mb": r["disk_alloc"] / 1e6}


def drop_caches():
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def rss_mb(pid):
    """Anonymous and file-backed resident memory of a process, MB (0, 0 once it is gone)."""
    rss = {"RssAnon:": 0.0, "RssFile:": 0.0}
    try:
        for line in open(f"/proc/{pid}/status"):
            k = line.split(None, 1)[0]
            if k in rss:
                rss[k] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss["RssAnon:"], rss["RssFile:"]


def rss_anon_mb(pid):
    return rss_mb(pid)[0]


def cold_start(n):
    """Process start → first successful /search, page cache dropped first (when allowed)."""
    dropped = drop_caches()
    port = bench.free_port()
    d = os.path.join(SCRATCH, "db", f"kiji_{n}")
    t0 = time.perf_counter()
    proc = subprocess.Popen([KIJI, "--index", d, "serve", "--bind", f"127.0.0.1:{port}"], env=bench.kiji_env(),
                            cwd=bench.KIJI_CWD, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    path = "/search?" + urllib.parse.urlencode({"q": COMMON[0], "limit": 10})
    while True:
        if proc.poll() is not None:
            raise RuntimeError("kiji serve exited during cold start")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", path)
            if c.getresponse().status == 200:
                break
        except OSError:
            time.sleep(0.005)
    elapsed = time.perf_counter() - t0
    proc.terminate()
    proc.wait(30)
    return elapsed, dropped


class KijiServer(bench.Server):
    """`kiji serve` on an index folder of this benchmark."""

    def __init__(self, index):
        super().__init__("kiji", 0)
        self.index = index

    def start(self):
        self.proc = subprocess.Popen([KIJI, "--index", self.index, "serve", "--bind", f"127.0.0.1:{self.port}"],
                                     env=bench.kiji_env(), cwd=bench.KIJI_CWD, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.wait_ready("/health")
        return self


class Sampler(threading.Thread):
    """Largest anonymous and file-backed RSS of a process while it runs (each its own maximum)."""

    def __init__(self, pid, every_s=0.05):
        super().__init__(daemon=True)
        self.pid, self.every_s, self.stop = pid, every_s, threading.Event()
        self.peak, self.peak_file = 0.0, 0.0

    def run(self):
        while not self.stop.is_set():
            anon, file = rss_mb(self.pid)
            self.peak, self.peak_file = max(self.peak, anon), max(self.peak_file, file)
            time.sleep(self.every_s)


def kiji_paths(server):
    total = lambda q: json.loads(server.call("/search?" + urllib.parse.urlencode({"q": q, "limit": 0})))["total"]  # noqa: E731
    n = json.loads(server.call("/stats"))
    docs = n.get("documents") or n.get("index", {}).get("documents")
    common = next((w for w in COMMON if total(w) >= 0.1 * docs), COMMON[0])
    enc = urllib.parse.urlencode
    return common, {
        "rare keyword": "/search?" + enc({"q": RARE, "limit": 10}),
        "common keyword": "/search?" + enc({"q": common, "limit": 10}),
        "phrase": "/search?" + enc({"q": PHRASE, "limit": 10}),
        "entity filter": "/search?" + enc({"entity": ENTITY, "limit": 10}),
        "facets, common keyword": "/search?" + enc({"q": common, "limit": 0,
                                                   "facets": "person,organization,place,source"}),
        "timeline, whole range": "/timeline?" + enc({"q": common, "interval": "month"}),
        "cooccurrence, common entity": "/cooccurrence?" + enc({"entity": CO_ENTITY}),
    }


def latencies(client, paths, rounds):
    times = {k: [] for k in paths}
    for k, p in paths.items():          # warm-up
        client.get(p)
    for _ in range(rounds):
        for k, p in paths.items():
            t0 = time.perf_counter()
            client.get(p)
            times[k].append((time.perf_counter() - t0) * 1000)
    return {k: {"p50_ms": bench.pct(v, 50), "p99_ms": bench.pct(v, 99)} for k, v in times.items()}


def keyword_latencies(client, common):
    """The rare and the common keyword in turn, SIDE_ROUNDS times: what kiji and Groonga are compared on."""
    return latencies(client, {"rare keyword": client.path(RARE), "common keyword": client.path(common)},
                     SIDE_ROUNDS)


def export_rate(port, common):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("GET", "/export?" + urllib.parse.urlencode({"q": common, "format": "ndjson"}))
    r = c.getresponse()
    t0, lines, buf = time.perf_counter(), 0, b""
    while lines < EXPORT_N:
        chunk = r.read1(1 << 16)
        if not chunk:
            break
        lines += chunk.count(b"\n")
    dt = time.perf_counter() - t0
    c.close()
    return {"articles": min(lines, EXPORT_N), "articles_per_s": min(lines, EXPORT_N) / dt}


def measure(n):
    jsonl = corpus(n)
    res = {"articles": n, "bytes": os.path.getsize(jsonl)}
    log(f"{n}: ingest kiji")
    res["ingest"] = ingest_kiji(jsonl, n)
    log(f"{n}: {res['ingest']}")
    starts = [cold_start(n) for _ in range(3)]
    res["cold_start_s"] = sorted(s for s, _ in starts)[1]
    res["cold_start_caches_dropped"] = all(d for _, d in starts)
    server = KijiServer(os.path.join(SCRATCH, "db", f"kiji_{n}")).start()
    try:
        time.sleep(1)
        res["rss_idle_mb"] = rss_anon_mb(server.pid())
        sampler = Sampler(server.pid())
        sampler.start()
        common, paths = kiji_paths(server)
        res["common_keyword"] = common
        client = bench.Client("kiji", server.port)
        res["latency"] = latencies(client, paths, ROUNDS)
        # The keyword latencies compared with Groonga's (at the sizes Groonga runs): the same two requests in
        # turn as Groonga gets below (bench/run.sh's request for each engine), not between the analytics above.
        if n in GROONGA_AT:
            res["side_by_side"] = keyword_latencies(client, common)
        res["export"] = export_rate(server.port, common)
        sampler.stop.set()
        sampler.join()
        res["rss_load_mb"] = sampler.peak
    finally:
        server.stop()
    # kiji's figures are kept even if the Groonga part fails.
    json.dump(res, open(os.path.join(SCRATCH, f"kiji_{n}.json"), "w"), ensure_ascii=False, indent=1)
    if n in GROONGA_AT:
        log(f"{n}: ingest Groonga TokenMecab")
        g = res["groonga"] = {"ingest": ingest_groonga(jsonl, n)}
        gs = bench.Server("groonga-mecab", n).start()
        try:
            g["latency"] = keyword_latencies(bench.Client("groonga-mecab", gs.port), res["common_keyword"])
        finally:
            gs.stop()
    return res


def report(results):
    sizes = [r["articles"] for r in results]
    base = results[0]
    rows = []

    def row(name, get, fmt="{:.1f}", growth=True):
        vals = [get(r) for r in results]
        cells = [fmt.format(v) if v is not None else "–" for v in vals]
        g = f"{vals[-1] / get(base):.2f}×" if growth and vals[-1] is not None and get(base) else ""
        rows.append(f"| {name} | " + " | ".join(cells) + f" | {g} |")

    row("ingest wall s", lambda r: r["ingest"]["wall_s"])
    row("ingest CPU s", lambda r: r["ingest"]["cpu_s"])
    row("ingest articles/s", lambda r: r["ingest"]["articles_per_s"], "{:,.0f}")
    row("ingest peak RSS MB", lambda r: r["ingest"]["rss_mb"], "{:,.0f}")
    row("of which anonymous, max sampled MB", lambda r: r["ingest"].get("rss_anon_mb"), "{:,.0f}")
    row("of which file-backed (mmapped index), max sampled MB", lambda r: r["ingest"].get("rss_file_mb"), "{:,.0f}")
    row("index on disk MB", lambda r: r["ingest"]["disk_mb"], "{:,.0f}")
    row("cold start s (start → first /search)", lambda r: r["cold_start_s"], "{:.2f}")
    row("server anonymous RSS idle MB", lambda r: r["rss_idle_mb"], "{:,.0f}")
    row("server anonymous RSS under load MB", lambda r: r["rss_load_mb"], "{:,.0f}")
    for k in base["latency"]:
        row(f"{k} p50 ms", lambda r, k=k: r["latency"][k]["p50_ms"], "{:.2f}")
        row(f"{k} p99 ms", lambda r, k=k: r["latency"][k]["p99_ms"], "{:.2f}")
    row("/export articles/s (first %s)" % f"{EXPORT_N:,}", lambda r: r["export"]["articles_per_s"], "{:,.0f}")
    head = "| | " + " | ".join(f"{s:,}" for s in sizes) + f" | growth ({sizes[-1]:,} ÷ {sizes[0]:,}) |"
    lines = ["# kiji at archive scale", "",
             f"Generated by `bench/scale/run.sh` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: "
             f"articles from `bench/scale/gen_corpus.py` (seed {SEED}), one machine (2 cores), loopback HTTP, "
             f"{ROUNDS} rounds per query after a warm-up. Common keyword: `{base['common_keyword']}`; "
             f"rare: `{RARE}`; phrase: `{PHRASE}`; entity filter `{ENTITY}`; co-occurrence of `{CO_ENTITY}`. "
             f"Cold start with the page cache dropped: {all(r['cold_start_caches_dropped'] for r in results)}.",
             "", head, "|---" * (len(sizes) + 2) + "|"] + rows
    for r in results:
        if "groonga" in r:
            g = r["groonga"]
            lines += ["", f"## Groonga TokenMecab at {r['articles']:,} articles (same corpus, same run)", "",
                      f"Keyword latencies: each engine gets the same two requests in turn (`{RARE}`, then "
                      f"`{r['common_keyword']}`; ten hits with snippets, as `bench/run.sh` asks), {SIDE_ROUNDS} "
                      "rounds after a warm-up. (The table above times kiji's keywords between its analytics "
                      "requests, which Groonga does not serve.)", "",
                      "| | kiji | Groonga | kiji ÷ Groonga |", "|---|---|---|---|"]
            for name, kv, gv in (
                    ("ingest wall s", r["ingest"]["wall_s"], g["ingest"]["wall_s"]),
                    ("ingest peak RSS MB", r["ingest"]["rss_mb"], g["ingest"]["rss_mb"]),
                    ("index on disk MB", r["ingest"]["disk_mb"], g["ingest"]["disk_mb"]),
                    *((f"{k} {p} ms", r["side_by_side"][k][f"{p}_ms"], g["latency"][k][f"{p}_ms"])
                      for k in ("rare keyword", "common keyword") for p in ("p50", "p99"))):
                lines.append(f"| {name} | {kv:,.2f} | {gv:,.2f} | {kv / gv:.2f}× |")
    out = os.environ.get("SCALE_REPORT", os.path.join(REPO, "bench", "SCALE.md"))
    open(out, "w", encoding="utf-8").write("\n".join(lines) + "\n")
    log(f"wrote {out}")


def main():
    os.makedirs(bench.KIJI_CWD, exist_ok=True)
    open(bench.MECABRC, "w").write("dicdir = /var/lib/mecab/dic/ipadic-utf8\n")
    bench.MON.start()
    results = []
    try:
        for n in SIZES:
            results.append(measure(n))
            json.dump(results, open(os.path.join(SCRATCH, "scale.json"), "w"), ensure_ascii=False, indent=1)
    finally:
        bench.MON.stop_ev.set()
    report(results)


if __name__ == "__main__":
    main()
