//! Throughput of loading untrusted metadata, and signature checks per second.
//!
//! `cargo bench` from `benches/`; see README.md for shorter runs.

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use notarius_bench::{targets_file, timestamp_file};
use notarius_tuf::metadata::{Envelope, Targets, verify_signatures};
use notarius_tuf::sign::testing::TestKey;

const TARGETS: usize = 100_000;

fn targets_100k(c: &mut Criterion) {
    let file = targets_file(TARGETS, &TestKey::ecdsa());
    let env = Envelope::parse("targets", &file.bytes).expect("parses");
    verify_signatures(&env, &file.role).expect("verifies");
    eprintln!(
        "targets.json: {TARGETS} targets, {} bytes",
        file.bytes.len()
    );

    let mut g = c.benchmark_group("targets_100k");
    g.throughput(Throughput::Bytes(file.bytes.len() as u64));
    // One iteration takes tens of milliseconds: a flat sample count keeps a run short.
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(10);
    g.bench_function("parse", |b| {
        b.iter(|| Envelope::parse("targets", black_box(&file.bytes)).unwrap())
    });
    g.bench_function("canonicalize", |b| {
        b.iter(|| black_box(&env).canonical_signed().unwrap())
    });
    g.bench_function("decode", |b| {
        b.iter(|| black_box(&env).decode::<Targets>("targets").unwrap())
    });
    // What a client does with a downloaded targets.json before trusting it.
    g.bench_function("parse_canonicalize_verify", |b| {
        b.iter(|| {
            let env = Envelope::parse("targets", black_box(&file.bytes)).unwrap();
            verify_signatures(&env, &file.role).unwrap();
            env
        })
    });
    g.finish();
}

fn signatures(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify_timestamp");
    g.throughput(Throughput::Elements(1));
    for (name, key) in [("ed25519", TestKey::ed25519()), ("ecdsa", TestKey::ecdsa())] {
        let file = timestamp_file(&key);
        let env = Envelope::parse("timestamp", &file.bytes).expect("parses");
        g.bench_function(name, |b| {
            b.iter(|| verify_signatures(black_box(&env), &file.role).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, targets_100k, signatures);
criterion_main!(benches);
