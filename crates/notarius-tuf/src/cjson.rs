//! Canonical JSON in the dialect of `github.com/docker/go/canonical/json`, which Notary signs with,
//! and a strict parser for the bytes we receive.
//!
//! The dialect differs from OLPC and RFC 8785 in ways that break signatures if ignored:
//! object keys are sorted by their raw (unescaped) UTF-8 bytes, only `"` and `\` are escaped in
//! strings (control characters, `<>&`, U+2028/2029 and all non-ASCII are written raw), and numbers
//! must be integers.
//!
//! Notary verifies by decoding `signed` into `map[string]interface{}` (every number becomes a
//! float64) and re-encoding it; [`NumberMode::GoFloat`] reproduces that path so that a document
//! carrying `1.0` or `1e3` canonicalises exactly as Go would (`1`, `1000`).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;
use std::io::Write as _;

/// How numbers are rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberMode {
    /// Integers are written exactly; integral floats are written as integers.
    Exact,
    /// Every number goes through an IEEE double first, as Go's `interface{}` decoding does.
    GoFloat,
}

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("json: unsupported value: {0} (canonical JSON allows only integers)")]
    NonIntegralNumber(String),
}

/// Canonical bytes of `value`, numbers rendered exactly.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    to_canonical_with(value, NumberMode::Exact)
}

/// Canonical bytes of `value` in the given number mode.
pub fn to_canonical_with(value: &Value, mode: NumberMode) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value, mode)?;
    Ok(out)
}

/// Canonical bytes of any serialisable value (through a `serde_json::Value`).
pub fn to_canonical_serialize<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let v = serde_json::to_value(value)
        .map_err(|e| CanonicalError::NonIntegralNumber(e.to_string()))?;
    to_canonical(&v)
}

fn write_value(out: &mut Vec<u8>, value: &Value, mode: NumberMode) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n, mode)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, mode)?;
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(out, map, mode)?,
    }
    Ok(())
}

fn write_object(
    out: &mut Vec<u8>,
    map: &Map<String, Value>,
    mode: NumberMode,
) -> Result<(), CanonicalError> {
    // serde_json's map is a BTreeMap, already in this order, unless another crate in the build
    // switches it to insertion order: then, and only then, sort (no allocation otherwise).
    let sorted = map
        .keys()
        .zip(map.keys().skip(1))
        .all(|(a, b)| a.as_bytes() < b.as_bytes());
    if sorted {
        write_members(out, map.iter(), mode)
    } else {
        let mut entries: Vec<(&String, &Value)> = map.iter().collect();
        entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        write_members(out, entries.into_iter(), mode)
    }
}

