#!/usr/bin/env python3
"""OTLP ingest: samples per second and promterm CPU per million samples over OTLP/gRPC, OTLP/HTTP
(protobuf) and remote write 1.0 from a client on this machine, then scrape and query latency
while an OTLP burst runs.

Usage (from the project root, after `cargo build --release`):
    python3 bench/otlp.py [SERIES] [ROUNDS] [CLIENTS] [BURST_SECONDS]
Defaults: 2,000 series (half counters, half gauges) x 300 rounds = 600k samples per path, sent
by 4 client threads (each owns a slice of the series, so every series stays in time order),
and a 30 s burst. OTLP_BENCH_ONLY=throughput or =latency runs one part;
OTLP_BENCH_SERVE_ARGS adds flags to `promterm serve`. Each path runs against a fresh `promterm serve` with its own data directory.
Payloads are encoded before the clock starts, so the client's encoding is not measured; the
promterm figure is its process CPU (user + system, all threads) over the send.

Needs grpcio and opentelemetry-proto (pip: opentelemetry-exporter-otlp-proto-grpc) and cramjam;
reuses the shared harness (../shared/bench: rw.py for remote write, servers.py to start
promterm; PROMTERM_BIN picks the binary).
"""
import http.client
import multiprocessing
import os
import statistics
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
import cramjam  # noqa: E402
import grpc  # noqa: E402
import rw  # noqa: E402
import servers  # noqa: E402
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as ms  # noqa: E402

EXPORT = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"


def otlp_request(lo, hi, t_ms, rnd, start_ms):
    """Series lo..hi at t_ms: even ones a cumulative counter, odd ones a gauge."""
    req = ms.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    a = rm.resource.attributes.add()
    a.key, a.value.string_value = "service.name", "bench"
    sm = rm.scope_metrics.add()
    sm.scope.name = "bench"
    c = sm.metrics.add()
    c.name = "bench.requests"
    c.sum.is_monotonic = True
    c.sum.aggregation_temporality = 2
    g = sm.metrics.add()
    g.name = "bench.temperature"
    for i in range(lo, hi):
        if i % 2 == 0:
            p = c.sum.data_points.add()
            p.start_time_unix_nano = start_ms * 1_000_000
            p.as_double = float(rnd * (i + 1))
        else:
            p = g.gauge.data_points.add()
            p.as_double = 20.0 + (rnd * i) % 17
        p.time_unix_nano = t_ms * 1_000_000
        at = p.attributes.add()
        at.key, at.value.string_value = "series", str(i)
    return req.SerializeToString()


def rw_request(lo, hi, t_ms, rnd):
    series = []
    for i in range(lo, hi):
        if i % 2 == 0:
            name, v = "bench_requests_total", float(rnd * (i + 1))
        else:
            name, v = "bench_temperature", 20.0 + (rnd * i) % 17
        series.append(({"__name__": name, "job": "bench", "series": str(i)}, [(t_ms, v)]))
    return bytes(cramjam.snappy.compress_raw(rw.encode_write_request(series)))


def payloads(kind, n_series, rounds, clients, t0_ms, step_ms):
    """One list of (payload) per client thread, in time order."""
    per = (n_series + clients - 1) // clients
    out = []
    for k in range(clients):
        lo, hi = k * per, min(n_series, (k + 1) * per)
        mine = []
        for r in range(rounds):
            t = t0_ms + r * step_ms
            if kind == "rw":
                mine.append(rw_request(lo, hi, t, r + 1))
            else:
                mine.append(otlp_request(lo, hi, t, r + 1, t0_ms - 1000))
        out.append(mine)
    return out


class Sender:
    """Sends one client's payloads over one path; counts errors."""

    def __init__(self, kind, srv):
        self.kind, self.errors = kind, 0
        if kind == "grpc":
            self.chan = grpc.insecure_channel(srv.grpc_addr)
            self.call = self.chan.unary_unary(EXPORT)
        else:
            host, port = (srv.http_addr if kind == "http" else f"127.0.0.1:{srv.port}").split(":")
            self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
            if kind == "http":
                self.path, self.headers = "/v1/metrics", {"Content-Type": "application/x-protobuf"}
            else:
                self.path = "/api/v1/write"
                self.headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                                "X-Prometheus-Remote-Write-Version": "0.1.0"}

    def send(self, body):
        try:
            if self.kind == "grpc":
                self.call(body, timeout=60)
                return
            self.conn.request("POST", self.path, body=body, headers=self.headers)
            r = self.conn.getresponse()
            r.read()
            if r.status >= 300:
                self.errors += 1
        except Exception:  # noqa: BLE001 - counted and reported
            self.errors += 1


