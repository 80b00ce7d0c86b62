//! A trust server that cannot be reached, with nothing usable in the cache: `notarius` says
//! `client is offline` where `notary` does (Notary's failed ping makes its remote an
//! `OfflineStore`), and changes nothing.

use std::process::Output;

use notarius_testpeer::{client_at, require_peer, text};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn an_unreachable_server_is_client_is_offline_as_in_notary() {
    if require_peer().is_none() {
        return;
    }
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}");
    let commands: [&[&str]; 5] = [
        &["list", "example.com/offline"],
        &["lookup", "example.com/offline", "v1"],
        &["publish", "example.com/offline"],
        &["key", "rotate", "example.com/offline", "snapshot", "-r"],
        &["delete", "--remote", "example.com/offline"],
    ];
    for args in commands {
        let ours_dir = tempfile::tempdir().unwrap();
        let theirs_dir = tempfile::tempdir().unwrap();
        let mut full = vec!["-s", url.as_str()];
        full.extend_from_slice(args);
        let ours = client_at(env!("CARGO_BIN_EXE_notarius"), ours_dir.path(), &full, None);
        let theirs = client_at("notary", theirs_dir.path(), &full, None);
        assert!(!ours.status.success(), "{args:?}: {}", text(&ours));
        // Nothing was written but what notary writes too (an empty trust dir layout).
        assert!(
            !ours_dir
                .path()
                .join("private")
                .read_dir()
                .is_ok_and(|mut d| d.next().is_some())
        );
        // Notary's output, then (beyond Notary) a line on what to check.
        let (notarys, next) = stdout(&ours)
            .split_once("\nnext: ")
            .map(|(a, b)| (format!("{a}\n"), b.to_owned()))
            .unwrap_or_default();
        assert_eq!(notarys, stdout(&theirs), "{args:?}: {}", text(&ours));
        assert!(next.contains("could not be reached"), "{args:?}: {next}");
        assert!(
            notarys.ends_with("* fatal: client is offline\n")
                || notarys.ends_with("* fatal: unable to rotate remote key: client is offline\n"),
            "{args:?}: {}",
            text(&ours)
        );
        assert!(
            text(&ours).contains(&format!("could not reach {url}")),
            "{}",
            text(&ours)
        );
    }
}
