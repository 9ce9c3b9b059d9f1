//! The server backends against real servers: the URL in TOKENSTORE_<SERVER>_URL (ci/test.sh
//! sets them for the local MariaDB, Redis and PostgreSQL), or for `redis-cluster` a cluster the
//! run starts from the local binaries. Without either the test says so and passes, unless
//! TOKENSTORE_REQUIRE names the backend, as CI does: then it fails.

use rstest::rstest;
use tokenstore_backends::ServerFixture;
use tokenstore_suite::required;
use tokenstore_suite::{check_store, RunOptions, Status, StoreFixture};

#[rstest]
fn server_backend_passes_every_rule(
    #[values("mysql", "redis", "postgres", "redis-cluster")] backend: &str,
) {
    let server = tokenstore_backends::server(backend).unwrap();
    let provided = std::env::var(server.url_variable()).is_ok() || server.starts_locally();
    if !provided && !required(backend) {
        eprintln!("{backend}: skipped: {} is not set", server.url_variable());
        return;
    }
    // 32 tasks share the store object in the concurrency tier.
    let options = RunOptions {
        cases: 48,
        seed: 17,
        load: tokenstore_suite::Load {
            tasks: 32,
            processes: 4,
        },
        ..RunOptions::default()
    };
    let fixture = ServerFixture::new(server);
    let report = check_store(&fixture, &options, &|_| {});
    let capabilities = fixture.capabilities();
    assert!(
        capabilities.connections,
        "{backend} declares the server-loss tier"
    );
    let not_passed: Vec<_> = report
        .rules
        .iter()
        .filter(|r| {
            let tier = tokenstore_suite::rules::rule(&r.id).and_then(|rule| rule.requires);
            let applies = tier.is_none_or(|needed| capabilities.has(needed));
            r.status != if applies { Status::Pass } else { Status::Skip }
        })
        .map(|r| format!("{} {:?}: {:?} {:?}", r.id, r.status, r.message, r.repro))
        .collect();
    assert!(not_passed.is_empty(), "{backend}: {not_passed:#?}");
}
