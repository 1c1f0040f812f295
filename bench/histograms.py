#!/usr/bin/env python3
"""Native histograms side by side: the same remote-write 1.0 load of native histograms into
Prometheus (Debian's 2.42, `--enable-feature=native-histograms`) and promterm, one run.

Usage (from the project root, after `cargo build --release`):
    PROMTERM_BIN=target/release/promterm python3 bench/histograms.py [SERIES] [STEPS]
Defaults: 1,000 series x 480 steps (2 h at 15 s) = 480k histogram samples.

The load: per series a latency histogram at schema 3 (buckets growing by 2^(1/8)), about 20
populated buckets around a per-series median (a log-normal shape), 20-200 observations per
15 s step added to the cumulative counts, now and then an observation in a far bucket (a new
span), and a counter reset for one series in ten, once or twice over the run. Encoded as
remote write 1.0 `Histogram` messages (integer counts: spans and deltas, reset hint unknown;
protobuf by hand, snappy via cramjam), 250 series per request, sent window by window of 60 steps
(in time order; the requests of one window by 4 threads in parallel), as ../shared/bench/perf.py
sends floats. Bodies are encoded before the clock starts.

Figures per server (stderr) and, last line, the promterm/Prometheus ratios (lower is better):
  ingest_cpu  server CPU seconds (user + system, /proc/PID/stat) over the send, per million
              histogram samples
  rss         resident memory after the load; rss_growth: its growth over the empty server
              (the fairest memory comparison: `head` below counts different things)
  head        head memory per sample: promterm's own figure (`promterm_tsdb_head_chunk_bytes`
              at /metrics: chunk bytes held in memory); Prometheus's Go heap growth
              (`go_memstats_heap_inuse_bytes` after the load minus before) plus its m-mapped
              head chunks (`chunks_head/`, on disk but mapped into memory)
  disk        bytes per sample in the data directory after a clean shutdown (promterm: after its
              final flush into the database; Prometheus 2.42: WAL + chunks_head, since two hours
              are not compacted yet) and, for Prometheus, the compacted block its admin snapshot
              API writes of the head (`disk_vs_block` compares promterm's flushed size with it)
Before measuring, each server must hold every sample of a few series (a raw range selector
read back through /api/v1/query), or the run stops: a server that dropped the load would
otherwise look fast.

Last line: histograms: ingest_cpu=R rss=R rss_growth=R head=R disk=R disk_vs_block=R
Needs cramjam; reuses ../shared/bench (servers.py starts the servers; PROMTERM_BIN picks the
binary). Prometheus is started through servers.py with its command given as the PROMTERM_SERVE
template, to add the feature flag. Machines here are noisy: trust ratios from one run.
"""
import concurrent.futures as cf
import json
import math
import os
import random
import struct
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
import cramjam  # noqa: E402
import servers  # noqa: E402

SCHEMA = 3
STEP_MS = 15_000
WINDOW = 60
BATCH_SERIES = 250

PROMETHEUS = ("prometheus --config.file={cfg} --storage.tsdb.path={data} "
              "--web.listen-address=127.0.0.1:{port} --web.enable-remote-write-receiver "
              "--web.enable-admin-api --enable-feature=native-histograms --log.level=warn")


# ---------------------------------------------------------------- protobuf by hand

def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def zigzag(n):
    return (n << 1) ^ (n >> 63)


def field(tag, payload):
    """A length-delimited field (`tag` is the key byte)."""
    return bytes([tag]) + varint(len(payload)) + payload


def spans_and_deltas(counts):
    """Dense counts {index: count} as spans and deltas: non-empty buckets written, runs of at
    most 2 empty buckets between them written as zeros, longer runs start a new span."""
    idx = sorted(i for i, c in counts.items() if c)
    spans, deltas = [], []
    prev_c, prev_i = 0, None
    for i in idx:
        if prev_i is None:
            spans.append([i, 0])
        elif i - prev_i - 1 > 2:
            spans.append([i - prev_i - 1, 0])
        else:
            for _ in range(i - prev_i - 1):
                spans[-1][1] += 1
                deltas.append(-prev_c)
                prev_c = 0
        spans[-1][1] += 1
        deltas.append(counts[i] - prev_c)
        prev_c, prev_i = counts[i], i
    return spans, deltas


def encode_histogram(t_ms, count, total, zero, counts):
    """A prompb.Histogram with integer counts (count_int, zero_count_int, positive spans and
    deltas), reset hint unknown."""
    spans, deltas = spans_and_deltas(counts)
    b = bytearray()
    b += b"\x08" + varint(count)                      # count_int = 1
    b += b"\x19" + struct.pack("<d", total)           # sum = 3
    b += b"\x20" + varint(zigzag(SCHEMA))             # schema = 4 (sint32)
    b += b"\x29" + struct.pack("<d", 2.0 ** -128)     # zero_threshold = 5
    b += b"\x30" + varint(zero)                       # zero_count_int = 6
    for off, ln in spans:                             # positive_spans = 11
        b += field(0x5A, b"\x08" + varint(zigzag(off)) + b"\x10" + varint(ln))
    if deltas:                                        # positive_deltas = 12 (packed sint64)
        b += field(0x62, b"".join(varint(zigzag(d)) for d in deltas))
    b += b"\x78" + varint(t_ms)                       # timestamp = 15
    return bytes(b)


