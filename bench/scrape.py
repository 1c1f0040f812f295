#!/usr/bin/env python3
"""Scrape CPU per sample, promterm vs Prometheus, on a static exposition page of 10k series.

A local HTTP server serves the same page (text format 0.0.4, realistic label sets, values that
change every scrape so nothing is short-cut) to both servers, each scraping it every second
with the same config. After a warm-up, the CPU time each server process used in a window is
divided by the samples it ingested in that window (from its own scrape_samples_scraped); the
median of three windows counts. Prints `scrape: cpu_per_sample=R` (promterm/Prometheus, lower is
better) as its last line.

Usage: python3 bench/scrape.py [SERIES] [SECONDS]   (run from the project root, release build)
"""
import http.server
import os
import random
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
from servers import Server  # noqa: E402


def make_page(n, tick):
    rnd = random.Random(7)
    lines = []
    fams = max(1, n // 100)
    per = n // fams
    for f in range(fams):
        name = f"app_requests_{f}_total"
        lines.append(f"# HELP {name} Requests handled, family {f}.")
        lines.append(f"# TYPE {name} counter")
        for i in range(per):
            v = rnd.randint(0, 10**6) + tick * (i % 7)
            lines.append(
                f'{name}{{method="{("GET", "POST", "PUT")[i % 3]}",handler="/api/v1/item/{i}",'
                f'status="{(200, 404, 500)[i % 3]}",pod="pod-{i % 17}"}} {v}')
    return ("\n".join(lines) + "\n").encode()


class Page:
    def __init__(self, n):
        self.n = n
        self.pages = [make_page(n, t) for t in range(4)]
        self.hits = 0


def serve(page):
    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = page.pages[page.hits % len(page.pages)]
            page.hits += 1
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=s.serve_forever, daemon=True).start()
    return s


WINDOWS = 3


def samples(srv):
    code, body = srv.get("/api/v1/query", {"query": 'sum(sum_over_time(scrape_samples_scraped{job="static"}[1h]))'})
    r = body.get("data", {}).get("result", [])
    return float(r[0]["value"][1]) if r else 0.0


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 45
    page = Page(n)
    httpd = serve(page)
    port = httpd.server_address[1]
    extra = (f"global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
             f"  - job_name: static\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    res = {}
    for kind in ("prometheus", "promterm"):
        srv = Server(kind, extra)
        try:
            time.sleep(5)  # warm-up: series created, caches filled
            per = []
            for _ in range(WINDOWS):
                c0, s0 = srv.cpu_s(), samples(srv)
                time.sleep(secs / WINDOWS)
                c1, s1 = srv.cpu_s(), samples(srv)
                if s1 - s0 <= 0:
                    raise RuntimeError(f"{kind} ingested no samples")
                per.append((c1 - c0) / (s1 - s0))
            res[kind] = statistics.median(per)
            print(f"{kind}: {n} series every 1s, median of {WINDOWS} windows of {secs / WINDOWS:.0f}s: "
                  f"{res[kind] * 1e9:.0f} ns/sample (windows: {[round(x * 1e9) for x in per]})",
                  file=sys.stderr)
        finally:
            srv.stop()
    httpd.shutdown()
    print(f"scrape: cpu_per_sample={res['promterm'] / res['prometheus']:.2f}")


if __name__ == "__main__":
    main()
