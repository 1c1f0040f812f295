//! Scrape timestamp alignment, as Prometheus 2.43+ does it (`--scrape.adjust-timestamps`,
//! `--scrape.timestamp-tolerance`): a scrape that starts within a small tolerance of its
//! slot on the interval grid is stored at the slot's time, not at the clock's. Timer jitter
//! of a millisecond or two otherwise makes every delta-of-delta non-zero, which costs the
//! store bits per sample for no information. A scrape outside the tolerance (a late tick, a
//! clock step) keeps its clock time. Uses nothing but `std`.

/// Tolerance used when none is given (Prometheus's default, 2 ms).
pub const DEFAULT_TOLERANCE_MS: i64 = 2;

/// The grid of one scrape loop: the time of its first slot and its interval, in
/// milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aligner {
    slot_ms: i64,
    interval_ms: i64,
    tolerance_ms: i64,
}

impl Aligner {
    /// A grid starting at `first_slot_ms`. The tolerance is capped at 1 % of the interval
    /// (as upstream does), so short intervals are not bent by it; a tolerance of 0 or
    /// less turns alignment off.
    pub fn new(first_slot_ms: i64, interval_ms: i64, tolerance_ms: i64) -> Aligner {
        Aligner {
            slot_ms: first_slot_ms,
            interval_ms: interval_ms.max(1),
            tolerance_ms: tolerance_ms.min(interval_ms / 100).max(0),
        }
    }

    /// The timestamp to store a scrape started at `now_ms` under: the nearest slot when
    /// `now_ms` lies within the tolerance of it (after it, or just before it), else `now_ms`.
    /// Slots skipped (missed ticks) are stepped over.
    pub fn time(&mut self, now_ms: i64) -> i64 {
        if self.tolerance_ms == 0 {
            return now_ms;
        }
        if now_ms - self.slot_ms >= self.interval_ms {
            let behind = (now_ms - self.slot_ms) / self.interval_ms;
            self.slot_ms += behind * self.interval_ms;
        }
        // A tick a little early (the wall clock and the timer disagree) takes the next slot.
        if self.slot_ms + self.interval_ms - now_ms <= self.tolerance_ms {
            self.slot_ms += self.interval_ms;
        }
        if (now_ms - self.slot_ms).abs() <= self.tolerance_ms {
            self.slot_ms
        } else {
            now_ms
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::chunkenc::encode_persisted;

    #[test]
    fn jitter_within_tolerance_lands_on_the_slot() {
        let mut a = Aligner::new(1_000_000, 15_000, 2);
        assert_eq!(a.time(1_000_001), 1_000_000);
        assert_eq!(a.time(1_015_002), 1_015_000);
        assert_eq!(a.time(1_029_999), 1_030_000, "an early tick is aligned too");
        // Outside the tolerance: the clock's time.
        assert_eq!(a.time(1_045_003), 1_045_003);
        // A missed tick: the grid steps over it.
        assert_eq!(a.time(1_075_001), 1_075_000);
        assert_eq!(a.time(1_090_000), 1_090_000);
    }

    #[test]
    fn one_second_interval_sequence() {
        let base = 1_796_500_066_639;
        let mut a = Aligner::new(base, 1000, 2);
        let got: Vec<i64> = [0, 1000, 2001, 3000, 6002, 7004, 8006, 9002]
            .iter()
            .map(|d| a.time(base + d) - base)
            .collect();
        assert_eq!(got, [0, 1000, 2000, 3000, 6000, 7004, 8006, 9000]);
    }

    #[test]
    fn tolerance_is_capped_and_can_be_off() {
        // 100 ms interval: at most 1 ms.
        let mut a = Aligner::new(0, 100, 2);
        assert_eq!(a.time(101), 100);
        assert_eq!(a.time(202), 202);
        let mut off = Aligner::new(0, 15_000, 0);
        assert_eq!(off.time(15_001), 15_001);
    }

    /// A tiny deterministic generator (no dependency for a test).
    fn lcg(state: &mut u64) -> u64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *state >> 33
    }

    /// What alignment saves on disk: one day of 15 s scrapes of a counter and of a
    /// constant gauge (`up`), with timer jitter of 0-2 ms, encoded in the store's
    /// persisted chunk format at 120 samples per chunk, clock times against aligned
    /// times. Prints the bytes per sample (`cargo test --lib scrape::align -- --nocapture`).
    #[test]
    fn aligned_timestamps_take_fewer_bytes() {
        let n = 5760;
        let mut rng = 7u64;
        let mut jittered = Vec::with_capacity(n);
        let mut aligner = Aligner::new(1_700_000_000_000, 15_000, DEFAULT_TOLERANCE_MS);
        let mut aligned = Vec::with_capacity(n);
        for i in 0..n as i64 {
            let now = 1_700_000_000_000 + i * 15_000 + (lcg(&mut rng) % 3) as i64;
            jittered.push(now);
            aligned.push(aligner.time(now));
        }
        assert!(aligned.windows(2).all(|w| w[1] - w[0] == 15_000));
        let mut counter = 0.0;
        let counter_values: Vec<f64> = (0..n)
            .map(|_| {
                counter += (lcg(&mut rng) % 50) as f64;
                counter
            })
            .collect();
        let size = |ts: &[i64], vs: &dyn Fn(usize) -> f64| -> usize {
            let samples: Vec<(i64, f64)> =
                ts.iter().enumerate().map(|(i, &t)| (t, vs(i))).collect();
            samples
                .chunks(120)
                .map(|c| encode_persisted(c, None).len())
                .sum()
        };
        let per = |b: usize| b as f64 / n as f64;
        let up = |_: usize| 1.0;
        let ctr = |i: usize| counter_values[i];
        let (up_j, up_a) = (size(&jittered, &up), size(&aligned, &up));
        let (ctr_j, ctr_a) = (size(&jittered, &ctr), size(&aligned, &ctr));
        println!(
            "scrape alignment, bytes/sample (120-sample persisted chunks): constant gauge \
             {:.3} jittered -> {:.3} aligned; counter {:.3} -> {:.3}",
            per(up_j),
            per(up_a),
            per(ctr_j),
            per(ctr_a)
        );
        assert!(up_a < up_j, "aligned {up_a} B, jittered {up_j} B");
        assert!(ctr_a < ctr_j, "aligned {ctr_a} B, jittered {ctr_j} B");
    }
}
