//! The synthetic tokens a benchmark loads: every key field distinct per token, values shaped like
//! Zoho's (about 70 characters), ids `1..=n`.

use tokenstore_core::Token;

/// The i-th token of a population (0-based).
pub fn token(i: usize) -> Token {
    Token {
        id: Some((i + 1).to_string()),
        user_name: Some(format!("user{i:07}@example.com")),
        client_id: Some("1000.BENCHCLIENTID0000000000000000000".into()),
        client_secret: Some("benchsecret00000000000000000000000000000000".into()),
        refresh_token: Some(format!(
            "1000.{i:07}0000000000000000000000000000.refresh000000000000000000000000"
        )),
        access_token: Some(format!(
            "1000.{i:07}0000000000000000000000000000.access0000000000000000000000000"
        )),
        grant_token: Some(format!(
            "1000.{i:07}0000000000000000000000000000.grant00000000000000000000000000"
        )),
        expiry_time: Some("1700000003600000".into()),
        redirect_url: Some("https://app.example/callback".into()),
        api_domain: Some("https://www.zohoapis.com".into()),
    }
}

/// What an SDK saves after refreshing `token`: the token as its lookup found it, id included,
/// with the new access token `access` and an expiry time an hour later (the SDKs save their
/// token object whole after a refresh).
pub fn refreshed(token: Token, access: String) -> Token {
    Token {
        access_token: Some(access),
        expiry_time: Some("1700000007200000".into()),
        ..token
    }
}

/// The first `n` tokens.
pub fn population(n: usize) -> Vec<Token> {
    (0..n).map(token).collect()
}

/// A spread of indexes to look up: a fixed stride through the population, so every run probes
/// the same tokens and no cache sees the same one twice in a row.
pub fn probe_indexes(n: usize, count: usize) -> Vec<usize> {
    const STRIDE: usize = 7919;
    (0..count).map(|k| (k * STRIDE + 13) % n).collect()
}
