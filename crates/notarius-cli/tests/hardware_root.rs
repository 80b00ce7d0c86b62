//! The root key on a hardware token end to end: `notarius` with SoftHSM2 as its PKCS#11 module
//! initialises and publishes a repository on the real notary-server, rotates the targets key
//! (a root signature made on the token), and the real `notary` verifies everything from a
//! trust directory of its own.

mod common;
#[path = "../../notarius-pkcs11/tests/common/softhsm.rs"]
mod softhsm;

use std::path::Path;
use std::process::Output;

use common::{NOTARIUS, ok, run_with};
use notarius_testpeer::{Peer, notary, require_peer, text};
use softhsm::SoftHsm;

fn with_token(hsm: &SoftHsm, trust: &Path, args: &[&str], peer: &Peer, pin: &str) -> Output {
    run_with(
        NOTARIUS,
        trust,
        args,
        Some(peer),
        b"",
        &[
            ("SOFTHSM2_CONF", Some(hsm.conf.to_str().unwrap())),
            ("NOTARIUS_PKCS11_MODULE", Some(hsm.module.to_str().unwrap())),
            ("NOTARIUS_PKCS11_PIN", Some(pin)),
        ],
    )
}

/// The root key IDs `key list` shows at `location`.
fn root_ids_at(list: &str, location: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            (cols.first() == Some(&"root") && cols.last() == Some(&location))
                .then(|| cols[cols.len() - 2].to_owned())
        })
        .collect()
}

#[test]
fn root_key_on_softhsm_publishes_and_rotates_and_notary_verifies() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let Some(hsm) = SoftHsm::with_token() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/hardware-root";
    let payload = trust.path().join("payload");
    std::fs::write(&payload, b"signed through a token").unwrap();

    ok(
        with_token(
            &hsm,
            trust.path(),
            &["init", "-p", gun],
            &peer,
            softhsm::USER_PIN,
        ),
        "notarius init -p",
    );
    // The root key is on the token, and backed up encrypted in private/.
    let list = ok(
        with_token(
            &hsm,
            trust.path(),
            &["key", "list"],
            &peer,
            softhsm::USER_PIN,
        ),
        "notarius key list",
    );
    let on_token = root_ids_at(&list, "pkcs11:notarius-test");
    assert_eq!(on_token.len(), 1, "{list}");
    let root_id = &on_token[0];
    let backup = trust.path().join(format!("private/{root_id}.key"));
    assert!(backup.is_file(), "{list}");
    let private_dir = trust.path().join("private").display().to_string();
    assert_eq!(
        root_ids_at(&list, &private_dir),
        std::slice::from_ref(root_id),
        "{list}"
    );

    // Without the backup, only the token holds the root key: what follows is signed there.
    let saved = std::fs::read(&backup).unwrap();
    std::fs::remove_file(&backup).unwrap();

    ok(
        with_token(
            &hsm,
            trust.path(),
            &["add", gun, "v1", payload.to_str().unwrap()],
            &peer,
            softhsm::USER_PIN,
        ),
        "notarius add",
    );
    ok(
        with_token(
            &hsm,
            trust.path(),
            &["publish", gun],
            &peer,
            softhsm::USER_PIN,
        ),
        "notarius publish",
    );
    // A wrong PIN fails the root signature, and nothing else signs instead.
    let wrong = with_token(
        &hsm,
        trust.path(),
        &["key", "rotate", gun, "targets"],
        &peer,
        "9999",
    );
    assert!(!wrong.status.success(), "{}", text(&wrong));
    assert!(!text(&wrong).contains("9999"), "{}", text(&wrong));
    // The token now counts a failure; one correct PIN is still accepted and resets it.
    ok(
        with_token(
            &hsm,
            trust.path(),
            &["key", "rotate", gun, "targets"],
            &peer,
            softhsm::USER_PIN,
        ),
        "notarius key rotate targets",
    );
    std::fs::write(&backup, saved).unwrap();

    // The real notary, from a trust directory of its own, verifies root (version 2, signed on
    // the token), the new targets key's targets and the target.
    let other = tempfile::tempdir().unwrap();
    let o = notary(other.path(), &["list", gun], Some(&peer));
    let listed = text(&o);
    assert!(o.status.success(), "notary list: {listed}");
    assert!(listed.contains("v1"), "{listed}");
    let o = notary(other.path(), &["lookup", gun, "v1"], Some(&peer));
    assert!(o.status.success(), "notary lookup: {}", text(&o));
    // notary trusts the root certificate whose key is the token's.
    let root_json =
        std::fs::read(other.path().join(format!("tuf/{gun}/metadata/root.json"))).unwrap();
    let root: serde_json::Value = serde_json::from_slice(&root_json).unwrap();
    assert_eq!(root["signed"]["version"], 2, "{root}");
    let root_key = root["signed"]["roles"]["root"]["keyids"][0]
        .as_str()
        .unwrap();
    let cert_key: notarius_tuf::keys::PublicKey =
        serde_json::from_value(root["signed"]["keys"][root_key].clone()).unwrap();
    assert_eq!(
        cert_key.canonical_id(),
        root_id.as_str(),
        "root.json's certificate is for the token's key"
    );
}
