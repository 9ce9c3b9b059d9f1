//! Checks of the whole store: get_tokens, delete_tokens, failed calls, durability, namespaces.

use super::{checks, ensure, token, CheckResult, Ctx};
use crate::show;
use std::collections::HashSet;
use tokenstore_core::{ErrorKind, Token};

checks![
    ("get-tokens.exact", get_tokens_lists_each_stored_token_once),
    (
        "delete-tokens.empties",
        delete_tokens_empties_and_store_stays_usable
    ),
    ("store.failed-call-unchanged", failed_calls_change_nothing),
    ("store.durable", reopened_store_holds_the_same_tokens),
    ("store.namespaces-isolated", namespaces_never_see_each_other),
    ("store.reopens", store_opens_again_on_the_storage_it_made),
];

/// Opens the store again on its storage three times: empty as a fresh store left it, holding a
/// token, and emptied by `delete_tokens`. Each opening must succeed; what the reopened store
/// holds is `store.durable`'s matter.
async fn store_opens_again_on_the_storage_it_made(mut ctx: Ctx) -> CheckResult {
    ctx.reopen().await?;
    ctx.save(&token!(user_name = "reopens", refresh_token = "r-reopens"))
        .await?;
    ctx.reopen().await?;
    let store = ctx.store.clone();
    if !ctx.delete_all(&*store, "").await {
        return Ok(());
    }
    ctx.reopen().await
}

async fn get_tokens_lists_each_stored_token_once(ctx: Ctx) -> CheckResult {
    let empty = ctx.all().await?;
    super::expect_same_tokens("get_tokens() of an empty store", &empty, &[])?;
    let mut want = Vec::new();
    // Every field but the key differs from token to token, so a list that gives one token's
    // values to another is seen.
    for (i, user) in ["alice", "bob", "carol"].into_iter().enumerate() {
        want.push(
            ctx.save(&token!(
                user_name = user,
                client_id = format!("client-{user}"),
                client_secret = format!("secret-{user}"),
                refresh_token = format!("r-{user}"),
                access_token = format!("a-{user}"),
                expiry_time = format!("170000000000{i}"),
                redirect_url = format!("https://{user}.example/cb"),
                api_domain = format!("https://www.zohoapis.{}", ["com", "eu", "in"][i])
            ))
            .await?,
        );
    }
    want.sort_by(|a, b| a.id.cmp(&b.id));
    let got = ctx.all().await?;
    super::expect_same_tokens("get_tokens()", &got, &want)
}

async fn delete_tokens_empties_and_store_stays_usable(ctx: Ctx) -> CheckResult {
    let mut ids = Vec::new();
    for user in ["alice", "bob", "carol"] {
        ids.push(
            ctx.save_id(&token!(user_name = user, refresh_token = "r"))
                .await?,
        );
    }
    ctx.store
        .delete_tokens()
        .await
        .map_err(|e| format!("delete_tokens() = Err({e}), want Ok"))?;
    ctx.expect_tokens("get_tokens() after delete_tokens()", &[])
        .await?;
    for id in &ids {
        ensure(
            matches!(ctx.by_id(id).await?, Err(e) if ctx.choices.refuses_as(e.kind(), ErrorKind::NotFound)),
            || {
                format!("find_token_by_id({id:?}) after delete_tokens() found a token, want Err(NotFound)")
            },
        )?;
    }
    ctx.expect_find(&token!(user_name = "alice"), None).await?;
    let again = ctx
        .save(&token!(user_name = "alice", refresh_token = "r-new"))
        .await?;
    let mut want = vec![again.clone()];
    ctx.expect_tokens("get_tokens() after saving into an emptied store", &want)
        .await?;
    ctx.store
        .delete_tokens()
        .await
        .map_err(|e| format!("a second delete_tokens() = Err({e}), want Ok"))?;
    want.clear();
    ctx.expect_tokens("get_tokens() after a second delete_tokens()", &want)
        .await
}

async fn failed_calls_change_nothing(ctx: Ctx) -> CheckResult {
    ctx.save(&token!(
        user_name = "alice",
        refresh_token = "r-a",
        access_token = "a-a"
    ))
    .await?;
    let bob = ctx
        .save(&token!(user_name = "bob", refresh_token = "r-b"))
        .await?;
    let bob_id = bob.id.clone().unwrap_or_default();
    ctx.save_refused(
        &token!(
            id = bob_id.clone(),
            user_name = "alice",
            access_token = "a-changed",
            expiry_time = "1"
        ),
        ErrorKind::Conflict,
    )
    .await?;
    ctx.save_refused(
        &token!(
            id = "unstored",
            access_token = "a-a",
            refresh_token = "r-changed"
        ),
        ErrorKind::Conflict,
    )
    .await?;
    ctx.save_refused(&token!(user_name = "carol"), ErrorKind::InvalidToken)
        .await?;
    let before = ctx.all().await?;
    let _ = ctx.store.find_token_by_id("unstored").await;
    let _ = ctx.store.delete_token("unstored").await;
    ctx.expect_tokens(
        "get_tokens() after a failed find_token_by_id and delete_token",
        &before,
    )
    .await
}

