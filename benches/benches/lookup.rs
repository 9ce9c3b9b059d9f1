//! criterion benches: every operation of every backend at each store size, with the backend's
//! raw floor in the same group, so each backend's overhead is a ratio from one run.
//!
//! `cargo bench -p tokenstore-bench` (sizes from TOKENSTORE_BENCH_SIZES, default 1000,10000,100000;
//! server backends when TOKENSTORE_<SERVER>_URL is set). `-- --test` runs each bench once.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;
use tokenstore_backends::{Backend, BACKENDS};
use tokenstore_bench::{workload, Bench, Op};

fn sizes() -> Vec<usize> {
    std::env::var("TOKENSTORE_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000])
}

/// Whether the backend is benched at `size` (see `Backend::largest_bench_size`).
fn fits(backend: &dyn Backend, size: usize) -> bool {
    match backend.largest_bench_size() {
        Some(largest) => size <= largest,
        None => true,
    }
}

fn lookup(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for backend in BACKENDS.into_iter().filter(|b| b.benchmarked()) {
        if let Some(server) = backend.server() {
            if std::env::var(server.url_variable()).is_err() {
                eprintln!(
                    "{}: skipped, {} is not set",
                    backend.name(),
                    server.url_variable()
                );
                continue;
            }
        }
        for size in sizes().into_iter().filter(|&s| fits(backend, s)) {
            let bench = rt
                .block_on(Bench::prepare(backend, size))
                .unwrap_or_else(|e| panic!("{e}"));
            for op in Op::ALL {
                let mut group = c.benchmark_group(op.name());
                group
                    .sample_size(20)
                    .warm_up_time(Duration::from_millis(300))
                    .measurement_time(Duration::from_secs(1));
                let probes = workload::probe_indexes(size, 4096);
                let mut k = 0usize;
                group.bench_function(BenchmarkId::new(backend.name(), size), |b| {
                    b.to_async(&rt).iter(|| {
                        k += 1;
                        let i = probes[k % probes.len()];
                        let bench = &bench;
                        async move { op.run(bench, i, k).await.unwrap() }
                    })
                });
                if let (Some(floor), Some(field)) = (&bench.floor, op.field()) {
                    let mut k = 0usize;
                    group.bench_function(
                        BenchmarkId::new(format!("{}-floor", backend.name()), size),
                        |b| {
                            b.to_async(&rt).iter(|| {
                                k += 1;
                                let t = workload::token(probes[k % probes.len()]);
                                async move {
                                    let value = t.get(field).unwrap_or_default();
                                    assert!(floor
                                        .lookup(field, value, t.id.as_deref().unwrap_or_default())
                                        .await
                                        .unwrap());
                                }
                            })
                        },
                    );
                }
                group.finish();
            }
            rt.block_on(bench.cleanup());
        }
    }
}

criterion_group!(benches, lookup);
criterion_main!(benches);
