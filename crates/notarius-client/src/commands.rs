//! What the `notarius` commands do, with `notary`'s messages, kept out of the binary so that it
//! only parses arguments.

use notarius_tuf::store::StoreError;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use notarius_crypto::keystore::FileKeyStore;
use notarius_crypto::passphrase::{ConstantRetriever, EnvRetriever};
use notarius_crypto::service::CryptoService;
use notarius_tuf::metadata::{FileMeta, HashBytes};
use notarius_tuf::role::{self, Gun};
use notarius_tuf::trust::TrustPinConfig;
use notarius_tuf::update::{UpdateOptions, load_tuf_repo};

use crate::cache::FileCache;
use crate::changelist::{
    ACTION_CREATE, ACTION_DELETE, Change, FileChangelist, SCOPE_TARGETS, TYPE_TARGET,
};
use crate::listing::{KeyRow, list_targets, lookup_target, pretty_keys, pretty_targets, tabwrite};
use crate::publish::{publish, root_key};
use crate::remote::{HttpRemote, TlsFiles};

/// Everything a command needs from flags, the config file and the environment.
#[derive(Debug, Clone)]
pub struct Context {
    pub trust_dir: PathBuf,
    pub server: String,
    pub tls: TlsFiles,
    pub trust_pinning: TrustPinConfig,
}

/// A command's failure, printed by the binary as `* fatal: <message>`.
pub type CmdResult = anyhow_like::Result<()>;

/// A minimal boxed error so the library needs no `anyhow`.
pub mod anyhow_like {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
    pub type Result<T> = std::result::Result<T, Error>;
}

/// The lines a failure adds after `* fatal: <message>`: those of the first TUF error in the
/// chain that has any (for now, which keys signed when a threshold was not met).
pub fn explanation(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(text) = err
            .downcast_ref::<notarius_tuf::Error>()
            .and_then(notarius_tuf::Error::explanation)
        {
            return Some(text);
        }
        let store = err.downcast_ref::<StoreError>().or_else(|| {
            match err.downcast_ref::<notarius_tuf::Error>() {
                Some(notarius_tuf::Error::Store(s)) => Some(s),
                _ => None,
            }
        });
        if let Some(StoreError::InvalidOperation(m)) = store
            && m.contains("A newer version of metadata is already available")
        {
            return Some(
                "next: another publish reached the trust server first. Nothing was lost: your \
                 changes are still staged; run the same publish again to apply them on top of it."
                    .to_owned(),
            );
        }
        cur = err.source();
    }
    None
}

fn msg(s: impl Into<String>) -> anyhow_like::Error {
    s.into().into()
}

impl Context {
    fn gun(&self, gun: &str) -> anyhow_like::Result<Gun> {
        Ok(Gun::new(gun)?)
    }

    fn crypto(&self) -> anyhow_like::Result<CryptoService> {
        let prompt = notarius_crypto::passphrase::PromptRetriever::new(TtyTerminal);
        let retriever = EnvRetriever::from_process_env(Some(prompt));
        let mut stores: Vec<Box<dyn notarius_crypto::service::KeyStore>> = Vec::new();
        let files = FileKeyStore::open(&self.trust_dir)?.remembering_keys();
        // A hardware token goes first, its new keys backed up to the key files (Notary's
        // yubikey store); with no module or no token the keys are files only.
        if let Some(token) = notarius_pkcs11::discover_from_env(Some(files.clone()))? {
            stores.push(Box::new(token));
        }
        stores.push(Box::new(files));
        Ok(CryptoService::new(stores, Box::new(retriever)))
    }

    /// The trust server for `gun`, asking (when the server wants a token) for `push,pull`.
    fn remote(&self, gun: &Gun) -> anyhow_like::Result<HttpRemote> {
        self.remote_for(gun, crate::remote::Permission::ReadWrite)
    }

    /// The trust server for `gun` with the access a command needs; `NOTARY_AUTH` supplies the
    /// credentials for the token service.
    fn remote_for(
        &self,
        gun: &Gun,
        permission: crate::remote::Permission,
    ) -> anyhow_like::Result<HttpRemote> {
        let auth = std::env::var("NOTARY_AUTH").ok();
        Ok(HttpRemote::new(&self.server, gun, &self.tls)?.with_access(permission, auth.as_deref()))
    }

    fn changelist(&self, gun: &Gun) -> FileChangelist {
        FileChangelist::new(&self.trust_dir, gun)
    }
}

/// The controlling terminal, for passphrase prompts (`/dev/tty`, so they work with redirected
/// standard streams and never echo).
pub struct TtyTerminal;

impl notarius_crypto::passphrase::Terminal for TtyTerminal {
    fn read_hidden(&mut self, prompt: &str) -> Option<String> {
        rpassword::prompt_password(prompt).ok()
    }
    fn say(&mut self, line: &str) {
        println!("{line}");
    }
}

/// `notary init <gun> [-p] [--rootkey <pem>] [--rootcert <pem>]`. The keys of a new repository
/// are made at its first publish; `init` makes sure a root key exists. With `--rootkey` the
/// (encrypted) key file is imported and becomes the root key; with `--rootcert` the certificate
/// is listed for the root key in root.json (Notary's `importRootKey`, `importRootCert`,
/// `InitializeWithCertificate`); the choice is kept for the first publish
/// ([`RootChoice`](crate::publish::RootChoice)). Every check passes before anything is written.
pub fn init(
    ctx: &Context,
    gun: &str,
    publish_now: bool,
    root_key_file: Option<&std::path::Path>,
    root_cert_file: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    let mut cs = ctx.crypto()?;
    let choice_path = root_choice_path(ctx, &g);
    if root_key_file.is_none() && root_cert_file.is_none() {
        let had_root = cs.list_keys(role::ROOT)?.into_iter().next();
        let root = root_key(&mut cs)?;
        if had_root.is_some() {
            writeln!(out, "Root key found, using: {}", root.id())?;
        }
        // A plain init starts over with the first root key, as Notary's does.
        remove_if_present(&choice_path)?;
    } else {
        let choice = choose_root(&mut cs, root_key_file, root_cert_file, out)?;
        let json = serde_json::to_vec(&choice)?;
        if let Some(dir) = choice_path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        crate::fsutil::write_private_atomic(&choice_path, &json)?;
    }
    if publish_now {
        writeln!(out, "Auto-publishing changes to {g}")?;
        do_publish(ctx, &g, &mut cs)?;
        writeln!(out, "Successfully published changes for repository {g}")?;
    }
    Ok(())
}