async fn reopened_store_holds_the_same_tokens(mut ctx: Ctx) -> CheckResult {
    let alice = ctx
        .save(&token!(user_name = "alice", refresh_token = "r-a"))
        .await?;
    let bob = ctx
        .save(&token!(user_name = "bob", refresh_token = "r-b"))
        .await?;
    ctx.save(&token!(
        user_name = "alice",
        access_token = "a-a",
        expiry_time = "1"
    ))
    .await?;
    ctx.store
        .delete_token(bob.id.as_deref().unwrap_or_default())
        .await
        .map_err(|e| format!("delete_token = Err({e}), want Ok"))?;
    let mut chosen = token!(user_name = "carol", refresh_token = "r-c");
    chosen.id = Some("carol-id".into());
    ctx.save(&chosen).await?;
    let before = ctx.all().await?;
    ctx.reopen().await?;
    ctx.expect_tokens("get_tokens() after reopening", &before)
        .await?;
    ctx.expect_find_id(
        &token!(user_name = "alice"),
        alice.id.as_deref().unwrap_or_default(),
    )
    .await?;
    let known: HashSet<String> = before.iter().filter_map(|t| t.id.clone()).collect();
    let dave = ctx
        .save_id(&token!(user_name = "dave", refresh_token = "r-d"))
        .await?;
    ensure(!known.contains(&dave), || {
        format!("save_token after reopening = Ok, id {dave:?}, which a stored token has, want a fresh id")
    })?;
    let after_insert = ctx.all().await?;
    ctx.reopen().await?;
    ctx.expect_tokens("get_tokens() after a second reopen", &after_insert)
        .await?;
    if !ctx.delete_all(&*ctx.store, "").await {
        return Ok(());
    }
    ctx.reopen().await?;
    ctx.expect_tokens("get_tokens() after delete_tokens() and reopening", &[])
        .await
}

async fn namespaces_never_see_each_other(ctx: Ctx) -> CheckResult {
    let other = ctx
        .storage
        .open("other")
        .await
        .map_err(|e| format!("opening namespace \"other\" = Err({e}), want Ok"))?;
    let mine = ctx
        .save(&token!(user_name = "alice", refresh_token = "r-main"))
        .await?;
    let mut theirs = token!(user_name = "alice", refresh_token = "r-other");
    other.save_token(&mut theirs).await.map_err(|e| format!("save_token in namespace \"other\" = Err({e}), want Ok: the user name is only taken in another namespace"))?;
    let list = |ts: Vec<Token>| ts.iter().map(show::token).collect::<Vec<_>>().join(", ");
    let theirs_all = other
        .get_tokens()
        .await
        .map_err(|e| format!("get_tokens() in \"other\" = Err({e}), want Ok"))?;
    if theirs.id.is_none() {
        ctx.notes.add(
            "save.id-written-back",
            "save_token in namespace \"other\" = Ok, and the caller's token has no id, want the stored id written back".into(),
        );
        if let [only] = theirs_all.as_slice() {
            theirs.id = only.id.clone();
        }
    }
    if theirs_all != vec![theirs.clone()] {
        let message = format!(
            "get_tokens() in namespace \"other\" = [{}], want only its own token",
            list(theirs_all.clone())
        );
        // find_token_by_id there answers its own token, and knows no listed stranger: the
        // listing is wrong, not the namespaces.
        if !super::by_id_agrees(
            &*other,
            ctx.choices,
            &theirs_all,
            std::slice::from_ref(&theirs),
        )
        .await
        {
            return Err(message);
        }
        ctx.notes.add("get-tokens.exact", message);
    }
    ctx.expect_tokens(
        "get_tokens() in the main namespace",
        std::slice::from_ref(&mine),
    )
    .await?;
    if !ctx.delete_all(&*other, "in namespace \"other\": ").await {
        return Ok(());
    }
    ctx.expect_tokens(
        "get_tokens() in the main namespace after delete_tokens() in another",
        std::slice::from_ref(&mine),
    )
    .await?;
    // A probe of the key alone: the hit is the stored token, whatever the store does with a
    // probe's other fields (find.hit-fills-absent).
    let probe = token!(user_name = "alice");
    ctx.expect_find(&probe, Some(&probe.merged_over(&mine)))
        .await
}
