#!/usr/bin/env python3
"""Histogram queries side by side: the same observations as a classic histogram
(`hq_latency_seconds_bucket{le}`, `_sum`, `_count`) and as a native histogram
(`hq_latency_seconds`, schema 3), remote-written to Prometheus (Debian's 2.42,
`--enable-feature=native-histograms`) and to promterm, then the p99 queries timed on both:

  classic  histogram_quantile(0.99, sum by (le) (rate(hq_latency_seconds_bucket[5m])))
  native   histogram_quantile(0.99, sum(rate(hq_latency_seconds[5m])))

each as an instant query at the end of the data and as range queries over its last hour
(steps 15 s and 60 s); median of RUNS runs after one warm-up run. Query times sit half a
step between samples, so that no sample lies on a window's left edge (2.42's ranges include
it, Prometheus 3's and promterm's do not).

Usage (from the project root, after `cargo build --release`):
    PROMTERM_BIN=target/release/promterm python3 bench/histogram_queries.py [SERIES] [STEPS] [RUNS]
Defaults: 200 series x 480 steps (2 h at 15 s), 7 runs: 96k native histogram samples and
1.5 M float samples (14 `le` buckets + sum + count per histogram).

The observations come from bench/histograms.py's `Latency` (schema-3 log-normal latencies with
outliers and counter resets). The classic buckets are the powers of two 2^-9 .. 2^4 (plus
+Inf): boundaries of schema 3 too, so each classic bucket is exactly the sum of native buckets
(and the zero bucket) below its `le` -- both forms hold the same observations.

Before timing, each server is left to settle until idle (background flushes after the load
would otherwise land in the first timings).

Checks, per query shape: the classic answers of the two servers agree (relative 1e-6, same
timestamps); the native answers are close (2.42 interpolates linearly inside a native bucket,
Prometheus 3 and promterm exponentially; a schema-3 bucket is 9 % wide, so they may differ by
a few per cent: the largest relative difference is printed and must stay below 10 %). A server
answering nothing for a query is reported, not timed as fast.

Prints a table (ms per query, promterm/Prometheus ratio) and, last line,
  histogram_queries: classic=R native=R    (geometric means of the ratios; lower is better)
Needs cramjam; reuses ../shared/bench/servers.py. Machines here are noisy: trust ratios.
"""
import math
import os
import statistics
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cramjam  # noqa: E402
import histograms as hb  # noqa: E402  (also puts ../shared/bench on sys.path)

NAME = "hq_latency_seconds"
LE_EXPONENTS = list(range(-9, 5))       # classic upper bounds 2^-9 .. 2^4, then +Inf
STEP_MS = hb.STEP_MS
RATE = "5m"
QUERIES = {
    "classic": f"histogram_quantile(0.99, sum by (le) (rate({NAME}_bucket[{RATE}])))",
    "native": f"histogram_quantile(0.99, sum(rate({NAME}[{RATE}])))",
}
SHAPES = [("instant", None), ("range 1h step 15s", 15), ("range 1h step 60s", 60)]
NATIVE_TOLERANCE = 0.10


def le_label(k):
    v = 2.0 ** k
    return repr(v) if v != int(v) else f"{v:.1f}"


def float_sample(t_ms, v):
    """A prompb.Sample (value = 1 double, timestamp = 2 int64) as TimeSeries.samples (2)."""
    return hb.field(0x12, b"\x09" + struct.pack("<d", v) + b"\x10" + hb.varint(t_ms))


def float_series(labels, samples):
    ts = bytearray()
    for k in sorted(labels):
        ts += hb.field(0x0A, hb.field(0x0A, k.encode()) + hb.field(0x12, labels[k].encode()))
    ts += b"".join(samples)
    return hb.field(0x0A, bytes(ts))


def classic_counts(h):
    """Cumulative classic bucket counts of one `Latency` state: native bucket i (schema 3)
    ends at 2^(i/8), so it lies below le = 2^k exactly when i <= 8k."""
    per = 2 ** hb.SCHEMA
    out = []
    for k in LE_EXPONENTS:
        out.append(h.zero + sum(c for i, c in h.counts.items() if i <= per * k))
    out.append(h.count)  # +Inf
    return out


