//! Our update loop, over HTTPS, reads repositories the real `notary` CLI published to the real
//! `notary-server` (its local trust service signing snapshot and timestamp), over verified TLS.

use notarius_client::Repository;
use notarius_client::cache::FileCache;
use notarius_client::changelist::Change;
use notarius_client::remote::{HttpRemote, Remote as _, TlsFiles};
use notarius_testpeer::{Peer, notary, require_peer, text};
use notarius_tuf::role::Gun;
use notarius_tuf::store::{MetadataCache, RemoteStore};
use notarius_tuf::update::{UpdateOptions, load_tuf_repo};

#[test]
fn the_update_loop_reads_what_notary_published() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let publisher = tempfile::tempdir().unwrap();
    let gun_s = "example.com/read-by-notarius";
    let content = publisher.path().join("payload");
    std::fs::write(&content, b"hello from notary").unwrap();
    for args in [
        vec!["init", gun_s],
        vec!["add", gun_s, "v1&<tag>", content.to_str().unwrap()],
        vec!["publish", gun_s],
    ] {
        let o = notary(publisher.path(), &args, Some(&peer));
        assert!(o.status.success(), "notary {args:?}: {}", text(&o));
    }

    let gun = Gun::new(gun_s).unwrap();
    let tls = TlsFiles {
        ca: Some(peer.ca()),
        ..Default::default()
    };
    let mut remote = HttpRemote::new(&peer.url, &gun, &tls).unwrap();
    remote.ping().unwrap();
    let reader = tempfile::tempdir().unwrap();
    let mut cache = FileCache::new(reader.path(), &gun);
    let opts = UpdateOptions {
        gun: gun_s.into(),
        trust_pinning: Default::default(),
        always_check_initialized: false,
        now: chrono::Utc::now(),
    };
    let u = load_tuf_repo(&opts, &mut remote, &mut cache).unwrap();
    let t = &u.repo.targets_roles()["targets"].signed.targets;
    let meta = &t["v1&<tag>"];
    assert_eq!(meta.length, 17);
    assert_eq!(
        hex::encode(meta.sha256().unwrap()),
        hex::encode(notarius_tuf::metadata::sha256(b"hello from notary"))
    );
    // The cache holds exactly what the server served.
    let served = remote.get_sized("targets", None).unwrap();
    assert_eq!(cache.get_sized("targets", None).unwrap(), served);

    // A repository that does not exist is reported in Notary's words.
    let missing = Gun::new("example.com/never-initialised").unwrap();
    let mut r2 = HttpRemote::new(&peer.url, &missing, &tls).unwrap();
    let e = load_tuf_repo(
        &UpdateOptions {
            gun: missing.to_string(),
            ..opts
        },
        &mut r2,
        &mut FileCache::new(reader.path(), &missing),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{} does not have trust data for example.com/never-initialised",
            r2.location()
        )
    );
}