fn write_members<'a>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'a String, &'a Value)>,
    mode: NumberMode,
) -> Result<(), CanonicalError> {
    out.push(b'{');
    for (i, (k, v)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, k);
        out.push(b':');
        write_value(out, v, mode)?;
    }
    out.push(b'}');
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    // Runs without `"` or `\` are copied whole (most strings are one run).
    let mut rest = s.as_bytes();
    while let Some(i) = rest.iter().position(|&b| b == b'"' || b == b'\\') {
        out.extend_from_slice(&rest[..i]);
        out.push(b'\\');
        out.push(rest[i]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

fn write_number(out: &mut Vec<u8>, n: &Number, mode: NumberMode) -> Result<(), CanonicalError> {
    if mode == NumberMode::Exact {
        if let Some(i) = n.as_i64() {
            let _ = write!(out, "{i}");
            return Ok(());
        }
        if let Some(u) = n.as_u64() {
            let _ = write!(out, "{u}");
            return Ok(());
        }
    }
    let f = n
        .as_f64()
        .ok_or_else(|| CanonicalError::NonIntegralNumber(n.to_string()))?;
    // Go: `math.Floor(f) != f` is an error, then `strconv.AppendInt(int64(f))`.
    // Outside the int64 range Go's conversion is undefined, so we refuse instead.
    // 2^63 is exact in a double, so this range holds exactly the integral doubles i64 can take.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if !f.is_finite() || f.floor() != f || !(-TWO_63..TWO_63).contains(&f) {
        return Err(CanonicalError::NonIntegralNumber(n.to_string()));
    }
    let _ = write!(out, "{}", f as i64);
    Ok(())
}

/// The largest integer every value up to which an IEEE double holds exactly (2^53): beyond it
/// [`NumberMode::GoFloat`] may write another number than the one read.
const MAX_EXACT_INT: u64 = 1 << 53;

/// If `bytes` starts with a JSON value that is already in canonical form
/// ([`NumberMode::GoFloat`]), its length.
///
/// Conservative: `None` means "not known to be canonical" (an escape other than `\"` or `\\`,
/// a backslash in a member name, whitespace, a fraction or exponent, an integer beyond 2^53, `-0`,
/// members out of order, nesting past 128, …), never "invalid". When it answers `Some(n)` for
/// bytes the strict parser accepts, `to_canonical_with(parse(bytes[..n]), GoFloat)` is exactly
/// `bytes[..n]`: the signature check can use the received bytes instead of writing them again
/// (property-tested below and in the `metadata_parse` fuzz target).
pub fn canonical_prefix(bytes: &[u8]) -> Option<usize> {
    let mut r = Recognizer { b: bytes, i: 0 };
    r.value(0)?;
    Some(r.i)
}

struct Recognizer<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Recognizer<'a> {
    fn next(&mut self) -> Option<u8> {
        let c = *self.b.get(self.i)?;
        self.i += 1;
        Some(c)
    }

    fn eat(&mut self, lit: &[u8]) -> Option<()> {
        let end = self.i.checked_add(lit.len())?;
        (self.b.get(self.i..end)? == lit).then(|| self.i = end)
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        if depth > 128 {
            return None;
        }
        match *self.b.get(self.i)? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string(false).map(|_| ()),
            b't' => self.eat(b"true"),
            b'f' => self.eat(b"false"),
            b'n' => self.eat(b"null"),
            b'-' | b'0'..=b'9' => self.integer(),
            _ => None,
        }
    }

    fn object(&mut self, depth: usize) -> Option<()> {
        self.next()?;
        if self.eat(b"}").is_some() {
            return Some(());
        }
        let mut prev: Option<&'a [u8]> = None;
        loop {
            // Names without escapes, so that their raw bytes are the bytes the canonical form
            // sorts by.
            let name = self.string(true)?;
            if prev.is_some_and(|p| p >= name) {
                return None;
            }
            prev = Some(name);
            self.eat(b":")?;
            self.value(depth + 1)?;
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    fn array(&mut self, depth: usize) -> Option<()> {
        self.next()?;
        if self.eat(b"]").is_some() {
            return Some(());
        }
        loop {
            self.value(depth + 1)?;
            match self.next()? {
                b',' => continue,
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    /// A string's raw content. Only `\"` and `\\` are canonical escapes; none at all in a
    /// member name. (Raw control characters need no check: the strict parser refuses them, and
    /// only bytes it accepts are vouched for.)
    fn string(&mut self, name: bool) -> Option<&'a [u8]> {
        let b = self.b;
        if b.get(self.i) != Some(&b'"') {
            return None;
        }
        let start = self.i + 1;
        let mut i = start;
        loop {
            i += memchr::memchr2(b'"', b'\\', b.get(i..)?)?;
            match (b[i], b.get(i + 1)) {
                (b'"', _) => {
                    self.i = i + 1;
                    return Some(&b[start..i]);
                }
                (_, Some(b'"' | b'\\')) if !name => i += 2,
                _ => return None,
            }
        }
    }

    fn integer(&mut self) -> Option<()> {
        let negative = self.eat(b"-").is_some();
        let start = self.i;
        while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let digits = &self.b[start..self.i];
        if digits.is_empty()
            || (digits[0] == b'0' && (digits.len() > 1 || negative))
            || matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E'))
            || digits.len() > 16
        {
            return None;
        }
        let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
        (n <= MAX_EXACT_INT).then_some(())
    }
}

/// Why bytes were refused by the strict parser.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed JSON: {0}")]
pub struct ParseError(pub String);

/// Parses JSON strictly: invalid UTF-8, lone surrogates, duplicate object keys, trailing data and
/// nesting deeper than serde_json's limit (128) are all refused.
///
/// Duplicate keys matter because Go keeps the last one while other parsers keep the first: two
/// implementations must never see different documents in the same bytes.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = StrictValue::deserialize(&mut de).map_err(|e| ParseError(e.to_string()))?;
    de.end().map_err(|e| ParseError(e.to_string()))?;
    Ok(v.0)
}

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = StrictValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(v.into())))
    }
    fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Number(v.into())))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<StrictValue, E> {
        Number::from_f64(v)
            .map(|n| StrictValue(Value::Number(n)))
            .ok_or_else(|| E::custom("number out of range"))
    }
    fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::String(v)))
    }
    fn visit_unit<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_none<E>(self) -> Result<StrictValue, E> {
        Ok(StrictValue(Value::Null))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictValue, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(StrictValue(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(StrictValue(Value::Array(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictValue, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value()?;
            // One lookup per member: a targets file is mostly one object of thousands.
            match out.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(v);
                }
                serde_json::map::Entry::Occupied(dup) => {
                    return Err(de::Error::custom(format!("duplicate key {:?}", dup.key())));
                }
            }
        }
        Ok(StrictValue(Value::Object(out)))
    }
}

/// Go's `encoding/json` output for a string: HTML characters and U+2028/2029 escaped, as
/// Notary's client writes them on the wire (`\u003c` for `<`). Used when we must produce
/// byte-identical envelopes.
pub fn go_escape_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' | '\u{0}'..='\u{1f}' => {
                let c = ch as u32;
                out.extend_from_slice(b"\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((c >> shift) & 0xf) as usize]);
                }
            }
            _ => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Re-encodes canonical JSON bytes the way Go's `json.Marshal` compacts an embedded
