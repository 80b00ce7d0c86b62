//! Root keys on a hardware token through any PKCS#11 module: Notary's yubikey store
//! (`trustmanager/yubikey`) for a YubiKey, and the same semantics for any other module (SoftHSM2
//! in the tests).
//!
//! * Only root keys (ECDSA P-256) go on the token. A new root key is made in software, imported
//!   (a self-signed certificate with `CN=root`, a public key object and the private key, under
//!   one single-byte `CKA_ID` chosen as Notary does: the first free of 2, 1, 3, 0), and written
//!   encrypted to `private/` as a backup; a failed backup takes the key off the token again.
//! * Keys are found through their certificates (Notary's listing); signing uses `CKM_ECDSA` over
//!   SHA-256 and verifies every signature before it is used.
//! * PINs come from the passphrase retriever (alias `yubikey`, names `User Pin`/`SO Pin`). No
//!   default PIN is ever tried, a PIN the token refused is never sent again, and a token that
//!   reports its last try (or a low count after a refusal in this run) is not asked again
//!   (SG-10).
//! * Once a token was found, every failure is an error: a removed token, a missing object or a
//!   key that is not the one listed never lets another copy of the key sign instead (SG-11).
//! * PINs are zeroized after use and appear in no message or log (KS-10).
//!
//! The module is loaded at run time with `Pkcs11::new`; nothing links against it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{
    Attribute, AttributeType, CertificateType, KeyType, ObjectClass, ObjectHandle,
};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::{Slot, TokenInfo};
use cryptoki::types::AuthPin;
use notarius_crypto::handle::{ExternalKey, KeyHandle};
use notarius_crypto::keystore::{FileKeyStore, KeyInfo, KeyStoreError};
use notarius_crypto::passphrase::{GiveUp, PassphraseRetriever, TOKEN_PIN_ALIAS};
use notarius_crypto::pkcs8::{self, KeyError, RawKey};
use notarius_crypto::private::{PrivateKey, ec_spki};
use notarius_crypto::service::KeyStore;
use notarius_tuf::keys::{KeyType as TufKeyType, PublicKey};
use notarius_tuf::role;
use zeroize::Zeroizing;

/// Where Notary looks for the YubiKey module on Linux (`pkcs11_linux.go`), in order.
#[cfg(target_os = "linux")]
pub const NOTARY_MODULE_PATHS: &[&str] = &[
    "/usr/lib/libykcs11.so",
    "/usr/lib/libykcs11.so.1",
    "/usr/lib64/libykcs11.so",
    "/usr/lib64/libykcs11.so.1",
    "/usr/lib/x86_64-linux-gnu/libykcs11.so",
    "/usr/local/lib/libykcs11.so",
];
/// Where Notary looks for the YubiKey module on macOS (`pkcs11_darwin.go`).
#[cfg(target_os = "macos")]
pub const NOTARY_MODULE_PATHS: &[&str] = &[
    "/usr/local/lib/libykcs11.dylib",
    "/usr/local/docker/lib/libykcs11.dylib",
    "/usr/local/docker-experimental/lib/libykcs11.dylib",
];
#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub const NOTARY_MODULE_PATHS: &[&str] = &[];

/// Names a PKCS#11 module to use instead of Notary's YubiKey paths.
pub const MODULE_ENV: &str = "NOTARIUS_PKCS11_MODULE";

/// DER OID of P-256 (`CKA_EC_PARAMS`).
const P256_PARAMS: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// Notary's order for the four YubiKey PIV slots it uses.
const NOTARY_IDS: [u8; 4] = [2, 1, 3, 0];
/// Notary's `CKA_VENDOR_DEFINED` key mode on a YubiKey: touch, and the PIN once.
const YUBIKEY_KEYMODE: u64 = 1 | 2;
/// Notary tries a signature this many times before giving up (`sigAttempts`).
const SIGN_ATTEMPTS: usize = 5;
/// Notary asks for a PIN at most this many times (`attempts > 2`).
const MAX_PIN_ATTEMPTS: u32 = 3;
/// Notary's certificate on the token: ten years.
const TOKEN_CERT_DAYS: i64 = 3650;

/// How the token is driven: a YubiKey's PIV applet as Notary drives it, or any other module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Writes under the SO login (the PIV management key), the touch/PIN key mode attribute, the
    /// public key object made by the device.
    Yubikey,
    /// Writes under the user login, no vendor attributes, the public key object made by us
    /// (SoftHSM, most HSMs).
    Generic,
}

