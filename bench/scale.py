#!/usr/bin/env python3
"""Scale side by side: SERIES active series remote-written by examples/loadgen.rs (ROUNDS
rounds, 15 s apart in sample time, sent back to back over 4 connections) into Prometheus
(Debian's 2.42, `--web.enable-remote-write-receiver`) and promterm, one server at a time.

Reports per server: ingest CPU seconds (the server's, while the load runs), the load
generator's samples/s and its own CPU (so that a run where the generator was the
bottleneck shows), resident memory after the load, and the median latency (of RUNS runs,
after one warm-up) of three instant queries at the end of the load:
  count({__name__=~".+"})                 every series
  lg_metric_7{id="70123"}                 one series
  sum by (instance) (lg_metric_7)         10,000 series into 1,000 groups (at 1M series)
Each answer is checked (the count equals SERIES, one series, the group count) on both.

Usage (from the project root), one command:
    cargo build --release && cargo build --release --example loadgen
    PROMTERM_BIN=target/release/promterm python3 bench/scale.py [SERIES] [ROUNDS]
Defaults: 1,000,000 series x 3 rounds. LOADGEN_BIN overrides the generator
(default target/release/examples/loadgen), RUNS the timed runs per query (default 5).
Prometheus at 1M series needs a few GiB of memory; every data directory is deleted after.

Last line:
    scale: rss=R ingest_cpu=R count=R one=R sumby=R   (promterm / Prometheus; lower is better)
The issue's goal: rss <= 0.30. Reuses ../shared/bench/servers.py by path. Machines here are
noisy: compare the ratios of one run.
"""
import os
import re
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("BENCH_SHARED") or os.path.join(HERE, "..", "..", "shared", "bench")
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/bench"
sys.path.insert(0, SHARED)
from servers import Server  # noqa: E402

QUERIES = [
    ("count", 'count({__name__=~".+"})'),
    ("one", 'lg_metric_7{id="70123"}'),
    ("sumby", "sum by (instance) (lg_metric_7)"),
]


def loadgen_bin():
    return os.environ.get("LOADGEN_BIN") or os.path.abspath(os.path.join("target", "release", "examples", "loadgen"))


def expected(series):
    """What each query must answer: the count's value, the number of result series."""
    one = 1 if series > 70123 else 0
    members = [i for i in range(70000, min(series, 80000))]  # lg_metric_7: ids 70000..79999
    groups = len({i % 1000 for i in members})
    return {"count": series, "one": one, "sumby": groups}


def settle(srv, quiet_cpu=0.1, timeout=300):
    """Wait until the server used less than `quiet_cpu` CPU seconds in one second."""
    t0 = time.time()
    prev = srv.cpu_s()
    while time.time() - t0 < timeout:
        time.sleep(1)
        cur = srv.cpu_s()
        if cur - prev < quiet_cpu:
            return
        prev = cur


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_server(kind, series, rounds, runs):
    srv = Server(kind)
    try:
        c0, g0, t0 = srv.cpu_s(), child_cpu(), time.perf_counter()
        out = subprocess.run([loadgen_bin(), "--url", srv.write_url, "--series", str(series), "--rounds",
                              str(rounds), "--interval", "15", "--conns", "4", "--fast"],
                             capture_output=True, text=True, timeout=3600)
        wall = time.perf_counter() - t0
        cpu, gen_cpu = srv.cpu_s() - c0, child_cpu() - g0
        if out.returncode != 0:
            raise RuntimeError(f"{kind}: loadgen failed ({out.returncode}): {out.stdout[-1000:]} {out.stderr[-1000:]}")
        m = re.search(r"samples_per_s=(\d+)", out.stdout)
        rate = int(m.group(1)) if m else 0
        settle(srv)
        rss = srv.rss_kb()
        t_eval = time.time()
        want = expected(series)
        lat = {}
        for key, q in QUERIES:
            ts = []
            for i in range(runs + 1):
                t1 = time.perf_counter()
                code, body = srv.get("/api/v1/query", {"query": q, "time": f"{t_eval:.3f}"}, timeout=600)
                dt = time.perf_counter() - t1
                if body.get("status") != "success":
                    raise RuntimeError(f"{kind}: {q}: {body.get('error')}")
                res = body["data"]["result"]
                got = int(float(res[0]["value"][1])) if key == "count" and res else len(res)
                if got != want[key]:
                    raise RuntimeError(f"{kind}: {q}: answered {got}, expected {want[key]}")
                if i > 0:
                    ts.append(dt)
            lat[key] = statistics.median(ts)
        print(f"{kind}: {series} series x {rounds} rounds in {wall:.1f} s, loadgen {rate:,} samples/s "
              f"(its cpu {gen_cpu:.1f} s), server ingest cpu {cpu:.1f} s, rss {rss / 1024:.0f} MiB, query medians "
              + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in lat.items()), file=sys.stderr)
        return dict(cpu=cpu, rss=rss, lat=lat, rate=rate)
    finally:
        srv.stop()


def main():
    series = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    runs = int(os.environ.get("RUNS", "5"))
    if not os.path.exists(loadgen_bin()):
        print(f"scale: no load generator at {loadgen_bin()}: cargo build --release --example loadgen")
        return 1
    res = {k: run_server(k, series, rounds, runs) for k in ("prometheus", "promterm")}
    a, b = res["promterm"], res["prometheus"]
    r = {k: a["lat"][k] / b["lat"][k] for k, _ in QUERIES}
    print(f"scale: rss={a['rss'] / b['rss']:.2f} ingest_cpu={a['cpu'] / b['cpu']:.2f} "
          f"count={r['count']:.2f} one={r['one']:.2f} sumby={r['sumby']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