/// `json.RawMessage`: structure untouched, strings HTML-escaped.
pub fn go_compact_escaped(
    value: &Value,
    out: &mut Vec<u8>,
    mode: NumberMode,
) -> Result<(), CanonicalError> {
    match value {
        Value::String(s) => go_escape_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                go_compact_escaped(item, out, mode)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                go_escape_string(out, k);
                out.push(b':');
                go_compact_escaped(v, out, mode)?;
            }
            out.push(b'}');
        }
        other => write_value(out, other, mode)?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(v: &Value) -> String {
        String::from_utf8(to_canonical(v).unwrap()).unwrap()
    }

    #[test]
    fn sorts_keys_by_raw_bytes_not_escaped_form() {
        // olpc-cjson puts "a b" first because it compares escaped strings.
        let v = json!({"a b": 1, "a": 2, "a\"": 3, "a#": 4, "é": 5, "z": 6});
        assert_eq!(canon(&v), r#"{"a":2,"a b":1,"a\"":3,"a#":4,"z":6,"é":5}"#);
    }

    #[test]
    fn escapes_only_quote_and_backslash() {
        let v = json!("<>&\"\\\u{2028}\u{1}\n\tcafe\u{301}😀");
        assert_eq!(canon(&v), "\"<>&\\\"\\\\\u{2028}\u{1}\n\tcafe\u{301}😀\"");
    }

    #[test]
    fn numbers_exact_and_go_float() {
        let v = parse_strict(br#"[1, -5, 1.0, 1e3, 9007199254740993]"#).unwrap();
        assert_eq!(canon(&v), "[1,-5,1,1000,9007199254740993]");
        let go = String::from_utf8(to_canonical_with(&v, NumberMode::GoFloat).unwrap()).unwrap();
        assert_eq!(go, "[1,-5,1,1000,9007199254740992]");
        assert!(to_canonical(&json!(1.5)).is_err());
        assert!(to_canonical(&json!(1e300)).is_err());
    }

    #[test]
    fn canonical_prefix_vouches_only_for_canonical_form() {
        let yes: &[&str] = &[
            r#"{}"#,
            r#"{"a":1,"b":[true,false,null],"c":{"d":"x\"y\\z"}}"#,
            r#"{"a":-5,"b":0,"c":9007199254740992,"d":-9007199254740992}"#,
            "{\"a b\":1,\"a#\":2,\"é\":\"<>&\u{2028}\"}",
            r#"[]"#,
            r#""""#,
        ];
        for y in yes {
            assert_eq!(canonical_prefix(y.as_bytes()), Some(y.len()), "{y}");
            let v = parse_strict(y.as_bytes()).unwrap();
            assert_eq!(canon(&v), *y);
        }
        assert_eq!(canonical_prefix(br#"{"a":1},"signatures""#), Some(7));
        let no: &[&str] = &[
            r#"{"b":1,"a":2}"#,
            r#"{"a":1,"a":2}"#,
            r#"{ "a":1}"#,
            r#"{"a": 1}"#,
            r#"{"a":1 }"#,
            r#"{"a":1.0}"#,
            r#"{"a":1e3}"#,
            r#"{"a":-0}"#,
            r#"{"a":01}"#,
            r#"{"a":9007199254740993}"#,
            r#"{"a":"\u0041"}"#,
            r#"{"a":"\/"}"#,
            r#"{"a\"":1}"#,
            r#"{"a":"x"#,
            r#"{"a":tru}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":1,}"#,
            r#"{,}"#,
            "",
            " {}",
        ];
        for n in no {
            assert_ne!(canonical_prefix(n.as_bytes()), Some(n.len()), "{n}");
        }
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(canonical_prefix(deep.as_bytes()), None);
    }

    #[test]
    fn strict_parser_refuses_ambiguous_input() {
        assert!(parse_strict(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_strict(br#"{"a":1} {}"#).is_err());
        assert!(parse_strict(b"\"\xff\"").is_err());
        assert!(parse_strict(br#""\ud800""#).is_err());
        assert!(parse_strict(b"\xef\xbb\xbf{}").is_err());
        let deep = "[".repeat(100_000);
        assert!(parse_strict(deep.as_bytes()).is_err());
        assert!(parse_strict(br#"{"a":{"b":[1,2,{"c":null}]}}"#).is_ok());
    }

    #[test]
    fn go_escaping_matches_notary_wire_form() {
        let mut out = Vec::new();
        go_escape_string(&mut out, "t&<x>\u{2028}é");
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#""t\u0026\u003cx\u003e\u2028é""#
        );
    }
}