/// What went wrong with the token. Turned into [`KeyStoreError::Token`], which no other store
/// answers for.
#[derive(Debug, thiserror::Error)]
pub enum Pkcs11Error {
    #[error("could not load the PKCS#11 module {module}: {msg}")]
    Load { module: PathBuf, msg: String },
    #[error("PKCS#11 {op} failed: {source}")]
    Module { op: &'static str, source: CkError },
    #[error(
        "the hardware token {label:?} was removed or stopped answering ({op}); nothing was signed"
    )]
    TokenGone { label: String, op: &'static str },
    #[error("the token's {who} PIN is locked; unblock it with the token's own tools")]
    PinLocked { who: &'static str },
    #[error(
        "the token has one {who} PIN try left; notarius will not spend it. Check the PIN and log \
         in with the token's own tools (a correct PIN resets the counter), or reset the PIN"
    )]
    PinFinalTry { who: &'static str },
    #[error(
        "the token refused the {who} PIN and reports few tries left; stopping instead of trying \
         another PIN. Check the PIN and run the command again"
    )]
    PinCountLow { who: &'static str },
    #[error("key {id} is listed on the token but its {what} object is missing")]
    ObjectMissing { id: String, what: &'static str },
    #[error("the token holds {count} {what} objects for key {id}; refusing to choose one")]
    Duplicate {
        id: String,
        what: &'static str,
        count: usize,
    },
    #[error("expected root key: {expected}, but found: {found}")]
    WrongKey { expected: String, found: String },
    #[error("yubikey has no available slots")]
    NoFreeSlot,
    #[error("failed to generate signature on the token: none of {SIGN_ATTEMPTS} verified")]
    BadSignature,
    #[error("Failed to backup private key to: {0}")]
    BackupFailed(String),
    #[error("the token's certificate could not be made: {0}")]
    Certificate(String),
}

impl From<Pkcs11Error> for KeyStoreError {
    fn from(e: Pkcs11Error) -> KeyStoreError {
        KeyStoreError::Token(Box::new(e))
    }
}

/// Errors meaning the token is not there any more.
fn is_gone(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::TokenNotRecognized
                | RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::SlotIdInvalid
                | RvError::DeviceError,
            _
        )
    )
}

/// One loaded, initialised module per path for the whole process: PKCS#11 allows one
/// `C_Initialize` per process, and the module is never finalised while keys may still sign.
fn load(module: &Path) -> Result<Pkcs11, Pkcs11Error> {
    static LOADED: OnceLock<Mutex<Vec<(PathBuf, Pkcs11)>>> = OnceLock::new();
    let mut loaded = LOADED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some((_, ctx)) = loaded.iter().find(|(p, _)| p == module) {
        return Ok(ctx.clone());
    }
    let load_err = |msg: String| Pkcs11Error::Load {
        module: module.to_owned(),
        msg,
    };
    let ctx = Pkcs11::new(module).map_err(|e| load_err(e.to_string()))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(load_err(e.to_string())),
    }
    loaded.push((module.to_owned(), ctx.clone()));
    Ok(ctx)
}

/// The token's PIN flags, as far as they decide whether one more login may be tried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PinFlags {
    pub locked: bool,
    pub final_try: bool,
    pub count_low: bool,
}

impl PinFlags {
    fn of(info: &TokenInfo, user: UserType) -> PinFlags {
        match user {
            UserType::So => PinFlags {
                locked: info.so_pin_locked(),
                final_try: info.so_pin_final_try(),
                count_low: info.so_pin_count_low(),
            },
            _ => PinFlags {
                locked: info.user_pin_locked(),
                final_try: info.user_pin_final_try(),
                count_low: info.user_pin_count_low(),
            },
        }
    }
}

/// May login attempt `attempt` (from 0) be made with a token showing `flags` (SG-10)? Never on a
/// locked PIN or its final try; after a refusal in this run, not once the token says the count
/// is low.
pub fn pin_policy(flags: PinFlags, attempt: u32, who: &'static str) -> Result<(), Pkcs11Error> {
    if flags.locked {
        Err(Pkcs11Error::PinLocked { who })
    } else if flags.final_try {
        Err(Pkcs11Error::PinFinalTry { who })
    } else if flags.count_low && attempt > 0 {
        Err(Pkcs11Error::PinCountLow { who })
    } else {
        Ok(())
    }
}

