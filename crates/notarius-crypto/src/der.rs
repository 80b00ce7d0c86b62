//! Just enough DER to read and write the key structures Notary uses, with every length checked:
//! these bytes come from files an attacker may have written.

/// Why a DER structure was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed DER: {0}")]
pub struct DerError(pub &'static str);

pub const SEQUENCE: u8 = 0x30;
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
pub const BIT_STRING: u8 = 0x03;
pub const OID: u8 = 0x06;
pub const NULL: u8 = 0x05;

/// Reads TLVs from a byte slice.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data
    }

    /// The next tag without consuming it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.data.first().copied()
    }

    /// Reads one TLV, returning its tag and contents.
    pub fn read_any(&mut self) -> Result<(u8, &'a [u8]), DerError> {
        let (&tag, rest) = self
            .data
            .split_first()
            .ok_or(DerError("unexpected end of data"))?;
        let (&first, mut rest) = rest.split_first().ok_or(DerError("missing length"))?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return Err(DerError("unsupported length encoding"));
            }
            let mut len = 0usize;
            for &b in &rest[..n] {
                len = (len << 8) | usize::from(b);
            }
            rest = &rest[n..];
            len
        };
        if rest.len() < len {
            return Err(DerError("length runs past the end of data"));
        }
        let (contents, after) = rest.split_at(len);
        self.data = after;
        Ok((tag, contents))
    }

    /// Reads one TLV that must carry `tag`.
    pub fn read(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        let (t, c) = self.read_any()?;
        if t != tag {
            return Err(DerError("unexpected tag"));
        }
        Ok(c)
    }

    /// A non-negative INTEGER that fits in a u64.
    pub fn read_small_uint(&mut self) -> Result<u64, DerError> {
        let c = self.read(INTEGER)?;
        if c.is_empty() || c[0] & 0x80 != 0 {
            return Err(DerError("integer is empty or negative"));
        }
        let c = if c.len() > 1 && c[0] == 0 { &c[1..] } else { c };
        if c.len() > 8 {
            return Err(DerError("integer too large"));
        }
        Ok(c.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
}

/// Appends a tag and a length.
fn write_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Appends a TLV.
pub fn write(out: &mut Vec<u8>, tag: u8, contents: &[u8]) {
    write_header(out, tag, contents.len());
    out.extend_from_slice(contents);
}

/// A TLV as a new vector.
pub fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    write(&mut out, tag, contents);
    out
}

/// A non-negative INTEGER.
pub fn uint(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    let mut c = bytes[skip..].to_vec();
    if c[0] & 0x80 != 0 {
        c.insert(0, 0);
    }
    tlv(INTEGER, &c)
}

/// Concatenation of already-encoded TLVs inside a SEQUENCE, built in one allocation so that
/// no stray copy of secret parts is left behind.
pub fn seq(parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    write_header(&mut out, SEQUENCE, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Encoded OIDs used here (contents only; wrap with [`OID`]).
pub mod oids {
    pub const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    pub const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    pub const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// Notary's Ed25519 OID, 1.3.6.1.4.1.11591.15.1.
    pub const ED25519_NOTARY: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01];
    /// RFC 8410 Ed25519, 1.3.101.112.
    pub const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
    pub const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
    pub const PBKDF2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0c];
    pub const HMAC_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x07];
    pub const AES256_CBC: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lengths_round_trip_and_bad_lengths_fail() {
        let big = vec![7u8; 300];
        let enc = tlv(OCTET_STRING, &big);
        assert_eq!(&enc[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(Reader::new(&enc).read(OCTET_STRING).unwrap(), &big[..]);
        for bad in [
            &[0x04u8, 0x82, 0x01][..],
            &[0x04, 0x05, 1, 2],
            &[0x04, 0x80],
            &[0x04, 0x85, 1, 1, 1, 1, 1],
            &[],
        ] {
            assert!(Reader::new(bad).read(OCTET_STRING).is_err(), "{bad:?}");
        }
        let n = uint(2048);
        assert_eq!(n, [0x02, 0x02, 0x08, 0x00]);
        assert_eq!(Reader::new(&n).read_small_uint().unwrap(), 2048);
        assert_eq!(uint(1), [0x02, 0x01, 0x01]);
        assert_eq!(uint(0x80), [0x02, 0x02, 0x00, 0x80]);
    }
}
