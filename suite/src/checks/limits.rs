//! The check of the limits a store declares: within them every value is kept byte for byte,
//! past them the save is refused with InvalidToken naming the field and the limit, and nothing
//! is written.

use super::{checks, ensure, CheckResult, Ctx};
use crate::show;
use tokenstore_core::{Field, StoreError, Token};

checks![("limits.declared", declared_limits_are_the_real_ones)];

/// How long a value of a field without a declared limit must be kept.
pub const UNLIMITED_PROBE: usize = 65_536;

/// Characters a store must keep unless it declares it cannot: controls, quotes, separators, and
/// characters of two, three and four bytes in UTF-8.
const PROBE_CHARS: &[char] = &[
    '\0',
    '\u{1}',
    '\t',
    '\n',
    '\r',
    '\u{7f}',
    ' ',
    '"',
    '\'',
    ',',
    ';',
    '\\',
    '%',
    '_',
    'é',
    '€',
    '\u{1d11e}',
];

/// A token that stores `value` in `field`, with a user name and refresh token of its own so
/// that it is an insert.
fn carrying(n: usize, field: Field, value: &str) -> Token {
    let mut t = Token {
        user_name: Some(format!("limits-{n}")),
        refresh_token: Some(format!("limits-refresh-{n}")),
        ..Token::default()
    };
    t.set(field, Some(value.to_owned()));
    t
}

async fn expect_kept(ctx: &Ctx, n: usize, field: Field, value: &str, why: &str) -> CheckResult {
    let token = carrying(n, field, value);
    let saved = ctx.save(&token).await.map_err(|e| format!("{why}: {e}"))?;
    let id = saved.id.clone().unwrap_or_default();
    let stored = ctx.stored(&id).await?;
    ensure(stored.get(field) == Some(value), || {
        format!(
            "{why}: find_token_by_id({}) gave {field} = {}, want {} back byte for byte",
            show::value(&id),
            stored
                .get(field)
                .map(|v| show::field_value(field, v))
                .unwrap_or("absent".into()),
            show::field_value(field, value)
        )
    })
}

async fn expect_refused(
    ctx: &Ctx,
    n: usize,
    field: Field,
    value: &str,
    why: &str,
    limit: Option<usize>,
) -> CheckResult {
    let before = ctx.all().await?;
    let mut token = carrying(n, field, value);
    let result = ctx.store.save_token(&mut token).await;
    match &result {
        Err(StoreError::InvalidToken { field: named, reason }) if *named == field => {
            if let Some(limit) = limit {
                ensure(reason.contains(&limit.to_string()), || {
                    format!("{why}: save_token = Err(InvalidToken {reason}), want the refusal to name the limit {limit}")
                })?;
            }
        }
        Err(e) => return Err(format!("{why}: save_token = Err({e}), want Err(InvalidToken) naming {field}")),
        Ok(()) => return Err(format!("{why}: save_token = Ok, want Err(InvalidToken) naming {field}: the store declares it cannot hold the value")),
    }
    let after = ctx.all().await?;
    super::expect_same_tokens(
        &format!("{why}: get_tokens() after the refusal"),
        &after,
        &before,
    )
}

async fn declared_limits_are_the_real_ones(ctx: Ctx) -> CheckResult {
    let limits = ctx.limits;
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    for field in Field::ALL {
        let declared = limits
            .max_chars
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| *m);
        match declared {
            Some(max) => {
                let at = "é".repeat(max);
                let why = format!("{field} of {max} characters, the declared longest");
                expect_kept(&ctx, next(), field, &at, &why).await?;
                let past = "é".repeat(max + 1);
                let why = format!("{field} of {} characters, past the declared {max}", max + 1);
                expect_refused(&ctx, next(), field, &past, &why, Some(max)).await?;
            }
            None => {
                let long = "x".repeat(UNLIMITED_PROBE);
                let why =
                    format!("{field} of {UNLIMITED_PROBE} characters, with no declared limit");
                expect_kept(&ctx, next(), field, &long, &why).await?;
            }
        }
        let kept: String = PROBE_CHARS
            .iter()
            .filter(|c| !limits.forbidden_chars.iter().any(|(f, _)| f == *c))
            .flat_map(|c| [*c, 'x'])
            .collect();
        let why = format!("{field} holding every character not declared forbidden");
        expect_kept(&ctx, next(), field, &format!("v{kept}"), &why).await?;
        for (c, name) in limits.forbidden_chars {
            let why = format!("{field} holding {name}, declared forbidden");
            expect_refused(&ctx, next(), field, &format!("a{c}b"), &why, None).await?;
        }
    }
    Ok(())
}
