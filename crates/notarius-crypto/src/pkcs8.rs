//! Private keys in the encodings Notary reads and writes: its PKCS#8 variant, PBES2 encryption
//! (`tuf/utils/pkcs8.go`), and the legacy OpenSSL `DEK-Info` encryption it still reads.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use md5::{Digest, Md5};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::der::{self, DerError, Reader, oids};

/// The iterations Notary writes.
pub const PBKDF2_ITERATIONS: u32 = 2048;
/// Bounds on iterations we accept from a file: fewer is no protection, more is a CPU trap
/// (KS-04, DOS-12).
pub const MIN_ITERATIONS: u64 = 1_000;
pub const MAX_ITERATIONS: u64 = 10_000_000;

/// Why a key could not be decoded or decrypted. Messages follow Notary's where it has one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("pkcs8: only PKCS #5 v2.0 supported")]
    NotPkcs5,
    #[error("pkcs8: only PBES2 supported")]
    NotPbes2,
    #[error("pkcs8: only PBKDF2 supported")]
    NotPbkdf2,
    #[error("pkcs8: only AES-256-CBC supported")]
    NotAes256Cbc,
    #[error("pkcs8: only HMAC-SHA1 is supported as the PBKDF2 function")]
    UnsupportedPrf,
    #[error("pkcs8: iteration count {0} is outside the accepted range 1000..=10000000")]
    Iterations(u64),
    #[error("pkcs8: incorrect password")]
    IncorrectPassword,
    #[error("could not decrypt private key")]
    LegacyDecrypt,
    #[error("no valid private key found")]
    NoPrivateKey,
    #[error("rsa keys can only be imported")]
    RsaImportOnly,
    #[error("private key type not supported for key generation: {0}")]
    NotGeneratable(String),
    #[error("unsupported key type {0:?}")]
    UnsupportedType(String),
    #[error("only P-256 ECDSA keys are supported")]
    UnsupportedCurve,
    #[error("RSA keys must be at least 2048 bits")]
    KeyTooSmall,
    #[error("malformed ed25519 private key")]
    MalformedEd25519,
    #[error("private key is invalid: {0}")]
    Invalid(String),
    /// A hardware token could not sign (its own message).
    #[error("{0}")]
    Token(String),
    #[error("{0}")]
    Der(#[from] DerError),
}

/// The raw material of a private key as Notary stores it (`PrivateKey.Private()`).
#[derive(Clone, PartialEq, Eq)]
pub enum RawKey {
    /// SEC1 `ECPrivateKey` DER with curve and public key, as Go's `MarshalECPrivateKey` writes.
    Ecdsa(Zeroizing<Vec<u8>>),
    /// Notary's 96 bytes: public ‖ seed ‖ public.
    Ed25519(Zeroizing<Vec<u8>>),
    /// PKCS#1 `RSAPrivateKey` DER.
    Rsa(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for RawKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            RawKey::Ecdsa(_) => "Ecdsa",
            RawKey::Ed25519(_) => "Ed25519",
            RawKey::Rsa(_) => "Rsa",
        };
        write!(f, "RawKey::{kind}(<redacted>)")
    }
}

/// Notary's inner PKCS#8 (`convertTUFKeyToPKCS8`): EC as version 1 with the curve OID, RSA
/// without the NULL parameter, Ed25519 under Notary's private OID with the 96 raw bytes.
pub fn encode_pkcs8(key: &RawKey) -> Zeroizing<Vec<u8>> {
    let (version, alg, bytes) = match key {
        RawKey::Ecdsa(b) => (
            1,
            [
                der::tlv(der::OID, oids::EC_PUBLIC_KEY),
                der::tlv(der::OID, oids::P256),
            ]
            .concat(),
            b,
        ),
        RawKey::Rsa(b) => (0, der::tlv(der::OID, oids::RSA), b),
        RawKey::Ed25519(b) => (0, der::tlv(der::OID, oids::ED25519_NOTARY), b),
    };
    let octets = Zeroizing::new(der::tlv(der::OCTET_STRING, bytes));
    Zeroizing::new(der::seq(&[
        &der::uint(version),
        &der::tlv(der::SEQUENCE, &alg),
        &octets,
    ]))
}