/// Where `init --rootkey/--rootcert` keeps its choice until the first publish.
fn root_choice_path(ctx: &Context, g: &Gun) -> PathBuf {
    ctx.trust_dir
        .join("tuf")
        .join(g.as_str())
        .join("notarius_root_choice.json")
}

fn remove_if_present(p: &std::path::Path) -> CmdResult {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Go's message for a file `os.ReadFile` could not read.
fn go_read_error(p: &std::path::Path, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => format!("open {}: no such file or directory", p.display()),
        ErrorKind::PermissionDenied => format!("open {}: permission denied", p.display()),
        ErrorKind::IsADirectory => format!("read {}: is a directory", p.display()),
        _ => format!("open {}: {e}", p.display()),
    }
}

/// Notary's `readKey` on a file, and `AddKey`'s refusal of a key the store holds for another
/// role, checked without writing anything.
fn read_key_file(
    cs: &CryptoService,
    file: &std::path::Path,
    role_name: &str,
    retriever: &mut dyn notarius_crypto::passphrase::PassphraseRetriever,
) -> anyhow_like::Result<notarius_crypto::private::PrivateKey> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(file).map_err(|e| {
        msg(format!(
            "Error reading input root key file: {}",
            go_read_error(file, &e)
        ))
    })?);
    let key = notarius_crypto::keystore::read_key_to_import(&bytes, role_name, retriever)?;
    if let Some(info) = cs.get_key_info(key.id())
        && info.role != role_name
    {
        return Err(msg(format!(
            "Error importing key: {}",
            notarius_crypto::keystore::KeyStoreError::ExistsForRole(info.role)
        )));
    }
    Ok(key)
}

/// The checks of Notary's `tufInit` with `--rootkey`/`--rootcert`, in its order and with its
/// messages (including `Root key found, using: …` where Notary prints it); the root key is
/// imported only once all of them passed.
fn choose_root(
    cs: &mut CryptoService,
    root_key_file: Option<&std::path::Path>,
    root_cert_file: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> anyhow_like::Result<crate::publish::RootChoice> {
    let imported = match root_key_file {
        Some(f) => {
            let key = read_key_file(cs, f, role::ROOT, &mut retriever())?;
            writeln!(out, "Root key found, using: {}", key.id())?;
            Some(key)
        }
        None => {
            if let Some(first) = cs.list_keys(role::ROOT)?.into_iter().next() {
                writeln!(out, "Root key found, using: {first}")?;
            }
            None
        }
    };
    let cert = match root_cert_file {
        Some(f) => {
            let bytes = std::fs::read(f).map_err(|e| {
                msg(format!(
                    "error reading certificate file: {}",
                    go_read_error(f, &e)
                ))
            })?;
            Some(crate::publish::root_cert_key(&bytes).map_err(msg)?)
        }
        None => None,
    };
    let key_id = match (&imported, &cert) {
        (Some(key), Some(cert)) => {
            if cert.canonical_id() != key.id() {
                return Err(msg(
                    "could not obtain public key from IDs: private key is nil or does not match public key",
                ));
            }
            key.id().to_owned()
        }
        (Some(key), None) => key.id().to_owned(),
        (None, Some(cert)) => {
            let id = cert.canonical_id().to_owned();
            if !cs.list_keys(role::ROOT)?.contains(&id) {
                return Err(msg(
                    "error initializing repository with certificate: cannot find matching private key id",
                ));
            }
            cs.signing_key(&id).map_err(|e| {
                msg(format!(
                    "could not obtain public key from IDs: could not get the private key matching id {id}: {e}"
                ))
            })?;
            id
        }
        (None, None) => unreachable!("choose_root is called with a flag"),
    };
    if let Some(key) = &imported {
        cs.add_key(role::ROOT, "", key)
            .map_err(|e| msg(format!("Error importing key: {e}")))?;
    }
    Ok(crate::publish::RootChoice {
        key_id,
        certificate: cert.map(|c| String::from_utf8_lossy(c.public()).into_owned()),
    })
}

fn target_change(
    action: &str,
    scope: &str,
    path: &str,
    meta: Option<&FileMeta>,
) -> anyhow_like::Result<Change> {
    Ok(Change {
        action: action.into(),
        role: scope.into(),
        change_type: TYPE_TARGET.into(),
        path: path.into(),
        data: meta.map(go_file_meta).transpose()?,
    })
}

/// Go's `json.Marshal` of a `data.FileMeta`, as `notary add` stores it in a change file:
/// `length`, `hashes`, then `custom` when present (struct order, not sorted).
fn go_file_meta(meta: &FileMeta) -> anyhow_like::Result<Vec<u8>> {
    let mut out = format!("{{\"length\":{},\"hashes\":", meta.length).into_bytes();
    out.extend_from_slice(&serde_json::to_vec(&meta.hashes)?);
    if let Some(custom) = &meta.custom {
        out.extend_from_slice(b",\"custom\":");
        notarius_tuf::cjson::go_compact_escaped(
            custom,
            &mut out,
            notarius_tuf::cjson::NumberMode::Exact,
        )?;
    }
    out.push(b'}');
    Ok(out)
}

fn scopes(roles: &[String]) -> anyhow_like::Result<Vec<String>> {
    if roles.is_empty() {
        return Ok(vec![SCOPE_TARGETS.to_owned()]);
    }
    for r in roles {
        if r != role::TARGETS && !role::is_delegation(r) {
            return Err(msg(format!("{r} is not a valid targets role")));
        }
    }
    Ok(roles.to_vec())
}

/// `notary add <gun> <target> <file>`: hashes the file with sha256 and sha512 and stages it.
#[allow(clippy::too_many_arguments, reason = "one argument per notary flag")]
pub fn add(
    ctx: &Context,
    gun: &str,
    target: &str,
    file: &std::path::Path,
    roles: &[String],
    custom: Option<serde_json::Value>,
    publish_now: bool,
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    let bytes = std::fs::read(file).map_err(|e| msg(format!("{}: {e}", file.display())))?;
    let mut meta = FileMeta::from_bytes(&bytes);
    meta.custom = custom;
    stage_add(ctx, &g, target, &meta, roles)?;
    writeln!(
        out,
        "Addition of target \"{target}\" to repository \"{g}\" staged for next publish."
    )?;
    auto_publish(ctx, &g, publish_now, out)
}

/// One line of a bulk-add list: a target name and where its hashes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkSource {
    /// A file to read and hash (sha256 and sha512, as `add` does).
    File(PathBuf),
    /// A known sha256 digest and size (as `addhash --sha256` does).
    Hash { sha256: Vec<u8>, size: i64 },
}

