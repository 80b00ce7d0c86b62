//! notary-signer's encryption of private keys at rest: a JWE in compact serialisation as
//! jose2go writes it (`keydbstore.EncryptionAlg`/`KeywrapAlg`):
//!
//! * protected header `{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":8192,"p2s":"…"}`
//!   (Go's `json.Marshal` of a map: keys sorted), `p2s` = 12 random bytes;
//! * KEK = PBKDF2-HMAC-SHA256(passphrase, `alg` ‖ 0x00 ‖ salt, p2c, 16 bytes);
//! * a random 32-byte CEK wrapped with AES-128 key wrap (RFC 3394);
//! * the content encrypted with AES-256-GCM, a 12-byte IV, AAD = the encoded header.
//!
//! Decryption pins the algorithm pair (a token naming any other `alg` or `enc` is refused before
//! any key is derived: never taken from the header) and caps the iteration count.

use std::num::NonZeroU32;

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit, generic_array::GenericArray};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::aead;
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

pub const KEYWRAP_ALG: &str = "PBES2-HS256+A128KW";
pub const ENCRYPTION_ALG: &str = "A256GCM";
/// jose2go's iteration count.
pub const P2C: u32 = 8192;
/// The highest iteration count a stored token may ask for (SG-07, DOS-12).
pub const MAX_P2C: u64 = 1_000_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JweError {
    #[error("not a JWE in compact serialisation: {0}")]
    Malformed(String),
    #[error(
        "unexpected JWE algorithms alg={alg:?} enc={enc:?}: only {KEYWRAP_ALG} with {ENCRYPTION_ALG} is accepted"
    )]
    Algorithm { alg: String, enc: String },
    #[error("JWE iteration count p2c={0} is outside 1..={MAX_P2C}")]
    IterationCount(String),
    /// Wrong passphrase or a damaged token: the key wrap or the GCM tag does not check.
    #[error("the key does not decrypt (wrong passphrase or damaged data)")]
    Decrypt,
}

const KW_IV: [u8; 8] = [0xA6; 8];

/// RFC 3394 key wrap with AES-128.
fn aes_kw_wrap(kek: &[u8; 16], plain: &[u8]) -> Vec<u8> {
    assert!(plain.len().is_multiple_of(8) && plain.len() >= 16);
    let cipher = aes::Aes128::new(GenericArray::from_slice(kek));
    let n = plain.len() / 8;
    let mut a = KW_IV;
    let mut r: Vec<[u8; 8]> = plain
        .chunks(8)
        .map(|c| c.try_into().expect("8 bytes"))
        .collect();
    let mut block = Zeroizing::new([0u8; 16]);
    for j in 0..6u64 {
        for (i, ri) in r.iter_mut().enumerate() {
            block[..8].copy_from_slice(&a);
            block[8..].copy_from_slice(ri);
            cipher.encrypt_block(GenericArray::from_mut_slice(&mut block[..]));
            let t = (n as u64) * j + (i as u64 + 1);
            a.copy_from_slice(&block[..8]);
            for (x, y) in a.iter_mut().zip(t.to_be_bytes()) {
                *x ^= y;
            }
            ri.copy_from_slice(&block[8..]);
        }
    }
    let mut out = a.to_vec();
    for ri in &r {
        out.extend_from_slice(ri);
    }
    out
}

