//! PEM key files as Notary writes them: one block, `role` and `gun` headers, encrypted PKCS#8.

use zeroize::Zeroizing;

use crate::gopem::{self, Block};
use crate::pkcs8::{self, KeyError, RawKey};
use crate::private::PrivateKey;

/// The largest key file we read; real ones are under 2 KiB (KS-08).
pub const MAX_KEY_FILE: u64 = 1 << 20;

/// Go's `pem.Encode`: `Proc-Type` first, the other headers sorted by name, a blank line after
/// the headers, 64-column base64 and `\n` line ends.
pub fn go_pem_encode(label: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
    gopem::encode(label, headers, body)
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

/// PEM block types Notary reads private keys from (`ExtractPrivateKeyAttributes`).
pub const PRIVATE_KEY_LABELS: [&str; 5] = [
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "EC PRIVATE KEY",
    "RSA PRIVATE KEY",
    "ED25519 PRIVATE KEY",
];

/// A parsed key file (its first PEM block), not yet decrypted.
#[derive(Clone)]
pub struct KeyFile {
    pub label: String,
    /// Header names and values as Go's map holds them: each name once, sorted.
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

impl From<Block> for KeyFile {
    fn from(b: Block) -> KeyFile {
        KeyFile {
            label: b.label,
            headers: b.headers.into_iter().collect(),
            body: b.bytes,
        }
    }
}

impl KeyFile {
    /// The first PEM block, found as Go's `pem.Decode` finds it.
    pub fn parse(bytes: &[u8]) -> Result<KeyFile, KeyError> {
        if bytes.len() as u64 > MAX_KEY_FILE {
            return Err(KeyError::Invalid("key file is larger than 1 MiB".into()));
        }
        let (block, _) = gopem::decode(bytes).ok_or(KeyError::NoPrivateKey)?;
        Ok(block.into())
    }

    /// The block again, with its headers (Go's `pem.Block`).
    pub fn to_block(&self) -> Block {
        Block {
            label: self.label.clone(),
            headers: self.headers.iter().cloned().collect(),
            bytes: self.body.clone(),
        }
    }

    /// Is this one of the block types a key store holds?
    pub fn is_private_key(&self) -> bool {
        PRIVATE_KEY_LABELS.contains(&self.label.as_str())
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
        let parsed = match self.label.as_str() {
            "EC PRIVATE KEY" => pkcs8::ec_from_sec1(&plain),
            "RSA PRIVATE KEY" => pkcs8::rsa_from_pkcs1(&plain),
            _ => pkcs8::ed25519_from_notary(&plain),
        };
        // The padding check lets about one wrong passphrase in 256 through; what it yields does
        // not parse, and is a wrong passphrase too.
        match parsed {
            Err(KeyError::Der(_) | KeyError::Invalid(_) | KeyError::MalformedEd25519)
                if self.is_encrypted() =>
            {
                Err(KeyError::LegacyDecrypt)
            }
            other => other,
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
    let (block, _) = gopem::decode(bytes)
        .ok_or_else(|| KeyError::Invalid("no valid public key found".into()))?;
    match block.label.as_str() {
        "CERTIFICATE" => {
            let certs = notarius_tuf::trust::load_cert_bundle(bytes).map_err(KeyError::Invalid)?;
            let leaf = &certs[0];
            leaf.validate(true, now)
                .map_err(|e| KeyError::Invalid(e.to_string()))?;
            notarius_tuf::trust::cert_bundle_to_key(leaf, &[])
                .ok_or_else(|| KeyError::UnsupportedType("certificate key".into()))
        }
        "PUBLIC KEY" => {
            let spki = &block.bytes[..];
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