/// Parses a bulk-add list: one target per line, `name<TAB>source` (the name may then contain
/// spaces, the source is the rest of the line) or `name source` (split at the first run of
/// spaces). The source is `sha256:<64 hex>:<size>` or `<64 hex>:<size>`, else a file path
/// (relative to the current directory). Blank lines and lines starting with `#` are skipped.
/// Errors name the line.
pub fn parse_bulk_list(text: &str) -> anyhow_like::Result<Vec<(String, BulkSource)>> {
    let mut out: Vec<(String, BulkSource)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let (name, source) = match line.split_once('\t') {
            Some((name, rest)) => (name, rest.trim_start_matches('\t')),
            None => match line.split_once(' ') {
                Some((name, rest)) => (name, rest.trim_start_matches(' ')),
                None => (line, ""),
            },
        };
        if name.is_empty() || source.is_empty() {
            return Err(msg(format!(
                "line {n}: expected \"<name><TAB or space><path, or sha256:<hex>:<size>>\", got {line:?}"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(msg(format!(
                "line {n}: the target name has a control character"
            )));
        }
        let hash_form = source.strip_prefix("sha256:").unwrap_or(source);
        let parsed = match hash_form.split_once(':') {
            Some((h, size)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
                let size: i64 = size
                    .parse()
                    .ok()
                    .filter(|s| *s >= 0)
                    .ok_or_else(|| msg(format!("line {n}: invalid size {size:?}")))?;
                BulkSource::Hash {
                    sha256: hex::decode(h).expect("checked hex"),
                    size,
                }
            }
            _ if source.starts_with("sha256:") => {
                return Err(msg(format!(
                    "line {n}: expected sha256:<64 hex digits>:<size>, got {source:?}"
                )));
            }
            _ => BulkSource::File(PathBuf::from(source)),
        };
        if let Some((prev, _)) = out.iter().enumerate().find(|(_, (t, _))| t == name) {
            return Err(msg(format!(
                "line {n}: target {name:?} is already listed (entry {})",
                prev + 1
            )));
        }
        out.push((name.to_owned(), parsed));
    }
    if out.is_empty() {
        return Err(msg("no targets listed"));
    }
    Ok(out)
}

/// `notarius add <gun> --from-file <list>` (beyond Notary): every target of the list (see
/// [`parse_bulk_list`]) is hashed first; only when all succeeded is each staged as its own
/// change, exactly as one `add` (file) or `addhash --sha256` (digest) would stage it.
/// `progress(done, total, name)` is called around each file hashed.
#[allow(clippy::too_many_arguments, reason = "one argument per notary flag")]
pub fn add_bulk(
    ctx: &Context,
    gun: &str,
    list: &str,
    roles: &[String],
    custom: Option<serde_json::Value>,
    publish_now: bool,
    progress: &mut dyn FnMut(usize, usize, &str),
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    let entries = parse_bulk_list(list)?;
    let scopes = scopes(roles)?;
    let total = entries.len();
    let mut staged: Vec<(String, FileMeta, bool)> = Vec::with_capacity(total);
    for (i, (name, source)) in entries.into_iter().enumerate() {
        progress(i, total, &name);
        let (mut meta, from_file) = match source {
            BulkSource::File(p) => {
                let bytes =
                    std::fs::read(&p).map_err(|e| msg(format!("{name}: {}: {e}", p.display())))?;
                (FileMeta::from_bytes(&bytes), true)
            }
            BulkSource::Hash { sha256, size } => (
                FileMeta {
                    custom: None,
                    hashes: BTreeMap::from([("sha256".to_owned(), HashBytes(sha256))]),
                    length: size,
                    extra: Default::default(),
                },
                false,
            ),
        };
        if from_file {
            meta.custom.clone_from(&custom);
        }
        staged.push((name, meta, from_file));
    }
    progress(total, total, "");
    let cl = ctx.changelist(&g);
    let mut written = Vec::new();
    for (name, meta, _) in &staged {
        for scope in &scopes {
            match target_change(ACTION_CREATE, scope, name, Some(meta))
                .and_then(|c| Ok(cl.add(&c)?))
            {
                Ok(f) => written.push(f),
                Err(e) => {
                    // All or nothing: take back what this command staged.
                    let _ = cl.remove_files(&written);
                    return Err(e);
                }
            }
        }
    }
    for (name, _, from_file) in &staged {
        if *from_file {
            writeln!(
                out,
                "Addition of target \"{name}\" to repository \"{g}\" staged for next publish."
            )?;
        } else {
            writeln!(
                out,
                "Addition of target \"{name}\" by sha256 hash to repository \"{g}\" staged for next publish."
            )?;
        }
    }
    auto_publish(ctx, &g, publish_now, out)
}

/// `notary addhash <gun> <target> <size> --sha256 --sha512`.
#[allow(clippy::too_many_arguments, reason = "one argument per notary flag")]
pub fn addhash(
    ctx: &Context,
    gun: &str,
    target: &str,
    size: i64,
    sha256: Option<&str>,
    sha512: Option<&str>,
    roles: &[String],
    publish_now: bool,
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    let mut hashes = BTreeMap::new();
    for (alg, hex_value, len) in [("sha256", sha256, 32), ("sha512", sha512, 64)] {
        if let Some(h) = hex_value {
            let b =
                hex::decode(h).map_err(|_| msg(format!("invalid {alg} hex contents provided")))?;
            if b.len() != len {
                return Err(msg(format!("invalid {alg} hex contents provided")));
            }
            hashes.insert(alg.to_owned(), HashBytes(b));
        }
    }
    if hashes.is_empty() {
        return Err(msg("Must specify at least one hash algorithm to add"));
    }
    let algs: Vec<String> = hashes.keys().cloned().collect();
    let meta = FileMeta {
        custom: None,
        hashes,
        length: size,
        extra: Default::default(),
    };
    stage_add(ctx, &g, target, &meta, roles)?;
    writeln!(
        out,
        "Addition of target \"{target}\" by {} hash to repository \"{g}\" staged for next publish.",
        algs.join(", ")
    )?;
    auto_publish(ctx, &g, publish_now, out)
}

fn stage_add(ctx: &Context, g: &Gun, target: &str, meta: &FileMeta, roles: &[String]) -> CmdResult {
    let cl = ctx.changelist(g);
    for scope in scopes(roles)? {
        cl.add(&target_change(ACTION_CREATE, &scope, target, Some(meta))?)?;
    }
    Ok(())
}

/// `notary remove <gun> <target>`.
pub fn remove(
    ctx: &Context,
    gun: &str,
    target: &str,
    roles: &[String],
    publish_now: bool,
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    let cl = ctx.changelist(&g);
    for scope in scopes(roles)? {
        cl.add(&target_change(ACTION_DELETE, &scope, target, None)?)?;
    }
    writeln!(out, "Removal of {target} from {g} staged for next publish.")?;
    auto_publish(ctx, &g, publish_now, out)
}

/// `notary status <gun>`.
pub fn status(ctx: &Context, gun: &str, out: &mut dyn Write) -> CmdResult {
    let g = ctx.gun(gun)?;
    let (changes, _) = ctx.changelist(&g).list()?;
    if changes.is_empty() {
        writeln!(out, "No unpublished changes for {g}")?;
        return Ok(());
    }
    write!(out, "Unpublished changes for {g}:\n\n")?;
    let mut rows = vec![
        ["#", "ACTION", "SCOPE", "TYPE", "PATH"]
            .map(String::from)
            .to_vec(),
        ["-", "------", "-----", "----", "----"]
            .map(String::from)
            .to_vec(),
    ];
    for (i, c) in changes.iter().enumerate() {
        let c = &c.change;
        rows.push(vec![
            i.to_string(),
            c.action.clone(),
            c.role.clone(),
            c.change_type.clone(),
            c.path.clone(),
        ]);
    }
    write!(out, "{}", tabwrite(&rows))?;
    Ok(())
}

/// `notary reset <gun> [-n N]... [--all]`.
pub fn reset(
    ctx: &Context,
    gun: &str,
    numbers: &[usize],
    all: bool,
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    if !all && numbers.is_empty() {
        return Err(msg("must specify changes to reset"));
    }
    let cl = ctx.changelist(&g);
    if all {
        cl.clear()?
    } else {
        cl.remove(numbers)?
    }
    writeln!(
        out,
        "Successfully reset specified changes for repository {g}"
    )?;
    Ok(())
}

fn do_publish(ctx: &Context, g: &Gun, cs: &mut CryptoService) -> CmdResult {
    let cl = ctx.changelist(g);
    let (changes, _) = cl.list()?;
    let mut remote = ctx.remote(g)?;
    let mut cache = FileCache::new(&ctx.trust_dir, g);
    let choice_path = root_choice_path(ctx, g);
    let choice: Option<crate::publish::RootChoice> = match std::fs::read(&choice_path) {
        Ok(b) => Some(
            serde_json::from_slice(&b)
                .map_err(|e| msg(format!("{}: {e}", choice_path.display())))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e.into()),
    };
    let applied = publish(
        &mut remote,
        &mut cache,
        g,
        cs,
        &changes,
        choice.as_ref(),
        ctx.trust_pinning.clone(),
        Utc::now(),
    )?;
    // Only what was published is cleared: a change staged meanwhile stays.
    cl.remove_files(&applied)?;
    // The repository exists now; its root is what the server has.
    remove_if_present(&choice_path)?;
    Ok(())
}

/// `notary publish <gun>`.
pub fn publish_cmd(ctx: &Context, gun: &str, out: &mut dyn Write) -> CmdResult {
    let g = ctx.gun(gun)?;
    writeln!(out, "Pushing changes to {g}")?;
    do_publish(ctx, &g, &mut ctx.crypto()?)?;
    writeln!(out, "Successfully published changes for repository {g}")?;
    Ok(())
}

fn read_repo(ctx: &Context, g: &Gun) -> anyhow_like::Result<notarius_tuf::repo::Repo> {
    let mut remote = ctx.remote_for(g, crate::remote::Permission::ReadOnly)?;
    let mut cache = FileCache::new(&ctx.trust_dir, g);
    let opts = UpdateOptions {
        gun: g.to_string(),
        trust_pinning: ctx.trust_pinning.clone(),
        always_check_initialized: false,
        now: Utc::now(),
    };
    let u = load_tuf_repo(&opts, &mut remote, &mut cache)?;
    for w in &u.warnings {
        eprintln!("{w}");
    }
    Ok(u.repo)
}

/// `notary list <gun> [-r role]...`.
pub fn list(ctx: &Context, gun: &str, roles: &[String], out: &mut dyn Write) -> CmdResult {
    let g = ctx.gun(gun)?;
    let repo = read_repo(ctx, &g)?;
    write!(out, "{}", pretty_targets(list_targets(&repo, roles)?))?;
    Ok(())
}

/// `notary lookup <gun> <target>`.
pub fn lookup(ctx: &Context, gun: &str, target: &str, out: &mut dyn Write) -> CmdResult {
    let g = ctx.gun(gun)?;
    let repo = read_repo(ctx, &g)?;
    let t = lookup_target(&repo, target, &[])
        .ok_or_else(|| msg(format!("No valid trust data for {target}")))?;
    writeln!(
        out,
        "{} sha256:{} {}",
        t.name,
        t.meta.sha256().map(hex::encode).unwrap_or_default(),
        t.meta.length
    )?;
    Ok(())
}

/// `notary key list`.
pub fn key_list(ctx: &Context, out: &mut dyn Write) -> CmdResult {
    // Every store's keys, as Notary lists them: a key on a hardware token appears again under
    // its file backup.
    let mut rows = Vec::new();
    for (location, keys) in ctx.crypto()?.list_by_store()? {
        rows.extend(keys.into_iter().map(|(id, i)| KeyRow {
            role: i.role,
            gun: i.gun,
            key_id: id,
            location: location.clone(),
        }));
    }
    write!(out, "\n{}\n", pretty_keys(rows))?;
    Ok(())
}

fn delegation_change(
    action: &str,
    role_name: &str,
    td: &crate::changelist::TufDelegation,
) -> anyhow_like::Result<Change> {
    Ok(Change {
        action: action.into(),
        role: role_name.into(),
        change_type: crate::changelist::TYPE_DELEGATION.into(),
        path: String::new(),
        data: Some(serde_json::to_vec(td)?),
    })
}

/// `notary delegation add <gun> <role> [cert or public key PEM]... [--paths p]... [--all-paths]`.
#[allow(clippy::too_many_arguments, reason = "one argument per notary flag")]
pub fn delegation_add(
    ctx: &Context,
    gun: &str,
    role_name: &str,
    key_files: &[PathBuf],
    paths: &[String],
    all_paths: bool,
    publish_now: bool,
    out: &mut dyn Write,
) -> CmdResult {
    use crate::changelist::TufDelegation;
    let g = ctx.gun(gun)?;
    if !role::is_delegation(role_name) {
        return Err(msg(format!(
            "failed to create delegation: tuf: invalid role {role_name}. invalid delegation role name"
        )));
    }
    if key_files.is_empty() && paths.is_empty() && !all_paths {
        return Err(msg(
            "must specify the Global Unique Name and the role of the delegation along with the public key certificate paths and/or a list of paths to add",
        ));
    }
    let mut keys = Vec::new();
    for f in key_files {
        let bytes = std::fs::read(f).map_err(|e| msg(format!("{}: {e}", f.display())))?;
        keys.push(
            notarius_crypto::keyfile::public_key_from_pem(&bytes, Utc::now())
                .map_err(|e| msg(format!("{}: {e}", f.display())))?,
        );
    }
    let mut paths = paths.to_vec();
    if all_paths {
        paths = vec![String::new()];
    }
    let cl = ctx.changelist(&g);
    if !keys.is_empty() {
        cl.add(&delegation_change(
            ACTION_CREATE,
            role_name,
            &TufDelegation {
                threshold: 1,
                add_keys: keys.clone(),
                ..Default::default()
            },
        )?)?;
    }
    if !paths.is_empty() {
        cl.add(&delegation_change(
            ACTION_CREATE,
            role_name,
            &TufDelegation {
                add_paths: paths.clone(),
                ..Default::default()
            },
        )?)?;
    }
    let ids: Vec<&str> = keys.iter().map(|k| k.canonical_id()).collect();
    let mut items = String::new();
    if !ids.is_empty() {
        items.push_str(&format!("with keys [{}], ", ids.join(" ")));
    }
    if !paths.is_empty() {
        items.push_str(&format!(
            "with paths [{}], ",
            pretty_paths(&paths).join("\n")
        ));
    }
    write!(
        out,
        "\nAddition of delegation role {role_name} {items}to repository \"{g}\" staged for next publish.\n\n"
    )?;
    if publish_now {
        writeln!(out, "Auto-publishing changes to {g}")?;
        do_publish(ctx, &g, &mut ctx.crypto()?)?;
        writeln!(out, "Successfully published changes for repository {g}")?;
    }
    Ok(())
}

/// A failure `notary` reports with `fatalf` directly: `* fatal: <message>` without the empty
/// line that precedes errors returned from a command.
#[derive(Debug)]
pub struct BareFatal(pub String);

impl std::fmt::Display for BareFatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BareFatal {}

/// Go's `fmt.Fscanln` into one string, then `y`/`yes` in any case (`askConfirm`).
fn ask_confirm(input: &mut dyn std::io::BufRead) -> bool {
    let mut line = String::new();
    if input.read_line(&mut line).unwrap_or(0) == 0 {
        return false;
    }
    let mut words = line.split_whitespace();
    match (words.next(), words.next()) {
        (Some(w), None) => w.eq_ignore_ascii_case("y") || w.eq_ignore_ascii_case("yes"),
        _ => false,
    }
}

fn auto_publish(ctx: &Context, g: &Gun, publish_now: bool, out: &mut dyn Write) -> CmdResult {
    if publish_now {
        writeln!(out, "Auto-publishing changes to {g}")?;
        do_publish(ctx, g, &mut ctx.crypto()?)?;
        writeln!(out, "Successfully published changes for repository {g}")?;
    }
    Ok(())
}

/// `notary delegation remove <gun> <role> [keyID]... [--paths p]... [--all-paths] [-y] [-p]`.
/// With neither keys nor paths the whole role goes, after a confirmation read from `input`
/// (or `-y`).
#[allow(clippy::too_many_arguments, reason = "one argument per notary flag")]
pub fn delegation_remove(
    ctx: &Context,
    gun: &str,
    role_name: &str,
    key_ids: &[String],
    paths: Option<&[String]>,
    all_paths: bool,
    yes: bool,
    publish_now: bool,
    input: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
) -> CmdResult {
    use crate::changelist::{ACTION_UPDATE, TufDelegation};
    let g = ctx.gun(gun)?;
    if !role::is_delegation(role_name) {
        return Err(msg(format!("invalid delegation name {role_name}")));
    }
    let remove_all = key_ids.is_empty() && paths.is_none() && !all_paths;
    // --all-paths wins over --paths.
    let paths = if all_paths { None } else { paths };
    let cl = ctx.changelist(&g);
    let update = |td: &TufDelegation| delegation_change(ACTION_UPDATE, role_name, td);
    if remove_all {
        writeln!(
            out,
            "\nAre you sure you want to remove all data for this delegation? (yes/no)"
        )?;
        if yes {
            writeln!(out, "Confirmed `yes` from flag")?;
        } else {
            out.flush()?;
            if !ask_confirm(input) {
                return Err(Box::new(BareFatal("Aborting action.".into())));
            }
        }
        cl.add(&Change {
            action: ACTION_DELETE.into(),
            role: role_name.into(),
            change_type: crate::changelist::TYPE_DELEGATION.into(),
            path: String::new(),
            data: None,
        })?;
    } else {
        if all_paths {
            cl.add(&update(&TufDelegation {
                clear_paths: true,
                ..Default::default()
            })?)?;
        }
        if let Some(p) = paths.filter(|p| !p.is_empty()) {
            cl.add(&update(&TufDelegation {
                remove_paths: p.to_vec(),
                ..Default::default()
            })?)?;
        }
        if !key_ids.is_empty() {
            cl.add(&update(&TufDelegation {
                remove_keys: key_ids.to_vec(),
                ..Default::default()
            })?)?;
        }
    }
    writeln!(out)?;
    if remove_all {
        writeln!(
            out,
            "Forced removal (including all keys and paths) of delegation role {role_name} to repository \"{g}\" staged for next publish."
        )?;
    } else {
        let mut items = String::new();
        if !key_ids.is_empty() {
            items.push_str(&format!("with keys [{}], ", key_ids.join(" ")));
        }
        if all_paths {
            items.push_str("with all paths, ");
        }
        if let Some(p) = paths {
            items.push_str(&format!("with paths [{}], ", pretty_paths(p).join("\n")));
        }
        writeln!(
            out,
            "Removal of delegation role {role_name} {items}to repository \"{g}\" staged for next publish."
        )?;
    }
    writeln!(out)?;
    auto_publish(ctx, &g, publish_now, out)
}

/// `notary delegation purge <gun> --key <id>... [-p]`: stages the removal of these (canonical)
/// key IDs from every delegation (scope `targets/*`).
pub fn delegation_purge(
    ctx: &Context,
    gun: &str,
    key_ids: &[String],
    publish_now: bool,
    out: &mut dyn Write,
) -> CmdResult {
    use crate::changelist::{ACTION_UPDATE, TufDelegation};
    if key_ids.is_empty() {
        return Err(msg(
            "Please provide at least one key ID to be removed using the --key flag",
        ));
    }
    let g = ctx.gun(gun)?;
    ctx.changelist(&g).add(&delegation_change(
        ACTION_UPDATE,
        "targets/*",
        &TufDelegation {
            remove_keys: key_ids.to_vec(),
            ..Default::default()
        },
    )?)?;
    write!(
        out,
        "Removal of the following keys from all delegations in {g} staged for next publish:\n\t- {}\n",
        key_ids.join("\n\t- ")
    )?;
    auto_publish(ctx, &g, publish_now, out)
}

fn pretty_paths(paths: &[String]) -> Vec<String> {
    let mut p = paths.to_vec();
    p.sort();
    p.into_iter()
        .map(|s| {
            if s.is_empty() {
                "\"\" <all paths>".to_owned()
            } else {
                s
            }
        })
        .collect()
}

/// `notary delegation list <gun>`: every delegation in the repository, key IDs canonical.
pub fn delegation_list(ctx: &Context, gun: &str, out: &mut dyn Write) -> CmdResult {
    let g = ctx.gun(gun)?;
    let repo = read_repo(ctx, &g)?;
    let mut roles: Vec<(String, Vec<String>, Vec<String>, i64)> = Vec::new();
    repo.walk_targets("", "", &[], |t, _| {
        for d in &t.signed.delegations.roles {
            let ids = d
                .keyids
                .iter()
                .map(|id| {
                    t.signed
                        .delegations
                        .keys
                        .get(id)
                        .map(|k| k.canonical_id().to_owned())
                        .unwrap_or_else(|| id.clone())
                })
                .collect();
            roles.push((d.name.clone(), d.paths.clone(), ids, d.threshold));
        }
        Ok(notarius_tuf::repo::Walk::Continue)
    })?;
    if roles.is_empty() {
        write!(out, "\n\nNo delegations present in this repository.\n\n\n")?;
        return Ok(());
    }
    roles.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows = vec![
        ["ROLE", "PATHS", "KEY IDS", "THRESHOLD"]
            .map(String::from)
            .to_vec(),
        ["----", "-----", "-------", "---------"]
            .map(String::from)
            .to_vec(),
    ];
    for (name, paths, ids, threshold) in roles {
        let pp = pretty_paths(&paths);
        rows.push(vec![
            name,
            pp.first().cloned().unwrap_or_default(),
            ids.first().cloned().unwrap_or_default(),
            threshold.to_string(),
        ]);
        for i in 1..pp.len().max(ids.len()) {
            rows.push(vec![
                String::new(),
                pp.get(i).cloned().unwrap_or_default(),
                ids.get(i).cloned().unwrap_or_default(),
                String::new(),
            ]);
        }
    }
    write!(out, "\n{}\n", tabwrite(&rows))?;
    Ok(())
}

/// The passphrase source of a command: environment variables, then the terminal. Notary makes
/// a fresh one where a cached answer must not be reused (the new passphrase of `key passwd`).
pub fn retriever() -> EnvRetriever<notarius_crypto::passphrase::PromptRetriever<TtyTerminal>> {
    EnvRetriever::from_process_env(Some(notarius_crypto::passphrase::PromptRetriever::new(
        TtyTerminal,
    )))
}

/// `notary key import <pem>... [-r role] [-g gun]` (Notary's `ImportKeys`): every PEM block of
/// each file, so a `key export` bundle (ours or notary's) comes back as it was. An unencrypted
/// key is encrypted with a passphrase for its role; an encrypted one is stored as it is under
/// its `path` header. Each file is checked completely before any of it is written.
pub fn key_import(
    ctx: &Context,
    files: &[PathBuf],
    role_flag: Option<&str>,
    gun_flag: Option<&str>,
) -> CmdResult {
    let ks = FileKeyStore::open(&ctx.trust_dir)?;
    let mut retriever = retriever();
    for f in files {
        ks.import_file(
            f,
            role_flag.unwrap_or_default(),
            gun_flag.unwrap_or_default(),
            &mut retriever,
        )
        .map_err(|e| match e {
            notarius_crypto::keystore::KeyStoreError::Io { source, .. } => {
                msg(format!("open {}: {source}", f.display()))
            }
            e => e.into(),
        })?;
    }
    Ok(())
}

/// `notary key export [--key id,...] [--gun gun,...] [-o file]`: the stored key files, still
/// encrypted, each PEM block with a `path: <key ID>` header; to `output` (mode 0600, written
/// only once everything was read) or stdout.
pub fn key_export(
    ctx: &Context,
    key_ids: &[String],
    guns: &[String],
    output: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> CmdResult {
    if !guns.is_empty() && !key_ids.is_empty() {
        return Err(msg(
            "Only the --gun or --key flag may be provided, not a mix of the two flags",
        ));
    }
    let ks = FileKeyStore::open(&ctx.trust_dir)?;
    let pem = if let Some((first, rest)) = guns.split_first() {
        // Every GUN asked for; Notary exports only the first.
        let mut all = ks.export_gun(first)?;
        for g in rest {
            all.push_str(&ks.export_gun(g)?);
        }
        all
    } else if !key_ids.is_empty() {
        let ids: Vec<&str> = key_ids.iter().map(String::as_str).collect();
        ks.export_ids(&ids)?
    } else {
        ks.export_all()?
    };
    match output {
        Some(p) => write_output_file(p, pem.as_bytes())?,
        None => out.write_all(pem.as_bytes())?,
    }
    Ok(())
}

/// Writes a file the user named (mode 0600, atomically), into a directory that must exist, as
/// Go's `os.OpenFile` needs.
fn write_output_file(p: &std::path::Path, bytes: &[u8]) -> CmdResult {
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !parent.is_dir() {
        return Err(msg(format!(
            "open {}: no such file or directory",
            p.display()
        )));
    }
    crate::fsutil::write_private_atomic(p, bytes)
        .map_err(|e| msg(format!("open {}: {e}", p.display())))?;
    Ok(())
}

fn check_key_id_arg(id: &str) -> CmdResult {
    // Notary checks the length only; anything else then matches no key.
    if id.len() != 64 {
        return Err(msg(format!("invalid key ID provided: {id}")));
    }
    Ok(())
}

/// `notary key remove <keyID>`: asks on `input` (unless `yes`, beyond Notary) and deletes the
/// key file. "no" is not a failure, as in Notary.
pub fn key_remove(
    ctx: &Context,
    key_id: &str,
    yes: bool,
    input: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
) -> CmdResult {
    check_key_id_arg(key_id)?;
    let ks = FileKeyStore::open(&ctx.trust_dir)?;
    writeln!(out)?;
    let result = (|| -> CmdResult {
        let info = ks
            .list()?
            .remove(key_id)
            .ok_or_else(|| msg(format!("No key with ID {key_id} found")))?;
        let desc = format!("{key_id} (role {}) from {}", info.role, ks.dir().display());
        if !yes {
            write!(out, "Are you sure you want to remove {desc}?  (yes/no)  ")?;
            out.flush()?;
            if !ask_confirm(input) {
                writeln!(out, "\nAborting action.")?;
                return Ok(());
            }
        }
        ks.remove(key_id)?;
        writeln!(out, "\nDeleted {desc}.")?;
        Ok(())
    })();
    writeln!(out)?;
    result
}

/// `notary key passwd <keyID>`: decrypts the key with a passphrase from `old` and stores it
/// again, encrypted with one chosen through `new` (a separate retriever, so an answer given
/// for the old passphrase is not reused). The file is replaced atomically, and only once the
/// key was decrypted.
pub fn key_passwd(
    ctx: &Context,
    key_id: &str,
    old: &mut dyn notarius_crypto::passphrase::PassphraseRetriever,
    new: &mut dyn notarius_crypto::passphrase::PassphraseRetriever,
    out: &mut dyn Write,
) -> CmdResult {
    check_key_id_arg(key_id)?;
    let ks = FileKeyStore::open(&ctx.trust_dir)?;
    let (key, info) = match ks
        .info(key_id)
        .and_then(|i| Ok((ks.get(key_id, old)?.0, i)))
    {
        Ok(found) => found,
        // Notary's message, then (beyond Notary) why.
        Err(e) => {
            return Err(msg(format!(
                "could not retrieve local key for key ID provided: {key_id}\n{e}"
            )));
        }
    };
    ks.add(&key, &info.role, &info.gun, new)?;
    write!(
        out,
        "\nSuccessfully updated passphrase for key ID: {key_id}\n"
    )?;
    Ok(())
}

/// `notarius backup <file>` (beyond Notary): the key files of `private/`, still encrypted, in a
/// tar archive (gzip for `.gz`/`.tgz`) written with mode 0600.
pub fn backup(ctx: &Context, file: &std::path::Path, out: &mut dyn Write) -> CmdResult {
    let (ids, skipped) = crate::backup::backup(&ctx.trust_dir, file)?;
    for s in skipped {
        eprintln!("not backed up (not a key file): {s}");
    }
    writeln!(
        out,
        "Backed up {} key{} from {} to {}",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        ctx.trust_dir.join("private").display(),
        file.display()
    )?;
    Ok(())
}

/// `notarius restore <file>` (beyond Notary): checks every key of the archive opens with its
/// passphrase, then writes them all into `private/`.
pub fn restore(ctx: &Context, file: &std::path::Path, out: &mut dyn Write) -> CmdResult {
    let r = crate::backup::restore(&ctx.trust_dir, file, &mut retriever())?;
    writeln!(
        out,
        "Restored {} key{} to {} ({} new, {} replaced, {} already there)",
        r.added.len() + r.replaced.len() + r.unchanged.len(),
        if r.added.len() + r.replaced.len() + r.unchanged.len() == 1 {
            ""
        } else {
            "s"
        },
        ctx.trust_dir.join("private").display(),
        r.added.len(),
        r.replaced.len(),
        r.unchanged.len()
    )?;
    Ok(())
}

/// `notary verify <gun> <target>`: the payload must match the target's hashes (and, beyond
/// Notary, its length); it is then echoed to `output` (or stdout) unless `quiet`.
pub fn verify(
    ctx: &Context,
    gun: &str,
    target: &str,
    payload: &[u8],
    quiet: bool,
    output: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    let repo = read_repo(ctx, &g)?;
    let t = lookup_target(&repo, target, &[]).ok_or_else(|| {
        msg(format!(
            "error retrieving target by name:{target}, error:No valid trust data for {target}"
        ))
    })?;
    t.meta
        .check_hashes(payload, target)
        .map_err(|e| msg(format!("data not present in the trusted collection, {e}")))?;
    if t.meta.length != payload.len() as i64 {
        return Err(msg(format!(
            "data not present in the trusted collection, length {} does not match the expected {}",
            payload.len(),
            t.meta.length
        )));
    }
    if quiet {
        return Ok(());
    }
    match output {
        Some(p) => crate::fsutil::write_private_atomic(p, payload)?,
        None => out.write_all(payload)?,
    }
    Ok(())
}

/// `notary delete <gun> [--remote]`: the local trust data (keys stay), and with `remote` the
/// server's.
pub fn delete(ctx: &Context, gun: &str, remote: bool, out: &mut dyn Write) -> CmdResult {
    let g = ctx.gun(gun)?;
    writeln!(out, "Deleting trust data for repository {g}")?;
    if remote {
        ctx.remote_for(&g, crate::remote::Permission::Admin)?
            .delete_all()?;
    }
    let dir = ctx.trust_dir.join("tuf").join(g.as_str());
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(msg(format!("{}: {e}", dir.display()))),
    }
    writeln!(
        out,
        "Successfully deleted local{} trust data for repository {g}",
        if remote { " and remote" } else { "" }
    )?;
    Ok(())
}

/// `notary key generate [ecdsa] [-r role] [-o prefix]`.
pub fn key_generate(
    ctx: &Context,
    algorithm: &str,
    role_name: &str,
    output: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> CmdResult {
    use notarius_crypto::passphrase::PassphraseRetriever as _;
    use notarius_crypto::private::{Algorithm, PrivateKey};
    if !algorithm.eq_ignore_ascii_case("ecdsa") {
        return Err(msg("Algorithm not allowed, possible values are: ECDSA"));
    }
    match output {
        None => {
            let mut cs = ctx.crypto()?;
            let pk = cs.create(role_name, "", Algorithm::Ecdsa)?;
            writeln!(
                out,
                "Generated new ecdsa {role_name} key with keyID: {}",
                pk.id()
            )?;
        }
        Some(prefix) => {
            let key = PrivateKey::generate(Algorithm::Ecdsa)?;
            let mut retriever: EnvRetriever<ConstantRetriever> =
                EnvRetriever::from_process_env(None);
            let pass = retriever.passphrase(key.id(), role_name, true, 0)?;
            let pem = notarius_crypto::keyfile::encode_key_file(&key, role_name, "", &pass);
            let key_path = std::path::PathBuf::from(format!("{}-key.pem", prefix.display()));
            let pub_path = std::path::PathBuf::from(format!("{}.pem", prefix.display()));
            crate::fsutil::write_private_atomic(&key_path, pem.as_bytes())?;
            let public = notarius_crypto::keyfile::go_pem_encode(
                "PUBLIC KEY",
                &[("role", role_name)],
                key.public_key().public(),
            );
            crate::fsutil::write_private_atomic(&pub_path, public.as_bytes())?;
            writeln!(
                out,
                "Generated new ecdsa {role_name} key with keyID: {}",
                key.id()
            )?;
        }
    }
    Ok(())
}

/// `notary key rotate <gun> <role> [-r] [-k <pem>]... [-l <n>]`: root asks for confirmation on
/// `input`. Key files are read (Notary's `readKey`) before the question and put into the key
/// store only after it and the role checks, and taken out again if the rotation fails.
#[allow(
    clippy::too_many_arguments,
    reason = "the flags of the command, its input and output"
)]
pub fn key_rotate(
    ctx: &Context,
    gun: &str,
    role_name: &str,
    server_managed: bool,
    key_files: &[PathBuf],
    legacy_versions: i64,
    input: &mut dyn std::io::BufRead,
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    let mut cs = ctx.crypto()?;
    let mut keys = Vec::new();
    let mut r = retriever();
    for f in key_files {
        keys.push(read_key_file(&cs, f, role_name, &mut r)?);
    }
    if role_name == role::ROOT {
        write!(
            out,
            "Warning: you are about to rotate your root key.\n\nYou must use your old key to sign this root rotation.\nAre you sure you want to proceed?  (yes/no)  "
        )?;
        out.flush()?;
        let mut answer = String::new();
        input.read_line(&mut answer)?;
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            writeln!(out, "\nAborting action.")?;
            return Ok(());
        }
    }
    crate::publish::check_rotation(role_name, server_managed)?;
    let mut added = Vec::new();
    for k in &keys {
        if cs.get_key_info(k.id()).is_some() || added.contains(&k.id().to_owned()) {
            continue;
        }
        if let Err(e) = cs.add_key(role_name, g.as_str(), k) {
            for id in &added {
                let _ = cs.remove_key(id);
            }
            return Err(msg(format!("Error importing key: {e}")));
        }
        added.push(k.id().to_owned());
    }
    let mut remote = ctx.remote_for(&g, crate::remote::Permission::Admin)?;
    let mut cache = FileCache::new(&ctx.trust_dir, &g);
    let result = crate::publish::rotate_key(
        &mut remote,
        &mut cache,
        &g,
        &mut cs,
        role_name,
        server_managed,
        &keys,
        legacy_versions,
        ctx.trust_pinning.clone(),
        Utc::now(),
    );
    if let Err(e) = result {
        for id in &added {
            let _ = cs.remove_key(id);
        }
        return Err(e.into());
    }
    writeln!(
        out,
        "Successfully rotated {role_name} key for repository {g}"
    )?;
    Ok(())
}

