//! Keys written by our key store, used by the real `notary` 0.7 CLI: listed with the right role
//! and GUN, and used to publish a repository to a real notary-server.
//!
//! Needs the Debian `notary` package and the peer scripts of `shared/peer`. Without them the
//! test says so and passes, except under `CI=true`, where a missing peer is a failure.

use notarius_crypto::keystore::FileKeyStore;
use notarius_crypto::passphrase::ConstantRetriever;
use notarius_crypto::private::{Algorithm, PrivateKey};
use notarius_testpeer::{Peer, notary, require_peer, text};
use zeroize::Zeroizing;

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
