//! Property tests of the canonical JSON encoder against the rules of docker/go's dialect.

use notarius_tuf::cjson::{
    NumberMode, go_compact_escaped, parse_strict, to_canonical, to_canonical_with,
};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn arb_string() -> impl Strategy<Value = String> {
    // Weighted towards the characters the dialect treats specially.
    prop::collection::vec(
        prop_oneof![
            Just('"'),
            Just('\\'),
            Just('<'),
            Just('&'),
            Just('\u{2028}'),
            Just('\u{0}'),
            Just('\t'),
            Just('\u{301}'),
            Just('😀'),
            any::<char>(),
        ],
        0..12,
    )
    .prop_map(|v| v.into_iter().collect())
}

fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        any::<u64>().prop_map(|u| Value::Number(u.into())),
        arb_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((arb_string(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Reference rendering of a string by the dialect's rule, byte by byte.
fn reference_string(s: &str) -> Vec<u8> {
    let mut out = vec![b'"'];
    for b in s.bytes() {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
    out
}

proptest! {
    #[test]
    fn wire_form_round_trips_to_the_same_canonical_bytes(v in arb_value()) {
        // Canonical bytes keep control characters raw, which no JSON parser (Go's included)
        // accepts back; what travels is the Go-escaped wire form, and it must lead back to the
        // very same canonical bytes.
        let once = to_canonical(&v).unwrap();
        let mut wire = Vec::new();
        go_compact_escaped(&v, &mut wire, NumberMode::Exact).unwrap();
        let parsed = parse_strict(&wire).unwrap();
        prop_assert_eq!(&parsed, &v);
        prop_assert_eq!(to_canonical(&parsed).unwrap(), once);
    }

    #[test]
    fn canonical_bytes_parse_back_when_free_of_control_characters(v in arb_value()) {
        let once = to_canonical(&v).unwrap();
        if !once.iter().any(|b| *b < 0x20) {
            let parsed = parse_strict(&once).unwrap();
            prop_assert_eq!(to_canonical(&parsed).unwrap(), once);
        }
    }

    #[test]
    fn strings_escape_only_quote_and_backslash(s in arb_string()) {
        prop_assert_eq!(to_canonical(&Value::String(s.clone())).unwrap(), reference_string(&s));
    }

    #[test]
    fn object_keys_sorted_by_raw_bytes(keys in prop::collection::btree_set(arb_string(), 0..8)) {
        let obj: Map<String, Value> = keys.iter().map(|k| (k.clone(), Value::Null)).collect();
        let out = to_canonical(&Value::Object(obj)).unwrap();
        let mut sorted: Vec<&String> = keys.iter().collect();
        sorted.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        let mut expect = vec![b'{'];
        for (i, k) in sorted.iter().enumerate() {
            if i > 0 { expect.push(b','); }
            expect.extend(reference_string(k));
            expect.extend_from_slice(b":null");
        }
        expect.push(b'}');
        prop_assert_eq!(out, expect);
    }

    #[test]
    fn whitespace_and_order_do_not_change_the_form(v in arb_value()) {
        let pretty = serde_json::to_vec_pretty(&v).unwrap();
        let reparsed = parse_strict(&pretty).unwrap();
        prop_assert_eq!(to_canonical(&reparsed).unwrap(), to_canonical(&v).unwrap());
    }

    #[test]
    fn go_float_mode_matches_float64_rounding(i in any::<i64>()) {
        let v = Value::Number(i.into());
        let go = String::from_utf8(to_canonical_with(&v, NumberMode::GoFloat).unwrap_or_default()).unwrap();
        let f = i as f64;
        if f < 9_223_372_036_854_775_808.0 {
            prop_assert_eq!(go, (f as i64).to_string());
        }
    }
}

/// The claim `canonical_prefix` makes: whenever it vouches for bytes the strict parser accepts,
/// writing the parsed value out again gives exactly those bytes.
fn vouched_bytes_are_canonical(bytes: &[u8]) -> Result<(), TestCaseError> {
    use notarius_tuf::cjson::canonical_prefix;
    let Some(n) = canonical_prefix(bytes) else {
        return Ok(());
    };
    let Ok(v) = parse_strict(&bytes[..n]) else {
        return Ok(());
    };
    prop_assert_eq!(
        to_canonical_with(&v, NumberMode::GoFloat).unwrap(),
        bytes[..n].to_vec(),
        "vouched for {:?}",
        String::from_utf8_lossy(&bytes[..n])
    );
    Ok(())
}

/// JSON-ish bytes: canonical pieces and the things that break canonical form.
fn arb_jsonish() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(&b"{"[..]),
            Just(&b"}"[..]),
            Just(&b"["[..]),
            Just(&b"]"[..]),
            Just(&b","[..]),
            Just(&b":"[..]),
            Just(&b"\""[..]),
            Just(&b"\\"[..]),
            Just(&b"\\\""[..]),
            Just(&b"\\u0041"[..]),
            Just(&b" "[..]),
            Just(&b"a"[..]),
            Just(&b"b"[..]),
            Just(&b"0"[..]),
            Just(&b"-"[..]),
            Just(&b"1"[..]),
            Just(&b"9007199254740993"[..]),
            Just(&b"9007199254740992"[..]),
            Just(&b".5"[..]),
            Just(&b"e3"[..]),
            Just(&b"true"[..]),
            Just(&b"null"[..]),
            Just("é".as_bytes()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn canonical_bytes_are_recognised_unless_they_hold_what_it_declines(v in arb_value()) {
        use notarius_tuf::cjson::canonical_prefix;
        // Numbers past i64 have no canonical form at all.
        let Ok(bytes) = to_canonical_with(&v, NumberMode::GoFloat) else {
            return Ok(());
        };
        vouched_bytes_are_canonical(&bytes)?;
        // Declined only for: escapes in member names, integers past 2^53, control characters
        // (which no JSON parser takes raw).
        let text = String::from_utf8_lossy(&bytes);
        let declinable = bytes.iter().any(|&b| b < 0x20 || b == b'\\')
            || text.split(|c: char| !c.is_ascii_digit()).any(|d| d.len() >= 16);
        if !declinable {
            prop_assert_eq!(canonical_prefix(&bytes), Some(bytes.len()), "{}", text);
        }
    }

    #[test]
    fn whatever_is_recognised_is_canonical(bytes in arb_jsonish()) {
        vouched_bytes_are_canonical(&bytes)?;
    }

    #[test]
    fn mutated_canonical_bytes_are_never_wrongly_vouched_for(
        v in arb_value(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let Ok(mut bytes) = to_canonical_with(&v, NumberMode::GoFloat) else {
            return Ok(());
        };
        for (at, byte, op) in edits {
            let i = if bytes.is_empty() { 0 } else { at.index(bytes.len()) };
            match op {
                0 if !bytes.is_empty() => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ if !bytes.is_empty() => {
                    bytes.remove(i);
                }
                _ => {}
            }
        }
        vouched_bytes_are_canonical(&bytes)?;
    }
}