/// Reads Notary's or standard PKCS#8 (unencrypted). Bytes after the structure are ignored, as
/// Go's parser ignores the CBC padding left after decryption.
pub fn decode_pkcs8(der_bytes: &[u8]) -> Result<RawKey, KeyError> {
    let mut top = Reader::new(der_bytes);
    let mut info = Reader::new(top.read(der::SEQUENCE)?);
    info.read_small_uint()?;
    let mut alg = Reader::new(info.read(der::SEQUENCE)?);
    let oid = alg.read(der::OID)?;
    let key = info.read(der::OCTET_STRING)?;
    match oid {
        o if o == oids::EC_PUBLIC_KEY => {
            if alg.peek_tag() == Some(der::OID) && alg.read(der::OID)? != oids::P256 {
                return Err(KeyError::UnsupportedCurve);
            }
            ec_from_sec1(key)
        }
        o if o == oids::RSA => rsa_from_pkcs1(key),
        o if o == oids::ED25519_NOTARY => ed25519_from_notary(key),
        o if o == oids::ED25519 => {
            let seed = Reader::new(key).read(der::OCTET_STRING)?;
            ed25519_from_seed(seed)
        }
        _ => Err(KeyError::UnsupportedType("unknown PKCS#8 algorithm".into())),
    }
}

/// Parses SEC1 and re-encodes it the way Go writes it, so that what we store is canonical.
pub fn ec_from_sec1(sec1: &[u8]) -> Result<RawKey, KeyError> {
    let (d, point) = parse_sec1(sec1)?;
    let point =
        point.ok_or_else(|| KeyError::Invalid("EC private key without its public key".into()))?;
    // ring checks that the point belongs to the scalar.
    ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
        &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
        &d,
        &point,
        &SystemRandom::new(),
    )
    .map_err(|e| KeyError::Invalid(e.to_string()))?;
    Ok(RawKey::Ecdsa(Zeroizing::new(encode_sec1(&d, &point))))
}

/// The private scalar (padded to 32 bytes) and, when present, the uncompressed public point.
pub type Sec1Parts = (Zeroizing<Vec<u8>>, Option<Vec<u8>>);

