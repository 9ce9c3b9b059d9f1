//! Checks of find_token: the key order, exact matching, and what a hit and a miss return.

use super::{checks, ensure, token, with_client, CheckResult, Ctx};
use crate::show;
use tokenstore_core::{Field, Token};

checks![
    ("find.by-user-name", user_name_matches_only_the_user_name),
    (
        "find.by-access-token",
        access_token_is_the_key_without_client_credentials
    ),
    (
        "find.by-grant-token",
        grant_token_is_the_key_with_client_credentials
    ),
    (
        "find.by-refresh-token",
        refresh_token_is_the_key_without_grant_token
    ),
    (
        "find.grant-refresh-fallback",
        grant_fallback_follows_the_profile_for_find_and_save
    ),
    ("find.no-key-none", probe_without_usable_key_finds_none),
    ("find.exact-match", keys_compare_exactly),
    ("find.never-by-id", probe_id_is_never_a_key),
    (
        "find.hit-fills-absent",
        hit_keeps_probe_fields_and_fills_absent_ones
    ),
    ("find.miss-none", miss_returns_none),
];

/// Two users and one client-credential token, with the ids the store gave them.
struct Fixture {
    alice: Token,
    bob: Token,
    granted: Token,
}

async fn populate(ctx: &Ctx) -> Result<Fixture, String> {
    let alice = ctx
        .save(&token!(
            user_name = "alice",
            refresh_token = "r-alice",
            access_token = "a-alice",
            expiry_time = "1700000000000"
        ))
        .await?;
    let bob = ctx
        .save(&token!(
            user_name = "bob",
            refresh_token = "r-bob",
            access_token = "a-bob"
        ))
        .await?;
    let granted = ctx
        .save(&with_client(token!(
            grant_token = "g-1",
            refresh_token = "r-1",
            access_token = "a-1"
        )))
        .await?;
    Ok(Fixture {
        alice,
        bob,
        granted,
    })
}

fn id(t: &Token) -> &str {
    t.id.as_deref().unwrap_or_default()
}

async fn user_name_matches_only_the_user_name(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    ctx.expect_find_id(&token!(user_name = "alice"), id(&f.alice))
        .await?;
    ctx.expect_find_id(
        &token!(user_name = "alice", access_token = "a-bob"),
        id(&f.alice),
    )
    .await?;
    ctx.expect_find_id(
        &with_client(token!(user_name = "bob", grant_token = "g-1")),
        id(&f.bob),
    )
    .await?;
    ctx.expect_find(&token!(user_name = "carol", access_token = "a-alice"), None)
        .await?;
    ctx.expect_find(
        &with_client(token!(user_name = "carol", refresh_token = "r-1")),
        None,
    )
    .await
}

async fn access_token_is_the_key_without_client_credentials(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    ctx.expect_find_id(&token!(access_token = "a-alice"), id(&f.alice))
        .await?;
    ctx.expect_find_id(
        &token!(access_token = "a-bob", refresh_token = "r-alice"),
        id(&f.bob),
    )
    .await?;
    ctx.expect_find(&token!(access_token = "a-unknown"), None)
        .await?;
    // One client credential without the other: no key at all.
    ctx.expect_find(
        &token!(access_token = "a-alice", client_id = "client-1"),
        None,
    )
    .await?;
    ctx.expect_find(
        &token!(access_token = "a-alice", client_secret = "secret-1"),
        None,
    )
    .await
}

async fn grant_token_is_the_key_with_client_credentials(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    ctx.expect_find_id(&with_client(token!(grant_token = "g-1")), id(&f.granted))
        .await?;
    ctx.expect_find_id(
        &with_client(token!(grant_token = "g-1", refresh_token = "r-bob")),
        id(&f.granted),
    )
    .await?;
    // The client id and secret are not compared, only required.
    let other_client = token!(
        grant_token = "g-1",
        client_id = "another",
        client_secret = "other"
    );
    ctx.expect_find_id(&other_client, id(&f.granted)).await?;
    ctx.expect_find(&token!(grant_token = "g-1"), None).await
}

