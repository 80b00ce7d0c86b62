//! Writes the `verify_signatures` seeds signed by the fixed keys:
//! `cargo run --example make_seeds -- seeds/verify_signatures` from `fuzz/`.
//! ECDSA signatures are randomised, so rerunning changes the bytes but not what they prove.

use notarius_fuzz::{FixedKey, SIGNED_DOCS, signed_envelope};
use notarius_tuf::sign::Signer;
use std::path::PathBuf;

fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).expect("usage: make_seeds DIR"));
    std::fs::create_dir_all(&dir).expect("create seed dir");
    let (ed, ec) = (FixedKey::ed25519(), FixedKey::ecdsa());
    let sets: [(&str, Vec<&dyn Signer>); 3] = [
        ("ed25519", vec![&ed]),
        ("ecdsa", vec![&ec]),
        ("both", vec![&ed, &ec]),
    ];
    for (i, doc) in SIGNED_DOCS.iter().enumerate() {
        for (name, signers) in &sets {
            let path = dir.join(format!("fixed-doc{i}-{name}.json"));
            std::fs::write(&path, signed_envelope(doc, signers)).expect("write seed");
            println!("{}", path.display());
        }
    }
}
