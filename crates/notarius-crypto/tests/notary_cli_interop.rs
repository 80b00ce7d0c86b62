//! Keys written by our key store, used by the real `notary` 0.7 CLI: listed with the right role
//! and GUN, and used to publish a repository to a real notary-server.
//!
//! Needs the Debian `notary` package and the peer scripts of `shared/peer`. Without them the
//! test says so and passes, except under `CI=true`, where a missing peer is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use notarius_crypto::keystore::FileKeyStore;
use notarius_crypto::passphrase::ConstantRetriever;
use notarius_crypto::private::{Algorithm, PrivateKey};
use zeroize::Zeroizing;

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn peer_scripts() -> Option<PathBuf> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    [
        std::env::var_os("NOTARY_PEER_SCRIPTS").map(PathBuf::from),
        Some(repo.join("../shared/peer")),
        Some(PathBuf::from("/work/shared/peer")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.join("start.sh").is_file())
}

/// Skips (or, in CI, fails) when the reference is not installed.
fn require_peer() -> Option<PathBuf> {
    let scripts = peer_scripts();
    if have("notary") && have("notary-server") && scripts.is_some() {
        return scripts;
    }
    let msg = "the real notary (Debian package `notary`) and shared/peer scripts are needed";
    assert!(!ci(), "{msg}");
    eprintln!("SKIPPED: {msg}");
    None
}

/// A notary-server on loopback, stopped when dropped.
struct Peer {
    dir: tempfile::TempDir,
    scripts: PathBuf,
    url: String,
}

impl Peer {
    fn start(scripts: &Path) -> Peer {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("bash")
            .arg(scripts.join("start.sh"))
            .arg(dir.path())
            .env("NOTARY_PEER_STORAGE", "memory")
            .env("NOTARY_PEER_TRUST", "local")
            .output()
            .unwrap();
        let peer = Peer {
            dir,
            scripts: scripts.to_owned(),
            url: String::new(),
        };
        assert!(
            out.status.success(),
            "start.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = std::fs::read_to_string(peer.dir.path().join("peer.env")).unwrap();
        let mut peer = peer;
        peer.url = env
            .lines()
            .find_map(|l| l.strip_prefix("NOTARY_PEER_URL="))
            .unwrap()
            .trim()
            .to_owned();
        peer
    }

    fn ca(&self) -> PathBuf {
        self.dir.path().join("certs/ca.crt")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(self.scripts.join("stop.sh"))
            .arg(self.dir.path())
            .output();
    }
}

fn notary(trust: &Path, args: &[&str], peer: Option<&Peer>) -> Output {
    let mut c = Command::new("notary");
    c.arg("-d").arg(trust);
    if let Some(p) = peer {
        c.arg("-s").arg(&p.url).arg("--tlscacert").arg(p.ca());
    }
    c.args(args)
        .env("NOTARY_ROOT_PASSPHRASE", "ourrootpass")
        .env("NOTARY_TARGETS_PASSPHRASE", "ourtargetspass")
        .env("NOTARY_SNAPSHOT_PASSPHRASE", "oursnapshotpass")
        .env("NOTARY_DELEGATION_PASSPHRASE", "ourdelegationpass")
        .env("HOME", trust)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn notary_lists_and_publishes_with_keys_we_wrote() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let trust = tempfile::tempdir().unwrap();
    let ks = FileKeyStore::open(trust.path()).unwrap();
    let root = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    let deleg = PrivateKey::generate(Algorithm::Ecdsa).unwrap();
    ks.add(
        &root,
        "root",
        "",
        &mut ConstantRetriever(Zeroizing::new("ourrootpass".into())),
    )
    .unwrap();
    ks.add(
        &deleg,
        "targets/releases",
        "",
        &mut ConstantRetriever(Zeroizing::new("ourdelegationpass".into())),
    )
    .unwrap();

    let list = notary(trust.path(), &["key", "list"], None);
    let out = text(&list);
    assert!(list.status.success(), "{out}");
    let row = |id: &str| {
        out.lines()
            .find(|l| l.contains(id))
            .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
    };
    assert_eq!(row(root.id()).as_deref(), Some("root"), "{out}");
    assert_eq!(
        row(deleg.id()).as_deref(),
        Some("targets/releases"),
        "{out}"
    );

    // `notary key import` takes a key we exported, keeps its passphrase, and lists it.
    let exported = trust.path().join("exported.pem");
    std::fs::write(&exported, ks.export(deleg.id()).unwrap()).unwrap();
    let other = tempfile::tempdir().unwrap();
    let imp = notary(
        other.path(),
        &["key", "import", exported.to_str().unwrap()],
        None,
    );
    assert!(imp.status.success(), "{}", text(&imp));
    let listed = text(&notary(other.path(), &["key", "list"], None));
    assert!(
        listed
            .lines()
            .any(|l| l.contains(deleg.id()) && l.trim_start().starts_with("targets/releases")),
        "{listed}"
    );
    let back = FileKeyStore::open(other.path()).unwrap();
    let (k, role) = back
        .get(
            deleg.id(),
            &mut ConstantRetriever(Zeroizing::new("ourdelegationpass".into())),
        )
        .unwrap();
    assert_eq!(
        (k.public_key(), role.as_str()),
        (deleg.public_key(), "targets/releases")
    );

    // notary picks our root key, signs the repository with it and publishes.
    let peer = Peer::start(&scripts);
    let gun = "example.com/ours";
    let init = notary(trust.path(), &["init", "-p", gun], Some(&peer));
    let out = text(&init);
    assert!(init.status.success(), "{out}");
    assert!(
        out.contains(&format!("Root key found, using: {}", root.id())),
        "{out}"
    );

    // The published root's root role is a certificate over our key.
    let root_json =
        std::fs::read(trust.path().join(format!("tuf/{gun}/metadata/root.json"))).unwrap();
    let env = notarius_tuf::metadata::Envelope::parse("root", &root_json).unwrap();
    let r: notarius_tuf::metadata::Root = env.decode("root").unwrap();
    let ids: Vec<String> = r.roles["root"]
        .keyids
        .iter()
        .map(|id| r.keys[id].canonical_id().to_owned())
        .collect();
    assert_eq!(ids, [root.id().to_owned()]);

    // And a reader with an empty trust dir verifies what was published.
    let reader = tempfile::tempdir().unwrap();
    let l = notary(reader.path(), &["list", gun], Some(&peer));
    assert!(l.status.success(), "{}", text(&l));
}
