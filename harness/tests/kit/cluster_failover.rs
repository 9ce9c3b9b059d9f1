//! The `redis` store on a Redis Cluster that loses a primary. Each test starts the kit's own
//! cluster (three primaries, one replica each, `tokenstore_backends::redis_cluster::LocalCluster`).
//! While tasks save tokens through one store object, the primary of the namespace's slot is
//! killed with SIGKILL; its replica takes over, and the killed node is started again and rejoins
//! as a replica. Every call answers Ok or a Backend error within [`CALL_LIMIT`], the same store
//! object saves again once the cluster is whole, and every save that answered Ok is there
//! afterwards: the store acknowledges a write only once a replica holds it. A missing
//! `redis-server` or `redis-cli` skips the tests with a line, or fails them when
//! TOKENSTORE_REQUIRE names `redis-cluster`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokenstore_backends::redis_cluster::LocalCluster;
use tokenstore_core::{ErrorKind, Token, TokenStore};
use tokenstore_redis::RedisStore;
use tokenstore_suite::{required, runner};

/// The longest a call may take to answer, failover or not.
const CALL_LIMIT: Duration = Duration::from_secs(15);

/// How long the cluster may take to promote a replica, and to take the killed node back.
const FAILOVER_LIMIT: Duration = Duration::from_secs(60);

const WRITERS: usize = 4;

fn cluster() -> Option<LocalCluster> {
    if let Some(binary) = LocalCluster::missing_binary() {
        assert!(
            !required("redis-cluster"),
            "{binary} is missing, and TOKENSTORE_REQUIRE names redis-cluster"
        );
        eprintln!("redis-cluster: skipped: {binary} is missing");
        return None;
    }
    Some(LocalCluster::start().unwrap_or_else(|e| panic!("{e}")))
}

fn token(writer: usize, n: usize) -> Token {
    Token {
        user_name: Some(format!("user-{writer}-{n}")),
        refresh_token: Some(format!("refresh-{writer}-{n}")),
        access_token: Some(format!("access-{writer}-{n}")),
        ..Token::default()
    }
}

/// One save as a writer saw it.
struct Save {
    writer: usize,
    ended: Instant,
    took: Duration,
    /// The token as saved (its id written back), or the error's kind and message.
    answer: Result<Token, (ErrorKind, String)>,
}

async fn open(cluster: &LocalCluster, namespace: &str) -> RedisStore {
    let url = cluster.url();
    let urls: Vec<&str> = url.split(',').collect();
    RedisStore::open_cluster(&urls, namespace)
        .await
        .unwrap_or_else(|e| panic!("opening a store on the cluster = Err({e})"))
}

