//! Checks of save_token: what selects the token to update, the merge, inserts and fresh ids,
//! write-back of the id, and the saves the spec refuses.

use super::{checks, ensure, token, with_client, CheckResult, Ctx};
use crate::show;
use std::collections::HashSet;
use tokenstore_core::{ErrorKind, Token};

checks![
    ("save.id-selects", stored_id_selects_the_token_over_the_key),
    ("save.key-selects", lookup_key_selects_the_token_without_id),
    ("save.merge", update_keeps_absent_fields),
    ("save.insert", unmatched_save_inserts_one_token),
    ("save.insert", caller_chosen_id_is_kept_on_insert),
    ("save.id-written-back", caller_token_carries_the_stored_id),
    ("save.fresh-id-unique", fresh_ids_never_collide),
    ("save.refuse-tokenless", tokenless_save_is_refused),
    (
        "save.user-name-unique",
        second_token_for_a_user_is_a_conflict
    ),
    (
        "save.unstored-id-conflict",
        unstored_id_with_matching_key_is_a_conflict
    ),
    ("save.idempotent", saving_twice_leaves_one_unchanged_token),
];

fn id(t: &Token) -> String {
    t.id.clone().unwrap_or_default()
}

async fn stored_id_selects_the_token_over_the_key(ctx: Ctx) -> CheckResult {
    let alice = ctx
        .save(&token!(user_name = "alice", refresh_token = "r-alice"))
        .await?;
    let bob = ctx
        .save(&token!(access_token = "a-bob", refresh_token = "r-bob"))
        .await?;
    // The key (access token) designates bob's token; the stored id designates alice's.
    let saved = ctx
        .save(&token!(id = id(&alice), access_token = "a-bob"))
        .await?;
    ensure(saved.id == alice.id, || {
        format!(
            "save_token with alice's id wrote id {:?}, want {:?}",
            saved.id, alice.id
        )
    })?;
    let a = ctx.stored(&id(&alice)).await?;
    if let Some(message) =
        ctx.blame_replace(&alice, &token!(id = id(&alice), access_token = "a-bob"), &a)
    {
        return Err(message);
    }
    ensure(
        a.access_token.as_deref() == Some("a-bob") && a.refresh_token.as_deref() == Some("r-alice"),
        || {
            format!(
                "find_token_by_id({:?}) = {}, want alice's token with bob's access_token",
                alice.id,
                show::token(&a)
            )
        },
    )?;
    let b = ctx.stored(&id(&bob)).await?;
    ensure(b == bob, || {
        format!(
            "find_token_by_id({:?}) = {}, want bob's token unchanged {}",
            bob.id,
            show::token(&b),
            show::token(&bob)
        )
    })?;
    // A stored id also renames: the user name is just another field then.
    ctx.save(&token!(id = id(&alice), user_name = "alice-renamed"))
        .await?;
    ctx.expect_find_id(&token!(user_name = "alice-renamed"), &id(&alice))
        .await?;
    ensure(ctx.all().await?.len() == 2, || {
        "get_tokens() after a save with a stored id = 3 tokens, want 2: the save inserted a token"
            .into()
    })
}

async fn lookup_key_selects_the_token_without_id(ctx: Ctx) -> CheckResult {
    let alice = ctx
        .save(&token!(user_name = "alice", refresh_token = "r-alice"))
        .await?;
    let bare = ctx
        .save(&token!(access_token = "a-bare", refresh_token = "r-bare"))
        .await?;
    let granted = ctx
        .save(&with_client(token!(
            grant_token = "g-1",
            refresh_token = "r-1"
        )))
        .await?;
    let cases = [
        (token!(user_name = "alice", access_token = "a-2"), &alice),
        (token!(access_token = "a-bare", expiry_time = "1"), &bare),
        (
            with_client(token!(grant_token = "g-1", access_token = "a-3")),
            &granted,
        ),
        (
            with_client(token!(refresh_token = "r-1", expiry_time = "2")),
            &granted,
        ),
    ];
    for (update, target) in &cases {
        let saved = ctx.save(update).await?;
        ensure(saved.id == target.id, || {
            format!(
                "save_token({}) wrote id {:?}, want the token its key designates, id {:?}",
                show::token(update),
                saved.id,
                target.id
            )
        })?;
    }
    let count = ctx.all().await?.len();
    ensure(count == 3, || {
        format!("after key-selected updates get_tokens() holds {count} tokens, want 3")
    })
}