/// RFC 3394 key unwrap with AES-128; `None` when the integrity check fails.
fn aes_kw_unwrap(kek: &[u8; 16], wrapped: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if !wrapped.len().is_multiple_of(8) || wrapped.len() < 24 {
        return None;
    }
    let cipher = aes::Aes128::new(GenericArray::from_slice(kek));
    let n = wrapped.len() / 8 - 1;
    let mut a: [u8; 8] = wrapped[..8].try_into().expect("8 bytes");
    let mut r = Zeroizing::new(wrapped[8..].to_vec());
    let mut block = Zeroizing::new([0u8; 16]);
    for j in (0..6u64).rev() {
        for i in (0..n).rev() {
            let t = (n as u64) * j + (i as u64 + 1);
            for (x, y) in a.iter_mut().zip(t.to_be_bytes()) {
                *x ^= y;
            }
            block[..8].copy_from_slice(&a);
            block[8..].copy_from_slice(&r[i * 8..i * 8 + 8]);
            cipher.decrypt_block(GenericArray::from_mut_slice(&mut block[..]));
            a.copy_from_slice(&block[..8]);
            r[i * 8..i * 8 + 8].copy_from_slice(&block[8..]);
        }
    }
    // The check value is public (RFC 3394's IV): a plain comparison leaks nothing.
    (a == KW_IV).then_some(r)
}

fn kek(passphrase: &[u8], salt_input: &[u8], p2c: u32) -> Zeroizing<[u8; 16]> {
    let mut salt = Vec::with_capacity(KEYWRAP_ALG.len() + 1 + salt_input.len());
    salt.extend_from_slice(KEYWRAP_ALG.as_bytes());
    salt.push(0);
    salt.extend_from_slice(salt_input);
    let mut out = Zeroizing::new([0u8; 16]);
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(p2c).expect("p2c > 0"),
        &salt,
        passphrase,
        &mut out[..],
    );
    out
}

/// Encrypts `plaintext` under `passphrase` exactly as notary-signer does (fresh salt, CEK and IV).
pub fn encrypt(plaintext: &[u8], passphrase: &[u8]) -> String {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 12];
    let mut cek = Zeroizing::new([0u8; 32]);
    let mut iv = [0u8; 12];
    rng.fill(&mut salt).expect("system randomness");
    rng.fill(&mut cek[..]).expect("system randomness");
    rng.fill(&mut iv).expect("system randomness");
    encrypt_with(plaintext, passphrase, &salt, &cek, &iv, P2C)
}

/// [`encrypt`] with chosen randomness and iteration count (tests, known answers).
pub fn encrypt_with(
    plaintext: &[u8],
    passphrase: &[u8],
    salt: &[u8],
    cek: &[u8; 32],
    iv: &[u8; 12],
    p2c: u32,
) -> String {
    let header = format!(
        "{{\"alg\":\"{KEYWRAP_ALG}\",\"enc\":\"{ENCRYPTION_ALG}\",\"p2c\":{p2c},\"p2s\":\"{}\"}}",
        B64.encode(salt)
    );
    let header_b64 = B64.encode(header.as_bytes());
    let wrapped = aes_kw_wrap(&kek(passphrase, salt, p2c), &cek[..]);
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_256_GCM, &cek[..]).expect("32-byte key"),
    );
    let mut buf = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(*iv),
            aead::Aad::from(header_b64.as_bytes()),
            &mut buf,
        )
        .expect("AES-GCM seal");
    let out = format!(
        "{header_b64}.{}.{}.{}.{}",
        B64.encode(&wrapped),
        B64.encode(iv),
        B64.encode(&buf),
        B64.encode(tag.as_ref())
    );
    zeroize::Zeroize::zeroize(&mut buf);
    out
}

fn part(s: &str, what: &str) -> Result<Vec<u8>, JweError> {
    B64.decode(s.trim_end_matches('='))
        .map_err(|_| JweError::Malformed(format!("{what} is not base64url")))
}

