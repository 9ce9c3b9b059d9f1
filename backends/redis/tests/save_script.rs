//! `save.lua` decides as `tokenstore_core::plan_save` does. The same generated saves go to the
//! redis store (whose script re-implements the decision inside Redis, for atomicity) and to the
//! memory store (`plan_save` over a table); after every save both give the same outcome (the id
//! written back, or the kind of error) and hold the same tokens. The values come from small sets
//! so that keys collide, ids are reused, names are taken and tokens lack a credential.
//!
//! Needs a Redis server: `TOKENSTORE_REDIS_URL`, else `redis://127.0.0.1:6379`. Without one the
//! test says so on stderr and passes, unless `TOKENSTORE_REQUIRE` names `redis`.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use std::sync::atomic::{AtomicU64, Ordering};
use tokenstore_core::{ErrorKind, Field, Token, TokenStore};
use tokenstore_redis::RedisStore;

/// A caller's id: none (a fresh token), one never stored, or the id of the n-th stored token.
#[derive(Clone, Debug)]
enum IdRef {
    None,
    Unstored,
    Stored(usize),
}

/// A value of a field from a small set, or absent.
fn value(field: &'static str) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some(String::new())),
        3 => (1..=2u8).prop_map(move |n| Some(format!("{field}{n}"))),
    ]
}

fn save() -> impl Strategy<Value = (IdRef, Token)> {
    let id = prop_oneof![
        4 => Just(IdRef::None),
        1 => Just(IdRef::Unstored),
        2 => (0..4usize).prop_map(IdRef::Stored),
    ];
    let keys = (
        value("user"),
        value("refresh"),
        value("access"),
        value("grant"),
    );
    let rest = (
        value("client"),
        value("secret"),
        value("expiry"),
        value("redirect"),
        value("domain"),
    );
    (id, keys, rest).prop_map(|(id, keys, rest)| {
        let mut token = Token::default();
        let fields = [
            (Field::UserName, keys.0),
            (Field::RefreshToken, keys.1),
            (Field::AccessToken, keys.2),
            (Field::GrantToken, keys.3),
            (Field::ClientId, rest.0),
            (Field::ClientSecret, rest.1),
            (Field::ExpiryTime, rest.2),
            (Field::RedirectUrl, rest.3),
            (Field::ApiDomain, rest.4),
        ];
        for (field, value) in fields {
            token.set_raw(field, value);
        }
        (id, token)
    })
}

/// What a save answered: the id written back, or the kind of error.
type Outcome = Result<Option<String>, ErrorKind>;

async fn apply(store: &dyn TokenStore, token: &Token) -> Outcome {
    let mut token = token.clone();
    match store.save_token(&mut token).await {
        Ok(()) => Ok(token.id),
        Err(e) => Err(e.kind()),
    }
}

async fn held(store: &dyn TokenStore) -> Vec<Token> {
    let mut tokens = store.get_tokens().await.expect("get_tokens");
    tokens.sort_by(|a, b| a.id.cmp(&b.id));
    tokens
}

fn url() -> String {
    std::env::var("TOKENSTORE_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

static NAMESPACES: AtomicU64 = AtomicU64::new(0);

#[test]
fn the_save_script_decides_as_plan_save() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let namespace = |n: u64| format!("savescript{}x{n}", std::process::id());
    let opened = rt.block_on(RedisStore::open(&url(), &namespace(0)));
    if tokenstore_suite::or_skip("redis", &url(), opened).is_none() {
        return;
    }
    let config = Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let saves = prop::collection::vec(save(), 1..14);
    let result = runner.run(&saves, |saves| {
        rt.block_on(async {
            let n = NAMESPACES.fetch_add(1, Ordering::Relaxed) + 1;
            let redis = RedisStore::open(&url(), &namespace(n)).await.unwrap();
            let memory = tokenstore_memory::memory_store();
            let mut stored: Vec<String> = Vec::new();
            let mut transcript = Vec::new();
            let mut verdict = Ok(());
            for (id, token) in &saves {
                let mut token = token.clone();
                token.id = match id {
                    IdRef::None => None,
                    IdRef::Unstored => Some("unstored".into()),
                    IdRef::Stored(i) => stored.get(i % stored.len().max(1)).cloned(),
                };
                let (left, right) = (apply(&redis, &token).await, apply(&memory, &token).await);
                transcript.push(format!(
                    "save {token:?}: redis {left:?}, plan_save {right:?}"
                ));
                if left != right {
                    verdict = Err(TestCaseError::fail(transcript.join("\n")));
                    break;
                }
                if let Ok(Some(id)) = &left {
                    if !stored.contains(id) {
                        stored.push(id.clone());
                    }
                }
                if held(&redis).await != held(&memory).await {
                    transcript.push("and they hold different tokens".into());
                    verdict = Err(TestCaseError::fail(transcript.join("\n")));
                    break;
                }
            }
            redis.drop_namespace().await.unwrap();
            verdict
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
