//! Concurrent histories: several clients (tasks sharing one store object, or processes each with
//! its own) call random operations at once; every call's start, end and answer is recorded and
//! the history checked for linearizability ([`crate::linearize`]). Workloads are generated and
//! shrunk by proptest, so a violation is reported as the smallest history found.

use crate::call::{call, Answer, IdRef, Ids, Op, Step};
use crate::fixture::Storage;
use crate::linearize::{self, Call};
use crate::protocol::ProcessStore;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokenstore_core::{Choices, Field, TokenStore};

/// The calls of each client, in order. Ids are [`IdRef::Seen`]: the n-th id the client has seen
/// so far (from its saves and reads), or the literal `n % 3 + 1` before it has seen any.
pub type Workload = Vec<Vec<Step>>;

/// How many histories a tier explores, and how large they are.
#[derive(Clone, Copy, Debug)]
pub struct Exploration {
    pub histories: u32,
    pub clients: usize,
    pub calls_per_client: usize,
    pub seed: u64,
}

/// What an exploration checked, for the report.
#[derive(Clone, Copy, Debug, Default)]
pub struct Explored {
    pub histories: u64,
    pub calls: u64,
}

/// How many times a workload is run before it counts as passing: races do not always repeat.
const ATTEMPTS: usize = 3;

fn fields() -> impl Strategy<Value = Vec<(Field, String)>> {
    fn value(pool: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
        prop_oneof![
            1 => Just(None),
            2 => prop::sample::select(pool).prop_map(|s| Some(s.to_owned())),
        ]
    }
    const USERS: &[&str] = &["alice", "bob"];
    const TOKENS: &[&str] = &["t1", "t2", "t3"];
    let client = prop_oneof![
        Just(Vec::new()),
        Just(vec![
            (Field::ClientId, "c1".to_owned()),
            (Field::ClientSecret, "s1".to_owned())
        ]),
    ];
    (
        value(USERS),
        client,
        value(TOKENS),
        value(TOKENS),
        value(TOKENS),
        value(&["1700000000000", "1800000000000"]),
    )
        .prop_map(|(user, client, refresh, access, grant, expiry)| {
            let named = [
                (Field::UserName, user),
                (Field::RefreshToken, refresh),
                (Field::AccessToken, access),
                (Field::GrantToken, grant),
                (Field::ExpiryTime, expiry),
            ];
            let mut out: Vec<_> = named
                .into_iter()
                .filter_map(|(f, v)| v.map(|v| (f, v)))
                .collect();
            out.extend(client);
            out
        })
}

fn planned() -> impl Strategy<Value = Step> {
    let id = any::<u8>().prop_map(|n| IdRef::Seen(usize::from(n)));
    prop_oneof![
        8 => (prop::option::weighted(0.2, id.clone()), fields())
            .prop_map(|(id, fields)| Step::Save { id, fields }),
        4 => fields().prop_map(|fields| Step::Find { id: None, fields }),
        3 => id.clone().prop_map(Step::FindById),
        2 => id.prop_map(Step::Delete),
        2 => Just(Step::GetTokens),
        1 => Just(Step::DeleteTokens),
    ]
}

fn workload(e: &Exploration) -> impl Strategy<Value = Workload> {
    prop::collection::vec(
        prop::collection::vec(planned(), 1..=e.calls_per_client),
        2..=e.clients.max(2),
    )
}

/// How the failure of the `delete_tokens` that starts every history begins.
pub const EMPTYING: &str = "emptying the store before a history: ";

/// What follows [`EMPTYING`] when the `get_tokens` that looks at the emptied store failed.
pub const LISTING_FAILED: &str = "get_tokens() after delete_tokens() = Err(";

/// Runs each client's calls on its store, all clients at once from an empty store, and returns
/// the history. `stores[i]` serves client `i` (all may be the same object).
pub async fn record(stores: &[Arc<dyn TokenStore>], work: &Workload) -> Result<Vec<Call>, String> {
    stores[0]
        .delete_tokens()
        .await
        .map_err(|e| format!("{EMPTYING}delete_tokens() = Err({e}), want Ok"))?;
    let left = stores[0]
        .get_tokens()
        .await
        .map_err(|e| format!("{EMPTYING}{LISTING_FAILED}{e}), want []"))?;
    if !left.is_empty() {
        return Err(format!(
            "{EMPTYING}get_tokens() after delete_tokens() = {} tokens, want []",
            left.len()
        ));
    }
    let epoch = Instant::now();
    let barrier = Arc::new(tokio::sync::Barrier::new(work.len()));
    let tasks: Vec<_> = work
        .iter()
        .enumerate()
        .map(|(client, plan)| {
            let store = stores[client % stores.len()].clone();
            let plan = plan.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let mut seen = Ids::default();
                let mut calls = Vec::new();
                barrier.wait().await;
                for step in &plan {
                    let Some(op) = seen.op(step) else { continue };
                    let start = epoch.elapsed().as_nanos() as u64;
                    let answer = call(&*store, &op).await;
                    let end = epoch.elapsed().as_nanos() as u64;
                    seen.note(&answer);
                    calls.push(Call {
                        client,
                        start,
                        end,
                        op,
                        answer,
                    });
                }
                calls
            })
        })
        .collect();
    let mut history = Vec::new();
    for task in tasks {
        history.extend(task.await.map_err(|e| format!("a client panicked: {e}"))?);
    }
    history.sort_by_key(|c| c.start);
    Ok(history)
}

