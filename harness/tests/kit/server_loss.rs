//! The server-loss tier's churn against the real servers (TOKENSTORE_<SERVER>_URL), with its
//! figures printed: kills, connections killed, calls made, calls that answered with a Backend
//! error, tokens lost (`redis-cluster`: on a cluster the run starts). Without a server the test
//! says so and passes, unless TOKENSTORE_REQUIRE names the backend.

use rstest::rstest;
use std::sync::Arc;
use tokenstore_backends::ServerFixture;
use tokenstore_suite::checks::server_loss::{churn, ChurnFigures, KILLS};
use tokenstore_suite::checks::Ctx;
use tokenstore_suite::required;
use tokenstore_suite::{profile, runner, Storage, StoreFixture, MAIN_NAMESPACE};

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
