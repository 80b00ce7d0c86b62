//! Private keys and their storage, compatible byte for byte with Notary 0.7's key files.
//!
//! * [`private`]: ECDSA P-256, Ed25519 (Notary's 96-byte form) and imported RSA keys; public
//!   keys in Notary's encodings; signing as Notary signs; [`private::CertifiedKey`] signs under a
//!   root certificate's key ID.
//! * [`pkcs8`] and [`der`]: Notary's non-standard inner PKCS#8, its PBES2 encryption (with hostile
//!   parameters refused), standard PKCS#8/SEC1/PKCS#1, and the legacy OpenSSL `DEK-Info`
//!   encryption, read only.
//! * [`gopem`] and [`keyfile`]: PEM exactly as Go's `encoding/pem` reads and writes it, and Notary's
//!   key files with their `role`/`gun` headers.
//! * [`cert`]: Notary's self-signed root certificates; [`handle`]: a key that signs wherever it
//!   lives (memory, or a hardware token through `notarius-pkcs11`).
//! * [`keystore`]: `<trust_dir>/private/<canonical key ID>.key`, with Notary's import, export and
//!   legacy-layout migration; private modes, atomic writes, no symbolic links.
//! * [`passphrase`]: where passphrases come from (Notary's and Docker's environment variables, the
//!   prompt rules); [`service`]: the `CryptoService` over ordered key stores.
//!
//! Every secret (key bytes, passphrases, decrypted buffers) is held in `Zeroizing` and kept out of
//! `Debug` output and error messages. Key material inside `ring`'s key pairs is ring's to manage.
//!
//! Tests: `cargo test -p notarius-crypto`. `tests/notary_keys.rs` and `tests/keystore.rs` compare
//! with files the real Notary wrote (`fixtures/notary-0.7`, `tests/data/go-notary`);
//! `tests/security_catalog.rs` holds one test per KS row of the security catalog;
//! `tests/notary_go_code.rs` builds `tests/go/notarycheck` against Notary's Go sources and
//! `tests/notary_cli_interop.rs` runs the `notary` CLI (both skip with a note when those are
//! missing, and fail under `CI=true`).

pub mod cert;
pub mod der;
pub mod fsutil;
pub mod gopem;
pub mod handle;
pub mod keyfile;
pub mod keystore;
pub mod passphrase;
pub mod pkcs8;
pub mod private;
pub mod service;
