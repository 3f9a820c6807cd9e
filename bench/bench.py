#!/usr/bin/env python3
"""kiji vs Groonga 13 benchmark driver (Python standard library only). Called by bench/run.sh.

Phases (all on 127.0.0.1, one machine, one run):
  ingest   kiji / Groonga TokenMecab / Groonga TokenBigram (both NormalizerNFKC150), REPS times, median
  latency  total + top 10 + highlighted snippet over a persistent HTTP connection, warm-up + ROUNDS rounds
  wrk      wrk -t2 -c16 -d10s rotating bench/queries.txt (1x only)
  scale    the same ingest + latency at 4x and 16x replicated corpora
  check    hit counts vs substring truth, first snippet highlights the query as one span
A sampler thread records, per phase, CPU used by processes that are not part of this benchmark.
Raw results: $BENCH_SCRATCH/results.json (not in the repository: its snippets quote the corpus); bench/report.py writes RESULTS.md.
"""
import html
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
SCRATCH = os.environ.get("BENCH_SCRATCH", "/tmp/bench")
CORPUS = os.environ.get("KIJI_WIKINEWS", "/work/shared/corpus/wikinews/articles.jsonl")
KIJI = os.environ.get("KIJI_BIN", "/work/main/target/bench-build/release/kiji")
REPS = int(os.environ.get("BENCH_REPS", "5"))             # ingest repetitions at 1x
SCALE_REPS = int(os.environ.get("BENCH_SCALE_REPS", "1"))  # ingest repetitions at 4x / 16x
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))         # timed latency rounds at 1x
SCALE_ROUNDS = int(os.environ.get("BENCH_SCALE_ROUNDS", "15"))
SCALES = [int(s) for s in os.environ.get("BENCH_SCALES", "1 4 16").split()]
WRK_ARGS = os.environ.get("BENCH_WRK", "-t2 -c16 -d10s").split()
WRK_ROUNDS = int(os.environ.get("BENCH_WRK_ROUNDS", "3"))
NORMALIZER = os.environ.get("BENCH_GROONGA_NORMALIZER", "NormalizerNFKC150")
QUERIES_FILE = os.path.join(HERE, "queries.txt")
QUERIES = [q.strip() for q in open(QUERIES_FILE, encoding="utf-8") if q.strip()]
ENGINES = os.environ.get("BENCH_ENGINES", "kiji groonga-mecab groonga-bigram").split()
MECABRC = os.path.join(SCRATCH, "mecabrc")
KIJI_CWD = os.path.join(SCRATCH, "kiji-cwd")   # empty folder: no ./config.toml, built-in defaults


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


class KijiNormalizer:
    """What kiji searches: NFKC, lower case and spelling variants folded, from `kiji analyze --normalize`
    itself (one process; one JSON string a line, so line breaks survive), so that the truth follows kiji's
    one table of variants instead of a copy of it."""

    def __init__(self):
        self.proc = None
        self.cache = {}

    def __call__(self, s):
        if s in self.cache:
            return self.cache[s]
        if self.proc is None:
            self.proc = subprocess.Popen([KIJI, "analyze", "--normalize"], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True, encoding="utf-8",
                                         cwd=SCRATCH if os.path.isdir(SCRATCH) else None)
        self.proc.stdin.write(json.dumps(s, ensure_ascii=False) + "\n")
        self.proc.stdin.flush()
        out = json.loads(self.proc.stdout.readline())
        if len(self.cache) < 10000:
            self.cache[s] = out
        return out


N = KijiNormalizer()


def unquote(q):
    """The text a query asks for: a `"phrase"` without its quotes."""
    return q[1:-1] if len(q) > 1 and q[0] == q[-1] == '"' else q


def pct(xs, p):
    xs = sorted(xs)
    k = max(0, min(len(xs) - 1, int(round(p / 100 * len(xs) + 0.5)) - 1))
    return xs[k]