/// Decrypts a token written by notary-signer (or [`encrypt`]).
pub fn decrypt(token: &str, passphrase: &[u8]) -> Result<Zeroizing<Vec<u8>>, JweError> {
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [h, ek, iv, ct, tag] = parts[..] else {
        return Err(JweError::Malformed(format!(
            "{} parts instead of 5",
            parts.len()
        )));
    };
    let header_bytes = part(h, "header")?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header_bytes)
        .map_err(|_| JweError::Malformed("header is not a JSON object".into()))?;
    let s = |k: &str| header.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let (alg, enc) = (s("alg"), s("enc"));
    if alg != KEYWRAP_ALG || enc != ENCRYPTION_ALG {
        return Err(JweError::Algorithm {
            alg: alg.to_owned(),
            enc: enc.to_owned(),
        });
    }
    if header.contains_key("zip") || header.contains_key("crit") {
        return Err(JweError::Malformed(
            "header asks for compression or critical extensions".into(),
        ));
    }
    // jose2go reads p2c as a JSON number (float64); only whole numbers in range are taken.
    let p2c_value = header.get("p2c").cloned().unwrap_or_default();
    let p2c = p2c_value
        .as_u64()
        .or_else(|| {
            p2c_value
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 1.0 && *f <= MAX_P2C as f64)
                .map(|f| f as u64)
        })
        .filter(|n| (1..=MAX_P2C).contains(n))
        .ok_or_else(|| JweError::IterationCount(p2c_value.to_string()))?;
    let salt = B64
        .decode(s("p2s").trim_end_matches('='))
        .map_err(|_| JweError::Malformed("p2s is not base64url".into()))?;
    if !(8..=64).contains(&salt.len()) {
        return Err(JweError::Malformed(format!(
            "p2s of {} bytes (8 to 64 expected)",
            salt.len()
        )));
    }
    let wrapped = part(ek, "encrypted key")?;
    let iv: [u8; 12] = part(iv, "IV")?
        .try_into()
        .map_err(|_| JweError::Malformed("IV is not 12 bytes".into()))?;
    let tag = part(tag, "tag")?;
    if wrapped.len() != 40 || tag.len() != 16 {
        return Err(JweError::Malformed(
            "wrapped key or tag of the wrong size for A256GCM".into(),
        ));
    }
    let mut buf = Zeroizing::new(part(ct, "ciphertext")?);
    let cek = aes_kw_unwrap(
        &kek(passphrase, &salt, u32::try_from(p2c).expect("capped")),
        &wrapped,
    )
    .ok_or(JweError::Decrypt)?;
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_256_GCM, &cek).map_err(|_| JweError::Decrypt)?,
    );
    buf.extend_from_slice(&tag);
    let n = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(iv),
            aead::Aad::from(h.as_bytes()),
            &mut buf[..],
        )
        .map_err(|_| JweError::Decrypt)?
        .len();
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3394_known_answer() {
        // RFC 3394 §4.1: wrap 128 bits of key data with a 128-bit KEK.
        let kek: [u8; 16] = hex::decode("000102030405060708090A0B0C0D0E0F")
            .unwrap()
            .try_into()
            .unwrap();
        let data = hex::decode("00112233445566778899AABBCCDDEEFF").unwrap();
        let wrapped = aes_kw_wrap(&kek, &data);
        assert_eq!(
            hex::encode_upper(&wrapped),
            "1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"
        );
        assert_eq!(&aes_kw_unwrap(&kek, &wrapped).unwrap()[..], &data[..]);
        let mut bad = wrapped.clone();
        bad[10] ^= 1;
        assert!(aes_kw_unwrap(&kek, &bad).is_none());
    }

    #[test]
    fn round_trip_and_header_shape() {
        let t = encrypt(b"secret key bytes", b"pass");
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 5);
        let header = String::from_utf8(B64.decode(parts[0]).unwrap()).unwrap();
        assert!(
            header.starts_with(r#"{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2c":8192,"p2s":""#),
            "{header}"
        );
        assert_eq!(B64.decode(parts[2]).unwrap().len(), 12);
        assert_eq!(&decrypt(&t, b"pass").unwrap()[..], b"secret key bytes");
        assert_eq!(decrypt(&t, b"wrong"), Err(JweError::Decrypt));
    }

    fn with_header(t: &str, header: &str) -> String {
        let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
        parts[0] = B64.encode(header);
        parts.join(".")
    }

    /// SG-07: every kind of tampering fails with its own error and yields no plaintext.
    #[test]
    fn tampered_tokens_are_refused() {
        let t = encrypt(b"k", b"pass");
        let parts: Vec<&str> = t.split('.').collect();
        let header = String::from_utf8(B64.decode(parts[0]).unwrap()).unwrap();
        // A flipped ciphertext or tag bit.
        for i in [3, 4] {
            let mut p: Vec<String> = parts.iter().map(|s| s.to_string()).collect();
            let mut b = B64.decode(&p[i]).unwrap();
            b[0] ^= 1;
            p[i] = B64.encode(b);
            assert_eq!(decrypt(&p.join("."), b"pass"), Err(JweError::Decrypt));
        }
        // The header is authenticated: any change (even a valid one) fails.
        let same_alg = header.replace("\"p2c\":8192", "\"p2c\":8193");
        assert_eq!(
            decrypt(&with_header(&t, &same_alg), b"pass"),
            Err(JweError::Decrypt)
        );
        for (alg, enc) in [
            ("none", "A256GCM"),
            ("dir", "A256GCM"),
            ("A128KW", "A256GCM"),
            ("PBES2-HS512+A256KW", "A256GCM"),
            ("PBES2-HS256+A128KW", "A128GCM"),
            ("PBES2-HS256+A128KW", "A128CBC-HS256"),
        ] {
            let h = header
                .replace(KEYWRAP_ALG, alg)
                .replace(ENCRYPTION_ALG, enc);
            assert!(
                matches!(
                    decrypt(&with_header(&t, &h), b"pass"),
                    Err(JweError::Algorithm { .. })
                ),
                "{alg} {enc}"
            );
        }
        for p2c in [
            "2147483648",
            "1000001",
            "0",
            "-1",
            "1.5",
            "\"8192\"",
            "1e300",
        ] {
            let h = header.replace("8192", p2c);
            assert!(
                matches!(
                    decrypt(&with_header(&t, &h), b"pass"),
                    Err(JweError::IterationCount(_))
                ),
                "{p2c}"
            );
        }
        let h = header.replace("\"p2c\"", "\"zip\":\"DEF\",\"p2c\"");
        assert!(matches!(
            decrypt(&with_header(&t, &h), b"pass"),
            Err(JweError::Malformed(_))
        ));
        assert!(matches!(
            decrypt("a.b.c", b"pass"),
            Err(JweError::Malformed(_))
        ));
    }

    /// A token made by jose2go itself (`jose.Encrypt(…, PBES2_HS256_A128KW, A256GCM, "go-passphrase")`,
    /// the call notary-signer makes), from the Go sources Notary 0.7 builds with.
    #[test]
    fn decrypts_a_jose2go_token() {
        const GO: &str = "eyJhbGciOiJQQkVTMi1IUzI1NitBMTI4S1ciLCJlbmMiOiJBMjU2R0NNIiwicDJjIjo4MTkyLCJwMnMiOiJYSGtTdUUxWFhoWGJBVTBSIn0.AJamgR0DJlqIlXmeL4SonroeP4DRhlSny6I14qMVLCYCJszaqEJ2JA.XbqCGIvweL93g0-k.e03e0JL_c7y39q69jfKEk7ioNpn-OmtrP4h6.HYeYqb3P2T_iILukfFO8iA";
        assert_eq!(
            &decrypt(GO, b"go-passphrase").unwrap()[..],
            b"notary-signer plaintext \x00\x01\xff"
        );
        assert_eq!(decrypt(GO, b"go-passphrase!"), Err(JweError::Decrypt));
        // Our writer with the same salt and p2c derives the same KEK: the shape matches too.
        let ours = encrypt_with(b"x", b"p", &[1; 12], &[2; 32], &[3; 12], P2C);
        let lens = |t: &str| t.split('.').map(str::len).take(3).collect::<Vec<_>>();
        assert_eq!(lens(&ours), lens(GO));
    }
}
