#!/usr/bin/env python3
"""Remote-write forwarding, side by side with Prometheus: a relay (promterm, then Prometheus)
receives a burst of remote writes and forwards them with its `remote_write` sender into a
Prometheus sink (Debian's, with the remote-write receiver).

The burst is SERIES series × STEPS samples (1 s apart, from two minutes ahead), written to the relay by 4
threads, window by window so every series stays in order. Reports, per relay: seconds from the
first write until the sink has appended every sample, the relay's CPU seconds over that time,
its peak RSS, and the most shards its sender ran. The last line has the promterm/Prometheus
ratios (lower is better).

Usage (from the project root, after `cargo build --release`):
    python3 bench/forward.py [SERIES] [STEPS] [promterm,prometheus]
Reuses the shared harness (rw.py, servers.py); needs cramjam.
"""
import concurrent.futures as cf
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
import cramjam  # noqa: E402
import rw  # noqa: E402
from servers import Server  # noqa: E402

WINDOW = 10


def bodies(series, steps):
    """Request bodies, window by window (all series of a window before the next window)."""
    # Prometheus's sender forwards only samples newer than its own start, so the burst is
    # stamped from two minutes ahead (the relays start before then), 1 s apart.
    start = int(time.time() * 1000) + 120_000
    out = []
    for w0 in range(0, steps, WINDOW):
        batch = []
        for s in range(series):
            labels = {"__name__": "fwd_requests_total", "job": "fwd", "instance": f"h{s % 100}",
                      "idx": str(s)}
            samples = [(start + i * 1000, float(i * (s % 7 + 1))) for i in range(w0, min(steps, w0 + WINDOW))]
            batch.append((labels, samples))
            if len(batch) == 500:
                out.append((w0, bytes(cramjam.snappy.compress_raw(rw.encode_write_request(batch)))))
                batch = []
        if batch:
            out.append((w0, bytes(cramjam.snappy.compress_raw(rw.encode_write_request(batch)))))
    return out


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status


def metric(base, names):
    """Sum of the first samples of the named metrics in base's /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=30) as r:
        total = 0.0
        for line in r.read().decode().splitlines():
            if line.startswith("#"):
                continue
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in names:
                total += float(line.rsplit(" ", 1)[1])
        return total


def run(kind, series, steps, data):
    sink = Server("prometheus")
    relay = None
    try:
        extra = (f"remote_write:\n- url: {sink.write_url}\n"
                 "  queue_config: {max_shards: 50, max_samples_per_send: 2000}\n")
        relay = Server(kind, extra)
        appended = ["prometheus_tsdb_head_samples_appended_total"]
        base0 = metric(sink.base, appended)
        shard_metric = ["promterm_remote_write_shards"] if kind == "promterm" else ["prometheus_remote_storage_shards"]
        total = series * steps
        c0 = relay.cpu_s()
        t0 = time.time()
        # Windows in order; the bodies of one window in parallel.
        with cf.ThreadPoolExecutor(4) as ex:
            for w0 in range(0, steps, WINDOW):
                list(ex.map(lambda b: post(relay.write_url, b[1]), [b for b in data if b[0] == w0]))
        written = time.time() - t0
        peak_shards = 0.0
        while True:
            got = metric(sink.base, appended) - base0
            peak_shards = max(peak_shards, metric(relay.base, shard_metric))
            if got >= total:
                break
            if time.time() - t0 > 900:
                raise RuntimeError(f"{kind}: sink has {got} of {total} samples after 900 s")
            time.sleep(0.25)
        took = time.time() - t0
        cpu = relay.cpu_s() - c0
        return {"write_s": round(written, 2), "delivered_s": round(took, 2), "relay_cpu_s": round(cpu, 2),
                "relay_hwm_mb": round(relay.hwm_kb() / 1024, 1), "peak_shards": peak_shards,
                "samples_per_s": round(total / took)}
    finally:
        if relay:
            relay.stop()
        sink.stop()


def main():
    series = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    data = bodies(series, steps)
    print(f"{series} series x {steps} samples = {series * steps} samples, {len(data)} requests", file=sys.stderr)
    out = {}
    kinds = sys.argv[3].split(",") if len(sys.argv) > 3 else ["promterm", "prometheus"]
    for kind in kinds:
        out[kind] = run(kind, series, steps, data)
        print(kind, out[kind], file=sys.stderr)
    if len(out) < 2:
        return
    a, b = out["promterm"], out["prometheus"]
    print(f"delivered_time_ratio={a['delivered_s'] / b['delivered_s']:.2f} "
          f"relay_cpu_ratio={a['relay_cpu_s'] / b['relay_cpu_s']:.2f} "
          f"relay_mem_ratio={a['relay_hwm_mb'] / b['relay_hwm_mb']:.2f} promterm: {a} prometheus: {b}")


if __name__ == "__main__":
    main()
