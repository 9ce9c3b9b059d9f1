//! Checks of find_token_by_id: the whole token on a hit, NotFound for any other spelling.

use super::{checks, ensure, token, CheckResult, Ctx};
use crate::show;
use tokenstore_core::{ErrorKind, Token};

checks![
    ("find-by-id.hit", hit_returns_the_whole_stored_token),
    (
        "find-by-id.miss-not-found",
        unstored_ids_of_any_spelling_are_not_found
    ),
];

fn full_token(user: &str) -> Token {
    token!(
        user_name = user,
        client_id = "client-1",
        client_secret = "secret-1",
        refresh_token = format!("r-{user}"),
        access_token = format!("a-{user}"),
        grant_token = format!("g-{user}"),
        expiry_time = "1700000000000",
        redirect_url = "https://app.example/callback",
        api_domain = "https://www.zohoapis.com",
    )
}

async fn hit_returns_the_whole_stored_token(ctx: Ctx) -> CheckResult {
    let a = ctx.save(&full_token("alice")).await?;
    let b = ctx.save(&full_token("bob")).await?;
    let mut chosen = full_token("carol");
    chosen.id = Some("carol-id".into());
    let c = ctx.save(&chosen).await?;
    for want in [&a, &b, &c] {
        let id = want.id.clone().unwrap_or_default();
        let got = ctx.stored(&id).await?;
        ensure(&got == want, || {
            format!(
                "find_token_by_id({id:?}) = {}, want {}",
                show::token(&got),
                show::token(want)
            )
        })?;
    }
    Ok(())
}

async fn unstored_ids_of_any_spelling_are_not_found(ctx: Ctx) -> CheckResult {
    let a = ctx.save(&full_token("alice")).await?;
    let mut named = full_token("bob");
    named.id = Some("abc".into());
    ctx.save(&named).await?;
    let id = a.id.clone().unwrap_or_default();
    let spellings = [
        String::new(),
        format!("0{id}"),
        format!(" {id}"),
        format!("{id} "),
        format!("{id}.0"),
        format!("+{id}"),
        format!("{id}0"),
        "ABC".into(),
        "abc ".into(),
        "99999999".into(),
        "-1".into(),
        "null".into(),
        "%".into(),
        "' OR '1'='1".into(),
    ];
    for spelling in spellings {
        match ctx.by_id(&spelling).await? {
            Err(e) if ctx.choices.refuses_as(e.kind(), ErrorKind::NotFound) => {}
            Err(e) => {
                return Err(format!(
                    "find_token_by_id({}) = Err({e}), want Err(NotFound)",
                    show::value(&spelling)
                ))
            }
            Ok(t) => {
                return Err(format!(
                    "find_token_by_id({}) = {}, want Err(NotFound)",
                    show::value(&spelling),
                    show::token(&t)
                ))
            }
        }
    }
    Ok(())
}
