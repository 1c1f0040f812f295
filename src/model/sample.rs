//! Samples: millisecond timestamps and f64 values, and the stale marker.

/// The bit pattern Prometheus uses to mark a series stale (`value.StaleNaN`).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The stale marker as an f64. Compare with [`is_stale_nan`], never with `==`.
pub fn stale_nan() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Whether `v` is the stale marker (an ordinary NaN is not).
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// A timestamp in milliseconds since the Unix epoch.
pub type Timestamp = i64;

/// One float sample.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub t: Timestamp,
    pub v: f64,
}

impl PartialEq for Sample {
    /// Bit-exact equality, so NaN payloads (and stale markers) compare as stored.
    fn eq(&self, other: &Self) -> bool {
        self.t == other.t && self.v.to_bits() == other.v.to_bits()
    }
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_marker_is_distinct_from_nan() {
        assert!(is_stale_nan(stale_nan()));
        assert!(stale_nan().is_nan());
        assert!(!is_stale_nan(f64::NAN));
        assert_ne!(
            Sample { t: 1, v: f64::NAN },
            Sample {
                t: 1,
                v: stale_nan()
            }
        );
        assert_eq!(
            Sample {
                t: 1,
                v: stale_nan()
            },
            Sample {
                t: 1,
                v: stale_nan()
            }
        );
    }
}