/// `notary witness <gun> <role>... [-p]`: stages re-signing of the roles as they are.
pub fn witness(
    ctx: &Context,
    gun: &str,
    roles: &[String],
    publish_now: bool,
    out: &mut dyn Write,
) -> CmdResult {
    let g = ctx.gun(gun)?;
    let cl = ctx.changelist(&g);
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for r in roles {
        if r == role::TARGETS || role::is_delegation(r) {
            cl.add(&Change {
                action: crate::changelist::ACTION_UPDATE.into(),
                role: r.clone(),
                change_type: crate::changelist::TYPE_WITNESS.into(),
                path: String::new(),
                data: None,
            })?;
            ok.push(r.as_str());
        } else {
            failed.push(r.as_str());
        }
    }
    if !failed.is_empty() {
        write!(
            out,
            "Some roles have failed to be marked for witnessing: tuf: invalid role {}. only targets roles can be witnessed",
            failed.join(", ")
        )?;
    }
    write!(
        out,
        "The following roles were successfully marked for witnessing on the next publish:\n\t- {}\n",
        ok.join("\n\t- ")
    )?;
    if publish_now {
        writeln!(out, "Auto-publishing changes to {g}")?;
        do_publish(ctx, &g, &mut ctx.crypto()?)?;
        writeln!(out, "Successfully published changes for repository {g}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_lists_parse_tabs_spaces_hashes_and_refuse_bad_lines() {
        let h = "ab".repeat(32);
        let list = format!(
            "# comment\n\nname with space\tdir/file one\r\nplain   rel/path\nhashed\tsha256:{h}:42\nbare {h}:0\n"
        );
        let got = parse_bulk_list(&list).unwrap();
        assert_eq!(
            got,
            [
                (
                    "name with space".to_owned(),
                    BulkSource::File("dir/file one".into())
                ),
                ("plain".to_owned(), BulkSource::File("rel/path".into())),
                (
                    "hashed".to_owned(),
                    BulkSource::Hash {
                        sha256: vec![0xab; 32],
                        size: 42
                    }
                ),
                (
                    "bare".to_owned(),
                    BulkSource::Hash {
                        sha256: vec![0xab; 32],
                        size: 0
                    }
                ),
            ]
        );
        for (bad, what) in [
            ("only-a-name\n", "line 1: expected"),
            (
                "a\tx\nb\tsha256:abcd:1\n",
                "line 2: expected sha256:<64 hex digits>",
            ),
            (&format!("a\t{h}:-1\n"), "line 1: invalid size"),
            (&format!("a\t{h}:lots\n"), "line 1: invalid size"),
            (
                "a\tx\n# c\na\ty\n",
                "line 3: target \"a\" is already listed (entry 1)",
            ),
            ("# nothing\n\n", "no targets listed"),
            ("a\u{7}b\tx\n", "control character"),
        ] {
            let e = parse_bulk_list(bad).unwrap_err().to_string();
            assert!(e.contains(what), "{bad:?}: {e}");
        }
    }
}