#[test]
fn notary_reads_what_we_published() {
    use notarius_crypto::keystore::FileKeyStore;
    use notarius_crypto::passphrase::ConstantRetriever;
    use notarius_crypto::service::CryptoService;
    use notarius_tuf::metadata::FileMeta;

    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let gun_s = "example.com/published-by-notarius";
    let gun = Gun::new(gun_s).unwrap();
    let tls = TlsFiles {
        ca: Some(peer.ca()),
        ..Default::default()
    };
    let remote = HttpRemote::new(&peer.url, &gun, &tls).unwrap();
    let trust = tempfile::tempdir().unwrap();
    let mut cs = CryptoService::new(
        vec![Box::new(FileKeyStore::open(trust.path()).unwrap())],
        Box::new(ConstantRetriever(zeroize::Zeroizing::new(
            "ourpassphrase".into(),
        ))),
    );
    let cl = notarius_client::changelist::FileChangelist::new(trust.path(), &gun);
    for (name, bytes) in [
        ("latest", &b"image manifest"[..]),
        ("t&<x> \u{2028} caf\u{e9} \u{1F600}", b"odd"),
    ] {
        cl.add(&Change::add_target(None, name, FileMeta::from_bytes(bytes)))
            .unwrap();
    }
    // As `init -p` does: the server makes its timestamp key while ours are made; a key asked
    // for meanwhile is asked for directly, not given the pending answer.
    remote.prefetch_key("timestamp");
    let snapshot_key = remote.get_key("snapshot").unwrap();
    let timestamp_key = remote.get_key("timestamp").unwrap();
    assert_ne!(
        timestamp_key, snapshot_key,
        "the snapshot key was asked for directly, not given the pending timestamp answer"
    );
    // The first publish asks for the timestamp key ahead in the same way (notary-server
    // refuses a root without its key).
    let mut repo = Repository::new(trust.path(), gun.clone(), remote, Default::default());
    let published = repo.publish(&mut cs, chrono::Utc::now()).unwrap();
    assert_eq!(published.applied, 2);

    // The real notary client, starting from nothing, verifies and lists it.
    let reader = tempfile::tempdir().unwrap();
    let list = notary(reader.path(), &["list", gun_s], Some(&peer));
    let out = text(&list);
    assert!(list.status.success(), "{out}");
    assert!(out.contains("latest") && out.contains("t&<x>"), "{out}");
    let lookup = notary(reader.path(), &["lookup", gun_s, "latest"], Some(&peer));
    let out = text(&lookup);
    assert!(
        out.contains(&hex::encode(notarius_tuf::metadata::sha256(
            b"image manifest"
        ))),
        "{out}"
    );
    // And its key list of the publisher's trust dir shows our keys in Notary's layout.
    let keys = text(&notary(trust.path(), &["key", "list"], None));
    assert!(
        keys.contains("root") && keys.contains("targets") && keys.contains("snapshot"),
        "{keys}"
    );
}

/// A target change staged in Notary's changelist format, published by us into a repository the
/// real `notary` created in the same trust directory, with the keys it made.
#[test]
fn we_publish_into_a_repository_notary_created_with_its_own_keys() {
    use notarius_client::changelist::FileChangelist;
    use notarius_crypto::keystore::FileKeyStore;
    use notarius_crypto::passphrase::{ConstantRetriever, EnvRetriever};
    use notarius_crypto::service::CryptoService;

    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun_s = "example.com/shared-trust-dir";
    let o = notary(trust.path(), &["init", "-p", gun_s], Some(&peer));
    assert!(o.status.success(), "{}", text(&o));

    let gun = Gun::new(gun_s).unwrap();
    let cl = FileChangelist::new(trust.path(), &gun);
    let meta = notarius_tuf::metadata::FileMeta::from_bytes(b"from notarius");
    cl.add(&Change::add_target(None, "ours", meta.clone()))
        .unwrap();
    // `notary status` reads our change file.
    let st = text(&notary(trust.path(), &["status", gun_s], None));
    assert!(st.contains("ours"), "{st}");

    // The passphrases notary's keys were made with (see notarius_testpeer::notary).
    let env = |k: &str| match k {
        "NOTARY_ROOT_PASSPHRASE" => Some("ourrootpass".to_owned()),
        "NOTARY_TARGETS_PASSPHRASE" => Some("ourtargetspass".to_owned()),
        "NOTARY_SNAPSHOT_PASSPHRASE" => Some("oursnapshotpass".to_owned()),
        _ => None,
    };
    let retriever: EnvRetriever<ConstantRetriever> = EnvRetriever::new(Box::new(env), None);
    let mut cs = CryptoService::new(
        vec![Box::new(FileKeyStore::open(trust.path()).unwrap())],
        Box::new(retriever),
    );
    let remote = HttpRemote::new(
        &peer.url,
        &gun,
        &TlsFiles {
            ca: Some(peer.ca()),
            ..Default::default()
        },
    )
    .unwrap();
    let mut repo = Repository::new(trust.path(), gun.clone(), remote, Default::default());
    let published = repo.publish(&mut cs, chrono::Utc::now()).unwrap();
    assert_eq!(published.applied, 1);

    let reader = tempfile::tempdir().unwrap();
    let out = text(&notary(reader.path(), &["list", gun_s], Some(&peer)));
    assert!(
        out.contains("ours") && out.contains(&hex::encode(meta.sha256().unwrap())),
        "{out}"
    );
    let st = text(&notary(trust.path(), &["status", gun_s], None));
    assert!(st.contains("No unpublished changes"), "{st}");
}
