#!/usr/bin/env python3
"""Sustained load: remote write as fast as WRITERS threads can push (SERIES series, one sample
per series per request) plus QUERIERS threads running 2-minute range queries, for
SECONDS; samples carry wall-clock timestamps and the queries cover the last 2 minutes, so
both reach their steady size after about 2 minutes. Reports the ingest rate, errors, query latency, and promterm's resident memory every
30 s (flat after warm-up is the goal), and checks at the end that every acknowledged sample is
stored (a count query per series group).

Usage (from the project root, after `cargo build --release`):
    python3 bench/load.py [SECONDS] [SERIES] [WRITERS] [QUERIERS]
Reuses the shared harness (rw.py, servers.py); needs cramjam.
"""
import os
import sys
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
import cramjam  # noqa: E402
import rw  # noqa: E402
from servers import Server  # noqa: E402


def main():
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    series = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    writers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    queriers = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    srv = Server("promterm", "scrape_configs: []\n")
    stop = threading.Event()
    lock = threading.Lock()
    stats = {"acked": 0, "errors": 0, "queries": 0, "query_errors": 0, "query_s": 0.0}
    per_writer = series // writers
    t0_ms = int(time.time() * 1000)

    def writer(w):
        # Writer w owns series [w*per_writer, (w+1)*per_writer): its own timestamps, in order.
        step = 0
        last_t = 0
        labels = [{"__name__": "load_total", "job": "load", "w": str(w), "idx": str(i)}
                  for i in range(w * per_writer, (w + 1) * per_writer)]
        while not stop.is_set():
            # Wall-clock timestamps (strictly increasing per writer), so the data and the
            # queries' windows move together.
            t = max(last_t + 1, int(time.time() * 1000))
            last_t = t
            body = bytes(cramjam.snappy.compress_raw(rw.encode_write_request(
                [(l, [(t, float(step))]) for l in labels])))
            req = urllib.request.Request(srv.write_url, data=body, method="POST", headers={
                "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"})
            try:
                with urllib.request.urlopen(req, timeout=60) as r:
                    ok = r.status == 204
            except Exception:
                ok = False
            with lock:
                if ok:
                    stats["acked"] += len(labels)
                else:
                    stats["errors"] += 1
            step += 1

    def querier():
        while not stop.is_set():
            now = time.time()
            q = urllib.parse.urlencode({"query": "sum by (w) (rate(load_total[1m]))", "start": now - 120,
                                        "end": now, "step": 5})
            t = time.time()
            try:
                with urllib.request.urlopen(srv.base + "/api/v1/query_range?" + q, timeout=120) as r:
                    ok = r.status == 200
            except Exception:
                ok = False
            with lock:
                stats["queries"] += 1
                stats["query_s"] += time.time() - t
                if not ok:
                    stats["query_errors"] += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    threads += [threading.Thread(target=querier) for _ in range(queriers)]
    for th in threads:
        th.start()
    start = time.time()
    last_acked = 0
    try:
        while time.time() - start < seconds:
            time.sleep(30)
            with lock:
                a = stats["acked"]
                line = (f"t={time.time() - start:4.0f}s rate={(a - last_acked) / 30:9.0f} samples/s "
                        f"acked={a} errors={stats['errors']} queries={stats['queries']} "
                        f"query_errors={stats['query_errors']} "
                        f"mean_query_s={stats['query_s'] / max(1, stats['queries']):.3f} "
                        f"rss_mb={srv.rss_kb() / 1024:.0f}")
                last_acked = a
            print(line, flush=True)
        stop.set()
        for th in threads:
            th.join()
        code, d = srv.get("/api/v1/query", {"query": "sum(count_over_time(load_total[1y]))",
                                             "time": time.time() + 60})
        stored = int(float(d["data"]["result"][0]["value"][1])) if d["data"]["result"] else 0
        print(f"done: {stats['acked']} samples acknowledged, {stored} stored, "
              f"{stats['acked'] / (time.time() - start):.0f} samples/s, errors={stats['errors']}, "
              f"queries={stats['queries']} query_errors={stats['query_errors']}, "
              f"rss_mb={srv.rss_kb() / 1024:.0f}, peak_rss_mb={srv.hwm_kb() / 1024:.0f}", flush=True)
    finally:
        stop.set()
        srv.stop()


if __name__ == "__main__":
    main()
