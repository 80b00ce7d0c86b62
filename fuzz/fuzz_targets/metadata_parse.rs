//! Everything a server or client does with untrusted metadata before checking signatures:
//! the envelope parse, decoding into each role type with its structural checks, and writing the
//! envelope back the way Notary's client does. None of it may panic, and what we write must read
//! back as the same document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarius_tuf::metadata::{Envelope, Received, Root, SignedPart, Snapshot, Targets, Timestamp};

fuzz_target!(|data: &[u8]| {
    // The loading path's shortcut (canonical signed bytes decoded straight into their type)
    // accepts, decodes and refuses exactly as the strict tree parse does.
    let received = Received::parse("root", data);
    let env = Envelope::parse("root", data);
    match (&received, &env) {
        (Ok(r), Ok(e)) => {
            assert_eq!(r.signatures, e.signatures, "signatures differ");
            same_decode::<Root>(r, e, "root");
            same_decode::<Targets>(r, e, "targets");
            same_decode::<Snapshot>(r, e, "snapshot");
            same_decode::<Timestamp>(r, e, "timestamp");
        }
        (Err(r), Err(e)) => assert_eq!(r.to_string(), e.to_string(), "parse errors differ"),
        _ => panic!(
            "Received {:?} but Envelope {:?}",
            received.is_ok(),
            env.is_ok()
        ),
    }
    let Ok(env) = env else {
        return;
    };
    let canonical = env.canonical_signed().ok();
    // The signature check's shortcut: signed bytes found verbatim must be the canonical ones.
    if let Some(found) = Envelope::canonical_signed_in(data) {
        assert_eq!(
            Some(found),
            canonical.as_deref(),
            "vouched for non-canonical signed bytes"
        );
    }

    if let Ok(wire) = env.to_wire_bytes() {
        let back = Envelope::parse("root", &wire).expect("our wire bytes parse");
        assert_eq!(
            back.signatures, env.signatures,
            "signatures changed on the wire"
        );
        assert_eq!(
            back.canonical_signed().ok(),
            canonical,
            "the signed bytes changed on the wire"
        );
        assert_eq!(
            back.to_wire_bytes().expect("re-encodes"),
            wire,
            "wire encoding is not a fixed point"
        );
    }

    round_trip::<Root>(&env, "root");
    round_trip::<Targets>(&env, "targets");
    round_trip::<Targets>(&env, "targets/releases");
    round_trip::<Snapshot>(&env, "snapshot");
    round_trip::<Timestamp>(&env, "timestamp");
});

/// A decoded role, re-encoded from the model, must decode to the same model: what we would sign
/// after an edit is what we read.
fn round_trip<T: SignedPart + PartialEq + std::fmt::Debug>(env: &Envelope, role: &str) {
    let Ok(part) = env.decode::<T>(role) else {
        return;
    };
    let signed = serde_json::to_value(&part).expect("model serialises");
    let rebuilt = Envelope {
        signed,
        signatures: env.signatures.clone(),
    };
    let Ok(wire) = rebuilt.to_wire_bytes() else {
        // Unknown members may carry numbers Go's canonical form cannot hold; the model itself
        // has only integers.
        return;
    };
    let again = Envelope::parse(role, &wire).expect("re-encoded metadata parses");
    let part2 = again
        .decode::<T>(role)
        .expect("re-encoded metadata decodes");
    // Compared as the bytes a signature would cover: JSON cannot tell `0.0` from `0` once it is
    // written, and neither can Go's canonical form (an integral float is written as an integer).
    let canon = |p: &T| notarius_tuf::cjson::to_canonical_serialize(p).ok();
    assert_eq!(
        canon(&part2),
        canon(&part),
        "{role} changed in a decode/encode round trip"
    );
}

fn same_decode<T: SignedPart + PartialEq + std::fmt::Debug>(
    r: &Received<'_>,
    e: &Envelope,
    role: &str,
) {
    assert_eq!(
        r.decode::<T>(role).map_err(|e| e.to_string()),
        e.decode::<T>(role).map_err(|e| e.to_string()),
        "decoding as {role} differs"
    );
}
