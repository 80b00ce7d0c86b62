//! Go's `encoding/pem`, which Notary uses for every key file: decoding finds blocks exactly where
//! Go finds them (and skips what Go skips), and encoding writes Go's bytes.
//!
//! A general PEM crate is not enough: Go keeps headers in a map (a repeated name keeps its last
//! value, and encoding sorts them with `Proc-Type` first), skips malformed blocks instead of
//! failing, and accepts base64 that stricter decoders refuse.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use zeroize::Zeroizing;

/// One PEM block as Go's `pem.Block` holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    pub label: String,
    pub headers: BTreeMap<String, String>,
    pub bytes: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("label", &self.label)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl Block {
    /// Go's `pem.EncodeToMemory` of this block.
    pub fn encode(&self) -> Zeroizing<String> {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        Zeroizing::new(encode(&self.label, &headers, &self.bytes))
    }
}

// Go's `base64.StdEncoding` is not strict: bits after the last full byte may be set.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// Go's `getLine`: the line without its `\n` (or `\r\n`) and trailing blanks, and what follows.
fn get_line(data: &[u8]) -> (&[u8], &[u8]) {
    let (mut end, next) = match data.iter().position(|&b| b == b'\n') {
        None => (data.len(), data.len()),
        Some(i) => (i, i + 1),
    };
    if next != end && end > 0 && data[end - 1] == b'\r' {
        end -= 1;
    }
    let mut line = &data[..end];
    while let Some((&last, init)) = line.split_last() {
        if last == b' ' || last == b'\t' {
            line = init;
        } else {
            break;
        }
    }
    (line, &data[next..])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const BEGIN: &[u8] = b"\n-----BEGIN ";
const END: &[u8] = b"\n-----END ";
const DASHES: &[u8] = b"-----";

fn is_base64_or_blank(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b' ' | b'\t' | b'\r' | b'\n')
}

/// The next position at or after `from` where `pred` finds something, remembered so that
/// searches from increasing positions cost one pass over the input in all.
struct NextMatch {
    found: Option<Option<usize>>,
}

impl NextMatch {
    fn at_or_after(
        &mut self,
        data: &[u8],
        from: usize,
        search: impl Fn(&[u8]) -> Option<usize>,
    ) -> Option<usize> {
        match self.found {
            Some(Some(i)) if i >= from => Some(i),
            Some(None) => None,
            _ => {
                let found = search(&data[from..]).map(|i| i + from);
                self.found = Some(found);
                found
            }
        }
    }
}

/// Go's `pem.Decode`: the next block and the input after it, or `None` when no block is left.
///
/// Go's loop can rescan the rest of the input for every `-----BEGIN` it rejects; the next END
/// line and the next character that cannot be base64 are remembered instead, so hostile input
/// costs linear time with the same result.
pub fn decode(data: &[u8]) -> Option<(Block, &[u8])> {
    let mut next_end = NextMatch { found: None };
    let mut next_bad = NextMatch { found: None };
    let mut pos = 0;
    loop {
        let rest = &data[pos..];
        if rest.starts_with(&BEGIN[1..]) {
            pos += BEGIN.len() - 1;
        } else if let Some(i) = find(rest, BEGIN) {
            pos += i + BEGIN.len();
        } else {
            return None;
        }

        let (type_line, after) = get_line(&data[pos..]);
        pos = data.len() - after.len();
        let Some(label) = type_line.strip_suffix(DASHES) else {
            continue;
        };

        let mut headers = BTreeMap::new();
        loop {
            if pos == data.len() {
                return None;
            }
            let (line, next) = get_line(&data[pos..]);
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                break;
            };
            headers.insert(
                text(&line[..colon]).trim().to_owned(),
                text(&line[colon + 1..]).trim().to_owned(),
            );
            pos = data.len() - next.len();
        }

        let rest = &data[pos..];
        // Without headers the END line may follow at once, without a newline before it.
        let (end_index, trailer_index) = if headers.is_empty() && rest.starts_with(&END[1..]) {
            (0, END.len() - 1)
        } else {
            match next_end.at_or_after(data, pos, |d| find(d, END)) {
                Some(i) => (i - pos, i - pos + END.len()),
                // No END line anywhere after this point: no later block can end either.
                None => return None,
            }
        };
        let trailer = &rest[trailer_index..];
        let trailer_len = label.len() + DASHES.len();
        if trailer.len() < trailer_len {
            continue;
        }
        let (trailer, rest_of_end_line) = trailer.split_at(trailer_len);
        if !trailer.starts_with(label) || !trailer.ends_with(DASHES) {
            continue;
        }
        if !get_line(rest_of_end_line).0.is_empty() {
            continue;
        }
        // A character base64 cannot hold fails Go's decoding; find it without decoding.
        if next_bad
            .at_or_after(data, pos, |d| {
                d.iter().position(|&b| !is_base64_or_blank(b))
            })
            .is_some_and(|i| i < pos + end_index)
        {
            continue;
        }
        // Go's decoder skips line breaks itself; PEM also drops blanks and tabs first.
        let b64 = Zeroizing::new(
            rest[..end_index]
                .iter()
                .copied()
                .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
                .collect::<Vec<u8>>(),
        );
        let Ok(bytes) = GO_STD.decode(&*b64) else {
            continue;
        };
        let (_, after) = get_line(&rest[end_index + END.len() - 1..]);
        return Some((
            Block {
                label: text(label),
                headers,
                bytes: Zeroizing::new(bytes),
            },
            after,
        ));
    }
}

/// Every block Go would find, in order.
pub fn decode_all(mut data: &[u8]) -> Vec<Block> {
    let mut out = Vec::new();
    while let Some((b, rest)) = decode(data) {
        out.push(b);
        data = rest;
    }
    out
}

