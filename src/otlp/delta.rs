//! Delta-to-cumulative conversion kept between requests, as the OpenTelemetry Collector's
//! `deltatocumulative` processor (Alloy's `otelcol.processor.deltatocumulative`, Prometheus's
//! `otlp-deltatocumulative`) does it: per stream (here: the translated series labels), the
//! first delta point starts the running total with its start time; each later point is added
//! when it is newer than the last one added and does not start before the stream did (else it
//! is refused as out of order or as belonging to an older stream). A histogram whose bucket
//! bounds change starts over. Streams not seen for `MAX_STALE` are forgotten, and at most
//! `MAX_STREAMS` are tracked (new ones beyond are refused), so the state cannot grow without
//! limit. A request's additions count only once it is stored (`commit`/`rollback`). Uses
//! nothing outside `std`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a stream is kept without a new point (Alloy's `max_stale` default).
pub const MAX_STALE: Duration = Duration::from_secs(5 * 60);
/// The most streams tracked at once.
pub const MAX_STREAMS: usize = 100_000;

/// A series' labels, sorted: the key of a stream.
pub type StreamKey = Vec<(String, String)>;

/// A running total (or one delta point's value).
#[derive(Debug, Clone, PartialEq)]
pub enum Total {
    Sum(f64),
    Histogram {
        bounds: Vec<f64>,
        buckets: Vec<u64>,
        count: u64,
        sum: Option<f64>,
    },
}

impl Total {
    /// Adds `d`; false when the two cannot be added (other kind or other bucket bounds).
    fn add(&mut self, d: &Total) -> bool {
        match (self, d) {
            (Total::Sum(a), Total::Sum(b)) => {
                *a += b;
                true
            }
            (
                Total::Histogram {
                    bounds,
                    buckets,
                    count,
                    sum,
                },
                Total::Histogram {
                    bounds: b2,
                    buckets: k2,
                    count: c2,
                    sum: s2,
                },
            ) if bounds == b2 && buckets.len() == k2.len() => {
                for (a, b) in buckets.iter_mut().zip(k2) {
                    *a = a.saturating_add(*b);
                }
                *count = count.saturating_add(*c2);
                *sum = match (*sum, s2) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
                true
            }
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Stream {
    /// Start of the running total (ns).
    start: u64,
    /// Time of the last point added (ns).
    last: u64,
    seen: Instant,
    total: Total,
}

/// The running totals of the delta streams. A request's additions are staged and kept only
/// when the request was stored (`commit`); a refused or failed request leaves the totals as
/// they were (`rollback`), so the client's retry is not counted twice.
#[derive(Debug, Default)]
pub struct DeltaState {
    streams: HashMap<StreamKey, Stream>,
    staged: HashMap<StreamKey, Stream>,
}

impl DeltaState {
    /// Forgets streams not seen for `MAX_STALE` before `now`.
    pub fn expire(&mut self, now: Instant) {
        self.streams
            .retain(|_, s| now.saturating_duration_since(s.seen) < MAX_STALE);
    }

    pub fn len(&self) -> usize {
        self.streams.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streams.is_empty()
    }

    /// Keeps the staged additions.
    pub fn commit(&mut self) {
        self.streams.extend(self.staged.drain());
    }

    /// Drops the staged additions.
    pub fn rollback(&mut self) {
        self.staged.clear();
    }

    /// Adds a delta point (start and time in ns) to its stream and returns the cumulative
    /// value with the stream's start time, or why the point is refused.
    pub fn add(
        &mut self,
        key: &StreamKey,
        start: u64,
        time: u64,
        d: Total,
        now: Instant,
    ) -> Result<(u64, Total), String> {
        let current = self.staged.get(key).or_else(|| self.streams.get(key));
        if let Some(s) = current {
            if start < s.start {
                return Err(format!(
                    "delta point starting at {start} ns is older than its stream's start {} ns",
                    s.start
                ));
            }
            if time <= s.last {
                return Err(format!(
                    "out-of-order delta point at {time} ns (the last one added was at {} ns)",
                    s.last
                ));
            }
            let mut total = s.total.clone();
            let mut first = s.start;
            if !total.add(&d) {
                // New bucket layout: the running total starts over from this point.
                total = d;
                first = start;
            }
            let out = (first, total.clone());
            self.staged.insert(
                key.clone(),
                Stream {
                    start: first,
                    last: time,
                    seen: now,
                    total,
                },
            );
            return Ok(out);
        }
        if self.streams.len() + self.staged.len() >= MAX_STREAMS {
            return Err(format!(
                "delta-to-cumulative state is full ({MAX_STREAMS} streams); new delta series are refused until streams go stale"
            ));
        }
        self.staged.insert(
            key.clone(),
            Stream {
                start,
                last: time,
                seen: now,
                total: d.clone(),
            },
        );
        Ok((start, d))
    }
}
