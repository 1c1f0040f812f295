//! Prometheus duration syntax: `1y2w3d4h5m6s7ms`, units in that order, each at most once, or `0`.
//!
//! Follows Prometheus's `model.ParseDuration` (common/model/time.go): `y` is 365 days, `w` 7 days,
//! no fractions, no spaces, no empty string. Display prints the same canonical form Prometheus does.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative span of time in milliseconds, written in Prometheus's syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u64);

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration string")]
    Empty,
    #[error(
        "not a valid duration string: {0:?} (expected e.g. \"30s\", \"1h30m\", \"500ms\", \"2d\")"
    )]
    Invalid(String),
    #[error("duration out of range: {0:?}")]
    Overflow(String),
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms)
    }

    pub const fn from_secs(s: u64) -> Self {
        Duration(s * 1000)
    }

    pub const fn as_millis(self) -> u64 {
        self.0
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(DurationError::Empty);
        }
        if s == "0" {
            return Ok(Duration(0));
        }
        let invalid = || DurationError::Invalid(s.to_string());
        let mut rest = s;
        let mut total: u64 = 0;
        // Index of the next unit that may appear: units must come in decreasing order, once each.
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let number: u64 = rest[..digits]
                .parse()
                .map_err(|_| DurationError::Overflow(s.to_string()))?;
            rest = &rest[digits..];
            // "ms" must be tried before "m".
            let found = UNITS[next_unit..]
                .iter()
                .enumerate()
                .filter(|(_, (unit, _))| rest.starts_with(unit))
                .max_by_key(|(_, (unit, _))| unit.len());
            let Some((offset, (unit, factor))) = found else {
                return Err(invalid());
            };
            rest = &rest[unit.len()..];
            next_unit += offset + 1;
            total = number
                .checked_mul(*factor)
                .and_then(|v| total.checked_add(v))
                .filter(|v| *v <= i64::MAX as u64)
                .ok_or_else(|| DurationError::Overflow(s.to_string()))?;
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut ms = self.0;
        for (unit, factor) in UNITS {
            // Prometheus prints weeks and years only when they divide the whole duration evenly.
            if (unit == "y" || unit == "w") && !ms.is_multiple_of(factor) {
                continue;
            }
            if ms >= factor {
                write!(f, "{}{}", ms / factor, unit)?;
                ms %= factor;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as \"30s\" or \"1h30m\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }
            // YAML `0` (or any bare number) arrives as an integer; Prometheus reads it as text.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                self.visit_str(&v.to_string())
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u64 {
        s.parse::<Duration>().unwrap().as_millis()
    }

    #[test]
    fn parses_each_unit() {
        assert_eq!(ms("0"), 0);
        assert_eq!(ms("0s"), 0);
        assert_eq!(ms("500ms"), 500);
        assert_eq!(ms("15s"), 15_000);
        assert_eq!(ms("5m"), 300_000);
        assert_eq!(ms("1h30m"), 5_400_000);
        assert_eq!(ms("2d"), 172_800_000);
        assert_eq!(ms("1w"), 604_800_000);
        assert_eq!(ms("1y"), 31_536_000_000);
        assert_eq!(
            ms("1y2w3d4h5m6s7ms"),
            31_536_000_000 + 1_209_600_000 + 259_200_000 + 14_400_000 + 300_000 + 6_000 + 7
        );
    }

    #[test]
    fn rejects_bad_strings() {
        for bad in [
            "", "5", "1.5s", "5x", "s", "1m1h", "1s1s", "-1s", " 1s", "1s ", "1S", "1ms1s", "10mss",
        ] {
            assert!(
                bad.parse::<Duration>().is_err(),
                "{bad:?} should be rejected"
            );
        }
        assert_eq!("".parse::<Duration>(), Err(DurationError::Empty));
        let err = "5x".parse::<Duration>().unwrap_err().to_string();
        assert!(err.contains("\"5x\""), "{err}");
    }

    #[test]
    fn rejects_overflow() {
        assert!(matches!(
            "99999999999999999999s".parse::<Duration>(),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(
            "300000000y".parse::<Duration>(),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn displays_canonically() {
        for (input, shown) in [
            ("0", "0s"),
            ("90s", "1m30s"),
            ("1500ms", "1s500ms"),
            ("24h", "1d"),
            ("14d", "2w"),
            ("8d", "8d"),
            ("365d", "1y"),
            ("1h0m", "1h"),
        ] {
            assert_eq!(
                input.parse::<Duration>().unwrap().to_string(),
                shown,
                "{input}"
            );
        }
    }

    #[test]
    fn deserializes_from_yaml() {
        let d: Duration = serde_yaml::from_str("1h").unwrap();
        assert_eq!(d, Duration::from_secs(3600));
        let zero: Duration = serde_yaml::from_str("0").unwrap();
        assert!(zero.is_zero());
        let err = serde_yaml::from_str::<Duration>("1hour")
            .unwrap_err()
            .to_string();
        assert!(err.contains("1hour"), "{err}");
    }
}