/// Starts `count` processes on `storage` (its processes capability), each with a store on the
/// main namespace: the clients of a processes-tier history. Keep them as long as the stores are
/// used; dropping one stops its process.
pub async fn start_processes(
    storage: &dyn Storage,
    count: usize,
) -> Result<Vec<ProcessStore>, String> {
    let mut processes = Vec::with_capacity(count);
    for n in 0..count {
        let process = storage
            .spawn(crate::MAIN_NAMESPACE)
            .await
            .map_err(|e| format!("starting client process {}: {e}", n + 1))?;
        processes.push(process);
    }
    Ok(processes)
}

/// The stores of `processes`, one per client.
pub fn stores_of(processes: &[ProcessStore]) -> Vec<Arc<dyn TokenStore>> {
    processes.iter().map(|p| p.store.clone()).collect()
}

/// Ends the message of a tier failure that stays when its calls are made again one at a time,
/// with no fault injected: a sequential defect seen from the tier, not a race or a lost
/// connection.
pub const SEQUENTIAL: &str = "\n  made again one at a time, with no fault injected, it fails too: a sequential defect, not a race or a lost connection";

/// Whether `history`'s calls, made again one at a time in the order they started on an emptied
/// store, give a history the model rejects.
async fn breaks_one_at_a_time(
    stores: &[Arc<dyn TokenStore>],
    history: &[Call],
    choices: Choices,
) -> bool {
    if stores[0].delete_tokens().await.is_err() {
        return false;
    }
    // The ids the store gave in the history, as the replay's store gives them again.
    let mut ids: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut calls = Vec::with_capacity(history.len());
    for (n, c) in history.iter().enumerate() {
        let same = |id: &String| ids.get(id).cloned().unwrap_or_else(|| id.clone());
        let op = match &c.op {
            Op::Save(t) => {
                let mut t = t.clone();
                t.id = t.id.as_ref().map(same);
                Op::Save(t)
            }
            Op::FindById(id) => Op::FindById(same(id)),
            Op::Delete(id) => Op::Delete(same(id)),
            op => op.clone(),
        };
        let answer = call(&*stores[c.client % stores.len()], &op).await;
        if let (Answer::Saved(Some(was)), Answer::Saved(Some(now))) = (&c.answer, &answer) {
            ids.entry(was.clone()).or_insert_with(|| now.clone());
        }
        let at = 2 * n as u64;
        calls.push(Call {
            client: c.client,
            start: at,
            end: at + 1,
            op,
            answer,
        });
    }
    linearize::check(&calls, choices).is_err()
}

/// The smallest failing history seen, with why it fails.
type Smallest = Mutex<Option<(Vec<Call>, String)>>;

/// Explores random workloads on `stores` (one per client; the same object for every client in
/// the concurrency tier) and returns what it checked, or the smallest non-linearizable history
/// found, described one call per line.
pub async fn explore(
    stores: Vec<Arc<dyn TokenStore>>,
    choices: Choices,
    plan: Exploration,
) -> Result<Explored, String> {
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || explore_blocking(&handle, &stores, choices, plan))
        .await
        .map_err(|e| format!("the exploration panicked: {e}"))?
}

fn explore_blocking(
    handle: &tokio::runtime::Handle,
    stores: &[Arc<dyn TokenStore>],
    choices: Choices,
    plan: Exploration,
) -> Result<Explored, String> {
    let config = Config {
        cases: plan.histories,
        failure_persistence: None,
        max_shrink_iters: 256,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let mut runner = crate::seed::seeded_runner(config, plan.seed);
    let explored = Mutex::new(Explored::default());
    let smallest: Smallest = Mutex::new(None);
    let result = runner.run(&workload(&plan), |work| {
        for _ in 0..ATTEMPTS {
            let history = handle
                .block_on(record(stores, &work))
                .map_err(TestCaseError::fail)?;
            {
                let mut explored = explored.lock().expect("not poisoned");
                explored.histories += 1;
                explored.calls += history.len() as u64;
            }
            if let Err(why) = linearize::check(&history, choices) {
                let why = why.describe(&history);
                let mut smallest = smallest.lock().expect("not poisoned");
                if smallest
                    .as_ref()
                    .is_none_or(|(h, _)| history.len() <= h.len())
                {
                    *smallest = Some((history, why.clone()));
                }
                return Err(TestCaseError::fail(why));
            }
        }
        Ok(())
    });
    match result {
        Ok(()) => Ok(explored.into_inner().expect("not poisoned")),
        Err(TestError::Abort(why)) => Err(format!("the exploration stopped: {why}")),
        Err(TestError::Fail(why, _)) => {
            // No history was recorded when the failure came before any call (emptying the
            // store failed): the reason alone says it.
            let Some((history, why)) = smallest.into_inner().expect("not poisoned") else {
                return Err(why.to_string());
            };
            let sequential = handle.block_on(breaks_one_at_a_time(stores, &history, choices));
            let lines: Vec<String> = history
                .iter()
                .enumerate()
                .map(|(i, c)| format!("    {}. {}", i + 1, c.describe()))
                .collect();
            Err(format!(
                "{why}\n  the smallest history found ({} calls, by start time):\n{}{}",
                history.len(),
                lines.join("\n"),
                if sequential { SEQUENTIAL } else { "" }
            ))
        }
    }
}
