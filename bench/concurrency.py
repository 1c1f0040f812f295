#!/usr/bin/env python3
"""Concurrent query load side by side: the same remote-written data set as
../shared/bench/perf.py (its `rw.build_dataset`, `payloads` and `send_all`) loaded into
Prometheus (Debian's 2.42) and promterm (and VictoriaMetrics with PERF_VM=1 or --vm), then
CLIENTS client processes each run perf.py's QUERIES as range queries over the whole load
(step 15 s, start 10 min after the first sample as perf.py does), one after the other in a
loop, for DURATION seconds per server. One server runs at a time.

Reports per server: queries per second (all clients together), p50 and p99 latency over
every query, and per-query p50; then the promterm/Prometheus ratios. The issue's goal:
promterm QPS >= 2x Prometheus's and p99 <= Prometheus's, that is `qps>=2.00 p99<=1.00` on
the last line.

Usage (from the project root, after `cargo build --release`), one command:
    PROMTERM_BIN=target/release/promterm python3 bench/concurrency.py [HOSTS] [STEPS]
Defaults: 100 hosts (about 9.8 k series) x 480 steps (2 h at 15 s), as perf.py.
Environment: CLIENTS (default 8), DURATION (seconds per server, default 60), PERF_VM=1 adds
VictoriaMetrics (`VM_BIN` overrides its binary), PROMTERM_BIN / PROMTERM_SERVE as servers.py.

The clients are processes (not threads: the GIL would make Python the bottleneck), each
with one keep-alive HTTP connection; a response body is read whole but not parsed when it
starts with `{"status":"success"` (parsing megabytes of JSON would cost the client more CPU
than the query costs the server). The client processes' CPU seconds are printed next to the
server's so that a run where the clients starved the server (2-core machines) can be seen.
Each server first loads, then is left until idle (background flushes would otherwise land
in its timed window), answers every query once (warm-up, which also checks they succeed),
and then takes the timed load.

Last line:
    concurrency: qps=R p50=R p99=R   (promterm / Prometheus; qps higher is better, latencies lower)
preceded, with VictoriaMetrics, by `concurrency-vm: qps=R p50=R p99=R` (promterm / VM).
Reuses ../shared/bench/{perf,rw,servers}.py by path; needs cramjam. Machines here are noisy:
compare the ratios of one run.
"""
import http.client
import multiprocessing as mp
import os
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("BENCH_SHARED") or os.path.join(HERE, "..", "..", "shared", "bench")
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/bench"
sys.path.insert(0, SHARED)
import perf  # noqa: E402
import rw  # noqa: E402
from servers import Server  # noqa: E402

OK_PREFIX = b'{"status":"success"'


def percentile(sorted_xs, p):
    """Nearest-rank percentile of an already sorted list (p in 0..100)."""
    if not sorted_xs:
        return float("nan")
    k = max(0, min(len(sorted_xs) - 1, int(round(p / 100 * len(sorted_xs) + 0.5)) - 1))
    return sorted_xs[k]