/// A root key found on the token through its certificate.
#[derive(Debug, Clone)]
struct TokenKey {
    ck_id: Vec<u8>,
    role: String,
    public: PublicKey,
    /// How many certificates name this key (more than one is refused when signing).
    copies: usize,
}

/// The key store of the first initialised token of a PKCS#11 module.
pub struct Pkcs11KeyStore {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    /// The token's serial number when it was found: another token (or none) in the slot later
    /// is a removed token.
    serial: String,
    profile: Profile,
    backup: Option<FileKeyStore>,
    /// A session logged in as the user, kept while keys may sign (the login lasts as long as a
    /// session is open).
    login: Mutex<Option<Arc<Mutex<Session>>>>,
}

impl std::fmt::Debug for Pkcs11KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11KeyStore")
            .field("slot", &self.slot)
            .field("label", &self.label)
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// The module named by [`MODULE_ENV`], else the first of Notary's YubiKey paths that loads,
/// and its first initialised token. `Ok(None)`: no module or no token, so keys stay in files (as
/// with Notary). A module named explicitly that does not load is an error.
pub fn discover(
    configured: Option<&Path>,
    backup: Option<FileKeyStore>,
) -> Result<Option<Pkcs11KeyStore>, Pkcs11Error> {
    if let Some(module) = configured {
        return Pkcs11KeyStore::open(module, backup);
    }
    for p in NOTARY_MODULE_PATHS {
        let p = Path::new(p);
        if p.exists()
            && let Ok(found) = Pkcs11KeyStore::open(p, None)
        {
            return Ok(found.map(|s| Pkcs11KeyStore { backup, ..s }));
        }
    }
    Ok(None)
}

/// [`discover`] with the module from the environment ([`MODULE_ENV`], ignored when empty).
pub fn discover_from_env(
    backup: Option<FileKeyStore>,
) -> Result<Option<Pkcs11KeyStore>, Pkcs11Error> {
    let configured = std::env::var_os(MODULE_ENV)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    discover(configured.as_deref(), backup)
}

