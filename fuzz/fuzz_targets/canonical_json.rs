//! Canonical JSON must be a fixed point: whatever the strict parser accepts, once canonicalised,
//! parses back to a value whose canonical form is the same bytes. A signer and a verifier that
//! disagree on one byte here disagree on every signature.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarius_tuf::cjson::{self, NumberMode};
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = cjson::parse_strict(data) else {
        return;
    };
    for mode in [NumberMode::Exact, NumberMode::GoFloat] {
        let Ok(first) = cjson::to_canonical_with(&value, mode) else {
            assert!(
                has_non_integral_number(&value, mode),
                "canonicalisation refused a document whose numbers are all integers"
            );
            continue;
        };
        let again = match cjson::parse_strict(&first) {
            Ok(v) => v,
            // Go's dialect writes control characters raw, which no JSON parser accepts.
            Err(e) => {
                assert!(
                    has_control_char(&value),
                    "canonical bytes do not parse ({e}): {:?}",
                    String::from_utf8_lossy(&first)
                );
                continue;
            }
        };
        let second = cjson::to_canonical_with(&again, mode).expect("canonical output re-encodes");
        assert_eq!(first, second, "canonical form is not a fixed point");
    }

    // Go's wire escaping must describe the same document as the canonical form.
    let mut wire = Vec::new();
    if cjson::go_compact_escaped(&value, &mut wire, NumberMode::Exact).is_ok() {
        let back = cjson::parse_strict(&wire).expect("Go-escaped bytes parse");
        assert_eq!(
            cjson::to_canonical_with(&back, NumberMode::GoFloat).ok(),
            cjson::to_canonical_with(&value, NumberMode::GoFloat).ok(),
            "wire escaping changed the document"
        );
    }
});

fn has_control_char(v: &Value) -> bool {
    let ctl = |s: &str| s.bytes().any(|b| b < 0x20);
    match v {
        Value::String(s) => ctl(s),
        Value::Array(items) => items.iter().any(has_control_char),
        Value::Object(map) => map.iter().any(|(k, v)| ctl(k) || has_control_char(v)),
        _ => false,
    }
}

fn has_non_integral_number(v: &Value, mode: NumberMode) -> bool {
    match v {
        Value::Number(n) => {
            if mode == NumberMode::Exact && (n.is_i64() || n.is_u64()) {
                return false;
            }
            match n.as_f64() {
                Some(f) => {
                    f.fract() != 0.0
                        || !f.is_finite()
                        || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&f)
                }
                None => true,
            }
        }
        Value::Array(items) => items.iter().any(|i| has_non_integral_number(i, mode)),
        Value::Object(map) => map.values().any(|i| has_non_integral_number(i, mode)),
        _ => false,
    }
}