async fn update_keeps_absent_fields(ctx: Ctx) -> CheckResult {
    let full = token!(
        user_name = "alice",
        client_id = "client-1",
        client_secret = "secret-1",
        refresh_token = "r-1",
        access_token = "a-1",
        grant_token = "g-1",
        expiry_time = "100",
        redirect_url = "https://cb",
        api_domain = "https://api"
    );
    let stored = ctx.save(&full).await?;
    ctx.save(&token!(
        user_name = "alice",
        access_token = "a-2",
        expiry_time = "200"
    ))
    .await?;
    let mut want = stored.clone();
    want.access_token = Some("a-2".into());
    want.expiry_time = Some("200".into());
    let got = ctx.stored(&id(&stored)).await?;
    ensure(got == want, || {
        format!(
            "after a partial update find_token_by_id = {}, want {}",
            show::token(&got),
            show::token(&want)
        )
    })?;
    ctx.save(&token!(id = id(&stored), refresh_token = "r-2"))
        .await?;
    want.refresh_token = Some("r-2".into());
    let got = ctx.stored(&id(&stored)).await?;
    ensure(got == want, || {
        format!(
            "after an update by id find_token_by_id = {}, want {}",
            show::token(&got),
            show::token(&want)
        )
    })
}

async fn unmatched_save_inserts_one_token(ctx: Ctx) -> CheckResult {
    let first = ctx
        .save(&token!(user_name = "alice", refresh_token = "r-1"))
        .await?;
    let t = with_client(token!(
        grant_token = "g-2",
        expiry_time = "5",
        redirect_url = "https://cb"
    ));
    let second = ctx.save(&t).await?;
    let mut want = t.clone();
    want.id = second.id.clone();
    let mut expected = vec![first, want];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    ctx.expect_tokens("get_tokens() after two inserts", &expected)
        .await
}

async fn caller_chosen_id_is_kept_on_insert(ctx: Ctx) -> CheckResult {
    for chosen in ["42", "my-token-7", "007"] {
        let t = token!(
            id = chosen,
            user_name = format!("user-{chosen}"),
            refresh_token = "r"
        );
        let saved = ctx.save(&t).await?;
        ensure(saved.id.as_deref() == Some(chosen), || {
            format!(
                "save_token({}) stored id {:?}, want the caller's id {chosen:?}",
                show::token(&t),
                saved.id
            )
        })?;
        let got = ctx.stored(chosen).await?;
        ensure(got == t, || {
            format!(
                "find_token_by_id({chosen:?}) = {}, want {}",
                show::token(&got),
                show::token(&t)
            )
        })?;
    }
    Ok(())
}

async fn caller_token_carries_the_stored_id(ctx: Ctx) -> CheckResult {
    let inserted = ctx
        .save(&token!(user_name = "alice", refresh_token = "r-1"))
        .await?;
    let by_key = ctx
        .save(&token!(user_name = "alice", access_token = "a-1"))
        .await?;
    ensure(by_key.id == inserted.id, || {
        format!(
            "after a key-selected update the caller's token has id {:?}, want {:?}",
            by_key.id, inserted.id
        )
    })?;
    let bare = ctx
        .save(&token!(access_token = "a-x", refresh_token = "r-x"))
        .await?;
    let again = ctx
        .save(&token!(access_token = "a-x", expiry_time = "9"))
        .await?;
    ensure(again.id == bare.id, || {
        format!(
            "after an access-token update the caller's token has id {:?}, want {:?}",
            again.id, bare.id
        )
    })
}