def build(n_series, n_steps, start_ms):
    """Snappy bodies in time order, window by window: each request holds the native histograms
    and the classic series of a batch of series. Returns (bodies, requests per window,
    native samples, float samples)."""
    import random
    rnd = random.Random(22)
    hs = [hb.Latency(n, rnd) for n in range(n_series)]
    base = [{"job": "hq", "instance": f"host-{n // 10}", "route": f"/r{n % 10}"} for n in range(n_series)]
    les = [le_label(k) for k in LE_EXPONENTS] + ["+Inf"]
    bodies, natives, floats = [], 0, 0
    batch = max(1, hb.BATCH_SERIES // 4)
    for w0 in range(0, n_steps, hb.WINDOW):
        native_rows = [[] for _ in range(n_series)]
        # per series: one list of samples per le, then sum, then count
        classic_rows = [[[] for _ in range(len(les) + 2)] for _ in range(n_series)]
        for k in range(w0, min(w0 + hb.WINDOW, n_steps)):
            t = start_ms + k * STEP_MS
            for n, h in enumerate(hs):
                h.step(k)
                native_rows[n].append(hb.encode_histogram(t, h.count, h.sum, h.zero, h.counts))
                natives += 1
                row = classic_rows[n]
                for j, c in enumerate(classic_counts(h)):
                    row[j].append(float_sample(t, float(c)))
                row[len(les)].append(float_sample(t, h.sum))
                row[len(les) + 1].append(float_sample(t, float(h.count)))
                floats += len(les) + 2
        for b0 in range(0, n_series, batch):
            parts = []
            for n in range(b0, min(b0 + batch, n_series)):
                parts.append(hb.encode_series({"__name__": NAME, **base[n]}, native_rows[n]))
                for j, le in enumerate(les):
                    parts.append(float_series({"__name__": f"{NAME}_bucket", "le": le, **base[n]},
                                              classic_rows[n][j]))
                parts.append(float_series({"__name__": f"{NAME}_sum", **base[n]}, classic_rows[n][len(les)]))
                parts.append(float_series({"__name__": f"{NAME}_count", **base[n]}, classic_rows[n][len(les) + 1]))
            bodies.append(bytes(cramjam.snappy.compress_raw(b"".join(parts))))
    per_window = (n_series + batch - 1) // batch
    return bodies, per_window, natives, floats


def run_query(srv, q, shape_step, end_s):
    """(seconds, points as [(t, value)]) of one query; points empty when the answer is empty."""
    if shape_step is None:
        params = {"query": q, "time": f"{end_s:.3f}"}
        path = "/api/v1/query"
    else:
        params = {"query": q, "start": f"{end_s - 3600:.3f}", "end": f"{end_s:.3f}", "step": str(shape_step)}
        path = "/api/v1/query_range"
    t0 = time.perf_counter()
    code, body = srv.get(path, params, timeout=600)
    took = time.perf_counter() - t0
    if code != 200 or body.get("status") != "success":
        raise RuntimeError(f"{srv.kind}: {q}: {code} {body.get('error')}")
    points = []
    for r in body["data"]["result"]:
        if "value" in r:
            points.append((float(r["value"][0]), float(r["value"][1])))
        for t, v in r.get("values", []):
            points.append((float(t), float(v)))
    return took, sorted(points)


def time_all(srv, end_s, runs):
    """{(query kind, shape): (median seconds, points)}."""
    out = {}
    for kind, q in QUERIES.items():
        for shape, step in SHAPES:
            run_query(srv, q, step, end_s)  # warm-up
            times, points = [], []
            for _ in range(runs):
                took, points = run_query(srv, q, step, end_s)
                times.append(took)
            out[(kind, shape)] = (statistics.median(times), points)
    return out


def rel_diff(a, b):
    if a == b or (math.isnan(a) and math.isnan(b)):
        return 0.0
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def compare(pa, pb):
    """(largest relative difference, note) between two answers."""
    if not pa or not pb:
        return math.inf, f"empty answer ({len(pa)} vs {len(pb)} points)"
    if [t for t, _ in pa] != [t for t, _ in pb]:
        return math.inf, f"different timestamps ({len(pa)} vs {len(pb)} points)"
    worst = max(rel_diff(a, b) for (_, a), (_, b) in zip(pa, pb))
    return worst, f"{len(pa)} points"


def load_and_time(kind, bodies, per_window, end_s, runs, n_series, n_steps, start_ms):
    srv = hb.start(kind)
    try:
        time.sleep(1)
        t0 = time.perf_counter()
        hb.send_all(srv.write_url, bodies, per_window)
        print(f"{kind}: loaded in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
        settle(srv)
        check_stored(srv, n_series, n_steps, start_ms)
        return time_all(srv, end_s, runs)
    finally:
        srv.stop()


def settle(srv, quiet_s=0.05, limit_s=180):
    """Waits until the server is idle after the load (under `quiet_s` CPU seconds in a second),
    so that background work (head flushes, compaction) does not land in the query timings."""
    t_end = time.time() + limit_s
    time.sleep(2)
    while time.time() < t_end:
        c0 = srv.cpu_s()
        time.sleep(1)
        if srv.cpu_s() - c0 < quiet_s:
            break
    print(f"{srv.kind}: idle after the load", file=sys.stderr)


def check_stored(srv, n_series, n_steps, start_ms):
    """The last series' native histograms and its +Inf bucket read back complete."""
    end_s = (start_ms + (n_steps - 1) * STEP_MS) / 1000
    rng = f"{n_steps * STEP_MS // 1000}s"
    n = n_series - 1
    sel = f'instance="host-{n // 10}",route="/r{n % 10}"'
    for q, key in ((f"{NAME}{{{sel}}}[{rng}]", "histograms"), (f'{NAME}_bucket{{{sel},le="+Inf"}}[{rng}]', "values")):
        code, body = srv.get("/api/v1/query", {"query": q, "time": f"{end_s:.3f}"})
        res = body.get("data", {}).get("result", []) if code == 200 else []
        got = len(res[0].get(key, [])) if res else 0
        if got != n_steps:
            raise RuntimeError(f"{srv.kind}: {q} holds {got} of {n_steps} samples")


def geomean(xs):
    xs = [x for x in xs if x and math.isfinite(x) and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def main():
    n_series = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    n_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 480
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    end_ms = (int(time.time()) // 60) * 60 * 1000 - 120_000
    start_ms = end_ms - STEP_MS * n_steps
    # Half a step after the last sample: no sample sits on a window's left edge, where
    # Prometheus 2.42 (closed ranges) and 3.x / promterm (left-open ranges) would differ.
    end_s = (start_ms + (n_steps - 1) * STEP_MS + STEP_MS // 2) / 1000
    t = time.perf_counter()
    bodies, per_window, natives, floats = build(n_series, n_steps, start_ms)
    print(f"load: {n_series} series x {n_steps} steps = {natives} native histograms + {floats} float samples "
          f"(classic), {len(bodies)} requests (built in {time.perf_counter() - t:.0f}s)", file=sys.stderr)
    res = {}
    for kind in ("prometheus", "promterm"):
        res[kind] = load_and_time(kind, bodies, per_window, end_s, runs, n_series, n_steps, start_ms)

    print(f"{'query':8} {'shape':20} {'prometheus ms':>14} {'promterm ms':>12} {'ratio':>6}  answers")
    ratios = {"classic": [], "native": []}
    failures = []
    for kind in QUERIES:
        for shape, _ in SHAPES:
            tp, pp = res["prometheus"][(kind, shape)]
            tt, pt = res["promterm"][(kind, shape)]
            worst, note = compare(pt, pp)
            limit = 1e-6 if kind == "classic" else NATIVE_TOLERANCE
            ok = worst <= limit
            ratio = tt / tp if pt else None
            if ratio is not None:
                ratios[kind].append(ratio)
            verdict = f"{'agree' if ok else 'DIFFER'} (max rel diff {worst:.2g}, {note})"
            if not ok:
                failures.append(f"{kind} {shape}: {verdict}")
            print(f"{kind:8} {shape:20} {tp * 1000:14.1f} {tt * 1000:12.1f} "
                  f"{(f'{ratio:.2f}' if ratio is not None else '-'):>6}  {verdict}")
    for f in failures:
        print(f"answers differ: {f}", file=sys.stderr)
    print(f"histogram_queries: classic={geomean(ratios['classic']):.2f} native={geomean(ratios['native']):.2f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
