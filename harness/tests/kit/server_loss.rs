//! The server-loss tier's churn against the real servers (TOKENSTORE_<SERVER>_URL), with its
//! figures printed: kills, connections killed, calls made, calls that answered with a Backend
//! error, tokens lost (`redis-cluster`: on a cluster the run starts). Without a server the test
//! says so and passes, unless TOKENSTORE_REQUIRE names the backend. And the tier on a Python or
//! Node.js store behind its adapter, its server named (`--server`): a store that reconnects
//! passes it, one that keeps one connection for good fails it.

use rstest::rstest;
use std::sync::Arc;
use std::time::Duration;
use tokenstore_backends::ServerFixture;
use tokenstore_suite::checks::server_loss::{churn, ChurnFigures, KILLS};
use tokenstore_suite::checks::Ctx;
use tokenstore_suite::required;
use tokenstore_suite::{check_store, AdapterFixture, RunOptions, Selection, Status};
use tokenstore_suite::{profile, runner, Storage, StoreFixture, MAIN_NAMESPACE};

use crate::support::mysql_url;
use crate::support::node_controls::{node_command, node_dir, node_with_sdks};
use crate::support::python_controls::{adapter_command, python_with_sdk};

async fn churn_once(fixture: &ServerFixture) -> Result<ChurnFigures, String> {
    let choices = profile::detect(fixture)
        .await
        .map_err(|e| e.to_string())?
        .choices;
    let storage: Arc<dyn Storage> = Arc::from(fixture.storage().await?);
    let store = storage
        .open(MAIN_NAMESPACE)
        .await
        .map_err(|e| format!("opening a store = Err({e})"))?;
    let ctx = Ctx {
        store,
        storage: storage.clone(),
        choices,
        capabilities: fixture.capabilities(),
        limits: fixture.limits(),
        seed: 0,
        load: Default::default(),
        story: Default::default(),
        notes: Default::default(),
        faults: true,
        deviations: Default::default(),
    };
    let figures = churn(&ctx).await;
    drop(ctx);
    storage
        .remove()
        .await
        .map_err(|e| format!("removing the storage = Err({e})"))?;
    figures
}

#[rstest]
fn killed_connections_lose_no_token(
    #[values("mysql", "redis", "postgres", "redis-cluster")] backend: &str,
) {
    let server = tokenstore_backends::server(backend).unwrap();
    let provided = std::env::var(server.url_variable()).is_ok() || server.starts_locally();
    if !provided && !required(backend) {
        eprintln!("{backend}: skipped: {} is not set", server.url_variable());
        return;
    }
    let figures = runner::runtime()
        .block_on(churn_once(&ServerFixture::new(server)))
        .unwrap_or_else(|e| panic!("{backend}: server-loss.recovers: {e}"));
    println!(
        "{backend}: {} kills, {} connections killed, {} calls, {} answered Backend, {} tokens lost",
        figures.kills,
        figures.connections_killed,
        figures.calls,
        figures.backend_errors,
        figures.tokens_lost
    );
    assert_eq!(figures.kills, KILLS);
    // A kill finds no connection when no call has reconnected since the one before; most must.
    assert!(
        figures.connections_killed * 2 >= KILLS,
        "{backend}: {figures:?}: most kills should find a connection to kill"
    );
    assert_eq!(figures.tokens_lost, 0, "{backend}: {figures:?}");
}

/// A Python store on MySQL behind the adapter, its server named as `--server` names it: the
/// kit drops the adapter process's connections there. A store that reconnects passes
/// `server-loss.recovers`; one that keeps its one connection for good fails it, and nothing else.
#[rstest]
#[case::reconnecting("server_stores:ReconnectingStore", Status::Pass)]
#[case::one_connection("server_stores:OneConnectionStore", Status::Fail)]
fn python_store_behind_the_adapter_gets_the_server_loss_tier(
    #[case] class: &str,
    #[case] want: Status,
) {
    let (Some(python), Some(url)) = (python_with_sdk(), mysql_url()) else {
        return;
    };
    let kwargs =
        serde_json::json!({"path": "{tmpdir}/tokens.db", "table": "{namespace}", "server": url});
    let command = adapter_command(&python, class, Some(&kwargs.to_string()));
    assert_server_loss_verdict(&command, &url, class, want);
}

/// The same through the Node adapter (`controls/server_stores.mjs`, the `mysql` driver the SDK
/// installs): a store asking through a pool passes, one keeping its one connection fails.
#[rstest]
#[case::pooled("PooledStore", Status::Pass)]
#[case::one_connection("OneConnectionStore", Status::Fail)]
fn node_store_behind_the_adapter_gets_the_server_loss_tier(
    #[case] class: &str,
    #[case] want: Status,
) {
    let Some(url) = node_with_sdks().then(mysql_url).flatten() else {
        return;
    };
    let module = node_dir().join("controls").join("server_stores.mjs");
    let store = format!("{}:{class}", module.to_str().unwrap());
    let kwargs = serde_json::json!([{"dir": "{tmpdir}/{namespace}", "server": url}]);
    let command = node_command(&store, &kwargs.to_string(), &[]);
    assert_server_loss_verdict(&command, &url, class, want);
}

/// Runs the server-loss tier on the adapter store of `command`, its connections dropped on the
/// server at `url`: `server-loss.recovers` is `want`, and no other rule fails or is blocked.
fn assert_server_loss_verdict(command: &[String], url: &str, class: &str, want: Status) {
    let killer = tokenstore_backends::ServerKiller::new(&[url.to_owned()]).unwrap();
    let fixture = AdapterFixture::start(command, Duration::from_secs(10), true)
        .expect("the adapter starts")
        .with_connection_killer(Arc::new(killer));
    assert!(fixture.capabilities().connections);
    let options = RunOptions {
        cases: 8,
        seed: 3,
        only: Selection::of(&["server-loss"]).unwrap(),
        ..RunOptions::default()
    };
    let report = check_store(&fixture, &options, &|_| {});
    let verdict = report.rule("server-loss.recovers").unwrap();
    assert_eq!(verdict.status, want, "{class}: {:?}", verdict.message);
    let failed: Vec<&str> = report
        .rules
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Blocked))
        .map(|r| r.id.as_str())
        .collect();
    let expected: &[&str] = match want {
        Status::Fail => &["server-loss.recovers"],
        _ => &[],
    };
    assert_eq!(failed, expected, "{class}: {:#?}", report.rules);
}

/// `--server` refuses a URL of no server the kit knows, in one line.
#[test]
fn a_server_url_of_an_unknown_scheme_is_refused() {
    let refused = tokenstore_backends::ServerKiller::new(&["http://127.0.0.1:80".to_owned()]);
    let message = refused.err().expect("refused");
    assert!(
        message.starts_with("--server \"http://127.0.0.1:80\": want a mysql://"),
        "{message}"
    );
}
