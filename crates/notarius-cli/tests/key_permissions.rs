//! Key files other users can read are named, with the `chmod` that fixes them, on every command
//! that opens the key store; nothing is changed for the user (catalogue KS-05).

use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

const NOTARIUS: &str = env!("CARGO_BIN_EXE_notarius");

#[test]
fn ks05_readable_key_files_are_warned_about_with_the_fix() {
    let t = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Command::new(NOTARIUS)
            .arg("-d")
            .arg(t.path())
            .args(args)
            .env("HOME", t.path())
            .env("NOTARY_ROOT_PASSPHRASE", "a root passphrase")
            .output()
            .unwrap()
    };
    let o = run(&["key", "generate", "ecdsa"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let private = t.path().join("private");
    let key = std::fs::read_dir(&private)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "key"))
        .unwrap();
    // As written: 0600 in a 0700 folder, and no warning.
    let o = run(&["key", "list"]);
    assert!(o.status.success());
    assert!(!String::from_utf8_lossy(&o.stderr).contains("other users"));

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = run(&["key", "list"]);
    assert!(o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!(
            "the private key file {} can be read by other users (mode 0644): run chmod 600 {}",
            key.display(),
            key.display()
        )),
        "{e}"
    );
    assert_eq!(e.matches("chmod 600").count(), 1, "once per file: {e}");
    // The key file is left for the user to fix; the folder the store keeps at 0700 (only
    // ever narrowed).
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&key), mode(&private)), (0o644, 0o700));
}
