//! Checks of delete_token and of deleting an id that is not stored.

use super::{checks, ensure, token, CheckResult, Ctx};
use tokenstore_core::ErrorKind;

checks![
    ("delete.removes-exactly", delete_removes_that_token_only),
    (
        "delete.missing-id",
        missing_id_delete_is_consistent_and_harmless
    ),
];

async fn delete_removes_that_token_only(ctx: Ctx) -> CheckResult {
    let a = ctx
        .save(&token!(user_name = "alice", refresh_token = "r-a"))
        .await?;
    let b = ctx
        .save(&token!(user_name = "bob", refresh_token = "r-b"))
        .await?;
    let c = ctx
        .save(&token!(user_name = "carol", refresh_token = "r-c"))
        .await?;
    let b_id = b.id.clone().unwrap_or_default();
    ctx.store
        .delete_token(&b_id)
        .await
        .map_err(|e| format!("delete_token({b_id:?}) = Err({e}), want Ok"))?;
    match ctx.by_id(&b_id).await? {
        Err(e) if ctx.choices.refuses_as(e.kind(), ErrorKind::NotFound) => {}
        other => {
            return Err(format!(
                "find_token_by_id({b_id:?}) after delete_token = {other:?}, want Err(NotFound)"
            ))
        }
    }
    ctx.expect_find(&token!(user_name = "bob"), None).await?;
    let mut want = vec![a.clone(), c];
    want.sort_by(|x, y| x.id.cmp(&y.id));
    ctx.expect_tokens("get_tokens() after delete_token", &want)
        .await?;
    // Another spelling of a stored id deletes nothing.
    let a_id = a.id.clone().unwrap_or_default();
    for spelling in [
        format!("0{a_id}"),
        format!("{a_id} "),
        a_id.to_uppercase() + "x",
    ] {
        let _ = ctx.store.delete_token(&spelling).await;
    }
    ctx.expect_tokens(
        "get_tokens() after deleting other spellings of a stored id",
        &want,
    )
    .await
}

async fn missing_id_delete_is_consistent_and_harmless(ctx: Ctx) -> CheckResult {
    ctx.save(&token!(user_name = "alice", refresh_token = "r-a"))
        .await?;
    let before = ctx.all().await?;
    let want_not_found = ctx.choices.delete_missing_reports_not_found;
    for missing in ["no-such-id", "999999", "", "0", " "] {
        let result = ctx.store.delete_token(missing).await;
        let consistent = match &result {
            Ok(()) => !want_not_found,
            Err(e) => want_not_found && ctx.choices.refuses_as(e.kind(), ErrorKind::NotFound),
        };
        ensure(consistent, || {
            format!(
                "delete_token({missing:?}) = {result:?}, want {} (the store's detected choice)",
                if want_not_found {
                    "Err(NotFound)"
                } else {
                    "Ok"
                }
            )
        })?;
    }
    ctx.expect_tokens("get_tokens() after deleting missing ids", &before)
        .await
}
