//! Checks that run many calls at once or kill the process making them: linearizable histories
//! from tasks sharing one store (concurrency tier) and from separate processes (processes tier),
//! and acknowledged writes surviving SIGKILL (crash tier).

use super::{checks, CheckResult, Ctx};
use crate::history::{self, Exploration};
use std::time::Duration;

checks![
    (
        "concurrency.linearizable",
        concurrent_histories_are_linearizable
    ),
    (
        "processes.linearizable",
        histories_of_several_processes_are_linearizable
    ),
    (
        "crash.acknowledged-kept",
        acknowledged_writes_survive_sigkill
    ),
];

/// Histories the concurrency tier explores: 4 tasks, up to 8 calls each.
pub const TASK_HISTORIES: Exploration = Exploration {
    histories: 150,
    clients: 4,
    calls_per_client: 8,
    seed: 36,
};

/// Histories the processes tier explores: 3 processes, up to 8 calls each.
pub const PROCESS_HISTORIES: Exploration = Exploration {
    histories: 80,
    clients: 3,
    calls_per_client: 8,
    seed: 37,
};

/// Writing processes the crash tier kills, and the longest a writer runs before its kill.
pub const KILLS: usize = 20;
pub const MAX_KILL_DELAY: Duration = Duration::from_millis(40);

async fn concurrent_histories_are_linearizable(ctx: Ctx) -> CheckResult {
    let plan = Exploration {
        seed: TASK_HISTORIES.seed ^ ctx.seed,
        ..TASK_HISTORIES
    };
    let explored = history::explore(vec![ctx.store.clone()], ctx.choices, plan).await;
    blocked_by_emptying(&ctx, explored.map(drop))
}

/// A history starts on an emptied store: when its `delete_tokens` fails, the check is blocked
/// by `delete-tokens.empties`, not failed as a race; when the `get_tokens` that looks at the
/// emptied store fails, by `get-tokens.exact`.
fn blocked_by_emptying(ctx: &Ctx, result: CheckResult) -> CheckResult {
    if let Err(message) = &result {
        if message.starts_with(history::EMPTYING) {
            let rule = if message.contains(history::LISTING_FAILED) {
                "get-tokens.exact"
            } else {
                "delete-tokens.empties"
            };
            ctx.notes.block(rule, message.clone());
        }
    }
    result
}

async fn histories_of_several_processes_are_linearizable(ctx: Ctx) -> CheckResult {
    let processes = history::start_processes(&*ctx.storage, PROCESS_HISTORIES.clients).await?;
    let stores = history::stores_of(&processes);
    let plan = Exploration {
        seed: PROCESS_HISTORIES.seed ^ ctx.seed,
        ..PROCESS_HISTORIES
    };
    let explored = history::explore(stores, ctx.choices, plan).await.map(drop);
    drop(processes);
    if let Err(message) = &explored {
        if message.starts_with(history::EMPTYING) && empties_alone(&ctx).await {
            // Stopped, the other processes hold nothing: what failed is the sharing.
            return Err(format!(
                "{message}; the same store empties in one process once the others stopped, so it fails only while several processes use the storage (a lock or transaction one process leaves held blocks the others)"
            ));
        }
    }
    blocked_by_emptying(&ctx, explored)
}

/// Whether the check's own store, in this process alone, empties the storage and sees it empty.
async fn empties_alone(ctx: &Ctx) -> bool {
    ctx.store.delete_tokens().await.is_ok()
        && ctx.store.get_tokens().await.is_ok_and(|t| t.is_empty())
}

async fn acknowledged_writes_survive_sigkill(ctx: Ctx) -> CheckResult {
    let result = crate::crash::survive_kills(&*ctx.storage, KILLS, MAX_KILL_DELAY, 38 ^ ctx.seed)
        .await
        .map(drop);
    // What survived is read with get_tokens: when that cannot answer, the check is blocked by
    // get-tokens.exact, not failed as a loss.
    if let Err(message) = &result {
        if message.contains(crate::crash::LISTING_FAILED) {
            ctx.notes.block("get-tokens.exact", message.clone());
        }
    }
    result
}