/// Saves new tokens one after another until `stop`; after an error, pauses 10 ms as an app
/// would before its next request.
async fn write(
    store: Arc<RedisStore>,
    writer: usize,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Save>>>,
) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        let mut t = token(writer, n);
        let began = Instant::now();
        let answer = store.save_token(&mut t).await;
        let failed = answer.is_err();
        log.lock().unwrap().push(Save {
            writer,
            ended: Instant::now(),
            took: began.elapsed(),
            answer: answer.map(|()| t).map_err(|e| (e.kind(), e.to_string())),
        });
        n += 1;
        if failed {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn percentile(mut took: Vec<Duration>, p: f64) -> Duration {
    took.sort();
    took[((took.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn a_failover_loses_no_acknowledged_save() {
    let Some(mut cluster) = cluster() else {
        return;
    };
    let rt = runner::runtime();
    let store = Arc::new(rt.block_on(open(&cluster, "failover")));
    assert_eq!(
        store.replicas_waited_for(),
        1,
        "every primary has a replica"
    );
    let tag = RedisStore::key_prefix("failover");
    let primary = cluster
        .primary_serving(&tag)
        .unwrap_or_else(|e| panic!("{e}"));

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| rt.spawn(write(store.clone(), w, stop.clone(), log.clone())))
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let killed_at = Instant::now();
    cluster.kill(primary);
    let promoted = loop {
        match cluster.primary_serving(&tag) {
            Ok(now) if now != primary => break killed_at.elapsed(),
            _ if killed_at.elapsed() > FAILOVER_LIMIT => panic!("no replica took over"),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    };
    cluster.restart(primary).unwrap_or_else(|e| panic!("{e}"));
    cluster
        .wait_until_healthy(FAILOVER_LIMIT)
        .unwrap_or_else(|e| panic!("{e}"));
    let whole_at = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        rt.block_on(writer).unwrap();
    }

    let log = std::mem::take(&mut *log.lock().unwrap());
    let acknowledged: Vec<&Token> = log.iter().filter_map(|s| s.answer.as_ref().ok()).collect();
    let errors: Vec<&(ErrorKind, String)> =
        log.iter().filter_map(|s| s.answer.as_ref().err()).collect();
    let slowest = log.iter().map(|s| s.took).max().unwrap();
    let mut acknowledged_at: Vec<Instant> = log
        .iter()
        .filter(|s| s.answer.is_ok())
        .map(|s| s.ended)
        .collect();
    acknowledged_at.sort();
    let longest_gap = acknowledged_at
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or_default();
    let lost: Vec<String> = rt.block_on(async {
        let mut lost = Vec::new();
        for t in &acknowledged {
            let id =
                t.id.clone()
                    .expect("an acknowledged save writes its id back");
            match store.find_token_by_id(&id).await {
                Ok(found) if found.user_name == t.user_name => {}
                other => lost.push(format!("{id}: {other:?}")),
            }
        }
        lost
    });
    println!(
        "redis-cluster failover: {} saves, {} acknowledged, {} answered Backend; replica promoted \
         {} ms after the kill; longest time without an acknowledged save {} ms; slowest call {} ms; {} \
         acknowledged saves lost",
        log.len(),
        acknowledged.len(),
        errors.len(),
        promoted.as_millis(),
        longest_gap.as_millis(),
        slowest.as_millis(),
        lost.len()
    );
    assert!(
        errors.iter().all(|(kind, _)| *kind == ErrorKind::Backend),
        "a failover is a Backend error, never another kind: {errors:?}"
    );
    assert!(slowest <= CALL_LIMIT, "a call took {slowest:?}");
    for w in 0..WRITERS {
        assert!(
            log.iter()
                .any(|s| s.writer == w && s.ended > whole_at && s.answer.is_ok()),
            "writer {w}: the same store object saves again once the cluster is whole"
        );
    }
    assert_eq!(lost, Vec::<String>::new(), "acknowledged saves lost");
}

#[test]
fn namespaces_on_every_primary_work_and_waiting_for_a_replica_costs_one_replication() {
    let Some(cluster) = cluster() else {
        return;
    };
    let rt = runner::runtime();
    let mut primaries = std::collections::BTreeSet::new();
    let mut n = 0;
    while primaries.len() < LocalCluster::PRIMARIES {
        let namespace = format!("slot{n}");
        let primary = cluster
            .primary_serving(&RedisStore::key_prefix(&namespace))
            .unwrap();
        if primaries.insert(primary) {
            rt.block_on(async {
                let store = open(&cluster, &namespace).await;
                let mut t = token(0, n);
                store.save_token(&mut t).await.unwrap();
                let found = store.find_token(&token(0, n)).await.unwrap();
                assert_eq!(found, Some(t.clone()), "{namespace} on node {primary}");
                assert_eq!(store.get_tokens().await.unwrap(), vec![t]);
                store.drop_namespace().await.unwrap();
            });
        }
        n += 1;
    }

    const SAVES: usize = 300;
    let (waiting, on_primary) = rt.block_on(async {
        let waiting = open(&cluster, "wait").await;
        let on_primary = open(&cluster, "wait").await.acknowledging_on_the_primary();
        let mut took = (Vec::new(), Vec::new());
        for n in 0..SAVES {
            for (store, times) in [(&waiting, &mut took.0), (&on_primary, &mut took.1)] {
                let began = Instant::now();
                store.save_token(&mut token(n % 2, n)).await.unwrap();
                times.push(began.elapsed());
            }
        }
        waiting.drop_namespace().await.unwrap();
        took
    });
    let (p50_wait, p50_primary) = (percentile(waiting, 0.5), percentile(on_primary, 0.5));
    println!(
        "redis-cluster save p50 over {SAVES} saves: {} µs waiting for a replica, {} µs \
         acknowledged on the primary ({:.2}x)",
        p50_wait.as_micros(),
        p50_primary.as_micros(),
        p50_wait.as_secs_f64() / p50_primary.as_secs_f64()
    );
    assert_eq!(primaries.len(), LocalCluster::PRIMARIES);
}
