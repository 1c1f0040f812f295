#!/usr/bin/env python3
"""Rule evaluation load, side by side with Prometheus: 1,000 recording rules (10 groups of 100)
over 100k counter series at a 15s evaluation interval, while the series keep receiving a
sample every 15s by remote write.

Each rule is `sum by (job) (rate(bench_requests_total{shard="sN"}[1m]))` over one shard of 100
series, so every cycle reads all 100k series. Reports, per server: CPU seconds per evaluation
cycle (the whole process, ingest included, and the rule share: the same run without rules is
subtracted), the slowest group evaluation, lag (how far the newest evaluation is behind the
wall clock when sampled), and missed iterations.

Usage (from the project root, after `cargo build --release`):
    python3 bench/rules.py [SHARDS] [CYCLES]
Reuses the shared harness (rw.py, servers.py); needs cramjam.
"""
import concurrent.futures as cf
import datetime
import os
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "shared", "bench"))
import cramjam  # noqa: E402
import rw  # noqa: E402
from servers import Server  # noqa: E402

PER_SHARD = 100
GROUPS = 10
STEP_MS = 15000


def rule_file(shards):
    lines = ["groups:"]
    per_group = (shards + GROUPS - 1) // GROUPS
    for g in range(GROUPS):
        lines.append(f"- name: bench{g}")
        lines.append("  rules:")
        for i in range(g * per_group, min(shards, (g + 1) * per_group)):
            lines.append(f"  - record: bench:shard{i}:rate1m")
            lines.append(f"    expr: sum by (job) (rate(bench_requests_total{{shard=\"s{i}\"}}[1m]))")
    path = os.path.join(tempfile.mkdtemp(prefix="bench-rules-"), "rules.yml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def bodies_at(shards, t_ms, k):
    out = []
    batch = []
    for s in range(shards):
        for i in range(PER_SHARD):
            labels = {"__name__": "bench_requests_total", "job": "bench", "shard": f"s{s}", "idx": str(i)}
            batch.append((labels, [(t_ms, float(k * (i + 1)))]))
            if len(batch) == 2000:
                out.append(bytes(cramjam.snappy.compress_raw(rw.encode_write_request(batch))))
                batch = []
    if batch:
        out.append(bytes(cramjam.snappy.compress_raw(rw.encode_write_request(batch))))
    return out


def post(url, body):
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.status


def send(url, bodies):
    with cf.ThreadPoolExecutor(4) as ex:
        list(ex.map(lambda b: post(url, b), bodies))


def parse_time(s):
    s = s.rstrip("Z")
    if "." in s:
        a, b = s.split(".")
        s = a + "." + b[:6]
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc).timestamp()


def metric(srv, name):
    with urllib.request.urlopen(srv.base + "/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name) and not line.startswith("#"):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def run(kind, shards, cycles, rules_path):
    extra = "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\n"
    if rules_path:
        extra += f"rule_files: ['{rules_path}']\n"
    srv = Server(kind, extra)
    try:
        now = int(time.time() * 1000)
        # Two minutes of history so rate() has data from the first cycle.
        for k in range(8):
            send(srv.write_url, bodies_at(shards, now - (8 - k) * STEP_MS, k))
        c0 = srv.cpu_s()
        t0 = time.time()
        worst_eval, worst_lag = 0.0, 0.0
        for k in range(8, 8 + cycles):
            tick = t0 + (k - 8) * STEP_MS / 1000
            time.sleep(max(0, tick - time.time()))
            send(srv.write_url, bodies_at(shards, int(time.time() * 1000), k))
            if rules_path:
                code, d = srv.get("/api/v1/rules")
                sampled = time.time()
                for g in d["data"]["groups"]:
                    worst_eval = max(worst_eval, g["evaluationTime"])
                    last = g["lastEvaluation"]
                    if not last.startswith("0001"):
                        worst_lag = max(worst_lag, sampled - parse_time(last))
        time.sleep(max(0, t0 + cycles * STEP_MS / 1000 - time.time()))
        cpu = srv.cpu_s() - c0
        missed = 0.0
        if rules_path:
            name = ("promterm_rule_group_iterations_missed_total" if kind == "promterm"
                    else "prometheus_rule_group_iterations_missed_total")
            missed = metric(srv, name)
        return {"cpu_per_cycle": cpu / cycles, "worst_group_eval_s": worst_eval,
                "worst_lag_s": worst_lag, "missed": missed, "rss_kb": srv.rss_kb()}
    finally:
        srv.stop()


def main():
    shards = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    cycles = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    path = rule_file(shards)
    print(f"{shards} rules over {shards * PER_SHARD} series, {cycles} cycles of 15s", file=sys.stderr)
    out = {}
    for kind in ("promterm", "prometheus"):
        base = run(kind, shards, cycles, None)
        with_rules = run(kind, shards, cycles, path)
        with_rules["rule_cpu_per_cycle"] = with_rules["cpu_per_cycle"] - base["cpu_per_cycle"]
        out[kind] = with_rules
        print(kind, with_rules, file=sys.stderr)
    a, b = out["promterm"], out["prometheus"]
    ratio = a["rule_cpu_per_cycle"] / b["rule_cpu_per_cycle"] if b["rule_cpu_per_cycle"] > 0 else float("nan")
    print(f"rule_cpu_ratio={ratio:.2f} promterm: {a} prometheus: {b}")


if __name__ == "__main__":
    main()