def run_clients(kind, srv, per_client):
    senders = [Sender(kind, srv) for _ in per_client]

    def go(s, bodies):
        for b in bodies:
            s.send(b)

    threads = [threading.Thread(target=go, args=(s, b)) for s, b in zip(senders, per_client)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(s.errors for s in senders)


def start_promterm(cfg=""):
    grpc_port, http_port = servers.free_port(), servers.free_port()
    os.environ["PROMTERM_SERVE"] = (
        "{bin} serve --headless --config {cfg} --data {data} --listen 127.0.0.1:{port} "
        f"--otlp.grpc-listen-address=127.0.0.1:{grpc_port} "
        f"--otlp.http-listen-address=127.0.0.1:{http_port} "
        + os.environ.get("OTLP_BENCH_SERVE_ARGS", "")
    )
    srv = servers.Server("promterm", extra_config=cfg)
    srv.grpc_addr, srv.http_addr = f"127.0.0.1:{grpc_port}", f"127.0.0.1:{http_port}"
    return srv


def stored(srv, t_ms, rounds, step_ms):
    window = (rounds * step_ms) // 1000 + 60
    q = f'sum(count_over_time({{__name__=~"bench_requests_total|bench_temperature"}}[{window}s]))'
    _, r = srv.get("/api/v1/query", {"query": q, "time": str(t_ms / 1000)})
    res = r["data"]["result"]
    return int(float(res[0]["value"][1])) if res else 0


def throughput(n_series, rounds, clients):
    step_ms = 1000
    t0_ms = int(time.time() * 1000) - (rounds + 120) * step_ms
    total = n_series * rounds
    rows = []
    for kind in ["grpc", "http", "rw"]:
        per_client = payloads(kind, n_series, rounds, clients, t0_ms, step_ms)
        size = sum(len(b) for p in per_client for b in p)
        srv = start_promterm()
        try:
            cpu0, w0 = srv.cpu_s(), time.perf_counter()
            errors = run_clients(kind, srv, per_client)
            wall, cpu = time.perf_counter() - w0, srv.cpu_s() - cpu0
            got = stored(srv, t0_ms + rounds * step_ms, rounds, step_ms)
        finally:
            srv.stop()
        rows.append((kind, total / wall, cpu / total * 1e6, wall, cpu, errors, got, size / total))
    print(f"{'path':6} {'samples/s':>11} {'cpu-s/M':>8} {'wall s':>7} {'cpu s':>6} {'errors':>6} "
          f"{'stored':>9} {'B/sample':>8}")
    for kind, rate, cpm, wall, cpu, err, got, bps in rows:
        print(f"{kind:6} {rate:11,.0f} {cpm:8.2f} {wall:7.2f} {cpu:6.2f} {err:6d} {got:9,d} {bps:8.1f}")
    base = rows[2]
    print(f"otlp-ratio: grpc cpu/M vs remote write {rows[0][2] / base[2]:.2f}, "
          f"http cpu/M vs remote write {rows[1][2] / base[2]:.2f}  (expected stored: {total:,}, "
          "plus one created-timestamp zero per OTLP counter series)")


def query_loop(port, queries, stop, out):
    """Runs the queries in turn every 100 ms until `stop`; puts [(wall time, ms)] on `out`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    timed, i = [], 0
    while not stop.is_set():
        q = urllib.parse.urlencode({"query": queries[i % len(queries)]})
        t = time.perf_counter()
        conn.request("GET", f"/api/v1/query?{q}")
        conn.getresponse().read()
        timed.append((time.time(), (time.perf_counter() - t) * 1000))
        i += 1
        time.sleep(0.1)
    out.put(timed)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))] if xs else float("nan")


def latency(n_series, clients, seconds):
    """Query and scrape latency idle, then during an OTLP/gRPC burst as fast as the clients go."""
    # The server scrapes itself every second.
    srv = start_promterm("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n"
                         "    static_configs: [{targets: ['127.0.0.1:SELFPORT']}]\n")
    # What a dashboard over the scraped data re-runs while the OTLP burst comes in. (Queries
    # over the burst's own series would measure the series' growing density instead: the
    # burst writes 10 samples per second per series.)
    queries = ["sum by (job) (rate(prometheus_http_requests_total[1m]))",
               "sum by (handler) (rate(prometheus_http_request_duration_seconds_count[1m]))",
               "count(up == 1)", "max_over_time(process_resident_memory_bytes[1m])"]
    # The querier is a process of its own, so the senders' threads cannot delay its clock.
    stop = multiprocessing.Event()
    out = multiprocessing.Queue()
    qp = multiprocessing.Process(target=query_loop, args=(srv.port, queries, stop, out))
    qp.start()
    time.sleep(seconds)
    idle_end = time.time()
    # The burst: rounds 100 ms apart in sample time, sent as fast as the clients can (enough
    # of them encoded beforehand to last the whole burst on this machine).
    rounds = int(seconds * 150)
    t0_ms = int(time.time() * 1000) - rounds * 100 - 60_000
    per_client = payloads("grpc", n_series, rounds, clients, t0_ms, 100)
    b0 = time.time()
    done = threading.Event()
    sent = [0]

    def burst():
        deadline = time.time() + seconds
        senders = [Sender("grpc", srv) for _ in per_client]

        def go(s, bodies):
            for b in bodies:
                if time.time() > deadline:
                    return
                s.send(b)
                sent[0] += 1

        ts = [threading.Thread(target=go, args=(s, b)) for s, b in zip(senders, per_client)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        done.set()

    bt = threading.Thread(target=burst)
    bt.start()
    bt.join()
    b1 = time.time()
    stop.set()
    timed = out.get()
    qp.join()
    lat = {"idle": [ms for t, ms in timed if t < b0],
           "burst": [ms for t, ms in timed if b0 <= t <= b1]}
    slow = [(ms, t) for t, ms in timed if b0 <= t <= b1]
    time.sleep(2)

    def scrapes(a, b):
        _, r = srv.get("/api/v1/query_range", {"query": 'scrape_duration_seconds{job="self"}',
                                            "start": str(a), "end": str(b), "step": "1"})
        vals = [float(v) * 1000 for s in r["data"]["result"] for _, v in s["values"]]
        return vals

    idle_s, burst_s = scrapes(idle_end - seconds + 3, idle_end), scrapes(b0 + 1, b1)
    srv.stop()
    per_req = (n_series + clients - 1) // clients
    print(f"burst: {sent[0]:,} exports of {per_req:,} points in {b1 - b0:.1f} s "
          f"({sent[0] * per_req / (b1 - b0):,.0f} samples/s)")
    for name, xs, ys in [("query ms", lat["idle"], lat["burst"]), ("scrape ms", idle_s, burst_s)]:
        print(f"{name:10} idle p50 {pct(xs, 50):7.1f} p90 {pct(xs, 90):7.1f} p99 {pct(xs, 99):7.1f} "
              f"max {max(xs, default=0):7.1f} (n={len(xs)})   burst p50 {pct(ys, 50):7.1f} "
              f"p90 {pct(ys, 90):7.1f} p99 {pct(ys, 99):7.1f} max {max(ys, default=0):7.1f} (n={len(ys)})")
    worst = sorted(slow, reverse=True)[:3]
    print("slowest queries in the burst: " + ", ".join(f"{ms:.0f} ms at +{t - b0:.1f} s" for ms, t in worst))


def main():
    n_series = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    clients = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    burst_s = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    only = os.environ.get("OTLP_BENCH_ONLY", "")
    if only != "latency":
        throughput(n_series, rounds, clients)
    if only != "throughput":
        latency(n_series, clients, burst_s)


if __name__ == "__main__":
    main()
