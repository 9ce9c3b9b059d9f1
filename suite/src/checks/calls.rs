//! The check of how calls answer (`calls.promise-settles`): every method on its hit and miss
//! paths. The answers are judged by the other rules; what this rule judges is seen by the adapter
//! (a Node.js method that returns a plain value where the SDK awaits a Promise, a rejection that
//! escapes as unhandled, a promise that never settles) and reported as a finding, which the runner
//! turns into this check's failure. A Rust store's calls are futures, so it always holds there.

use super::{checks, token, CheckResult, Ctx};

checks![("calls.promise-settles", every_call_settles_with_its_answer)];

/// An id no check stores: a miss on every store, numeric ids or not.
const MISSING_ID: &str = "90909";

async fn every_call_settles_with_its_answer(ctx: Ctx) -> CheckResult {
    let store = &ctx.store;
    let mut first = token!(
        user_name = "settles",
        client_id = "client",
        client_secret = "secret",
        refresh_token = "refresh-1"
    );
    // Errors are other rules' business here: every call is made whatever the last one answered.
    let _ = store.save_token(&mut first).await;
    let mut update = token!(user_name = "settles", access_token = "access-2");
    let _ = store.save_token(&mut update).await;
    let _ = store.find_token(&token!(user_name = "settles")).await;
    let _ = store.find_token(&token!(user_name = "nobody")).await;
    let _ = store.find_token_by_id(MISSING_ID).await;
    let _ = store.delete_token(MISSING_ID).await;
    if let Some(id) = first.id.clone().or(update.id.clone()) {
        let _ = store.find_token_by_id(&id).await;
        let _ = store.delete_token(&id).await;
    }
    let _ = store.get_tokens().await;
    let _ = store.delete_tokens().await;
    Ok(())
}