def client(port, paths, deadline, offset, out_q):
    """One client process: run the query paths in a loop (starting at `offset`) until the
    deadline; put (latencies per query index, errors, cpu seconds) on out_q."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    lat = [[] for _ in paths]
    errors = []
    i = offset
    c0 = time.process_time()
    while time.monotonic() < deadline:
        qi = i % len(paths)
        i += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", paths[qi], headers={"Connection": "keep-alive"})
            r = conn.getresponse()
            body = r.read()
        except (http.client.HTTPException, OSError) as e:
            errors.append(f"query {qi}: {e}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
            continue
        dt = time.perf_counter() - t0
        if r.status != 200 or not body.lstrip().startswith(OK_PREFIX):
            errors.append(f"query {qi}: HTTP {r.status}: {body[:200]!r}")
            continue
        lat[qi].append(dt)
    conn.close()
    out_q.put((lat, errors, time.process_time() - c0))


def settle(srv, quiet_cpu=0.05, timeout=120):
    """Wait until the server used less than `quiet_cpu` CPU seconds in one second."""
    t0 = time.time()
    prev = srv.cpu_s()
    while time.time() - t0 < timeout:
        time.sleep(1)
        cur = srv.cpu_s()
        if cur - prev < quiet_cpu:
            return
        prev = cur


def run_load(srv, paths, clients, duration):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    deadline = time.monotonic() + duration
    c0 = srv.cpu_s()
    procs = [ctx.Process(target=client, args=(srv.port, paths, deadline, k, q)) for k in range(clients)]
    t0 = time.perf_counter()
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    server_cpu = srv.cpu_s() - c0
    per_query = [[] for _ in paths]
    errors = []
    client_cpu = 0.0
    for lat, errs, cpu in results:
        for qi, xs in enumerate(lat):
            per_query[qi].extend(xs)
        errors.extend(errs)
        client_cpu += cpu
    every = sorted(x for xs in per_query for x in xs)
    return dict(n=len(every), wall=wall, qps=len(every) / wall, p50=percentile(every, 50),
                p99=percentile(every, 99), per_query=[percentile(sorted(xs), 50) for xs in per_query],
                counts=[len(xs) for xs in per_query], errors=errors, server_cpu=server_cpu,
                client_cpu=client_cpu)


def main():
    vm = "--vm" in sys.argv[1:] or os.environ.get("PERF_VM", "") not in ("", "0")
    args = [a for a in sys.argv[1:] if a != "--vm"]
    hosts = int(args[0]) if len(args) > 0 else 100
    n_steps = int(args[1]) if len(args) > 1 else 480
    clients = int(os.environ.get("CLIENTS", "8"))
    duration = float(os.environ.get("DURATION", "60"))
    step_ms = 15000
    end_ms = (int(time.time()) // 60) * 60 * 1000 - 120000
    start_ms = end_ms - step_ms * n_steps
    ds = rw.build_dataset(hosts=hosts, start_ms=start_ms, step_ms=step_ms, n_steps=n_steps)
    table = rw.samples_for(ds, start_ms, step_ms, n_steps)
    nsamples = sum(len(r) for r in table)
    bodies = perf.payloads(ds, table, start_ms, step_ms, n_steps)
    per_window = (len(ds) + 999) // 1000
    s, e = start_ms / 1000 + 600.5, end_ms / 1000 - 0.5
    paths = ["/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": q, "start": f"{s:.3f}", "end": f"{e:.3f}", "step": "15"}) for q in perf.QUERIES]
    print(f"load: {len(ds)} series, {nsamples} samples; {clients} client processes x {duration:.0f} s "
          f"per server, {len(paths)} range queries in a loop", file=sys.stderr)
    res = {}
    for kind in ("prometheus", "promterm") + (("victoriametrics",) if vm else ()):
        srv = Server(kind)
        try:
            perf.send_all(srv.write_url, bodies, per_window)
            if kind == "victoriametrics":
                perf.vm_force_flush(srv)
            settle(srv)
            for p in paths:  # warm-up; fails loudly on a query the server refuses
                code, body = srv.get(p.split("?")[0], dict(urllib.parse.parse_qsl(p.split("?")[1])), timeout=300)
                if body.get("status") != "success":
                    raise RuntimeError(f"{kind}: warm-up query failed: {body.get('error')}")
            r = run_load(srv, paths, clients, duration)
            r["rss"] = srv.rss_kb()
            res[kind] = r
            print(f"{kind}: {r['n']} queries in {r['wall']:.1f} s = {r['qps']:.2f} q/s, p50 {r['p50'] * 1000:.0f} ms, "
                  f"p99 {r['p99'] * 1000:.0f} ms, errors {len(r['errors'])}, server cpu {r['server_cpu']:.1f} s, "
                  f"client cpu {r['client_cpu']:.1f} s, rss {r['rss'] / 1024:.0f} MiB", file=sys.stderr)
            print(f"{kind}: per-query p50 ms {[round(x * 1000) for x in r['per_query']]} "
                  f"(counts {r['counts']})", file=sys.stderr)
            for err in r["errors"][:5]:
                print(f"{kind}: error: {err}", file=sys.stderr)
        finally:
            srv.stop()
    a = res["promterm"]
    if vm:
        v = res["victoriametrics"]
        print(f"concurrency-vm: qps={a['qps'] / v['qps']:.2f} p50={a['p50'] / v['p50']:.2f} p99={a['p99'] / v['p99']:.2f}")
    b = res["prometheus"]
    print(f"concurrency: qps={a['qps'] / b['qps']:.2f} p50={a['p50'] / b['p50']:.2f} p99={a['p99'] / b['p99']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
