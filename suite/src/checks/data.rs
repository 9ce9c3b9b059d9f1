//! Checks of the token's data rules: empty means absent, values round-trip, expiry is opaque.

use super::{checks, ensure, token, with_client, CheckResult, Ctx};
use crate::show;
use tokenstore_core::{Field, StoreError, Token};

checks![
    ("token.absent-empty", empty_strings_are_stored_as_absent),
    ("token.absent-empty", empty_user_name_is_not_a_key),
    (
        "token.roundtrip",
        hostile_values_round_trip_or_are_refused_by_field
    ),
    ("token.roundtrip", hostile_ids_round_trip_or_are_refused),
    ("token.roundtrip", hostile_values_survive_every_write_path),
    ("token.expiry-opaque", expiry_time_is_kept_as_given),
];

/// Every token the store hands back must show absent values as absent, not as "".
fn no_empty_values(what: &str, tokens: &[Token]) -> CheckResult {
    for t in tokens {
        if let Some(field) = show::has_empty_value(t) {
            return Err(format!(
                "{what} returned {} with {field} = \"\", want it absent",
                show::token(t)
            ));
        }
    }
    Ok(())
}

async fn empty_strings_are_stored_as_absent(ctx: Ctx) -> CheckResult {
    let saved = ctx
        .save(&token!(
            user_name = "u1",
            refresh_token = "r1",
            redirect_url = "https://u1.example/cb",
            access_token = "",
            expiry_time = "",
            api_domain = ""
        ))
        .await?;
    let id = saved.id.clone().unwrap_or_default();
    let stored = ctx.stored(&id).await?;
    no_empty_values(
        &format!("find_token_by_id({id:?})"),
        std::slice::from_ref(&stored),
    )?;
    ensure(
        stored.access_token.is_none() && stored.expiry_time.is_none(),
        || {
            format!(
                "find_token_by_id({id:?}) = {}, want access_token and expiry_time absent",
                show::token(&stored)
            )
        },
    )?;
    no_empty_values("get_tokens()", &ctx.all().await?)?;
    let found = ctx
        .find(&token!(user_name = "u1", access_token = ""))
        .await?;
    no_empty_values(
        "find_token({user_name:\"u1\", access_token:\"\"})",
        &found.into_iter().collect::<Vec<_>>(),
    )?;
    // An update with "" must not erase a stored value: "" is absent, and absent keeps.
    let update = token!(user_name = "u1", refresh_token = "");
    ctx.save(&update).await?;
    let after = ctx.stored(&id).await?;
    if after.refresh_token.is_none() {
        if let Some(message) = ctx.blame_replace(&stored, &update, &after) {
            return Err(message);
        }
    }
    ensure(after.refresh_token.as_deref() == Some("r1"), || {
        format!("after save_token({{user_name:\"u1\", refresh_token:\"\"}}), find_token_by_id({id:?}) = {}, want the stored refresh_token kept", show::token(&after))
    })
}

async fn empty_user_name_is_not_a_key(ctx: Ctx) -> CheckResult {
    let id = ctx
        .save_id(&token!(user_name = "", access_token = "a1"))
        .await?;
    ctx.expect_find_id(&token!(access_token = "a1"), &id)
        .await?;
    ctx.expect_find_id(&token!(user_name = "", access_token = "a1"), &id)
        .await?;
    let other = ctx
        .save_id(&token!(user_name = "", access_token = "a2"))
        .await?;
    ensure(other != id, || {
        format!("two tokens saved with user_name \"\" got the same id {id:?}, want two ids: \"\" is no user name")
    })
}

/// Saves `t`; returns Ok(None) when the store refused it with InvalidToken naming `field`.
async fn save_or_refuse(ctx: &Ctx, t: &Token, field: Field) -> Result<Option<String>, String> {
    let mut copy = t.clone();
    match ctx.store.save_token(&mut copy).await {
        Ok(()) => match copy.id {
            Some(id) => Ok(Some(id)),
            None => ctx.id_not_written_back(t).await.map(Some),
        },
        Err(StoreError::InvalidToken { field: named, .. }) if named == field => Ok(None),
        Err(e)
            if ctx
                .choices
                .refuses_as(e.kind(), tokenstore_core::ErrorKind::InvalidToken) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!(
            "save_token({}) = Err({e}), want Ok or Err(InvalidToken) naming {field}",
            show::token(t)
        )),
    }
}

async fn hostile_values_round_trip_or_are_refused_by_field(ctx: Ctx) -> CheckResult {
    let fields = Field::ALL.into_iter().filter(|f| *f != Field::Id);
    for field in fields {
        for value in crate::values::hostile() {
            // A value past the store's declared limits is limits.declared's to check.
            if !ctx.limits.holds(field, value) {
                continue;
            }
            let mut t = with_client(token!(user_name = "rt-user", refresh_token = "rt-refresh"));
            t.set(field, Some(value.clone()));
            let before = ctx.all().await?;
            let Some(id) = save_or_refuse(&ctx, &t, field).await? else {
                ctx.expect_tokens("get_tokens() after a refused save", &before)
                    .await?;
                continue;
            };
            let stored = ctx.stored(&id).await?;
            let mut want = t.clone();
            want.id = Some(id.clone());
            ensure(stored == want, || {
                format!(
                    "find_token_by_id({id:?}) = {}, want {} ({field} = {} byte for byte)",
                    show::token(&stored),
                    show::token(&want),
                    show::field_value(field, value)
                )
            })?;
            let listed = ctx.all().await?;
            ensure(listed.contains(&want), || {
                format!(
                    "get_tokens() does not hold {} byte for byte, want it listed as saved",
                    show::token(&want)
                )
            })?;
            let probe = token!(user_name = want.user_name.clone().unwrap_or_default());
            let found = ctx.find(&probe).await?;
            ensure(found.as_ref() == Some(&want), || {
                format!(
                    "find_token({}) = {}, want {}",
                    show::token(&probe),
                    show::opt_token(&found),
                    show::token(&want)
                )
            })?;
            ctx.store
                .delete_token(&id)
                .await
                .map_err(|e| format!("delete_token({id:?}) = Err({e}), want Ok"))?;
        }
    }
    Ok(())
}

