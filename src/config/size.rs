//! Byte sizes as Prometheus writes them (`512MB`, `1GB`, `100KiB`): base-2 units, as in
//! Prometheus's `units.Base2Bytes` (so `1KB` is 1024 bytes), with `B` alone for bytes.

use std::fmt;
use std::str::FromStr;

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid size {0:?} (expected e.g. \"512MB\", \"10GB\", \"1TB\")")]
pub struct SizeError(String);

const UNITS: [(&str, u32); 13] = [
    ("B", 0),
    ("KB", 10),
    ("KiB", 10),
    ("MB", 20),
    ("MiB", 20),
    ("GB", 30),
    ("GiB", 30),
    ("TB", 40),
    ("TiB", 40),
    ("PB", 50),
    ("PiB", 50),
    ("EB", 60),
    ("EiB", 60),
];

impl FromStr for ByteSize {
    type Err = SizeError;

    fn from_str(s: &str) -> Result<Self, SizeError> {
        let err = || SizeError(s.to_string());
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(err());
        }
        let n: u64 = s[..digits].parse().map_err(|_| err())?;
        let unit = &s[digits..];
        if unit.is_empty() && n == 0 {
            return Ok(ByteSize(0));
        }
        let shift = UNITS
            .iter()
            .find(|(u, _)| *u == unit)
            .map(|(_, s)| *s)
            .ok_or_else(err)?;
        n.checked_mul(1u64 << shift).map(ByteSize).ok_or_else(err)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, shift) in UNITS.iter().rev().filter(|(u, _)| !u.contains('i')) {
            let m = 1u64 << shift;
            if self.0 >= m && self.0.is_multiple_of(m) {
                return write!(f, "{}{unit}", self.0 / m);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl serde::Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // YAML may give a bare number (bytes) or a string with a unit.
        let v = serde_yaml::Value::deserialize(d)?;
        match v {
            serde_yaml::Value::Number(n) => n
                .as_u64()
                .map(ByteSize)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid size {n}"))),
            serde_yaml::Value::String(s) => s.parse().map_err(serde::de::Error::custom),
            other => Err(serde::de::Error::custom(format!("invalid size {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base2_units() {
        assert_eq!("512MB".parse::<ByteSize>().unwrap().0, 512 << 20);
        assert_eq!("1GiB".parse::<ByteSize>().unwrap().0, 1 << 30);
        assert_eq!("10B".parse::<ByteSize>().unwrap().0, 10);
        assert_eq!("0".parse::<ByteSize>().unwrap().0, 0);
        for bad in ["", "MB", "5", "1.5GB", "10mb", "-1GB", "99999999999EB"] {
            assert!(bad.parse::<ByteSize>().is_err(), "{bad:?}");
        }
        assert_eq!(ByteSize(3 << 30).to_string(), "3GB");
        assert_eq!(ByteSize(1000).to_string(), "1000B");
    }
}
