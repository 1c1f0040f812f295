#!/usr/bin/env python3
"""Ingest-only side-by-side run until the PromQL engine lands: the same remote-write load as
../shared/bench/perf.py into Prometheus and promterm, reporting ingest CPU and wall time, RSS,
bytes on disk after a clean shutdown (and Prometheus's compacted block), and restart time.

Usage (from the project root, after `cargo build --release`):
    python3 bench/ingest.py [HOSTS] [STEPS]
Reuses the shared harness (rw.py, servers.py, perf.py's payloads/send_all); needs cramjam.
"""
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
import perf  # noqa: E402
import rw  # noqa: E402
from servers import Server, wait_ready  # noqa: E402


def restart_time(srv):
    srv.stop(keep=True)
    log = open(os.path.join(srv.dir, "restart.log"), "w")
    t0 = time.perf_counter()
    srv.proc = subprocess.Popen(srv.cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    srv.log = log
    wait_ready(srv.base, srv.proc, timeout=600)
    return time.perf_counter() - t0


def main():
    hosts = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    n_steps = int(sys.argv[2]) if len(sys.argv) > 2 else 480
    step_ms = 15000
    end_ms = (int(time.time()) // 60) * 60 * 1000 - 120000
    start_ms = end_ms - step_ms * n_steps
    ds = rw.build_dataset(hosts=hosts, start_ms=start_ms, step_ms=step_ms, n_steps=n_steps)
    table = rw.samples_for(ds, start_ms, step_ms, n_steps)
    nsamples = sum(len(r) for r in table)
    bodies = perf.payloads(ds, table)
    per_window = (len(ds) + 999) // 1000
    print(f"load: {len(ds)} series, {nsamples} samples, {len(bodies)} requests", file=sys.stderr)
    res = {}
    for kind in ("prometheus", "promterm"):
        srv = Server(kind)
        try:
            c0 = srv.cpu_s()
            t0 = time.perf_counter()
            try:
                perf.send_all(srv.write_url, bodies, per_window)
            except urllib.error.HTTPError as e:
                raise RuntimeError(f"{kind}: remote write answered {e.code}: {e.read()[:300]!r}")
            wall = time.perf_counter() - t0
            cpu = srv.cpu_s() - c0
            time.sleep(1)
            rss = srv.rss_kb()
            snap = None
            if kind == "prometheus":
                req = urllib.request.Request(srv.base + "/api/v1/admin/tsdb/snapshot", method="POST")
                with urllib.request.urlopen(req, timeout=300) as r:
                    name = json.loads(r.read())["data"]["name"]
                snap = srv.du_bytes(f"data/snapshots/{name}")
            rst = restart_time(srv)
            srv.stop(keep=True)
            disk = srv.du_bytes("data") - (snap or 0)
            res[kind] = dict(cpu=cpu, wall=wall, rss=rss, disk=disk, snap=snap, restart=rst)
            print(f"{kind}: ingest {nsamples / wall:,.0f} samples/s wall, {cpu:.2f} cpu-s, rss {rss / 1024:.0f} MiB, "
                  f"disk {disk / nsamples:.2f} B/sample" + (f" (compacted block {snap / nsamples:.2f} B/sample)" if snap else "")
                  + f", restart {rst:.2f}s", file=sys.stderr)
        finally:
            srv.stop()
    a, b = res["promterm"], res["prometheus"]
    print(f"ingest: ingest_cpu={a['cpu'] / b['cpu']:.2f} ingest_wall={a['wall'] / b['wall']:.2f} "
          f"rss={a['rss'] / b['rss']:.2f} disk={a['disk'] / b['disk']:.2f} disk_vs_block={a['disk'] / b['snap']:.2f} "
          f"restart={a['restart'] / b['restart']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