def du(path):
    alloc = int(subprocess.check_output(["du", "-s", "--block-size=1", path]).split()[0])
    apparent = int(subprocess.check_output(["du", "-s", "-b", path]).split()[0])
    return alloc, apparent


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- foreign CPU sampler
class Monitor(threading.Thread):
    """Every 2 s: CPU used by processes that are neither descendants of this driver nor our
    Groonga daemons (which double-fork away). Same idea as shared/peers/monitor_foreign.sh,
    but measured from /proc/PID/stat CPU ticks instead of guessing from compiler names."""

    def __init__(self, interval=2.0):
        super().__init__(daemon=True)
        self.interval = interval
        self.phase = "setup"
        self.own_extra = set()
        self.samples = defaultdict(list)   # phase -> [(foreign_cores, top)]
        self.stop_ev = threading.Event()
        self.hz = os.sysconf("SC_CLK_TCK")
        self.me = os.getpid()

    @staticmethod
    def snapshot():
        out = {}
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                s = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            l, r = s.index("("), s.rindex(")")
            comm = s[l + 1:r]
            f = s[r + 2:].split()
            out[int(d)] = (comm, int(f[1]), int(f[11]) + int(f[12]))   # comm, ppid, utime+stime
        return out

    def own(self, snap):
        kids = defaultdict(list)
        for pid, (_, ppid, _) in snap.items():
            kids[ppid].append(pid)
        own, stack = set(), [self.me, os.getppid()] + list(self.own_extra)
        while stack:
            p = stack.pop()
            if p in own:
                continue
            own.add(p)
            stack.extend(kids.get(p, []))
        return own

    def run(self):
        prev, t_prev = self.snapshot(), time.monotonic()
        while not self.stop_ev.wait(self.interval):
            cur, t = self.snapshot(), time.monotonic()
            own = self.own(cur)
            dt = t - t_prev
            use = Counter()
            for pid, (comm, ppid, ticks) in cur.items():
                if pid in own or ppid == 2 or pid == 2 or pid not in prev:
                    continue
                d = ticks - prev[pid][2]
                if d > 0:
                    use[comm] += d / self.hz / dt
            total = sum(use.values())
            top = ",".join(f"{c}:{v:.2f}" for c, v in use.most_common(3) if v >= 0.05)
            self.samples[self.phase].append((round(total, 3), top))
            prev, t_prev = cur, t

    def summary(self):
        out = {}
        for ph, ss in self.samples.items():
            busy = [s for s in ss if s[0] >= 0.25]
            tops = Counter()
            for _, top in busy:
                for item in filter(None, top.split(",")):
                    tops[item.split(":")[0]] += 1
            out[ph] = {"samples": len(ss), "busy_samples": len(busy),
                       "mean_foreign_cores": round(statistics.mean(s[0] for s in ss), 3) if ss else 0,
                       "max_foreign_cores": round(max((s[0] for s in ss), default=0), 3),
                       "top": [c for c, _ in tops.most_common(4)]}
        return out


MON = Monitor()


def phase(name):
    MON.phase = name
    log("phase", name)