impl Pkcs11KeyStore {
    /// The first slot of `module` with an initialised token, or `None`. New keys are backed up
    /// to `backup` (Notary always passes the file store).
    pub fn open(
        module: &Path,
        backup: Option<FileKeyStore>,
    ) -> Result<Option<Pkcs11KeyStore>, Pkcs11Error> {
        let ctx = load(module)?;
        let slots = ctx
            .get_slots_with_token()
            .map_err(|source| Pkcs11Error::Module {
                op: "C_GetSlotList",
                source,
            })?;
        for slot in slots {
            let Ok(info) = ctx.get_token_info(slot) else {
                continue;
            };
            if !info.token_initialized() {
                continue;
            }
            let is_yubikey = info.manufacturer_id().contains("Yubico")
                || module
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains("ykcs11"));
            return Ok(Some(Pkcs11KeyStore {
                ctx: ctx.clone(),
                slot,
                label: info.label().trim().to_owned(),
                serial: info.serial_number().trim().to_owned(),
                profile: if is_yubikey {
                    Profile::Yubikey
                } else {
                    Profile::Generic
                },
                backup,
                login: Mutex::new(None),
            }));
        }
        Ok(None)
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The token's label.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn module_err(&self, op: &'static str) -> impl FnOnce(CkError) -> Pkcs11Error + '_ {
        move |source| {
            if is_gone(&source) {
                Pkcs11Error::TokenGone {
                    label: self.label.clone(),
                    op,
                }
            } else {
                Pkcs11Error::Module { op, source }
            }
        }
    }

    /// The token found at start is still in its slot.
    fn check_present(&self, op: &'static str) -> Result<(), Pkcs11Error> {
        let info = self
            .ctx
            .get_token_info(self.slot)
            .map_err(self.module_err(op))?;
        if info.token_initialized()
            && info.serial_number().trim() == self.serial
            && info.label().trim() == self.label
        {
            Ok(())
        } else {
            Err(Pkcs11Error::TokenGone {
                label: self.label.clone(),
                op,
            })
        }
    }

    fn session(&self) -> Result<Session, Pkcs11Error> {
        self.check_present("C_GetTokenInfo")?;
        self.ctx
            .open_rw_session(self.slot)
            .map_err(self.module_err("C_OpenSession"))
    }

    /// Logs `session` in as `user` with a PIN from `retriever`, under the SG-10 rules.
    fn login(
        &self,
        session: &Session,
        user: UserType,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(), KeyStoreError> {
        let (name, who) = match user {
            UserType::So => ("SO Pin", "SO"),
            _ => ("User Pin", "user"),
        };
        // The login is the application's: another session may have logged in already.
        let state = session
            .get_session_info()
            .map_err(self.module_err("C_GetSessionInfo"))?
            .session_state();
        match (state, user) {
            (SessionState::RwUser | SessionState::RoUser, UserType::User)
            | (SessionState::RwSecurityOfficer, UserType::So) => return Ok(()),
            _ => {}
        }
        let mut refused: Vec<Zeroizing<String>> = Vec::new();
        for attempt in 0.. {
            let info = self
                .ctx
                .get_token_info(self.slot)
                .map_err(self.module_err("C_GetTokenInfo"))?;
            pin_policy(PinFlags::of(&info, user), attempt, who)?;
            let pin = match retriever.passphrase(name, TOKEN_PIN_ALIAS, false, attempt) {
                Ok(p) => p,
                Err(GiveUp::TooManyAttempts) => return Err(KeyStoreError::AttemptsExceeded),
                Err(GiveUp::NoInput) => return Err(KeyStoreError::GiveUp(GiveUp::NoInput)),
                Err(GiveUp::Other(_)) => return Err(KeyStoreError::PasswordInvalid),
            };
            if attempt >= MAX_PIN_ATTEMPTS {
                return Err(KeyStoreError::AttemptsExceeded);
            }
            // The same answer again (an environment variable, a cached prompt) would only
            // spend another try.
            if refused.iter().any(|r| **r == *pin) {
                return Err(KeyStoreError::PasswordInvalid);
            }
            let auth = AuthPin::new(pin.as_str().into());
            match session.login(user, Some(&auth)) {
                Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => return Ok(()),
                Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid, _)) => {
                    refused.push(pin)
                }
                Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                    return Err(Pkcs11Error::PinLocked { who }.into());
                }
                Err(e) => return Err(self.module_err("C_Login")(e).into()),
            }
        }
        Err(KeyStoreError::AttemptsExceeded)
    }

    /// The session logged in as the user, logging in first if needed.
    fn user_session(
        &self,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<Arc<Mutex<Session>>, KeyStoreError> {
        let mut login = self.login.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = &*login {
            return Ok(s.clone());
        }
        let session = self.session()?;
        self.login(&session, UserType::User, retriever)?;
        let s = Arc::new(Mutex::new(session));
        *login = Some(s.clone());
        Ok(s)
    }

    /// Runs `f` in a session allowed to create and destroy keys: the user's on most tokens, the
    /// SO's (the PIV management key) on a YubiKey, as Notary does.
    fn with_writer<T>(
        &self,
        retriever: &mut dyn PassphraseRetriever,
        f: impl FnOnce(&Session) -> Result<T, KeyStoreError>,
    ) -> Result<T, KeyStoreError> {
        match self.profile {
            Profile::Generic => {
                let s = self.user_session(retriever)?;
                let s = s.lock().unwrap_or_else(|p| p.into_inner());
                f(&s)
            }
            Profile::Yubikey => {
                // One login per application: the user's session goes first.
                self.login.lock().unwrap_or_else(|p| p.into_inner()).take();
                let s = self.session()?;
                self.login(&s, UserType::So, retriever)?;
                let out = f(&s);
                let _ = s.logout();
                out
            }
        }
    }

    /// Notary's listing: certificate objects whose `CN` is a role name and whose key is P-256.
    fn token_keys(&self) -> Result<BTreeMap<String, TokenKey>, KeyStoreError> {
        let session = self.session()?;
        let certs = session
            .find_objects(&[
                Attribute::Token(true),
                Attribute::Class(ObjectClass::CERTIFICATE),
            ])
            .map_err(self.module_err("C_FindObjects"))?;
        let mut keys: BTreeMap<String, TokenKey> = BTreeMap::new();
        for obj in certs {
            let attrs = session
                .get_attributes(obj, &[AttributeType::Id, AttributeType::Value])
                .map_err(self.module_err("C_GetAttributeValue"))?;
            let (mut ck_id, mut value) = (None, None);
            for a in attrs {
                match a {
                    Attribute::Id(v) => ck_id = Some(v),
                    Attribute::Value(v) => value = Some(v),
                    _ => {}
                }
            }
            let (Some(ck_id), Some(value)) = (ck_id, value) else {
                continue;
            };
            let Some((role_name, public)) = role_key_of_cert(&value) else {
                continue;
            };
            keys.entry(public.id().to_owned())
                .and_modify(|k| k.copies += 1)
                .or_insert(TokenKey {
                    ck_id,
                    role: role_name,
                    public,
                    copies: 1,
                });
        }
        Ok(keys)
    }

    fn token_key(&self, id: &str) -> Result<TokenKey, KeyStoreError> {
        self.token_keys()?
            .remove(id)
            .ok_or_else(|| KeyStoreError::NotFound(id.to_owned()))
    }

    /// The first free single-byte `CKA_ID` in Notary's order (then, on other tokens, 4–254).
    fn free_id(&self, session: &Session) -> Result<Vec<u8>, KeyStoreError> {
        let objs = session
            .find_objects(&[Attribute::Token(true)])
            .map_err(self.module_err("C_FindObjects"))?;
        let mut used = Vec::new();
        for o in objs {
            // Objects we may not read (other applications' private ones) are not ours to reuse.
            if let Ok(attrs) = session.get_attributes(o, &[AttributeType::Id]) {
                for a in attrs {
                    if let Attribute::Id(v) = a {
                        used.push(v);
                    }
                }
            }
        }
        let extra: Vec<u8> = match self.profile {
            Profile::Yubikey => Vec::new(),
            Profile::Generic => (4..=254).collect(),
        };
        NOTARY_IDS
            .iter()
            .chain(extra.iter())
            .map(|b| vec![*b])
            .find(|id| !used.contains(id))
            .ok_or_else(|| Pkcs11Error::NoFreeSlot.into())
    }

    /// Objects of `class` with `CKA_ID` `ck_id`.
    fn objects(
        &self,
        session: &Session,
        ck_id: &[u8],
        class: ObjectClass,
    ) -> Result<Vec<ObjectHandle>, Pkcs11Error> {
        session
            .find_objects(&[
                Attribute::Token(true),
                Attribute::Class(class),
                Attribute::Id(ck_id.to_vec()),
            ])
            .map_err(self.module_err("C_FindObjects"))
    }

    /// Puts `key` on the token as Notary's `addECDSAKey` does (plus a public key object where
    /// the device does not make one). Returns the `CKA_ID` used.
    fn import(
        &self,
        key: &PrivateKey,
        role_name: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<Vec<u8>, KeyStoreError> {
        let RawKey::Ecdsa(sec1) = key.raw() else {
            return Err(KeyStoreError::Refused(format!(
                "only ECDSA P-256 keys can be stored on the token, not {} key {}",
                key.algorithm_name(),
                key.id()
            )));
        };
        let (d, point) = pkcs8::parse_sec1(sec1).map_err(|source| KeyStoreError::Key {
            path: "<new key>".into(),
            source,
        })?;
        let point = point.unwrap_or_else(|| key.ring_public());
        let now = time::OffsetDateTime::now_utc();
        let cert = notarius_crypto::cert::certificate(
            key,
            role_name,
            now,
            now + time::Duration::days(TOKEN_CERT_DAYS),
        )
        .map_err(|e| Pkcs11Error::Certificate(e.to_string()))?;
        let (cert_der, subject) = cert_der_and_subject(cert.public())
            .ok_or_else(|| Pkcs11Error::Certificate("unreadable certificate".into()))?;
        let label = key.id().as_bytes().to_vec();
        self.with_writer(retriever, |session| {
            let ck_id = self.free_id(session)?;
            let mut created = Vec::new();
            let result = (|| -> Result<(), Pkcs11Error> {
                let mut cert_t = vec![
                    Attribute::Class(ObjectClass::CERTIFICATE),
                    Attribute::Token(true),
                    Attribute::Value(cert_der.clone()),
                    Attribute::Id(ck_id.clone()),
                ];
                let mut priv_t = vec![
                    Attribute::Class(ObjectClass::PRIVATE_KEY),
                    Attribute::KeyType(KeyType::EC),
                    Attribute::Id(ck_id.clone()),
                    Attribute::EcParams(P256_PARAMS.to_vec()),
                    Attribute::Value(d.to_vec()),
                ];
                if self.profile == Profile::Yubikey {
                    priv_t.push(Attribute::VendorDefined((
                        AttributeType::VendorDefined(0x8000_0000),
                        YUBIKEY_KEYMODE.to_ne_bytes().to_vec(),
                    )));
                } else {
                    cert_t.extend([
                        Attribute::CertificateType(CertificateType::X_509),
                        Attribute::Subject(subject.clone()),
                        Attribute::Private(false),
                        Attribute::Label(label.clone()),
                    ]);
                    priv_t.extend([
                        Attribute::Token(true),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(false),
                        Attribute::Sign(true),
                        Attribute::Label(label.clone()),
                    ]);
                }
                created.push(
                    session
                        .create_object(&cert_t)
                        .map_err(self.module_err("C_CreateObject (certificate)"))?,
                );
                if self.profile == Profile::Generic {
                    let mut ec_point = vec![0x04, 0x41];
                    ec_point.extend_from_slice(&point);
                    created.push(
                        session
                            .create_object(&[
                                Attribute::Class(ObjectClass::PUBLIC_KEY),
                                Attribute::KeyType(KeyType::EC),
                                Attribute::Token(true),
                                Attribute::Private(false),
                                Attribute::Verify(true),
                                Attribute::Id(ck_id.clone()),
                                Attribute::EcParams(P256_PARAMS.to_vec()),
                                Attribute::EcPoint(ec_point),
                                Attribute::Label(label.clone()),
                            ])
                            .map_err(self.module_err("C_CreateObject (public key)"))?,
                    );
                }
                // The template holds the scalar; wipe it once the token has it.
                let made = session.create_object(&priv_t);
                for a in &mut priv_t {
                    if let Attribute::Value(v) = a {
                        zeroize::Zeroize::zeroize(v);
                    }
                }
                created.push(made.map_err(self.module_err("C_CreateObject (private key)"))?);
                Ok(())
            })();
            match result {
                Ok(()) => Ok(ck_id),
                Err(e) => {
                    for o in created {
                        let _ = session.destroy_object(o);
                    }
                    Err(e.into())
                }
            }
        })
    }

    /// Destroys the certificate, public and private key objects with `ck_id`.
    fn destroy(&self, ck_id: &[u8], session: &Session) -> Result<(), KeyStoreError> {
        for class in [
            ObjectClass::CERTIFICATE,
            ObjectClass::PUBLIC_KEY,
            ObjectClass::PRIVATE_KEY,
        ] {
            for o in self.objects(session, ck_id, class)? {
                session
                    .destroy_object(o)
                    .map_err(self.module_err("C_DestroyObject"))?;
            }
        }
        Ok(())
    }
}

/// The role (`CN`) and P-256 public key of a Notary token certificate, or `None` for any other
/// certificate.
fn role_key_of_cert(der: &[u8]) -> Option<(String, PublicKey)> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_owned();
    if !role::is_valid_role(&cn) {
        return None;
    }
    let spki = cert.public_key();
    let ec = x509_parser::oid_registry::OID_KEY_TYPE_EC_PUBLIC_KEY;
    let p256 = x509_parser::oid_registry::OID_EC_P256;
    if spki.algorithm.algorithm != ec
        || spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok())
            != Some(p256)
    {
        return None;
    }
    let point = spki.subject_public_key.data.as_ref();
    if point.len() != 65 || point[0] != 4 {
        return None;
    }
    Some((cn, PublicKey::new(TufKeyType::Ecdsa, ec_spki(point))))
}