async fn fresh_ids_never_collide(ctx: Ctx) -> CheckResult {
    let mut ids = Vec::new();
    let insert = |n: usize| {
        token!(
            user_name = format!("fresh-{n}"),
            refresh_token = format!("r-{n}")
        )
    };
    for n in 0..120 {
        let fresh = id(&ctx.save(&insert(n)).await?);
        if let Some(earlier) = ids.iter().position(|i| *i == fresh) {
            return Err(format!(
                "save_token({}) = Ok, id {}, want a fresh id: insert {} of 120 got the id insert {} got",
                show::token(&insert(n)),
                show::value(&fresh),
                n + 1,
                earlier + 1
            ));
        }
        ids.push(fresh);
    }
    // Delete the newest and a few others, then add caller-chosen ids, numeric and not.
    for victim in [
        ids[119].clone(),
        ids[118].clone(),
        ids[0].clone(),
        ids[50].clone(),
    ] {
        ctx.store
            .delete_token(&victim)
            .await
            .map_err(|e| format!("delete_token({victim:?}) = Err({e}), want Ok"))?;
    }
    for chosen in ["121", "122", "130", "1000", "007", "abc", "-5"] {
        ctx.save(&token!(
            id = chosen,
            user_name = format!("chosen-{chosen}"),
            refresh_token = "r"
        ))
        .await?;
    }
    for n in 120..160 {
        let before: HashSet<String> = ctx.all().await?.into_iter().filter_map(|t| t.id).collect();
        let fresh = id(&ctx.save(&insert(n)).await?);
        ensure(!before.contains(&fresh), || {
            format!(
                "save_token({}) = Ok, id {}, want a fresh id: a stored token already has it",
                show::token(&insert(n)),
                show::value(&fresh)
            )
        })?;
    }
    let all = ctx.all().await?;
    let distinct: HashSet<_> = all.iter().map(|t| t.id.clone()).collect();
    ensure(
        distinct.len() == all.len() && all.len() == 120 - 4 + 7 + 40,
        || {
            format!(
                "get_tokens() holds {} tokens with {} distinct ids, want {} and as many ids",
                all.len(),
                distinct.len(),
                120 - 4 + 7 + 40
            )
        },
    )
}

async fn tokenless_save_is_refused(ctx: Ctx) -> CheckResult {
    ctx.save(&token!(user_name = "alice", refresh_token = "r-1"))
        .await?;
    for t in [
        token!(user_name = "nobody"),
        token!(id = "404"),
        token!(id = "405", client_id = "client-1", expiry_time = "1"),
        token!(
            user_name = "nobody",
            refresh_token = "",
            access_token = "",
            grant_token = ""
        ),
    ] {
        ctx.save_refused(&t, ErrorKind::InvalidToken).await?;
    }
    Ok(())
}

async fn second_token_for_a_user_is_a_conflict(ctx: Ctx) -> CheckResult {
    ctx.save(&token!(user_name = "alice", refresh_token = "r-a"))
        .await?;
    let bob = ctx
        .save(&token!(user_name = "bob", refresh_token = "r-b"))
        .await?;
    // The rename carries a refresh token, so that a store whose refusals are untyped has no
    // other reason to refuse it than the conflict.
    ctx.save_refused(
        &token!(id = id(&bob), user_name = "alice", refresh_token = "r-b2"),
        ErrorKind::Conflict,
    )
    .await?;
    let alices = ctx
        .all()
        .await?
        .into_iter()
        .filter(|t| t.user_name.as_deref() == Some("alice"))
        .count();
    ensure(alices == 1, || {
        format!("{alices} tokens have user name \"alice\", want 1")
    })
}

async fn unstored_id_with_matching_key_is_a_conflict(ctx: Ctx) -> CheckResult {
    ctx.save(&token!(user_name = "alice", refresh_token = "r-a"))
        .await?;
    ctx.save(&token!(access_token = "a-bare", refresh_token = "r-bare"))
        .await?;
    ctx.save_refused(
        &token!(
            id = "not-stored-9",
            user_name = "alice",
            access_token = "a-z"
        ),
        ErrorKind::Conflict,
    )
    .await?;
    ctx.save_refused(
        &token!(id = "999", access_token = "a-bare"),
        ErrorKind::Conflict,
    )
    .await
}

async fn saving_twice_leaves_one_unchanged_token(ctx: Ctx) -> CheckResult {
    let t = token!(
        user_name = "alice",
        refresh_token = "r-1",
        access_token = "a-1",
        expiry_time = "1"
    );
    let first = ctx.save(&t).await?;
    let after_first = ctx.all().await?;
    let second = ctx.save(&first).await?;
    ctx.expect_tokens(
        "get_tokens() after saving the returned token again",
        &after_first,
    )
    .await?;
    ensure(second.id == first.id, || {
        format!(
            "saving the same token twice gave ids {:?} and {:?}, want the same id",
            first.id, second.id
        )
    })?;
    ctx.save(&t).await?;
    ctx.expect_tokens(
        "get_tokens() after saving a copy without id again",
        &after_first,
    )
    .await
}