/// A hostile value written by an update, by key and by id, not only by an insert: a store that
/// splices values into SQL text may escape them on one path and not the other.
async fn hostile_values_survive_every_write_path(ctx: Ctx) -> CheckResult {
    for (i, value) in crate::values::hostile().iter().enumerate() {
        if !ctx.limits.holds(Field::RedirectUrl, value)
            || !ctx.limits.holds(Field::ApiDomain, value)
        {
            continue;
        }
        let user = format!("path-user-{i}");
        let base = token!(user_name = user.clone(), refresh_token = "path-refresh");
        let id = ctx.save_id(&base).await?;
        let by_key = token!(user_name = user.clone(), redirect_url = value.clone());
        let by_id = token!(id = id.clone(), api_domain = value.clone());
        for (path, update, field, rule) in [
            (
                "an update by key",
                by_key,
                Field::RedirectUrl,
                "save.key-selects",
            ),
            (
                "an update by id",
                by_id,
                Field::ApiDomain,
                "save.id-selects",
            ),
        ] {
            let written = match save_or_refuse(&ctx, &update, field).await {
                Ok(Some(written)) => written,
                Ok(None) => continue,
                Err(message) => {
                    // The same update with a plain value tells a value the path mangles from a
                    // path that fails whatever the value: that is the path's rule, not this one.
                    let mut plain = update.clone();
                    plain.set(field, Some(format!("plain-{i}")));
                    if ctx.store.save_token(&mut plain).await.is_err() {
                        ctx.notes
                            .block(rule, format!("{path} fails with any value: {message}"));
                    }
                    return Err(message);
                }
            };
            if written != id {
                if field == Field::ApiDomain {
                    if let Some(message) = ctx.blame_ignored_id(&update, &id, &written).await {
                        return Err(message);
                    }
                } else {
                    let message = format!(
                        "save_token({}) = Ok, id {}, want an update of the token its key designates, id {}",
                        show::token(&update),
                        show::value(&written),
                        show::value(&id)
                    );
                    ctx.notes.block("save.key-selects", message.clone());
                    return Err(message);
                }
            }
            let stored = ctx.stored(&id).await?;
            ensure(stored.get(field) == Some(value.as_str()), || {
                format!(
                    "after {path}, save_token({}), find_token_by_id({}) = {}, want {field} = {} byte for byte",
                    show::token(&update),
                    show::value(&id),
                    show::token(&stored),
                    show::field_value(field, value)
                )
            })?;
        }
        ctx.store
            .delete_token(&id)
            .await
            .map_err(|e| format!("delete_token({}) = Err({e}), want Ok", show::value(&id)))?;
    }
    Ok(())
}

async fn hostile_ids_round_trip_or_are_refused(ctx: Ctx) -> CheckResult {
    for (i, value) in crate::values::hostile().iter().cloned().enumerate() {
        if !ctx.limits.holds(Field::Id, &value) {
            continue;
        }
        let mut t = token!(user_name = format!("id-user-{i}"), refresh_token = "r");
        t.id = Some(value.clone());
        let Some(id) = save_or_refuse(&ctx, &t, Field::Id).await? else {
            continue;
        };
        if id != value {
            if let Some(message) = ctx.blame_ignored_id(&t, &value, &id).await {
                return Err(message);
            }
        }
        ensure(id == value, || {
            format!(
                "save_token({}) stored id {}, want the caller's id {}",
                show::token(&t),
                show::value(&id),
                show::value(&value)
            )
        })?;
        let stored = ctx.stored(&value).await?;
        ensure(stored == t, || {
            format!(
                "find_token_by_id({}) = {}, want {}",
                show::value(&value),
                show::token(&stored),
                show::token(&t)
            )
        })?;
    }
    Ok(())
}

async fn expiry_time_is_kept_as_given(ctx: Ctx) -> CheckResult {
    let expiries = [
        "1700000000000",
        "007",
        "-1",
        "0",
        "1.5e3",
        "not a time",
        "2026-11-29T00:00:00Z",
        "99999999999999999999999999",
    ];
    // An expiry past the store's declared limits is limits.declared's to check.
    let held = expiries
        .into_iter()
        .filter(|e| ctx.limits.holds(Field::ExpiryTime, e));
    for (i, expiry) in held.enumerate() {
        let t = token!(
            user_name = format!("exp-{i}"),
            refresh_token = "r",
            expiry_time = expiry
        );
        let mut copy = t.clone();
        if let Err(e) = ctx.store.save_token(&mut copy).await {
            let kind = e.kind();
            return Err(format!("save_token({}) = Err({e}), want Ok: expiry_time is opaque ({kind:?} is not allowed)", show::token(&t)));
        }
        let id = match copy.id {
            Some(id) => id,
            None => ctx.id_not_written_back(&t).await?,
        };
        let stored = ctx.stored(&id).await?;
        ensure(stored.expiry_time.as_deref() == Some(expiry), || {
            format!(
                "find_token_by_id({id:?}) = {}, want expiry_time {expiry:?} exactly",
                show::token(&stored)
            )
        })?;
    }
    Ok(())
}
