//! Remote-write load generator: N series × M rounds of one float sample each, sent to a
//! remote-write 1.0 receiver (promterm, Prometheus with `--web.enable-remote-write-receiver`,
//! VictoriaMetrics) over several concurrent connections; reports samples per second.
//!
//! Every request body of a round is encoded (with the crate's own `remote::proto` encoder)
//! and snappy-compressed before the round is sent, so the timed part is only HTTP: the
//! generator is not the bottleneck. Rounds are `--interval` seconds apart in sample time; by
//! default the generator also waits for the interval in wall time between rounds (a steady
//! set of active series), `--fast` sends round after round at once with the timestamps
//! back-dated so that the last round is "now".
//!
//! Series `i` (0-based) has the labels
//!   `__name__="lg_metric_{i / 10000 % 100}"`, `job="loadgen"`, `instance="host-{i % 1000}"`,
//!   `id="{i}"`
//! so at 1,000,000 series each of the 100 names holds 10,000 series (`sum by (instance)
//! (lg_metric_7)` is a 10k-series aggregation) and `lg_metric_7{id="70123"}` selects one.
//! Values are counters that grow by `1 + i % 7` per round.
//!
//! Usage:
//!   cargo run --release --example loadgen -- --url http://127.0.0.1:9090/api/v1/write \
//!       [--series 1000000] [--rounds 3] [--interval 15] [--conns 4] [--batch 2000] [--fast]
//!       [--offset 0]
//! Prints one line per round and, last,
//!   `loadgen: series=N rounds=M samples=S send_s=T samples_per_s=R errors=E`
//! (`--offset K` starts the series numbers at K). Exits non-zero when a request failed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use promterm::model::Sample;
use promterm::remote::proto::encode_write_request;

struct Args {
    url: String,
    series: usize,
    rounds: usize,
    interval_s: u64,
    conns: usize,
    batch: usize,
    fast: bool,
    offset: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: String::new(),
        series: 1_000_000,
        rounds: 3,
        interval_s: 15,
        conns: 4,
        batch: 2000,
        fast: false,
        offset: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--fast" {
            a.fast = true;
            continue;
        }
        let value = it
            .next()
            .ok_or_else(|| format!("flag {flag} needs a value"))?;
        let num = || {
            value
                .parse::<usize>()
                .map_err(|e| format!("{flag} {value:?}: {e}"))
        };
        match flag.as_str() {
            "--url" => a.url = value.clone(),
            "--series" => a.series = num()?,
            "--rounds" => a.rounds = num()?,
            "--interval" => a.interval_s = num()? as u64,
            "--conns" => a.conns = num()?.max(1),
            "--batch" => a.batch = num()?.max(1),
            "--offset" => a.offset = num()?,
            _ => return Err(format!("unknown flag {flag:?}")),
        }
    }
    if a.url.is_empty() {
        return Err("--url is required".into());
    }
    Ok(a)
}

/// The snappy-compressed request bodies of one round: series [offset, offset+n) in batches.
fn encode_round(a: &Args, round: usize, t_ms: i64) -> Vec<Vec<u8>> {
    let mut bodies = Vec::with_capacity(a.series.div_ceil(a.batch));
    let mut enc = snap::raw::Encoder::new();
    let mut start = 0;
    while start < a.series {
        let end = (start + a.batch).min(a.series);
        let strings: Vec<[String; 3]> = (start..end)
            .map(|k| {
                let i = a.offset + k;
                [
                    format!("lg_metric_{}", i / 10_000 % 100),
                    format!("host-{}", i % 1000),
                    i.to_string(),
                ]
            })
            .collect();
        let series: Vec<_> = strings
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let i = a.offset + start + j;
                // Sorted by name, as remote write requires.
                let labels = vec![
                    ("__name__", s[0].as_str()),
                    ("id", s[2].as_str()),
                    ("instance", s[1].as_str()),
                    ("job", "loadgen"),
                ];
                let v = ((round + 1) * (1 + i % 7)) as f64;
                (labels, vec![Sample { t: t_ms, v }])
            })
            .collect();
        let raw = encode_write_request(&series);
        match enc.compress_vec(&raw) {
            Ok(b) => bodies.push(b),
            Err(e) => {
                eprintln!("loadgen: snappy: {e}");
                std::process::exit(2);
            }
        }
        start = end;
    }
    bodies
}

/// Sends the bodies over `conns` concurrent connections; returns (seconds, failed requests).
async fn send_round(client: &reqwest::Client, a: &Args, bodies: Vec<Vec<u8>>) -> (f64, usize) {
    let bodies = Arc::new(bodies);
    let next = Arc::new(AtomicUsize::new(0));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..a.conns {
        let (client, bodies, next, url) =
            (client.clone(), bodies.clone(), next.clone(), a.url.clone());
        tasks.push(tokio::spawn(async move {
            let mut errors = 0;
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(k) else { break };
                let res = client
                    .post(&url)
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                    .body(body.clone())
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => {}
                    Ok(r) => {
                        errors += 1;
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        if errors <= 3 {
                            eprintln!("loadgen: request {k}: HTTP {status}: {:.300}", text);
                        }
                    }
                    Err(e) => {
                        errors += 1;
                        if errors <= 3 {
                            eprintln!("loadgen: request {k}: {e}");
                        }
                    }
                }
            }
            errors
        }));
    }
    let mut errors = 0;
    for t in tasks {
        errors += t.await.unwrap_or(1);
    }
    (t0.elapsed().as_secs_f64(), errors)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn main() {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: tokio runtime: {e}");
            std::process::exit(2);
        }
    };
    let client = match reqwest::Client::builder()
        .pool_max_idle_per_host(a.conns)
        .timeout(Duration::from_secs(600))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("loadgen: http client: {e}");
            std::process::exit(2);
        }
    };
    let interval_ms = a.interval_s as i64 * 1000;
    let first_t = if a.fast {
        now_ms() - interval_ms * (a.rounds.saturating_sub(1) as i64)
    } else {
        now_ms()
    };
    let (mut send_s, mut errors, mut samples) = (0.0, 0, 0usize);
    let wall0 = Instant::now();
    for round in 0..a.rounds {
        let t_ms = first_t + interval_ms * round as i64;
        let e0 = Instant::now();
        let bodies = encode_round(&a, round, t_ms);
        let encode_s = e0.elapsed().as_secs_f64();
        if !a.fast {
            let due = Duration::from_millis((interval_ms as u64) * round as u64);
            if let Some(wait) = due.checked_sub(wall0.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        let bytes: usize = bodies.iter().map(Vec::len).sum();
        let nreq = bodies.len();
        let (s, e) = rt.block_on(send_round(&client, &a, bodies));
        send_s += s;
        errors += e;
        samples += a.series;
        println!(
            "round {round}: {} series in {nreq} requests ({:.1} MB snappy), encoded in {encode_s:.2} s, \
             sent in {s:.2} s = {:.0} samples/s, errors {e}",
            a.series,
            bytes as f64 / 1e6,
            a.series as f64 / s.max(1e-9)
        );
    }
    println!(
        "loadgen: series={} rounds={} samples={samples} send_s={send_s:.2} samples_per_s={:.0} errors={errors}",
        a.series,
        a.rounds,
        samples as f64 / send_s.max(1e-9)
    );
    if errors > 0 {
        std::process::exit(1);
    }
}