/// DER and subject name of a certificate given as PEM.
fn cert_der_and_subject(pem: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use x509_parser::prelude::*;
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).ok()?;
    let (_, cert) = X509Certificate::from_der(&pem.contents).ok()?;
    let subject = cert.subject().as_raw().to_vec();
    Some((pem.contents.clone(), subject))
}

impl KeyStore for Pkcs11KeyStore {
    /// `yubikey` as in Notary for a YubiKey, `pkcs11:<token label>` for any other token.
    fn location(&self) -> String {
        match self.profile {
            Profile::Yubikey => "yubikey".to_owned(),
            Profile::Generic => format!("pkcs11:{}", self.label),
        }
    }

    fn list(&self) -> Result<BTreeMap<String, KeyInfo>, KeyStoreError> {
        Ok(self
            .token_keys()?
            .into_iter()
            .map(|(id, k)| {
                (
                    id,
                    KeyInfo {
                        role: k.role,
                        gun: String::new(),
                    },
                )
            })
            .collect())
    }

    /// Notary's `YubiStore.AddKey`: root keys only; the key goes on the token and then to the
    /// backup store, and comes off the token again if the backup fails.
    fn add(
        &self,
        key: &PrivateKey,
        role_name: &str,
        gun: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(), KeyStoreError> {
        if role_name != role::ROOT {
            return Err(KeyStoreError::Refused(format!(
                "yubikey only supports storing root keys, got {role_name} for key: {}",
                key.id()
            )));
        }
        if let Some(k) = self.token_keys()?.get(key.id())
            && k.role == role_name
        {
            return Ok(());
        }
        let ck_id = self.import(key, role_name, retriever)?;
        if let Some(backup) = &self.backup
            && let Err(e) = backup.add(key, role_name, gun, retriever)
        {
            let undo = self.with_writer(retriever, |s| self.destroy(&ck_id, s));
            let mut msg = e.to_string();
            if let Err(u) = undo {
                msg.push_str(&format!(
                    " (and the key could not be taken off the token again: {u})"
                ));
            }
            return Err(Pkcs11Error::BackupFailed(msg).into());
        }
        Ok(())
    }

    /// A token never gives its private key out; the backup file (another store) may.
    fn get(
        &self,
        id: &str,
        _retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(PrivateKey, String), KeyStoreError> {
        self.token_key(id)?;
        Err(KeyStoreError::OnToken(id.to_owned()))
    }

    /// [`remove_with`](KeyStore::remove_with) with a PIN from the environment only.
    fn remove(&self, id: &str) -> Result<(), KeyStoreError> {
        let mut r = notarius_crypto::passphrase::EnvRetriever::<NoPrompt>::from_process_env(None);
        self.remove_with(id, &mut r)
    }

    /// Removes the key's certificate, public and private key objects (Notary removes only the
    /// certificate). The backup file is another store's to remove.
    fn remove_with(
        &self,
        id: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(), KeyStoreError> {
        let k = self.token_key(id)?;
        self.with_writer(retriever, |s| self.destroy(&k.ck_id, s))
    }

    fn signing_key(
        &self,
        id: &str,
        retriever: &mut dyn PassphraseRetriever,
    ) -> Result<(KeyHandle, String), KeyStoreError> {
        let k = self.token_key(id)?;
        if k.copies > 1 {
            return Err(Pkcs11Error::Duplicate {
                id: id.to_owned(),
                what: "certificate",
                count: k.copies,
            }
            .into());
        }
        let session = self.user_session(retriever)?;
        self.check_present("C_GetTokenInfo")?;
        let key = TokenSigner {
            store_label: self.label.clone(),
            location: self.location(),
            session,
            ck_id: k.ck_id,
            public: k.public,
        };
        key.check()?;
        Ok((KeyHandle::External(Box::new(key)), k.role))
    }
}

/// No prompt: removal takes its PIN from the environment only.
struct NoPrompt;

impl PassphraseRetriever for NoPrompt {
    fn passphrase(
        &mut self,
        _: &str,
        _: &str,
        _: bool,
        _: u32,
    ) -> Result<notarius_crypto::passphrase::Passphrase, GiveUp> {
        Err(GiveUp::NoInput)
    }
}

/// A root key on the token, signing through a logged-in session.
struct TokenSigner {
    store_label: String,
    location: String,
    session: Arc<Mutex<Session>>,
    ck_id: Vec<u8>,
    public: PublicKey,
}

impl TokenSigner {
    fn err(&self, op: &'static str) -> impl FnOnce(CkError) -> Pkcs11Error + '_ {
        move |source| {
            if is_gone(&source) {
                Pkcs11Error::TokenGone {
                    label: self.store_label.clone(),
                    op,
                }
            } else {
                Pkcs11Error::Module { op, source }
            }
        }
    }

    fn one(
        &self,
        session: &Session,
        class: ObjectClass,
        what: &'static str,
    ) -> Result<ObjectHandle, Pkcs11Error> {
        let found = session
            .find_objects(&[
                Attribute::Token(true),
                Attribute::Class(class),
                Attribute::Id(self.ck_id.clone()),
            ])
            .map_err(self.err("C_FindObjects"))?;
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(Pkcs11Error::ObjectMissing {
                id: self.public.id().to_owned(),
                what,
            }),
            many => Err(Pkcs11Error::Duplicate {
                id: self.public.id().to_owned(),
                what,
                count: many.len(),
            }),
        }
    }

    /// Notary's `getECDSAKey` check: the public key object under the certificate's `CKA_ID` is
    /// the key the certificate names, and there is exactly one private key with it.
    fn check(&self) -> Result<(), Pkcs11Error> {
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let public = self.one(&session, ObjectClass::PUBLIC_KEY, "public key")?;
        let attrs = session
            .get_attributes(public, &[AttributeType::EcPoint])
            .map_err(self.err("C_GetAttributeValue"))?;
        let point = attrs.into_iter().find_map(|a| match a {
            Attribute::EcPoint(p) => Some(p),
            _ => None,
        });
        let found = point
            .as_deref()
            .and_then(|p| match p {
                [0x04, 0x41, rest @ ..] if rest.len() == 65 => Some(rest),
                rest if rest.len() == 65 => Some(rest),
                _ => None,
            })
            .map(|p| {
                PublicKey::new(TufKeyType::Ecdsa, ec_spki(p))
                    .id()
                    .to_owned()
            })
            .unwrap_or_else(|| "<unreadable>".to_owned());
        if found != self.public.id() {
            return Err(Pkcs11Error::WrongKey {
                expected: self.public.id().to_owned(),
                found,
            });
        }
        self.one(&session, ObjectClass::PRIVATE_KEY, "private key")?;
        Ok(())
    }

    fn sign_checked(&self, msg: &[u8]) -> Result<Vec<u8>, Pkcs11Error> {
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let key = self.one(&session, ObjectClass::PRIVATE_KEY, "private key")?;
        let digest = ring::digest::digest(&ring::digest::SHA256, msg);
        for _ in 0..SIGN_ATTEMPTS {
            let sig = session
                .sign(&Mechanism::Ecdsa, key, digest.as_ref())
                .map_err(self.err("C_Sign"))?;
            if self.public.verify("ecdsa", &sig, msg).is_ok() {
                return Ok(sig);
            }
        }
        Err(Pkcs11Error::BadSignature)
    }
}

impl ExternalKey for TokenSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }
    fn sign_ecdsa(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.sign_checked(msg).map_err(|e| {
            KeyError::Token(format!(
                "failed to sign using the key on {}: {e}",
                self.location
            ))
        })
    }
    fn location(&self) -> String {
        self.location.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_policy_never_spends_the_last_try() {
        let none = PinFlags::default();
        assert!(pin_policy(none, 0, "user").is_ok());
        assert!(pin_policy(none, 2, "user").is_ok());
        let low = PinFlags {
            count_low: true,
            ..none
        };
        // One PIN may be tried on a token with failures behind it, but none after a refusal.
        assert!(pin_policy(low, 0, "user").is_ok());
        assert!(matches!(
            pin_policy(low, 1, "user"),
            Err(Pkcs11Error::PinCountLow { .. })
        ));
        let last = PinFlags {
            final_try: true,
            count_low: true,
            ..none
        };
        assert!(matches!(
            pin_policy(last, 0, "user"),
            Err(Pkcs11Error::PinFinalTry { .. })
        ));
        let locked = PinFlags {
            locked: true,
            ..none
        };
        assert!(matches!(
            pin_policy(locked, 0, "SO"),
            Err(Pkcs11Error::PinLocked { .. })
        ));
    }

    #[test]
    fn foreign_certificates_are_not_keys() {
        let key = PrivateKey::generate(notarius_crypto::private::Algorithm::Ecdsa).unwrap();
        let now = time::OffsetDateTime::now_utc();
        for (cn, expect) in [("root", true), ("example.com/app", false)] {
            let cert =
                notarius_crypto::cert::certificate(&key, cn, now, now + time::Duration::days(1))
                    .unwrap();
            let (der, _) = cert_der_and_subject(cert.public()).unwrap();
            let found = role_key_of_cert(&der);
            assert_eq!(found.is_some(), expect, "{cn}");
            if let Some((r, pk)) = found {
                assert_eq!(r, "root");
                assert_eq!(pk.id(), key.id());
            }
        }
    }
}
