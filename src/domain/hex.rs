//! Hexadecimal, the one encoding of digests, ids and tags the server writes
//! as text: lower case unless a peer's format says otherwise.

const LOWER: &[u8; 16] = b"0123456789abcdef";
const UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn encode_with(bytes: &[u8], digits: &[u8; 16]) -> String {
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(char::from(digits[usize::from(b >> 4)]));
        text.push(char::from(digits[usize::from(b & 0x0f)]));
    }
    text
}

/// `bytes` as lower-case hex digits, two per byte.
pub fn encode(bytes: &[u8]) -> String {
    encode_with(bytes, LOWER)
}

/// `bytes` as upper-case hex digits (the breached-password range API's
/// format).
pub fn encode_upper(bytes: &[u8]) -> String {
    encode_with(bytes, UPPER)
}

/// The bytes `text` spells, two digits of either case each; `None` for an
/// odd length or a character that is not a hex digit.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_back_as_they_were_written_in_either_case() {
        let bytes = [0x00, 0x0f, 0xa5, 0xff, 0x10];
        assert_eq!(encode(&bytes), "000fa5ff10");
        assert_eq!(encode_upper(&bytes), "000FA5FF10");
        assert_eq!(decode("000fa5ff10").unwrap(), bytes);
        assert_eq!(decode("000FA5ff10").unwrap(), bytes);
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn what_is_not_hex_does_not_decode() {
        for bad in ["0", "abc", "0g", "zz", "+1", " 1", "é1"] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
    }
}
