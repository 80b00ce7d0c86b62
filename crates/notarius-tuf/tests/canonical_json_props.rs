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