async fn refresh_token_is_the_key_without_grant_token(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    ctx.expect_find_id(&with_client(token!(refresh_token = "r-1")), id(&f.granted))
        .await?;
    ctx.expect_find_id(
        &with_client(token!(refresh_token = "r-bob", access_token = "a-alice")),
        id(&f.bob),
    )
    .await?;
    ctx.expect_find(&token!(refresh_token = "r-1"), None)
        .await?;
    ctx.expect_find(&with_client(token!(refresh_token = "r-none")), None)
        .await
}

async fn grant_fallback_follows_the_profile_for_find_and_save(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    let probe = with_client(token!(grant_token = "g-unknown", refresh_token = "r-1"));
    let falls_back = ctx.choices.grant_falls_back_to_refresh;
    if falls_back {
        ctx.expect_find_id(&probe, id(&f.granted)).await?;
    } else {
        ctx.expect_find(&probe, None).await?;
    }
    let saved = ctx
        .save(&with_client(token!(
            grant_token = "g-new",
            refresh_token = "r-1",
            access_token = "a-new"
        )))
        .await?;
    let updated = saved.id.as_deref() == f.granted.id.as_deref();
    ensure(updated == falls_back, || {
        format!(
            "save_token of a new grant token with the stored refresh token {} the stored token (id {:?} became {:?}), but find_token {} fall back: find and save must agree",
            if updated { "updated" } else { "did not update" },
            f.granted.id,
            saved.id,
            if falls_back { "does" } else { "does not" }
        )
    })
}

async fn probe_without_usable_key_finds_none(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    let probes = [
        Token::default(),
        token!(client_id = "client-1"),
        token!(client_id = "client-1", client_secret = "secret-1"),
        token!(refresh_token = "r-1"),
        token!(grant_token = "g-1"),
        token!(client_secret = "secret-1", access_token = "a-alice"),
        with_client(token!(access_token = "a-alice")),
        token!(
            expiry_time = "1700000000000",
            redirect_url = "https://x.example/cb"
        ),
        token!(id = id(&f.alice)),
    ];
    for probe in &probes {
        ctx.expect_find(probe, None).await?;
    }
    Ok(())
}

async fn keys_compare_exactly(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    for user in [
        "Alice", "ALICE", "alice ", " alice", "alic", "alice2", "alice\n",
    ] {
        ctx.expect_find(&token!(user_name = user), None).await?;
    }
    for access in ["A-ALICE", "a-alice ", "a-alic", "%"] {
        ctx.expect_find(&token!(access_token = access), None)
            .await?;
    }
    ctx.expect_find(&with_client(token!(grant_token = "G-1")), None)
        .await?;
    ctx.expect_find(&with_client(token!(refresh_token = "R-1")), None)
        .await?;
    // The metacharacters of SQL patterns, shell globs and regular expressions match nothing but
    // themselves: a store that compares with LIKE, GLOB, fnmatch or a regex finds alice here.
    for (field, value) in PATTERNS {
        let mut probe = with_client(Token::default());
        probe.set(*field, Some((*value).to_owned()));
        if *field != Field::GrantToken && *field != Field::RefreshToken {
            probe = Token {
                user_name: probe.user_name,
                access_token: probe.access_token,
                ..Token::default()
            };
        }
        ctx.expect_find(&probe, None).await?;
    }
    let other = ctx
        .save(&token!(user_name = "Alice", refresh_token = "r-Alice"))
        .await?;
    ensure(other.id != f.alice.id, || {
        format!("save_token({{user_name:\"Alice\"}}) updated the token of \"alice\" (id {:?}), want a new token", f.alice.id)
    })?;
    let alice = ctx.stored(id(&f.alice)).await?;
    ensure(
        alice.user_name.as_deref() == Some("alice")
            && alice.refresh_token.as_deref() == Some("r-alice"),
        || {
            format!(
                "find_token_by_id({:?}) = {}, want alice's token unchanged",
                f.alice.id,
                show::token(&alice)
            )
        },
    )
}

