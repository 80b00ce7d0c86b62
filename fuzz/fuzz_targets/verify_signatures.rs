//! Signature verification over arbitrary envelopes. Beyond "never panics":
//! - a key made fresh in this process can never be satisfied (the input cannot hold its
//!   signature), so success there is a threshold or key-matching bug;
//! - the fixed keys have only signed `SIGNED_DOCS`, so whatever verifies must canonicalise to
//!   one of those documents, however differently its bytes are written;
//! - a threshold of two must be backed by two distinct keys each with a signature that
//!   verifies on its own.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use notarius_fuzz::{FixedKey, SIGNED_DOCS, role, signed_envelope, signed_messages};
use notarius_tuf::keys::PublicKey;
use notarius_tuf::metadata::{BaseRole, Envelope, verify_signatures};
use notarius_tuf::sign::Signer;
use notarius_tuf::sign::testing::TestKey;

struct World {
    fresh: BaseRole,
    fixed_one: BaseRole,
    fixed_two: BaseRole,
    fixed_keys: [PublicKey; 2],
    messages: Vec<Vec<u8>>,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let (ec, ed) = (TestKey::ecdsa(), TestKey::ed25519());
    let (fixed_ed, fixed_ec) = (FixedKey::ed25519(), FixedKey::ecdsa());
    let fixed_keys = [fixed_ed.public_key().clone(), fixed_ec.public_key().clone()];
    let w = World {
        fresh: role(&[ec.public_key(), ed.public_key()], 1),
        fixed_one: role(&[&fixed_keys[0], &fixed_keys[1]], 1),
        fixed_two: role(&[&fixed_keys[0], &fixed_keys[1]], 2),
        fixed_keys,
        messages: signed_messages(),
    };
    // Without this the success-path invariants below could be vacuous: a changed fixed key or
    // document would silently make every seed fail to verify.
    let both = signed_envelope(SIGNED_DOCS[0], &[&fixed_ed, &fixed_ec]);
    let env = Envelope::parse("timestamp", &both).expect("seed parses");
    verify_signatures(&env, &w.fixed_two).expect("fixed keys verify their own documents");
    w
});

fuzz_target!(|data: &[u8]| {
    let w = &*WORLD;
    let Ok(env) = Envelope::parse("timestamp", data) else {
        return;
    };
    assert!(
        verify_signatures(&env, &w.fresh).is_err(),
        "a key this input cannot know was satisfied"
    );
    if verify_signatures(&env, &w.fixed_one).is_ok() {
        let msg = env.canonical_signed().expect("verified bytes canonicalise");
        assert!(
            w.messages.contains(&msg),
            "verified a document the key never signed: {:?}",
            String::from_utf8_lossy(&msg)
        );
    }
    if verify_signatures(&env, &w.fixed_two).is_ok() {
        let msg = env.canonical_signed().expect("verified bytes canonicalise");
        for key in &w.fixed_keys {
            assert!(
                env.signatures
                    .iter()
                    .any(|s| s.keyid == key.id() && key.verify(&s.method, &s.sig, &msg).is_ok()),
                "threshold 2 met without a valid signature by {}",
                key.id()
            );
        }
    }
});
