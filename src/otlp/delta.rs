//! Delta-to-cumulative conversion kept between requests, as the OpenTelemetry Collector's
//! `deltatocumulative` processor (Alloy's `otelcol.processor.deltatocumulative`, Prometheus's
//! `otlp-deltatocumulative`) does it: per stream (here: the translated series labels), the
//! first delta point starts the running total with its start time; each later point is added
//! when it is newer than the last one added and does not start before the stream did (else it
//! is refused as out of order or as belonging to an older stream). A histogram whose bucket
//! bounds change starts over. Exponential histograms are added at the lower of the two
//! scales (the finer one's buckets merged down, as the processor does), and further down
//! while either side would span more than `MAX_EXPONENTIAL_BUCKETS` buckets. Streams not seen for `MAX_STALE` are forgotten, and at most
//! `MAX_STREAMS` are tracked (new ones beyond are refused), so the state cannot grow without
//! limit. A request's additions count only once it is stored (`commit`/`rollback`). Uses
//! nothing outside `std`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a stream is kept without a new point (Alloy's `max_stale` default).
pub const MAX_STALE: Duration = Duration::from_secs(5 * 60);
/// The most streams tracked at once.
pub const MAX_STREAMS: usize = 100_000;

/// The most buckets one side of a summed exponential histogram spans (the OpenTelemetry
/// SDKs' default maximum size); wider sums are merged down a scale at a time.
pub const MAX_EXPONENTIAL_BUCKETS: i64 = 160;

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
    Exponential(Exponential),
}

/// One side of an exponential histogram: OTLP bucket `offset + i` (at the histogram's scale)
/// holds `counts[i]`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExpBuckets {
    pub offset: i32,
    pub counts: Vec<u64>,
}

impl ExpBuckets {
    /// The first and last bucket index after merging down `k` scales; `None` when empty.
    fn range(&self, k: u32) -> Option<(i64, i64)> {
        let first = i64::from(self.offset);
        let last = first + self.counts.len() as i64 - 1;
        (!self.counts.is_empty()).then(|| (down(first, k), down(last, k)))
    }

    /// Merges down `k` scales: bucket `i` goes to `i >> k`.
    fn downscale(&mut self, k: u32) {
        let Some((first, last)) = self.range(k) else {
            return;
        };
        if k == 0 {
            return;
        }
        let mut out = vec![0u64; (last - first + 1) as usize];
        for (i, c) in self.counts.iter().enumerate() {
            let idx = down(i64::from(self.offset) + i as i64, k);
            let slot = &mut out[(idx - first) as usize];
            *slot = slot.saturating_add(*c);
        }
        // Shifting right moves an i32 towards zero: it stays an i32.
        self.offset = i32::try_from(first).expect("a shifted i32 offset fits an i32");
        self.counts = out;
    }

    /// Adds `o` (at the same scale) bucket by bucket.
    fn add(&mut self, o: &ExpBuckets) {
        let (Some((a0, a1)), Some((b0, b1))) = (self.range(0), o.range(0)) else {
            if self.counts.is_empty() {
                *self = o.clone();
            }
            return;
        };
        let (first, last) = (a0.min(b0), a1.max(b1));
        let mut out = vec![0u64; (last - first + 1) as usize];
        for side in [&*self, o] {
            for (i, c) in side.counts.iter().enumerate() {
                let slot = &mut out[(i64::from(side.offset) + i as i64 - first) as usize];
                *slot = slot.saturating_add(*c);
            }
        }
        self.offset = i32::try_from(first).expect("the lower of two i32 offsets");
        self.counts = out;
    }
}

/// `i >> k` for any `k` (sign-filled beyond the width).
fn down(i: i64, k: u32) -> i64 {
    i >> k.min(63)
}

/// The buckets a side spans once both are merged down `k` scales.
fn merged_width(a: &ExpBuckets, b: &ExpBuckets, k_a: u32, k_b: u32) -> i64 {
    match (a.range(k_a), b.range(k_b)) {
        (Some((a0, a1)), Some((b0, b1))) => a1.max(b1) - a0.min(b0) + 1,
        (Some((x0, x1)), None) | (None, Some((x0, x1))) => x1 - x0 + 1,
        (None, None) => 0,
    }
}

/// An exponential histogram's running total (OTLP's layout: scale, zero count, sides).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Exponential {
    pub scale: i32,
    pub zero_count: u64,
    pub positive: ExpBuckets,
    pub negative: ExpBuckets,
    pub count: u64,
    pub sum: Option<f64>,
}

impl Exponential {
    /// Adds `d`, at the lower scale of the two, lowered further while a side is wider than
    /// `MAX_EXPONENTIAL_BUCKETS`.
    fn add(&mut self, d: &Exponential) {
        let mut scale = self.scale.min(d.scale);
        loop {
            let (ka, kb) = (
                scale.abs_diff(self.scale).min(63),
                scale.abs_diff(d.scale).min(63),
            );
            let wide = merged_width(&self.positive, &d.positive, ka, kb).max(merged_width(
                &self.negative,
                &d.negative,
                ka,
                kb,
            ));
            if wide <= MAX_EXPONENTIAL_BUCKETS || ka >= 63 && kb >= 63 {
                break;
            }
            scale -= 1;
        }
        let mut d = d.clone();
        let (ka, kb) = (scale.abs_diff(self.scale), scale.abs_diff(d.scale));
        for (h, k) in [(&mut *self, ka), (&mut d, kb)] {
            h.positive.downscale(k.min(63));
            h.negative.downscale(k.min(63));
            h.scale = scale;
        }
        self.positive.add(&d.positive);
        self.negative.add(&d.negative);
        self.zero_count = self.zero_count.saturating_add(d.zero_count);
        self.count = self.count.saturating_add(d.count);
        self.sum = match (self.sum, d.sum) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }
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
            (Total::Exponential(a), Total::Exponential(b)) => {
                a.add(b);
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
