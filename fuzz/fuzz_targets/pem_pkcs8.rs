//! Key files from disk or `key import`: PEM parsing, Notary's PKCS#8 (plain and PBES2), legacy
//! DEK-Info blocks. Nothing may panic; a key that decrypts must be internally consistent and
//! survive our own encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use notarius_crypto::keyfile::KeyFile;
use notarius_crypto::pkcs8;

fuzz_target!(|data: &[u8]| {
    // Raw DER straight into the decoders.
    if let Ok(raw) = pkcs8::decode_pkcs8(data) {
        assert_eq!(
            pkcs8::decode_pkcs8(&pkcs8::encode_pkcs8(&raw)).expect("our encoding reads back"),
            raw
        );
    }
    // Low iteration counts are refused before any work, so this stays fast.
    let _ = pkcs8::decrypt_pkcs8(data, b"password");
    let _ = pkcs8::decrypt_legacy(
        data,
        "AES-256-CBC,000102030405060708090a0b0c0d0e0f",
        b"password",
    );

    if let Ok(file) = KeyFile::parse(data) {
        let _ = (file.role(), file.gun(), file.is_encrypted());
        if let Ok(key) = file.decrypt("password") {
            let (method, sig) = key.sign_bytes(b"fuzz").expect("a decrypted key signs");
            key.public_key()
                .verify(&method, &sig, b"fuzz")
                .expect("and verifies");
        }
    }
});