/// Go's `pem.Encode`: `Proc-Type` first, the other headers sorted by name, a blank line after
/// the headers, 64-column base64 and `\n` line ends. A name given twice keeps its last value,
/// as in Go's header map.
pub fn encode(label: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
    let map: BTreeMap<&str, &str> = headers.iter().copied().collect();
    let b64_len = body.len().div_ceil(3) * 4;
    let headers_len: usize = map.iter().map(|(k, v)| k.len() + v.len() + 3).sum();
    // Sized once: the body may be an unencrypted key, and growing would leave copies of it.
    let mut out =
        String::with_capacity(2 * label.len() + 34 + headers_len + b64_len + b64_len / 64 + 1);
    out.push_str(&format!("-----BEGIN {label}-----\n"));
    if let Some(v) = map.get("Proc-Type") {
        out.push_str(&format!("Proc-Type: {v}\n"));
    }
    for (k, v) in map.iter().filter(|(k, _)| **k != "Proc-Type") {
        out.push_str(&format!("{k}: {v}\n"));
    }
    if !map.is_empty() {
        out.push('\n');
    }
    let b64 = Zeroizing::new(STANDARD.encode(body));
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_go_decodes() {
        let pem = encode("X", &[("role", "root"), ("gun", "g")], &[1, 2, 3]);
        let (b, rest) = decode(pem.as_bytes()).unwrap();
        assert_eq!(
            (b.label.as_str(), &b.bytes[..], rest),
            ("X", &[1u8, 2, 3][..], &b""[..])
        );
        assert_eq!(b.headers["gun"], "g");

        // Text before the block, CRLF line ends, trailing blanks, and text after it.
        let crlf =
            "junk\r\n-----BEGIN K-----  \r\nrole:  x \r\n\r\nAQID\r\n-----END K----- \r\nafter";
        let (b, rest) = decode(crlf.as_bytes()).unwrap();
        assert_eq!((b.label.as_str(), &b.bytes[..]), ("K", &[1u8, 2, 3][..]));
        assert_eq!(b.headers["role"], "x");
        assert_eq!(rest, b"after");

        // A block with no body and no headers, END right after BEGIN.
        let (b, _) = decode(b"-----BEGIN E-----\n-----END E-----\n").unwrap();
        assert!(b.bytes.is_empty());

        // A repeated header keeps its last value.
        let (b, _) =
            decode(b"-----BEGIN K-----\nrole: a\nrole: b\n\nAQID\n-----END K-----\n").unwrap();
        assert_eq!(b.headers["role"], "b");

        // Non-canonical trailing bits are accepted, as by Go's StdEncoding.
        let (b, _) = decode(b"-----BEGIN K-----\nAQJ=\n-----END K-----\n").unwrap();
        assert_eq!(&b.bytes[..], &[1, 2]);
    }

    #[test]
    fn skips_what_go_skips() {
        for bad in [
            &b"-----BEGIN K-----\nAQID\n-----END L-----\n"[..],
            b"-----BEGIN K-----\nAQID\n-----END K-----junk\n",
            b"-----BEGIN K-----\nA!ID\n-----END K-----\n",
            b"-----BEGIN K-----\nAQID\n",
            b"-----BEGIN K\nAQID\n-----END K-----\n",
            b"",
            b"no pem",
        ] {
            assert!(decode(bad).is_none(), "{:?}", String::from_utf8_lossy(bad));
        }
        // A malformed block is skipped and the next one found.
        let two =
            b"-----BEGIN K-----\nA!ID\n-----END K-----\n-----BEGIN L-----\nAQID\n-----END L-----\n";
        let blocks = decode_all(two);
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].label, "L");
    }

    #[test]
    fn hostile_input_costs_linear_time() {
        let started = std::time::Instant::now();
        // Many BEGIN lines whose END (or base64) never works out, but the last one, which is
        // an empty block.
        let mut many = "-----BEGIN A-----\n".repeat(200_000);
        many.push_str("-----END A-----\n");
        assert_eq!(decode_all(many.as_bytes()).len(), 1);
        let no_end = "-----BEGIN A-----\nAAAA\n".repeat(200_000);
        assert!(decode_all(no_end.as_bytes()).is_empty());
        let mismatched = format!(
            "{}\n-----END B-----\n",
            "-----BEGIN A-----\n".repeat(200_000)
        );
        assert!(decode_all(mismatched.as_bytes()).is_empty());
        // Still found after all that.
        let good = encode("K", &[], &[1, 2, 3]);
        assert_eq!(decode_all(format!("{many}{good}").as_bytes()).len(), 2);
        assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    }

    #[test]
    fn encodes_like_go() {
        let body: Vec<u8> = (0..=255).collect();
        let pem = encode(
            "EC PRIVATE KEY",
            &[
                ("role", "x"),
                ("DEK-Info", "y"),
                ("Proc-Type", "4,ENCRYPTED"),
                ("gun", "g"),
            ],
            &body,
        );
        let lines: Vec<&str> = pem.split('\n').collect();
        assert_eq!(
            &lines[..6],
            [
                "-----BEGIN EC PRIVATE KEY-----",
                "Proc-Type: 4,ENCRYPTED",
                "DEK-Info: y",
                "gun: g",
                "role: x",
                ""
            ]
        );
        assert!(lines[6..lines.len() - 2].iter().all(|l| l.len() <= 64));
        assert_eq!(lines[6].len(), 64);
        assert!(pem.ends_with("-----END EC PRIVATE KEY-----\n"));
        assert_eq!(
            encode("A", &[], &[]),
            "-----BEGIN A-----\n-----END A-----\n"
        );
        let (b, _) = decode(pem.as_bytes()).unwrap();
        assert_eq!(b.encode().as_str(), pem);
    }
}
