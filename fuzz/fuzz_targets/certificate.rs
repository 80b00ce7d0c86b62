//! Root certificates from metadata: bundle parsing, the checks Notary applies, and rebuilding
//! the key from the certificate. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarius_tuf::keys::{KeyType, PublicKey};
use notarius_tuf::trust::{cert_bundle_to_key, load_cert_bundle, match_cn_to_gun};

fuzz_target!(|data: &[u8]| {
    if let Ok(certs) = load_cert_bundle(data) {
        let now = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        for c in &certs {
            let _ = c.validate(true, now);
            let _ = match_cn_to_gun(&c.common_name, "example.com/app");
        }
        if let Some(k) = cert_bundle_to_key(&certs[0], &certs[1..]) {
            let _ = (k.id(), k.canonical_id());
        }
    }
    for kt in [
        KeyType::EcdsaX509,
        KeyType::RsaX509,
        KeyType::Ecdsa,
        KeyType::Rsa,
    ] {
        let k = PublicKey::new(kt, data.to_vec());
        let _ = k.canonical_id();
        let _ = k.verify("ecdsa", &[0u8; 64], b"m");
        let _ = k.verify("rsapss", &[0u8; 256], b"m");
    }
});
