//! `cargo bench -p bench --bench breached`: the offline breached-password
//! look-up, a binary search over a sorted `SHA1:COUNT` file of 10 million
//! lines (about 450 MB, written once to the temporary folder and kept), for
//! a hash present and one absent; and the screening a complete runs, on that
//! file, end to end (SHA-1, the search on a blocking thread, the verdict).

use std::{io::Write, path::PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use pwreset::{
    domain::{Password, PasswordPolicy},
    metrics::Metrics,
    service::breached::{BreachedSettings, Source, find_in_file},
};

const LINES: u64 = 10_000_000;

/// The 10-million-line file: evenly spread hashes, sorted by construction.
fn list() -> PathBuf {
    let path = std::env::temp_dir().join("pwreset-bench-breached-10m.txt");
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > 400_000_000) {
        return path;
    }
    let step = u128::MAX / u128::from(LINES);
    let file = std::fs::File::create(&path).expect("the list file");
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    for n in 0..u128::from(LINES) {
        // 160 bits: the step's 128 high bits and 32 more.
        writeln!(out, "{:032X}{:08X}:{}", n * step, n as u32, n % 1_000 + 1).expect("written");
    }
    out.flush().expect("flushed");
    path
}

fn breached(c: &mut Criterion) {
    let path = list();
    let step = u128::MAX / u128::from(LINES);
    let present = |n: u128| format!("{:032X}{:08X}", n * step, n as u32);
    let mut n = 0u128;
    c.bench_function("file look-up, present (10M lines)", |b| {
        b.iter(|| {
            n = (n + 7_654_321) % u128::from(LINES);
            find_in_file(&path, &present(n)).expect("read")
        })
    });
    c.bench_function("file look-up, absent (10M lines)", |b| {
        b.iter(|| {
            n = (n + 7_654_321) % u128::from(LINES);
            let absent = format!("{:032X}{:08X}", n * step + 1, 0);
            find_in_file(&path, &absent).expect("read")
        })
    });
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let screening = BreachedSettings {
        source: Source::File,
        file: Some(path.clone()),
        ..BreachedSettings::default()
    }
    .screening(None)
    .expect("the settings hold")
    .expect("screening is on");
    let metrics = Metrics::new();
    let password = Password::parse(
        pwreset::domain::RawPassword::new("a long and unbreached password".to_owned()),
        &PasswordPolicy::default(),
        None,
    )
    .expect("a valid password");
    c.bench_function("screening a complete's password (file, 10M lines)", |b| {
        b.to_async(&runtime).iter(|| async {
            let field = ["input", "customerPassword"];
            screening
                .check(&password, &field, &metrics)
                .await
                .expect("clean")
        })
    });
}

criterion_group!(benches, breached);
criterion_main!(benches);