def encode_series(labels, hists):
    ts = bytearray()
    for k in sorted(labels):
        ts += field(0x0A, field(0x0A, k.encode()) + field(0x12, labels[k].encode()))
    for h in hists:
        ts += field(0x22, h)                          # TimeSeries.histograms = 4
    return field(0x0A, bytes(ts))                     # WriteRequest.timeseries = 1


# ---------------------------------------------------------------- the load

def bound(i):
    return 2.0 ** (i / 2 ** SCHEMA)


class Latency:
    """One series' cumulative latency histogram (see the module doc)."""

    def __init__(self, n, rnd):
        self.rnd = rnd
        median = 0.01 * 2 ** (rnd.random() * 6)     # 10 ms .. 640 ms
        sigma = 0.25 + 0.2 * rnd.random()
        mid = round(math.log2(median) * 2 ** SCHEMA)
        w = {}
        for i in range(mid - 14, mid + 15):
            x = (math.log(bound(i) - (bound(i) - bound(i - 1)) / 2) - math.log(median)) / sigma
            w[i] = math.exp(-x * x / 2)
        tot = sum(w.values())
        self.p = [(i, v / tot) for i, v in w.items() if v / tot > 0.004]
        self.rate = 20 + rnd.randrange(180)
        self.reset_at = {(n * 37 + k * 211) % 480 for k in range(1 + n % 2)} if n % 10 == 0 else set()
        self.clear()

    def clear(self):
        self.counts, self.count, self.sum, self.zero = {}, 0, 0.0, 0

    def step(self, k):
        if k in self.reset_at:
            self.clear()
        rnd = self.rnd
        n = int(self.rate * (0.7 + 0.6 * rnd.random()))
        added = 0
        for i, p in self.p:
            c = int(n * p + rnd.random())
            if c:
                self.counts[i] = self.counts.get(i, 0) + c
                self.sum += c * bound(i) * 0.95
                added += c
        if rnd.random() < 0.02:                        # a slow outlier, far in the tail
            i = self.p[-1][0] + 3 + rnd.randrange(6)
            self.counts[i] = self.counts.get(i, 0) + 1
            self.sum += bound(i)
            added += 1
        if rnd.random() < 0.01:
            self.zero += 1
            added += 1
        self.count += added


def build(n_series, n_steps, start_ms):
    """Snappy bodies in time order, window by window; (bodies, requests per window, samples)."""
    rnd = random.Random(21)
    hs = [Latency(n, rnd) for n in range(n_series)]
    labels = [{"__name__": "hbench_request_duration_seconds", "job": "hbench",
               "instance": f"host-{n // 10}", "route": f"/r{n % 10}"} for n in range(n_series)]
    bodies, samples = [], 0
    for w0 in range(0, n_steps, WINDOW):
        rows = [[] for _ in range(n_series)]
        for k in range(w0, min(w0 + WINDOW, n_steps)):
            t = start_ms + k * STEP_MS
            for n, h in enumerate(hs):
                h.step(k)
                rows[n].append(encode_histogram(t, h.count, h.sum, h.zero, h.counts))
                samples += 1
        for b0 in range(0, n_series, BATCH_SERIES):
            body = b"".join(encode_series(labels[n], rows[n]) for n in range(b0, min(b0 + BATCH_SERIES, n_series)))
            bodies.append(bytes(cramjam.snappy.compress_raw(body)))
    return bodies, (n_series + BATCH_SERIES - 1) // BATCH_SERIES, samples


