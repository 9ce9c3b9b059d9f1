//! The SDK's own call sequences, end to end: what a store sees when an app logs users in,
//! restarts, refreshes and logs out. Each cites the rule a failure would break.

use super::{checks, ensure, token, with_client, CheckResult, Ctx};
use crate::show;
use tokenstore_core::{ErrorKind, Token};

checks![
    ("save.insert", sdk_first_login_with_grant_token),
    ("store.durable", sdk_restart_then_look_up_by_user),
    ("save.merge", sdk_refresh_then_save),
    ("find-by-id.hit", sdk_start_from_an_id),
    ("delete.removes-exactly", sdk_logout_with_delete_token),
    ("find.by-user-name", sdk_several_users_side_by_side),
];

/// The token the SDK saves after exchanging a grant token and asking the API for the user.
fn after_grant_exchange(user: &str) -> Token {
    with_client(token!(
        user_name = user,
        grant_token = format!("g-{user}"),
        refresh_token = format!("r-{user}"),
        access_token = format!("a-{user}-1"),
        expiry_time = "1700000003600000",
        redirect_url = "https://app.example/callback",
        api_domain = "https://www.zohoapis.com",
    ))
}

async fn sdk_first_login_with_grant_token(ctx: Ctx) -> CheckResult {
    // Before the exchange the SDK looks the grant token up; nothing is stored yet.
    ctx.expect_find(&with_client(token!(grant_token = "g-alice")), None)
        .await?;
    let saved = ctx.save(&after_grant_exchange("alice")).await?;
    ctx.expect_find(
        &with_client(token!(user_name = "alice")),
        Some(&{
            let mut t = saved.clone();
            t.client_id = Some("client-1".into());
            t
        }),
    )
    .await?;
    ctx.expect_find_id(
        &with_client(token!(grant_token = "g-alice")),
        saved.id.as_deref().unwrap_or_default(),
    )
    .await
}

async fn sdk_restart_then_look_up_by_user(mut ctx: Ctx) -> CheckResult {
    let saved = ctx.save(&after_grant_exchange("alice")).await?;
    ctx.reopen().await?;
    ctx.expect_find(&token!(user_name = "alice"), Some(&saved))
        .await
}

async fn sdk_refresh_then_save(ctx: Ctx) -> CheckResult {
    ctx.save(&after_grant_exchange("alice")).await?;
    let mut current = ctx
        .find(&with_client(token!(user_name = "alice")))
        .await?
        .ok_or("find_token of a stored user = None")?;
    // The access token expired: the SDK refreshes and saves the same object.
    current.access_token = Some("a-alice-2".into());
    current.expiry_time = Some("1700000007200000".into());
    let saved = ctx.save(&current).await?;
    let stored = ctx.stored(saved.id.as_deref().unwrap_or_default()).await?;
    ensure(
        stored.access_token.as_deref() == Some("a-alice-2")
            && stored.refresh_token.as_deref() == Some("r-alice"),
        || {
            format!("after a refresh the stored token is {}, want the new access token and the old refresh token", show::token(&stored))
        },
    )?;
    ensure(ctx.all().await?.len() == 1, || {
        "get_tokens() after a refresh = 2 tokens, want 1: the refresh inserted a second token"
            .into()
    })
}

async fn sdk_start_from_an_id(ctx: Ctx) -> CheckResult {
    let saved = ctx.save(&after_grant_exchange("alice")).await?;
    let id = saved.id.clone().unwrap_or_default();
    let stored = ctx.stored(&id).await?;
    ensure(stored == saved, || {
        format!(
            "find_token_by_id({id:?}) = {}, want {}",
            show::token(&stored),
            show::token(&saved)
        )
    })?;
    // The SDK then saves the id-only token merged with what it found, after a refresh.
    let mut next = token!(id = id.clone(), access_token = "a-alice-2");
    next = next.merged_over(&stored);
    ctx.save(&next).await?;
    ensure(ctx.stored(&id).await? == next, || {
        "save_token(the token find_token_by_id gave) did not update it in place, want the same id and one token".into()
    })
}

async fn sdk_logout_with_delete_token(ctx: Ctx) -> CheckResult {
    let alice = ctx.save(&after_grant_exchange("alice")).await?;
    let bob = ctx.save(&after_grant_exchange("bob")).await?;
    let id = alice.id.clone().unwrap_or_default();
    ctx.store
        .delete_token(&id)
        .await
        .map_err(|e| format!("delete_token({id:?}) = Err({e}), want Ok"))?;
    ctx.expect_find(&token!(user_name = "alice"), None).await?;
    ensure(
        matches!(ctx.by_id(&id).await?, Err(e) if ctx.choices.refuses_as(e.kind(), ErrorKind::NotFound)),
        || {
            "find_token_by_id(the deleted id) after delete_token = the token, want Err(NotFound)"
                .into()
        },
    )?;
    ctx.expect_find(&token!(user_name = "bob"), Some(&bob))
        .await
}

async fn sdk_several_users_side_by_side(ctx: Ctx) -> CheckResult {
    let users = ["alice", "bob", "carol", "dave"];
    let mut saved = Vec::new();
    for user in users {
        saved.push(ctx.save(&after_grant_exchange(user)).await?);
    }
    for (user, want) in users.iter().zip(&saved) {
        ctx.expect_find(&token!(user_name = *user), Some(want))
            .await?;
    }
    Ok(())
}