# ---------------------------------------------------------------- corpora
def load_articles(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def make_scaled(k):
    """k x the corpus: copy r of article `id` gets id `id-r{r}` (copy 0 keeps its id). Into SCRATCH."""
    if k == 1:
        return CORPUS
    out = os.path.join(SCRATCH, "corpus", f"articles_x{k}.jsonl")
    src_mtime = os.path.getmtime(CORPUS)
    if os.path.exists(out) and os.path.getmtime(out) >= src_mtime:
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    lines = [line for line in open(CORPUS, encoding="utf-8") if line.strip()]
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        for r in range(k):
            for line in lines:
                if r == 0:
                    f.write(line if line.endswith("\n") else line + "\n")
                else:
                    d = json.loads(line)
                    d["id"] = f"{d['id']}-r{r}"
                    f.write(json.dumps(d, ensure_ascii=False) + "\n")
    os.replace(out + ".tmp", out)
    return out


def groonga_loadfile(jsonl, k):
    """JSONL -> Groonga `load` command file (same logic as shared/peers/groonga_loadfile.py).
    Returns (path, seconds); the conversion is reported but not counted as Groonga ingest time."""
    out = os.path.join(SCRATCH, "corpus", f"groonga_load_x{k}.grn")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    t0 = time.perf_counter()
    with open(jsonl, encoding="utf-8") as src, open(out, "w", encoding="utf-8") as f:
        f.write("load --table Docs\n[\n")
        first = True
        for line in src:
            if not line.strip():
                continue
            d = json.loads(line)
            rec = {"_key": d["id"], "title": d.get("title", ""), "body": d.get("body", "")}
            f.write(("" if first else ",") + json.dumps(rec, ensure_ascii=False) + "\n")
            first = False
        f.write("]\n")
    return out, time.perf_counter() - t0


def truth_counts(jsonl):
    """Articles whose normalised title or body (kiji's normalisation: NFKC, lower case, variants folded)
    contains the normalised query (a quoted query: its phrase)."""
    nq = [(q, N(unquote(q))) for q in QUERIES]
    counts = Counter()
    n = 0
    with open(jsonl, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            d = json.loads(line)
            n += 1
            t, b = N(d.get("title", "")), N(d.get("body", ""))
            for q, x in nq:
                if x in t or x in b:
                    counts[q] += 1
    return {q: counts[q] for q in QUERIES}, n


# ---------------------------------------------------------------- ingest
def parse_time_v(path):
    """-> (peak RSS kB, CPU seconds: user + system) from `/usr/bin/time -v`'s report."""
    txt = open(path, encoding="utf-8", errors="replace").read()
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt)
    cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", txt))
    return (int(m.group(1)) if m else 0), cpu


def timed(cmd, stdin=None, stdout=None, env=None, cwd=None, tag="x"):
    """Run cmd under /usr/bin/time -v; returns (wall seconds, (peak RSS kB, CPU seconds), stdout text)."""
    tf = os.path.join(SCRATCH, f"time_{tag}.txt")
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", "-o", tf] + cmd, stdin=stdin,
                       stdout=stdout if stdout is not None else subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {(p.stderr or b'')[-2000:].decode(errors='replace')}")
    out = p.stdout.decode("utf-8", errors="replace") if isinstance(p.stdout, bytes) else ""
    return wall, parse_time_v(tf), out


def kiji_env():
    e = dict(os.environ)
    e["KIJI_LOG"] = "warn"
    for k in ("KIJI_INDEX", "KIJI_CORPUS", "KIJI_WATCH", "KIJI_BIND", "KIJI_PROGRESS",
              "KIJI_DEDUP", "KIJI_ENTITY_MODEL"):
        e.pop(k, None)
    return e


# Variants of kiji's ingest measured at 1× in the same interleaved runs as its default, for
# what one setting costs: name → environment.
KIJI_VARIANTS = {
    "kiji-nodedup": {"KIJI_DEDUP": "off"},      # near-duplicate detection off
    "kiji-nomodel": {"KIJI_ENTITY_MODEL": "off"},  # the learned entity model off (rules alone)
}


def ingest_kiji(jsonl, k, n_articles, variant="kiji"):
    """kiji's ingest with its defaults, or as a variant of `KIJI_VARIANTS` (only its cost is kept)."""
    d = os.path.join(SCRATCH, "db", f"{variant.replace('-', '_')}_x{k}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    env = kiji_env()
    env.update(KIJI_VARIANTS.get(variant, {}))
    wall, (rss, cpu), out = timed([KIJI, "--index", d, "ingest", "--json", jsonl], env=env,
                                  cwd=KIJI_CWD, tag="kiji")
    rep = json.loads(out)
    added = rep.get("added")
    added_n = len(added) if isinstance(added, list) else added
    rejected = rep.get("rejected")
    rejected_n = len(rejected) if isinstance(rejected, list) else rejected
    if added_n != n_articles or rejected_n:
        raise RuntimeError(f"kiji ingest added {added_n} of {n_articles}, rejected {rejected_n}")
    alloc, app = du(d)
    if variant != "kiji":
        shutil.rmtree(d, ignore_errors=True)   # only its cost is reported; no server reads it
    return {"wall_s": wall, "cpu_s": cpu, "rss_kb": rss, "disk_alloc": alloc, "disk_apparent": app,
            "docs": added_n}


def groonga_env():
    e = dict(os.environ)
    e["MECABRC"] = MECABRC   # force IPADIC (groonga-tokenizer-mecab pulls naist-jdic as the default)
    return e


def check_groonga_out(path, what):
    txt = open(path, encoding="utf-8", errors="replace").read()
    codes = [int(c) for c in re.findall(r"\[\[(-?\d+),", txt)]
    if not codes or any(codes):
        raise RuntimeError(f"groonga {what} failed: {txt[:1500]}")
    return txt


def ingest_groonga(variant, loadfile, k, n_articles):
    tok = {"mecab": "TokenMecab", "bigram": "TokenBigram"}[variant]
    d = os.path.join(SCRATCH, "db", f"groonga_{variant}_x{k}")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    db = os.path.join(d, "db")
    schema = ("plugin_register tokenizers/mecab\n" if variant == "mecab" else "") + (
        "table_create Docs TABLE_HASH_KEY ShortText\n"
        "column_create Docs title COLUMN_SCALAR ShortText\n"
        "column_create Docs body COLUMN_SCALAR LongText\n"
        f"table_create Terms TABLE_PAT_KEY ShortText --default_tokenizer {tok} --normalizer {NORMALIZER}\n")
    # static index construction after the load (faster than an index that exists during the load)
    index = ("column_create Terms title_index COLUMN_INDEX|WITH_POSITION Docs title\n"
             "column_create Terms body_index COLUMN_INDEX|WITH_POSITION Docs body\n")
    open(os.path.join(d, "schema.grn"), "w").write(schema)
    open(os.path.join(d, "index.grn"), "w").write(index)
    env = groonga_env()
    steps = {}
    rss, cpu = 0, 0.0
    for name, args, inp in (("schema", ["-n", db], os.path.join(d, "schema.grn")),
                            ("load", [db], loadfile),
                            ("index", [db], os.path.join(d, "index.grn"))):
        outp = os.path.join(d, f"{name}.out")
        with open(inp, "rb") as fi, open(outp, "wb") as fo:
            w, (r, c), _ = timed(["groonga"] + args, stdin=fi, stdout=fo, env=env, tag="groonga")
        steps[name] = w
        rss = max(rss, r)
        cpu += c
        txt = check_groonga_out(outp, name)
        if name == "load":
            m = re.findall(r"\],(\d+)\]", txt)
            if not m or int(m[-1]) != n_articles:
                raise RuntimeError(f"groonga {variant} loaded {m[-1] if m else '?'} of {n_articles}")
    alloc, app = du(d)
    return {"wall_s": sum(steps.values()), "cpu_s": cpu, "steps": steps, "rss_kb": rss, "disk_alloc": alloc,
            "disk_apparent": app, "docs": n_articles}


# ---------------------------------------------------------------- servers
class Server:
    def __init__(self, engine, k):
        self.engine, self.k, self.port = engine, k, free_port()
        self.proc = None
        self.pidfile = None

    def start(self):
        os.makedirs(os.path.join(SCRATCH, "logs"), exist_ok=True)
        logf = os.path.join(SCRATCH, "logs", f"{self.engine}_x{self.k}.log")
        if self.engine == "kiji":
            d = os.path.join(SCRATCH, "db", f"kiji_x{self.k}")
            self.proc = subprocess.Popen([KIJI, "--index", d, "serve", "--bind", f"127.0.0.1:{self.port}"],
                                         env=kiji_env(), cwd=KIJI_CWD, stdout=open(logf, "w"),
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            self.wait_ready("/health")
        else:
            v = self.engine.split("-")[1]
            d = os.path.join(SCRATCH, "db", f"groonga_{v}_x{self.k}")
            self.pidfile = os.path.join(d, "server.pid")
            subprocess.run(["groonga", "-d", "--protocol", "http", "--bind-address", "127.0.0.1",
                            "--port", str(self.port), "--pid-path", self.pidfile, "--log-path", logf,
                            "--query-log-path", "", os.path.join(d, "db")], env=groonga_env(), check=True)
            self.wait_ready("/d/status")
            MON.own_extra.add(self.pid())
            if v == "mecab":
                self.call("/d/plugin_register?name=tokenizers/mecab")
            # the select cache would serve repeated queries from memory: off (max=0), and cache=no per request
            self.call("/d/cache_limit?max=0")
            lim = json.loads(self.call("/d/cache_limit"))[1]
            if lim != 0:
                raise RuntimeError(f"groonga cache_limit is {lim}, expected 0")
        log(f"{self.engine} x{self.k} serving on 127.0.0.1:{self.port}")
        return self

    def pid(self):
        if self.proc:
            return self.proc.pid
        for _ in range(50):
            try:
                return int(open(self.pidfile).read().strip())
            except (OSError, ValueError):
                time.sleep(0.1)
        raise RuntimeError("groonga pid file missing")

    def call(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        if r.status != 200:
            raise RuntimeError(f"{self.engine} {path}: HTTP {r.status} {body[:300]!r}")
        return body

    def wait_ready(self, path):
        end = time.time() + 120
        while time.time() < end:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"{self.engine} server exited with {self.proc.returncode}")
            try:
                self.call(path)
                return
            except (OSError, RuntimeError, http.client.HTTPException):
                time.sleep(0.2)
        raise RuntimeError(f"{self.engine} server not ready after 120 s")

    def rss_kb(self):
        try:
            for line in open(f"/proc/{self.pid()}/status"):
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def stop(self):
        if self.proc:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        elif self.pidfile:
            try:
                pid = self.pid()
            except RuntimeError:
                return
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                return
            for _ in range(100):
                if not os.path.exists(f"/proc/{pid}"):
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
            self.pidfile = None


# ---------------------------------------------------------------- query clients
class Client:
    """One persistent HTTP/1.1 connection (keep-alive), like a search front end."""

    def __init__(self, engine, port):
        self.engine, self.port = engine, port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.reconnects = 0

    def path(self, q):
        if self.engine == "kiji":
            return "/search?" + urllib.parse.urlencode({"q": q, "limit": 10, "fragments": 1})
        return "/d/select?" + urllib.parse.urlencode({
            "table": "Docs", "match_columns": "title||body", "query": q,
            "output_columns": "_key,title,snippet_html(body)", "limit": 10, "sort_keys": "-_score",
            "cache": "no"})

    def get(self, path):
        for attempt in (0, 1):
            try:
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                body = r.read()
                if r.status != 200:
                    raise RuntimeError(f"{self.engine}: HTTP {r.status} for {path}: {body[:300]!r}")
                return body
            except (http.client.HTTPException, ConnectionError, OSError):
                if attempt:
                    raise
                self.reconnects += 1
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def timed_search(self, q, path=None):
        path = path or self.path(q)
        t0 = time.perf_counter()
        body = self.get(path)
        return (time.perf_counter() - t0) * 1000, body

    def parse(self, q, body):
        """-> total, ids, first snippet html of the first hit, highlighted spans in it, all first snippets."""
        j = json.loads(body)
        if self.engine == "kiji":
            hits = j["hits"]
            snips = [(h.get("snippets") or [{}])[0].get("html", "") for h in hits]
            spans = [re.findall(r"<mark>(.*?)</mark>", s, re.S) for s in snips]
            self.title_spans = [re.findall(r"<mark>(.*?)</mark>", h.get("title_html") or "", re.S) for h in hits]
            return j["total"], [h["id"] for h in hits], snips, spans
        if j[0][0] != 0:
            raise RuntimeError(f"groonga error for {q}: {j[0]}")
        self.title_spans = []   # Groonga is asked for snippet_html(body) only
        res = j[1][0]
        rows = res[2:]
        snips = [(r[2] or [""])[0] if r[2] else "" for r in rows]
        spans = [re.findall(r'<span class="keyword">(.*?)</span>', s, re.S) for s in snips]
        return res[0][0], [r[0] for r in rows], snips, spans


def one_span(q, spans):
    nq = N(unquote(q))
    return any(N(html.unescape(s)) == nq for s in spans)


def latency(servers, rounds, truth):
    clients = {e: Client(e, s.port) for e, s in servers.items()}
    paths = {e: {q: c.path(q) for q in QUERIES} for e, c in clients.items()}
    check = {e: {} for e in clients}
    for e, c in clients.items():                      # warm-up round = correctness sample (untimed)
        for q in QUERIES:
            _, body = c.timed_search(q, paths[e][q])
            total, ids, snips, spans = c.parse(q, body)
            first = snips[0] if snips else ""
            check[e][q] = {
                "hits": total, "truth": truth[q], "exact": total == truth[q],
                "first_snippet_highlighted": bool(spans and spans[0]),
                "first_snippet_one_span": bool(spans) and one_span(q, spans[0]),
                "top10_one_span": sum(1 for sp in spans if one_span(q, sp)), "top10": len(ids),
                "first_title_one_span": bool(c.title_spans) and one_span(q, c.title_spans[0]),
                "first_spans": [html.unescape(s) for s in (spans[0] if spans else [])][:6],
                "first_snippet": first[:240], "top_ids": ids[:3]}
    times = {e: defaultdict(list) for e in clients}
    t_start = time.time()
    # rounds are interleaved across engines so that drift on this shared box hits all engines alike
    for _ in range(rounds):
        for e, c in clients.items():
            for q in QUERIES:
                dt, _ = c.timed_search(q, paths[e][q])
                times[e][q].append(dt)
    wall = time.time() - t_start
    out = {}
    for e in clients:
        allt = [t for q in QUERIES for t in times[e][q]]
        out[e] = {"calls": len(allt), "rounds": rounds, "median_ms": statistics.median(allt),
                  "p99_ms": pct(allt, 99), "mean_ms": statistics.mean(allt), "max_ms": max(allt),
                  "reconnects": clients[e].reconnects,
                  "per_query_median_ms": {q: statistics.median(times[e][q]) for q in QUERIES},
                  "hits_exact": sum(1 for q in QUERIES if check[e][q]["exact"]),
                  "first_snippet_one_span": sum(1 for q in QUERIES if check[e][q]["first_snippet_one_span"]),
                  "first_snippet_highlighted": sum(1 for q in QUERIES if check[e][q]["first_snippet_highlighted"]),
                  "check": check[e], "server_rss_kb": servers[e].rss_kb()}
    log("latency wall", round(wall, 1), "s:",
        {e: (round(out[e]["median_ms"], 2), round(out[e]["p99_ms"], 2)) for e in out})
    return out


def run_wrk(engine, port):
    lua = os.path.join(HERE, "wrk_rotate.lua")
    env = dict(os.environ, BENCH_QUERIES=QUERIES_FILE, BENCH_ENGINE="kiji" if engine == "kiji" else "groonga")
    p = subprocess.run(["timeout", "90", "wrk"] + WRK_ARGS + ["--latency", "-s", lua, f"http://127.0.0.1:{port}"],
                       capture_output=True, text=True, env=env)
    txt = p.stdout + p.stderr
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed for {engine}: {txt}")
    os.makedirs(os.path.join(SCRATCH, "logs"), exist_ok=True)
    open(os.path.join(SCRATCH, "logs", f"wrk_{engine}.txt"), "w").write(txt)

    def ms(s):
        m = re.match(r"([\d.]+)(us|ms|s)", s)
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", txt, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", txt)
    sock = re.search(r"Socket errors: (.*)", txt)
    req = re.search(r"(\d+) requests in", txt)
    return {"req_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", txt).group(1)),
            "requests": int(req.group(1)) if req else 0,
            "p50_ms": ms(lat["50"]), "p99_ms": ms(lat["99"]),
            "non_2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sock.group(1).strip() if sock else "", "args": " ".join(WRK_ARGS)}


# ---------------------------------------------------------------- main
def median_rec(runs):
    walls = sorted(r["wall_s"] for r in runs)
    med = statistics.median(walls)
    return {"runs": runs, "wall_s": med, "wall_min": walls[0], "wall_max": walls[-1],
            "cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "rss_kb": max(r["rss_kb"] for r in runs), "disk_alloc": runs[-1]["disk_alloc"],
            "disk_apparent": runs[-1]["disk_apparent"], "docs": runs[-1]["docs"]}


def main():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # run the `finally` blocks: stop servers
    os.makedirs(KIJI_CWD, exist_ok=True)
    open(MECABRC, "w").write("dicdir = /var/lib/mecab/dic/ipadic-utf8\n")
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "queries": QUERIES,
               "corpus": CORPUS, "scales": {}, "config": {
                   "reps": REPS, "scale_reps": SCALE_REPS, "rounds": ROUNDS, "scale_rounds": SCALE_ROUNDS,
                   "wrk": " ".join(WRK_ARGS), "wrk_rounds": WRK_ROUNDS, "normalizer": NORMALIZER, "kiji_bin": KIJI}}
    MON.start()
    t_all = time.time()
    try:
        for k in SCALES:
            res = results["scales"][str(k)] = {}
            phase(f"corpus-{k}x")
            jsonl = make_scaled(k)
            truth, n = truth_counts(jsonl)
            loadfile, conv_s = groonga_loadfile(jsonl, k)
            res.update({"articles": n, "bytes": os.path.getsize(jsonl), "truth": truth,
                        "groonga_loadfile_s": conv_s, "jsonl": jsonl})
            log(f"{k}x: {n} articles, {os.path.getsize(jsonl) / 1e6:.1f} MB")
            reps = REPS if k == 1 else SCALE_REPS
            runs = defaultdict(list)
            phase(f"ingest-{k}x")
            # At 1×, kiji's variants too: what detection and the entity model cost.
            variants = ENGINES + (list(KIJI_VARIANTS) if k == 1 and "kiji" in ENGINES else [])
            for rep in range(reps):         # interleaved: rep 1 of every engine, then rep 2, ...
                for e in variants:
                    if e.startswith("kiji"):
                        r = ingest_kiji(jsonl, k, n, variant=e)
                    else:
                        r = ingest_groonga(e.split("-")[1], loadfile, k, n)
                    runs[e].append(r)
                    log(f"ingest {e} {k}x rep {rep + 1}: {r['wall_s']:.2f} s, CPU {r['cpu_s']:.2f} s, "
                        f"RSS {r['rss_kb'] / 1024:.0f} MB")
            res["ingest"] = {e: median_rec(runs[e]) for e in ENGINES}
            if "kiji-nodedup" in runs:
                res["ingest_nodedup"] = median_rec(runs["kiji-nodedup"])
            if "kiji-nomodel" in runs:
                res["ingest_nomodel"] = median_rec(runs["kiji-nomodel"])
            servers = {}
            try:
                phase(f"serve-start-{k}x")
                for e in ENGINES:
                    servers[e] = Server(e, k).start()
                phase(f"latency-{k}x")
                res["latency"] = latency(servers, ROUNDS if k == 1 else SCALE_ROUNDS, truth)
                if k == 1 or os.environ.get("BENCH_WRK_ALL_SCALES") == "1":
                    # Rounds interleaved across engines (round 1 of each, then round 2, ...);
                    # each engine's result is its median round, so a slow spell of this shared
                    # machine does not land on one engine only.
                    rounds = defaultdict(list)
                    for rnd in range(WRK_ROUNDS):
                        for e in ENGINES:
                            phase(f"wrk-{k}x-{e}")
                            rounds[e].append(run_wrk(e, servers[e].port))
                            log(f"wrk {e} round {rnd + 1}: {rounds[e][-1]['req_per_s']} req/s")
                            time.sleep(2)
                    res["wrk"] = {}
                    for e in ENGINES:
                        ordered = sorted(rounds[e], key=lambda v: v["req_per_s"])
                        res["wrk"][e] = dict(ordered[len(ordered) // 2],
                                             rounds=[v["req_per_s"] for v in rounds[e]])
            finally:
                phase(f"serve-stop-{k}x")
                for s in servers.values():
                    s.stop()
    finally:
        MON.stop_ev.set()
        MON.join(5)
        results["wall_s"] = time.time() - t_all
        results["foreign_cpu"] = MON.summary()
        results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        s = json.dumps(results, ensure_ascii=False, indent=1)
        open(os.path.join(SCRATCH, "results.json"), "w", encoding="utf-8").write(s)
    log("done in", round(results["wall_s"]), "s")


if __name__ == "__main__":
    main()