def send_all(url, bodies, per_window):
    def post(b):
        req = urllib.request.Request(url, data=b, method="POST", headers={
            "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        try:
            with urllib.request.urlopen(req, timeout=300) as r:
                return r.status
        except urllib.error.HTTPError as e:
            raise RuntimeError(f"remote write answered {e.code}: {e.read()[:300]!r}") from None
    with cf.ThreadPoolExecutor(4) as ex:
        for i in range(0, len(bodies), per_window):
            list(ex.map(post, bodies[i:i + per_window]))


# ---------------------------------------------------------------- measuring

def start(kind):
    """servers.Server for promterm; Prometheus with the native-histograms feature flag (its
    command as the PROMTERM_SERVE template servers.py reads)."""
    if kind == "promterm":
        return servers.Server("promterm")
    saved = os.environ.get("PROMTERM_SERVE")
    os.environ["PROMTERM_SERVE"] = PROMETHEUS
    try:
        srv = servers.Server("promterm")
    finally:
        if saved is None:
            del os.environ["PROMTERM_SERVE"]
        else:
            os.environ["PROMTERM_SERVE"] = saved
    srv.kind = "prometheus"
    return srv


def self_metrics(srv):
    """Unlabelled samples of /metrics, by name (the first of each)."""
    with urllib.request.urlopen(srv.base + "/metrics", timeout=30) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, rest = line.partition(" ")
        try:
            out.setdefault(name, float(rest.split()[0]))
        except (ValueError, IndexError):
            pass
    return out


def check_stored(srv, n_series, n_steps, start_ms):
    """Every sample of a few series reads back as a histogram (a raw range selector)."""
    end_s = (start_ms + (n_steps - 1) * STEP_MS) / 1000
    rng = f"{n_steps * STEP_MS // 1000}s"
    for n in sorted({0, n_series // 2, n_series - 1}):
        q = (f'hbench_request_duration_seconds{{instance="host-{n // 10}",route="/r{n % 10}"}}[{rng}]')
        code, body = srv.get("/api/v1/query", {"query": q, "time": f"{end_s:.3f}"})
        res = body.get("data", {}).get("result", []) if code == 200 else []
        got = len(res[0].get("histograms", [])) if res else 0
        if got != n_steps:
            raise RuntimeError(f"{srv.kind}: series {n} holds {got} of {n_steps} histogram samples "
                               f"({code}: {json.dumps(body)[:300]})")


def measure(kind, bodies, per_window, samples, n_series, n_steps, start_ms):
    srv = start(kind)
    try:
        time.sleep(1)
        before = self_metrics(srv)
        rss0 = srv.rss_kb()
        c0 = srv.cpu_s()
        t0 = time.perf_counter()
        send_all(srv.write_url, bodies, per_window)
        wall = time.perf_counter() - t0
        cpu = srv.cpu_s() - c0
        time.sleep(2)
        rss = srv.rss_kb()
        after = self_metrics(srv)
        check_stored(srv, n_series, n_steps, start_ms)
        snap = None
        if kind == "prometheus":
            heap = after.get("go_memstats_heap_inuse_bytes", 0) - before.get("go_memstats_heap_inuse_bytes", 0)
            mapped = srv.du_bytes("data/chunks_head")
            head = heap + mapped
            head_note = f"Go heap +{heap / samples:.2f} B + chunks_head {mapped / samples:.2f} B"
            req = urllib.request.Request(srv.base + "/api/v1/admin/tsdb/snapshot", method="POST")
            with urllib.request.urlopen(req, timeout=300) as r:
                name = json.loads(r.read())["data"]["name"]
            snap = srv.du_bytes(f"data/snapshots/{name}")
        else:
            head = after.get("promterm_tsdb_head_chunk_bytes", 0)
            head_note = "promterm_tsdb_head_chunk_bytes"
        srv.stop(keep=True)
        parts = {d: srv.du_bytes(f"data/{d}") for d in ("wal", "chunks_head")}
        disk = srv.du_bytes("data") - (snap or 0)
        r = dict(cpu=cpu, wall=wall, rss=rss, rss_growth=rss - rss0, head=head, disk=disk, snap=snap)
        print(f"{kind}: ingest {samples / wall:,.0f} histograms/s wall, {cpu:.2f} cpu-s = "
              f"{cpu / samples * 1e6:.2f} cpu-s per million histograms; rss {rss / 1024:.0f} MiB "
              f"(+{(rss - rss0) * 1024 / samples:.1f} B/sample over the empty server); head "
              f"{head / samples:.2f} B/sample ({head_note}); disk after shutdown {disk / samples:.2f} B/sample "
              f"(wal {parts['wal'] / samples:.2f}, chunks_head {parts['chunks_head'] / samples:.2f})"
              + (f"; compacted block {snap / samples:.2f} B/sample" if snap else ""), file=sys.stderr)
        return r
    finally:
        srv.stop()


def main():
    n_series = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    n_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 480
    end_ms = (int(time.time()) // 60) * 60 * 1000 - 120_000
    start_ms = end_ms - STEP_MS * n_steps
    t = time.perf_counter()
    bodies, per_window, samples = build(n_series, n_steps, start_ms)
    size = sum(len(b) for b in bodies)
    print(f"load: {n_series} series x {n_steps} steps = {samples} histogram samples, {len(bodies)} requests, "
          f"{size / samples:.1f} B/sample snappy-compressed on the wire (built in {time.perf_counter() - t:.0f}s)",
          file=sys.stderr)
    res = {}
    for kind in ("prometheus", "promterm"):
        res[kind] = measure(kind, bodies, per_window, samples, n_series, n_steps, start_ms)
    a, b = res["promterm"], res["prometheus"]
    print(f"histograms: ingest_cpu={a['cpu'] / b['cpu']:.2f} rss={a['rss'] / b['rss']:.2f} "
          f"rss_growth={a['rss_growth'] / max(b['rss_growth'], 1):.2f} "
          f"head={a['head'] / max(b['head'], 1):.2f} disk={a['disk'] / b['disk']:.2f} "
          f"disk_vs_block={a['disk'] / b['snap']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