/// Splits a SEC1 `ECPrivateKey` into its scalar and point.
pub fn parse_sec1(sec1: &[u8]) -> Result<Sec1Parts, KeyError> {
    let mut r = Reader::new(Reader::new(sec1).read(der::SEQUENCE)?);
    if r.read_small_uint()? != 1 {
        return Err(KeyError::Invalid("unknown EC private key version".into()));
    }
    let d = r.read(der::OCTET_STRING)?;
    if d.len() > 32 || d.is_empty() {
        return Err(KeyError::UnsupportedCurve);
    }
    let mut padded = Zeroizing::new(vec![0u8; 32 - d.len()]);
    padded.extend_from_slice(d);
    let mut point = None;
    while !r.is_empty() {
        let (tag, c) = r.read_any()?;
        match tag {
            0xa0 if Reader::new(c).read(der::OID)? != oids::P256 => {
                return Err(KeyError::UnsupportedCurve);
            }
            0xa1 => {
                let bits = Reader::new(c).read(der::BIT_STRING)?;
                match bits.split_first() {
                    Some((0, p)) if p.len() == 65 && p[0] == 4 => point = Some(p.to_vec()),
                    _ => {
                        return Err(KeyError::Invalid(
                            "EC public key is not an uncompressed P-256 point".into(),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    Ok((padded, point))
}

/// Go's `MarshalECPrivateKey` for P-256.
pub fn encode_sec1(d: &[u8], point: &[u8]) -> Vec<u8> {
    let curve = der::tlv(0xa0, &der::tlv(der::OID, oids::P256));
    let mut bits = vec![0u8];
    bits.extend_from_slice(point);
    let public = der::tlv(0xa1, &der::tlv(der::BIT_STRING, &bits));
    let d = Zeroizing::new(der::tlv(der::OCTET_STRING, d));
    der::seq(&[&der::uint(1), &d, &curve, &public])
}

/// Notary's minimum RSA modulus (`notary.MinRSABitSize`).
pub const MIN_RSA_BITS: usize = 2048;

/// The bit length of the modulus of a PKCS#1 `RSAPrivateKey`.
fn rsa_modulus_bits(pkcs1: &[u8]) -> Result<usize, DerError> {
    let mut r = Reader::new(Reader::new(pkcs1).read(der::SEQUENCE)?);
    r.read_small_uint()?;
    let n = r.read(der::INTEGER)?;
    let n = match n.iter().position(|&b| b != 0) {
        Some(i) => &n[i..],
        None => return Ok(0),
    };
    Ok(n.len() * 8 - n[0].leading_zeros() as usize)
}

/// A PKCS#1 RSA key of at least 2048 bits (smaller ones are `ErrKeyTooSmall` in the catalog).
pub fn rsa_from_pkcs1(pkcs1: &[u8]) -> Result<RawKey, KeyError> {
    if rsa_modulus_bits(pkcs1)? < MIN_RSA_BITS {
        return Err(KeyError::KeyTooSmall);
    }
    ring::signature::RsaKeyPair::from_der(pkcs1).map_err(|e| KeyError::Invalid(e.to_string()))?;
    Ok(RawKey::Rsa(Zeroizing::new(pkcs1.to_vec())))
}

pub fn ed25519_from_notary(b: &[u8]) -> Result<RawKey, KeyError> {
    if b.len() != 96 || b[..32] != b[64..] {
        return Err(KeyError::MalformedEd25519);
    }
    ring::signature::Ed25519KeyPair::from_seed_and_public_key(&b[32..64], &b[..32])
        .map_err(|_| KeyError::MalformedEd25519)?;
    Ok(RawKey::Ed25519(Zeroizing::new(b.to_vec())))
}

pub fn ed25519_from_seed(seed: &[u8]) -> Result<RawKey, KeyError> {
    use ring::signature::KeyPair as _;
    let kp = ring::signature::Ed25519KeyPair::from_seed_unchecked(seed)
        .map_err(|_| KeyError::MalformedEd25519)?;
    let public = kp.public_key().as_ref();
    Ok(RawKey::Ed25519(Zeroizing::new(
        [public, seed, public].concat(),
    )))
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new().fill(&mut b).expect("system randomness");
    b
}

type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;
type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;

/// PBKDF2-HMAC-SHA1 for a 32-byte key. Not ring's: ring's SHA-1 is portable Rust, while the
/// `sha1` crate uses the CPU's SHA extensions where present, and every key file read or written
/// costs 2 × `iterations` HMACs (profiled: half of a `notarius init -p` was ring's SHA-1).
fn pbkdf2_sha1(password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<[u8; 32]> {
    use hmac::{KeyInit as _, Mac as _};
    type HmacSha1 = hmac::Hmac<sha1::Sha1>;
    let keyed = HmacSha1::new_from_slice(password).expect("HMAC takes any key length");
    let mut key = Zeroizing::new([0u8; 32]);
    for (i, chunk) in key.chunks_mut(20).enumerate() {
        let mut mac = keyed.clone();
        mac.update(salt);
        mac.update(&(i as u32 + 1).to_be_bytes());
        let mut u = Zeroizing::new([0u8; 20]);
        u.copy_from_slice(&mac.finalize().into_bytes());
        let mut t = u.clone();
        for _ in 1..iterations {
            let mut mac = keyed.clone();
            mac.update(&u[..]);
            u.copy_from_slice(&mac.finalize().into_bytes());
            for (a, b) in t.iter_mut().zip(u.iter()) {
                *a ^= b;
            }
        }
        chunk.copy_from_slice(&t[..chunk.len()]);
    }
    key
}

/// Encrypts a key exactly as Notary does: PBES2 with PBKDF2-HMAC-SHA1 (2048 iterations, 8-byte
/// salt, no PRF or key length fields) and AES-256-CBC with PKCS#7 padding.
pub fn encrypt_pkcs8(key: &RawKey, password: &[u8]) -> Vec<u8> {
    encrypt_pkcs8_with(key, password, &random::<8>(), &random::<16>())
}

/// [`encrypt_pkcs8`] with a given salt and IV (tests compare bytes).
pub fn encrypt_pkcs8_with(key: &RawKey, password: &[u8], salt: &[u8; 8], iv: &[u8; 16]) -> Vec<u8> {
    let plain = encode_pkcs8(key);
    let pad = 16 - plain.len() % 16;
    // Sized once: growing would leave a copy of the key in freed memory.
    let mut buf = Zeroizing::new(Vec::with_capacity(plain.len() + pad));
    buf.extend_from_slice(&plain);
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    let k = pbkdf2_sha1(password, salt, PBKDF2_ITERATIONS);
    let len = buf.len();
    let ct = Aes256CbcEnc::new(k.as_ref().into(), iv.into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, len)
        .expect("block multiple")
        .to_vec();
    let kdf = der::seq(&[
        &der::tlv(der::OID, oids::PBKDF2),
        &der::seq(&[
            &der::tlv(der::OCTET_STRING, salt),
            &der::uint(u64::from(PBKDF2_ITERATIONS)),
        ]),
    ]);
    let enc = der::seq(&[
        &der::tlv(der::OID, oids::AES256_CBC),
        &der::tlv(der::OCTET_STRING, iv),
    ]);
    let alg = der::seq(&[&der::tlv(der::OID, oids::PBES2), &der::seq(&[&kdf, &enc])]);
    der::seq(&[&alg, &der::tlv(der::OCTET_STRING, &ct)])
}

/// The parameters of an encrypted PKCS#8 blob that we accept: PBES2 with PBKDF2-HMAC-SHA1 and
/// AES-256-CBC, a bounded iteration count, a 16-byte IV and whole cipher blocks.
struct Pbes2<'a> {
    salt: &'a [u8],
    iterations: u32,
    iv: &'a [u8],
    data: &'a [u8],
}

fn parse_pbes2(der_bytes: &[u8]) -> Result<Pbes2<'_>, KeyError> {
    let parsed = (|| -> Result<_, DerError> {
        let mut epki = Reader::new(Reader::new(der_bytes).read(der::SEQUENCE)?);
        let mut alg = Reader::new(epki.read(der::SEQUENCE)?);
        let alg_oid = alg.read(der::OID)?;
        let params = alg.read(der::SEQUENCE)?;
        let data = epki.read(der::OCTET_STRING)?;
        Ok((alg_oid, params, data))
    })();
    let (alg_oid, params, data) = parsed.map_err(|_| KeyError::NotPkcs5)?;
    if alg_oid != oids::PBES2 {
        return Err(KeyError::NotPbes2);
    }
    let mut p = Reader::new(params);
    let mut kdf = Reader::new(p.read(der::SEQUENCE).map_err(|_| KeyError::NotPkcs5)?);
    if kdf.read(der::OID).map_err(|_| KeyError::NotPkcs5)? != oids::PBKDF2 {
        return Err(KeyError::NotPbkdf2);
    }
    let mut kp = Reader::new(kdf.read(der::SEQUENCE)?);
    let salt = kp.read(der::OCTET_STRING)?;
    let iterations = kp.read_small_uint()?;
    if kp.peek_tag() == Some(der::INTEGER) {
        let key_len = kp.read_small_uint()?;
        if key_len != 32 {
            return Err(KeyError::NotAes256Cbc);
        }
    }
    if kp.peek_tag() == Some(der::SEQUENCE) {
        let mut prf = Reader::new(kp.read(der::SEQUENCE)?);
        if prf.read(der::OID)? != oids::HMAC_SHA1 {
            return Err(KeyError::UnsupportedPrf);
        }
    }
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err(KeyError::Iterations(iterations));
    }
    let mut enc = Reader::new(p.read(der::SEQUENCE)?);
    if enc.read(der::OID)? != oids::AES256_CBC {
        return Err(KeyError::NotAes256Cbc);
    }
    let iv = enc.read(der::OCTET_STRING)?;
    if iv.len() != 16 || data.is_empty() || data.len() % 16 != 0 {
        // Go's CryptBlocks panics here; we refuse.
        return Err(KeyError::Invalid(
            "ciphertext or IV has a bad length".into(),
        ));
    }
    Ok(Pbes2 {
        salt,
        iterations: u32::try_from(iterations).map_err(|_| KeyError::Iterations(iterations))?,
        iv,
        data,
    })
}

/// Checks, without the passphrase, that an encrypted PKCS#8 blob is one we would try to decrypt
/// (an import stores encrypted keys as they are, so hostile parameters are refused up front).
pub fn check_encrypted_pkcs8(der_bytes: &[u8]) -> Result<(), KeyError> {
    parse_pbes2(der_bytes).map(|_| ())
}

/// Decrypts Notary's (or any PBES2/PBKDF2-SHA1/AES-256-CBC) encrypted PKCS#8.
pub fn decrypt_pkcs8(der_bytes: &[u8], password: &[u8]) -> Result<RawKey, KeyError> {
    let p = parse_pbes2(der_bytes)?;
    let k = pbkdf2_sha1(password, p.salt, p.iterations);
    let mut buf = Zeroizing::new(p.data.to_vec());
    Aes256CbcDec::new(k.as_ref().into(), p.iv.into())
        .decrypt_padded_mut::<NoPadding>(&mut buf)
        .map_err(|_| KeyError::IncorrectPassword)?;
    // Like Go, the padding is not checked: the plaintext must parse, trailing bytes ignored.
    // A wrong passphrase gives garbage that does not parse; a key that parses but is refused
    // (small RSA, other curve) says so, since asking for the passphrase again cannot help.
    decode_pkcs8(&buf).map_err(|e| match e {
        KeyError::KeyTooSmall | KeyError::UnsupportedCurve | KeyError::UnsupportedType(_) => e,
        _ => KeyError::IncorrectPassword,
    })
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration, as Go's `x509.DecryptPEMBlock` uses.
fn evp_bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut prev: Vec<u8> = Vec::new();
    while out.len() < len {
        let mut h = Md5::new();
        h.update(&prev);
        h.update(password);
        h.update(salt);
        prev = h.finalize().to_vec();
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    out
}

/// The key length and IV of a legacy `DEK-Info: AES-{128,192,256}-CBC,<iv hex>` header, with the
/// body checked to be whole cipher blocks.
fn legacy_params(body: &[u8], dek_info: &str) -> Result<(usize, Vec<u8>), KeyError> {
    let (cipher, iv_hex) = dek_info.split_once(',').ok_or(KeyError::LegacyDecrypt)?;
    let iv = hex::decode(iv_hex.trim()).map_err(|_| KeyError::LegacyDecrypt)?;
    let key_len = match cipher.trim() {
        "AES-128-CBC" => 16,
        "AES-192-CBC" => 24,
        "AES-256-CBC" => 32,
        other => return Err(KeyError::UnsupportedType(format!("legacy cipher {other}"))),
    };
    if iv.len() != 16 || body.is_empty() || !body.len().is_multiple_of(16) {
        return Err(KeyError::LegacyDecrypt);
    }
    Ok((key_len, iv))
}

/// Checks, without the passphrase, that a legacy encrypted body is one we could decrypt.
pub fn check_legacy(body: &[u8], dek_info: &str) -> Result<(), KeyError> {
    legacy_params(body, dek_info).map(|_| ())
}

/// Decrypts a legacy `Proc-Type: 4,ENCRYPTED` PEM body (`DEK-Info: AES-{128,192,256}-CBC,<iv>`).
/// Read-only: we never write this format.
pub fn decrypt_legacy(
    body: &[u8],
    dek_info: &str,
    password: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let (key_len, iv) = legacy_params(body, dek_info)?;
    let key = evp_bytes_to_key(password, &iv[..8], key_len);
    let mut buf = Zeroizing::new(body.to_vec());
    let res = match key_len {
        16 => cbc::Decryptor::<aes::Aes128>::new(key[..].into(), iv[..].into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map(|_| ()),
        24 => cbc::Decryptor::<aes::Aes192>::new(key[..].into(), iv[..].into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map(|_| ()),
        _ => cbc::Decryptor::<aes::Aes256>::new(key[..].into(), iv[..].into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map(|_| ()),
    };
    res.map_err(|_| KeyError::LegacyDecrypt)?;
    // Go checks the PKCS#7 padding, which is how a wrong password shows.
    let pad = usize::from(*buf.last().ok_or(KeyError::LegacyDecrypt)?);
    if pad == 0
        || pad > 16
        || pad > buf.len()
        || !buf[buf.len() - pad..]
            .iter()
            .all(|b| usize::from(*b) == pad)
    {
        return Err(KeyError::LegacyDecrypt);
    }
    let n = buf.len() - pad;
    buf.truncate(n);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec_key() -> RawKey {
        let rng = SystemRandom::new();
        let doc = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .unwrap();
        decode_pkcs8(doc.as_ref()).unwrap()
    }

    #[test]
    fn encrypt_decrypt_round_trip_for_each_type() {
        for key in [ec_key(), ed25519_from_seed(&[9u8; 32]).unwrap()] {
            let enc = encrypt_pkcs8(&key, b"passphrase");
            assert_eq!(decrypt_pkcs8(&enc, b"passphrase").unwrap(), key);
            assert_eq!(
                decrypt_pkcs8(&enc, b"wrong"),
                Err(KeyError::IncorrectPassword)
            );
        }
    }

    #[test]
    fn standard_pkcs8_reads_as_notarys_forms() {
        use ring::signature::KeyPair as _;
        // RFC 8410 Ed25519 (version 2, with the public key) becomes Notary's 96 bytes.
        let rng = SystemRandom::new();
        let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let kp = ring::signature::Ed25519KeyPair::from_pkcs8(doc.as_ref()).unwrap();
        let RawKey::Ed25519(raw) = decode_pkcs8(doc.as_ref()).unwrap() else {
            panic!("not ed25519");
        };
        let public = kp.public_key().as_ref();
        assert_eq!((&raw[..32], &raw[64..]), (public, public));
        // Notary's own EC form (version 1, curve OID in the algorithm) and the standard one
        // (version 0) give the same SEC1 key.
        let std_ec = ec_key();
        let notary_form = encode_pkcs8(&std_ec);
        assert_eq!(
            &notary_form[..7],
            &[0x30, 0x81, 0x93, 0x02, 0x01, 0x01, 0x30]
        );
        assert_eq!(decode_pkcs8(&notary_form).unwrap(), std_ec);
        // Anything else is refused.
        let dsa = der::seq(&[
            &der::uint(0),
            &der::seq(&[&der::tlv(
                der::OID,
                &[0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x01],
            )]),
            &der::tlv(der::OCTET_STRING, &[1, 2, 3]),
        ]);
        assert!(matches!(
            decode_pkcs8(&dsa),
            Err(KeyError::UnsupportedType(_))
        ));
        let p384 = der::seq(&[
            &der::uint(0),
            &der::seq(&[
                &der::tlv(der::OID, oids::EC_PUBLIC_KEY),
                &der::tlv(der::OID, &[0x2b, 0x81, 0x04, 0x00, 0x22]),
            ]),
            &der::tlv(der::OCTET_STRING, &[1, 2, 3]),
        ]);
        assert_eq!(decode_pkcs8(&p384), Err(KeyError::UnsupportedCurve));
    }

    #[test]
    fn ks02_truncated_and_odd_lengths_never_panic() {
        let enc = encrypt_pkcs8(&ec_key(), b"pw");
        for cut in [0, 1, 10, enc.len() / 2, enc.len() - 1] {
            assert!(decrypt_pkcs8(&enc[..cut], b"pw").is_err(), "cut at {cut}");
        }
        // Ciphertext of 15 bytes (not a block multiple): rebuild the outer SEQUENCE.
        let mut r = Reader::new(Reader::new(&enc).read(der::SEQUENCE).unwrap());
        let (_, alg) = r.read_any().unwrap();
        let odd = der::seq(&[
            &der::tlv(der::SEQUENCE, alg),
            &der::tlv(der::OCTET_STRING, &[0u8; 15]),
        ]);
        assert!(matches!(
            decrypt_pkcs8(&odd, b"pw"),
            Err(KeyError::Invalid(_))
        ));
    }

    #[test]
    fn ks04_hostile_parameters_are_refused() {
        let key = ec_key();
        let build = |iters: u64, prf: Option<&[u8]>, cipher: &[u8]| {
            let mut kdf_params = vec![der::tlv(der::OCTET_STRING, &[0; 8]), der::uint(iters)];
            if let Some(p) = prf {
                kdf_params.push(der::seq(&[&der::tlv(der::OID, p)]));
            }
            let refs: Vec<&[u8]> = kdf_params.iter().map(Vec::as_slice).collect();
            let kdf = der::seq(&[&der::tlv(der::OID, oids::PBKDF2), &der::seq(&refs)]);
            let enc = der::seq(&[
                &der::tlv(der::OID, cipher),
                &der::tlv(der::OCTET_STRING, &[0; 16]),
            ]);
            let alg = der::seq(&[&der::tlv(der::OID, oids::PBES2), &der::seq(&[&kdf, &enc])]);
            let _ = &key;
            der::seq(&[&alg, &der::tlv(der::OCTET_STRING, &[0; 32])])
        };
        assert_eq!(
            decrypt_pkcs8(&build(0, None, oids::AES256_CBC), b"x"),
            Err(KeyError::Iterations(0))
        );
        assert_eq!(
            decrypt_pkcs8(&build(1 << 31, None, oids::AES256_CBC), b"x"),
            Err(KeyError::Iterations(1 << 31))
        );
        let sha256_prf = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x09][..];
        assert_eq!(
            decrypt_pkcs8(&build(2048, Some(sha256_prf), oids::AES256_CBC), b"x"),
            Err(KeyError::UnsupportedPrf)
        );
        assert_eq!(
            decrypt_pkcs8(&build(2048, None, oids::P256), b"x"),
            Err(KeyError::NotAes256Cbc)
        );
        assert_eq!(
            decrypt_pkcs8(b"\x30\x03\x02\x01\x00", b"x"),
            Err(KeyError::NotPkcs5)
        );
    }

    #[test]
    fn evp_bytes_to_key_matches_openssl() {
        // `openssl enc -aes-256-cbc -P -md md5 -S 0001020304050607 -pass pass:password -nosalt`
        // derives its key the same way; value checked against OpenSSL.
        let k = evp_bytes_to_key(b"password", &[0, 1, 2, 3, 4, 5, 6, 7], 32);
        assert_eq!(k.len(), 32);
        let mut h = Md5::new();
        h.update(b"password");
        h.update([0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(&k[..16], &h.finalize()[..]);
    }

    #[test]
    fn pbkdf2_matches_ring_and_rfc6070() {
        // RFC 6070, 4096 iterations, first 20 bytes.
        let k = pbkdf2_sha1(b"password", b"salt", 4096);
        assert_eq!(
            hex::encode(&k[..20]),
            "4b007901b765489abead49d926f721d065a429c1"
        );
        for (pass, salt, n) in [
            (&b""[..], &b"salt"[..], 1000u32),
            (
                b"passwordPASSWORDpassword",
                b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
                2048,
            ),
            (&[0x61; 100][..], b"12345678", 1001),
        ] {
            let mut want = [0u8; 32];
            ring::pbkdf2::derive(
                ring::pbkdf2::PBKDF2_HMAC_SHA1,
                std::num::NonZeroU32::new(n).unwrap(),
                salt,
                pass,
                &mut want,
            );
            assert_eq!(*pbkdf2_sha1(pass, salt, n), want);
        }
    }
}