/// Probes that read as a pattern (SQL `LIKE`, a glob, a regular expression) match a stored key
/// of the fixture, and as a plain value match nothing.
const PATTERNS: &[(Field, &str)] = &[
    (Field::UserName, "al_ce"),
    (Field::UserName, "a%"),
    (Field::UserName, "ali*"),
    (Field::UserName, "al?ce"),
    (Field::UserName, "[a]lice"),
    (Field::UserName, "a.ice"),
    (Field::UserName, "b.*"),
    (Field::AccessToken, "a-al_ce"),
    (Field::AccessToken, "a-b%"),
    (Field::GrantToken, "g-?"),
    (Field::RefreshToken, "r-[1]"),
];

async fn probe_id_is_never_a_key(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    ctx.expect_find(&token!(id = id(&f.alice)), None).await?;
    ctx.expect_find(&token!(id = id(&f.alice), user_name = "nobody"), None)
        .await?;
    let probe = token!(id = id(&f.alice), user_name = "bob");
    let got = ctx.find(&probe).await?;
    ensure(
        got.as_ref().and_then(|t| t.refresh_token.as_deref()) == Some("r-bob"),
        || {
            format!(
                "find_token({}) = {}, want bob's token (the id is not a key)",
                show::token(&probe),
                show::opt_token(&got)
            )
        },
    )
}

async fn hit_keeps_probe_fields_and_fills_absent_ones(ctx: Ctx) -> CheckResult {
    let f = populate(&ctx).await?;
    let probe = token!(
        user_name = "alice",
        access_token = "a-probe",
        api_domain = "https://probe.example"
    );
    let mut want = f.alice.clone();
    want.access_token = Some("a-probe".into());
    want.api_domain = Some("https://probe.example".into());
    ctx.expect_find(&probe, Some(&want)).await?;
    // A probe by user name alone must come back with the stored client id and secret, which
    // the SDK needs to refresh the token.
    let carol = ctx
        .save(&token!(
            user_name = "carol",
            client_id = "client-carol",
            client_secret = "secret-carol",
            refresh_token = "r-carol"
        ))
        .await?;
    let keyed = token!(user_name = "carol");
    let found = ctx.find(&keyed).await?;
    ensure(
        found.as_ref().is_some_and(|t| {
            t.client_id == carol.client_id && t.client_secret == carol.client_secret
        }),
        || {
            format!(
                "find_token({}) = {}, want the stored client_id and client_secret filled in: {}",
                show::token(&keyed),
                show::opt_token(&found),
                show::token(&carol)
            )
        },
    )?;
    let whole = ctx.find(&token!(access_token = "a-bob")).await?;
    ctx.expect_find(&token!(access_token = "a-bob"), Some(&f.bob))
        .await?;
    ensure(whole.as_ref() == Some(&f.bob), || {
        "find_token(probe) = a token missing a stored field, want every absent field filled from the stored token".into()
    })
}

async fn miss_returns_none(ctx: Ctx) -> CheckResult {
    ctx.expect_find(&token!(user_name = "alice"), None).await?;
    ctx.expect_find(&token!(access_token = "a-alice"), None)
        .await?;
    populate(&ctx).await?;
    ctx.expect_find(
        &token!(user_name = "nobody", refresh_token = "r-alice"),
        None,
    )
    .await?;
    ctx.expect_find(&token!(access_token = "a-nobody"), None)
        .await?;
    ctx.expect_find(&with_client(token!(grant_token = "g-nobody")), None)
        .await?;
    ctx.expect_find(&with_client(token!(refresh_token = "r-nobody")), None)
        .await
}
