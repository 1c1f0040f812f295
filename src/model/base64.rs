//! Base64 decoding for the few places that need it (Pushgateway grouping keys, basic-auth
//! headers): the standard and URL-safe alphabets both, padding optional.

/// Decodes `s`; `None` on a character outside both alphabets.
pub fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_alphabets_with_and_without_padding() {
        assert_eq!(base64_decode("YWxpY2U6eA==").unwrap(), b"alice:x");
        assert_eq!(base64_decode("YWxpY2U6eA").unwrap(), b"alice:x");
        assert_eq!(base64_decode("L3Zhci90bXA").unwrap(), b"/var/tmp");
        assert_eq!(base64_decode("-_8").unwrap(), base64_decode("+/8").unwrap());
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("!!!").is_none());
    }
}
