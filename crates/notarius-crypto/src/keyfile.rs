//! PEM key files as Notary writes them: one block, `role` and `gun` headers, encrypted PKCS#8.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use zeroize::Zeroizing;

use crate::pkcs8::{self, KeyError, RawKey};
use crate::private::PrivateKey;

/// The largest key file we read; real ones are under 2 KiB (KS-08).
pub const MAX_KEY_FILE: u64 = 1 << 20;

/// Go's `pem.Encode`: `Proc-Type` first, the other headers sorted by name, a blank line after
/// the headers, 64-column base64 and `\n` line ends.
pub fn go_pem_encode(label: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
    let mut out = format!("-----BEGIN {label}-----\n");
    let mut hs: Vec<&(&str, &str)> = headers.iter().collect();
    hs.sort_by(|a, b| (a.0 != "Proc-Type", a.0).cmp(&(b.0 != "Proc-Type", b.0)));
    for (k, v) in &hs {
        out.push_str(&format!("{k}: {v}\n"));
    }
    if !hs.is_empty() {
        out.push('\n');
    }
    let b64 = B64.encode(body);
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ascii"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Notary's `ConvertPrivateKeyToPKCS8`: the key file for `key`, encrypted unless the passphrase
/// is empty.
pub fn encode_key_file(
    key: &PrivateKey,
    role: &str,
    gun: &str,
    passphrase: &str,
) -> Zeroizing<String> {
    let mut headers = Vec::new();
    if !role.is_empty() {
        headers.push(("role", role));
    }
    if !gun.is_empty() {
        headers.push(("gun", gun));
    }
    if passphrase.is_empty() {
        Zeroizing::new(go_pem_encode(
            "PRIVATE KEY",
            &headers,
            &pkcs8::encode_pkcs8(key.raw()),
        ))
    } else {
        let der = pkcs8::encrypt_pkcs8(key.raw(), passphrase.as_bytes());
        Zeroizing::new(go_pem_encode("ENCRYPTED PRIVATE KEY", &headers, &der))
    }
}

/// A parsed key file, not yet decrypted.
#[derive(Clone)]
pub struct KeyFile {
    pub label: String,
    pub headers: Vec<(String, String)>,
    body: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("label", &self.label)
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

impl KeyFile {
    /// Parses the first PEM block (Go's `pem.Decode`).
    pub fn parse(bytes: &[u8]) -> Result<KeyFile, KeyError> {
        if bytes.len() as u64 > MAX_KEY_FILE {
            return Err(KeyError::Invalid("key file is larger than 1 MiB".into()));
        }
        let block =
            pem::parse(bytes).map_err(|e| KeyError::Invalid(format!("no valid PEM block: {e}")))?;
        let headers = block
            .headers()
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Ok(KeyFile {
            label: block.tag().to_owned(),
            headers,
            body: Zeroizing::new(block.into_contents()),
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `role` header, as Notary's key store reads it.
    pub fn role(&self) -> &str {
        self.header("role").unwrap_or_default()
    }

    pub fn gun(&self) -> &str {
        self.header("gun").unwrap_or_default()
    }

    pub fn is_encrypted(&self) -> bool {
        self.label == "ENCRYPTED PRIVATE KEY"
            || self
                .header("Proc-Type")
                .is_some_and(|v| v.contains("ENCRYPTED"))
    }

    /// Decrypts with `passphrase` (empty for unencrypted files): Notary's `ParsePEMPrivateKey`.
    pub fn decrypt(&self, passphrase: &str) -> Result<PrivateKey, KeyError> {
        let raw = match self.label.as_str() {
            "PRIVATE KEY" => pkcs8::decode_pkcs8(&self.body)?,
            "ENCRYPTED PRIVATE KEY" => {
                if passphrase.is_empty() {
                    return Err(KeyError::IncorrectPassword);
                }
                pkcs8::decrypt_pkcs8(&self.body, passphrase.as_bytes())?
            }
            "EC PRIVATE KEY" | "RSA PRIVATE KEY" | "ED25519 PRIVATE KEY" => {
                self.decode_legacy(passphrase)?
            }
            other => return Err(KeyError::UnsupportedType(other.to_owned())),
        };
        PrivateKey::from_raw(raw)
    }

    fn decode_legacy(&self, passphrase: &str) -> Result<RawKey, KeyError> {
        let plain = if self.is_encrypted() {
            let dek = self.header("DEK-Info").ok_or(KeyError::LegacyDecrypt)?;
            pkcs8::decrypt_legacy(&self.body, dek, passphrase.as_bytes())?
        } else {
            self.body.clone()
        };
        match self.label.as_str() {
            "EC PRIVATE KEY" => pkcs8::ec_from_sec1(&plain),
            "RSA PRIVATE KEY" => pkcs8::rsa_from_pkcs1(&plain),
            _ => pkcs8::ed25519_from_notary(&plain),
        }
    }

    /// The body bytes (still encrypted if the file is).
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// A public key from PEM as `notary delegation add` reads it (Notary's `ParsePEMPublicKey`): a
/// `CERTIFICATE` becomes an x509 key (and must be currently valid), a `PUBLIC KEY` an `ecdsa`,
/// `rsa` or `ed25519` key.
pub fn public_key_from_pem(
    bytes: &[u8],
    now: notarius_tuf::time::Instant,
) -> Result<notarius_tuf::keys::PublicKey, KeyError> {
    use crate::der::{self, Reader, oids};
    use notarius_tuf::keys::{KeyType, PublicKey};
    let block =
        pem::parse(bytes).map_err(|e| KeyError::Invalid(format!("no valid PEM block: {e}")))?;
    match block.tag() {
        "CERTIFICATE" => {
            let certs = notarius_tuf::trust::load_cert_bundle(bytes).map_err(KeyError::Invalid)?;
            let leaf = &certs[0];
            leaf.validate(true, now)
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
            notarius_tuf::trust::cert_bundle_to_key(leaf, &[])
                .ok_or_else(|| KeyError::UnsupportedType("certificate key".into()))
        }
        "PUBLIC KEY" => {
            let spki = block.contents();
            let mut r = Reader::new(Reader::new(spki).read(der::SEQUENCE)?);
            let mut alg = Reader::new(r.read(der::SEQUENCE)?);
            let oid = alg.read(der::OID)?;
            match oid {
                o if o == oids::EC_PUBLIC_KEY => Ok(PublicKey::new(KeyType::Ecdsa, spki.to_vec())),
                o if o == oids::RSA => Ok(PublicKey::new(KeyType::Rsa, spki.to_vec())),
                o if o == oids::ED25519 => {
                    let bits = r.read(der::BIT_STRING)?;
                    match bits.split_first() {
                        Some((0, k)) if k.len() == 32 => {
                            Ok(PublicKey::new(KeyType::Ed25519, k.to_vec()))
                        }
                        _ => Err(KeyError::MalformedEd25519),
                    }
                }
                _ => Err(KeyError::UnsupportedType("public key algorithm".into())),
            }
        }
        other => Err(KeyError::UnsupportedType(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::private::Algorithm;

    #[test]
    fn headers_in_go_order() {
        let k = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
        let pem = encode_key_file(&k, "targets", "example.com/app", "pw");
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN ENCRYPTED PRIVATE KEY-----");
        assert_eq!(lines[1], "gun: example.com/app");
        assert_eq!(lines[2], "role: targets");
        assert_eq!(lines[3], "");
        assert!(lines[4..lines.len() - 1].iter().all(|l| l.len() <= 64));
        let f = KeyFile::parse(pem.as_bytes()).unwrap();
        assert_eq!((f.role(), f.gun()), ("targets", "example.com/app"));
        assert_eq!(f.decrypt("pw").unwrap().public_key(), k.public_key());
        assert!(matches!(f.decrypt("bad"), Err(KeyError::IncorrectPassword)));
        let plain = encode_key_file(&k, "root", "", "");
        assert!(plain.starts_with("-----BEGIN PRIVATE KEY-----\nrole: root\n\n"));
        assert_eq!(
            KeyFile::parse(plain.as_bytes())
                .unwrap()
                .decrypt("")
                .unwrap()
                .public_key(),
            k.public_key()
        );
        let legacy = go_pem_encode(
            "EC PRIVATE KEY",
            &[
                ("role", "x"),
                ("DEK-Info", "y"),
                ("Proc-Type", "4,ENCRYPTED"),
            ],
            b"z",
        );
        assert!(legacy.starts_with(
            "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: y\nrole: x\n\n"
        ));
    }
}
