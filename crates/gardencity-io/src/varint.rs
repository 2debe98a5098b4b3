//! Variable-length integers as Parquet (and the snapshot format) write them.

/// Appends `v` in ULEB128: seven bits a byte, least significant first, the high bit set
/// on every byte but the last.
pub(crate) fn uleb128(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// `v` zigzag-coded: small magnitudes, positive or negative, give small numbers.
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes() {
        let mut out = Vec::new();
        for v in [0, 127, 128, 300, u64::MAX] {
            uleb128(&mut out, v);
        }
        let mut want = vec![0, 127, 0x80, 1, 0xac, 2];
        want.extend([0xff; 9]);
        want.push(1);
        assert_eq!(out, want);
        assert_eq!([0, -1, 1, -2, i64::MAX, i64::MIN].map(zigzag), [0, 1, 2, 3, u64::MAX - 1, u64::MAX]);
    }
}
