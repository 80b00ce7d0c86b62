//! Every command that writes a file the user names (`backup`, `key export -o`, `key generate
//! -o`, `verify -o`) takes a bare name, `./name` and an absolute path, writes the file with
//! mode 0600, and leaves the folder it writes into exactly as it was: a backup into `/tmp`
//! must not make `/tmp` private to one user.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use common::{NOTARIUS, ok};
use notarius_testpeer::{Peer, require_peer, text};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// `notarius` run in `cwd` on `trust` against `peer`.
fn run_in(cwd: &Path, trust: &Path, peer: &Peer, args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(NOTARIUS)
        .current_dir(cwd)
        .arg("-d")
        .arg(trust)
        .arg("-s")
        .arg(&peer.url)
        .arg("--tlscacert")
        .arg(peer.ca())
        .args(args)
        .env("HOME", trust)
        .env("NOTARY_ROOT_PASSPHRASE", "ourrootpass")
        .env("NOTARY_TARGETS_PASSPHRASE", "ourtargetspass")
        .env("NOTARY_SNAPSHOT_PASSPHRASE", "oursnapshotpass")
        .env("NOTARY_DELEGATION_PASSPHRASE", "ourdelegationpass")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn output_files_take_any_path_and_leave_their_folder_alone() {
    let Some(scripts) = require_peer() else {
        return;
    };
    let peer = Peer::start(&scripts);
    let trust = tempfile::tempdir().unwrap();
    let gun = "example.com/outputs";
    let payload = trust.path().join("payload");
    std::fs::write(&payload, b"the bits").unwrap();
    let t = trust.path();
    ok(run_in(t, t, &peer, &["init", "-p", gun], b""), "init -p");
    ok(
        run_in(
            t,
            t,
            &peer,
            &["add", "-p", gun, "v1", payload.to_str().unwrap()],
            b"",
        ),
        "add -p",
    );

    let base = tempfile::tempdir().unwrap();
    for folder_mode in [0o755, 0o1777] {
        let dir = base.path().join(format!("out-{folder_mode:o}"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(folder_mode)).unwrap();
        for (form, n) in [("bare", 0), ("dot", 1), ("absolute", 2)] {
            let name = |stem: &str| -> String {
                match n {
                    0 => stem.to_owned(),
                    1 => format!("./{stem}"),
                    _ => dir.join(stem).display().to_string(),
                }
            };
            let cases: Vec<(Vec<String>, Vec<String>)> = vec![
                (
                    vec!["backup".into(), name(&format!("keys-{form}.tgz"))],
                    vec![format!("keys-{form}.tgz")],
                ),
                (
                    vec![
                        "key".into(),
                        "export".into(),
                        "-o".into(),
                        name(&format!("exp-{form}.pem")),
                    ],
                    vec![format!("exp-{form}.pem")],
                ),
                (
                    vec![
                        "key".into(),
                        "generate".into(),
                        "-r".into(),
                        "targets/releases".into(),
                        "-o".into(),
                        name(&format!("gen-{form}")),
                    ],
                    vec![format!("gen-{form}-key.pem"), format!("gen-{form}.pem")],
                ),
                (
                    vec![
                        "verify".into(),
                        gun.into(),
                        "v1".into(),
                        "-i".into(),
                        payload.display().to_string(),
                        "-o".into(),
                        name(&format!("verified-{form}")),
                    ],
                    vec![format!("verified-{form}")],
                ),
            ];
            for (args, files) in cases {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let o = run_in(&dir, t, &peer, &args, b"");
                assert!(o.status.success(), "{args:?} ({form}): {}", text(&o));
                for f in files {
                    let p = dir.join(&f);
                    assert!(p.is_file(), "{args:?} ({form}) did not write {f}");
                    assert_eq!(mode(&p), 0o600, "{f}");
                }
                assert_eq!(
                    mode(&dir),
                    folder_mode,
                    "{args:?} ({form}) changed the folder's mode"
                );
            }
        }
        assert_eq!(
            std::fs::read(dir.join("verified-bare")).unwrap(),
            b"the bits"
        );
    }
    // A folder that does not exist is an error that names the file, and nothing is made.
    let missing = base.path().join("no/such/folder/keys.tgz");
    let o = run_in(t, t, &peer, &["backup", missing.to_str().unwrap()], b"");
    assert!(!o.status.success());
    assert!(text(&o).contains("no/such/folder"), "{}", text(&o));
    assert!(!base.path().join("no").exists());
}
