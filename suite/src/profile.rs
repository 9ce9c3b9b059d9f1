//! Detects a store's implementation-defined choices (its profile) on fresh storage, so that the
//! checks and the model hold the store to the choice it made, consistently.

use crate::fixture::{SetupError, StoreFixture};
use std::collections::BTreeMap;
use tokenstore_core::{Choices, ErrorKind, Token};

/// A store's choices, and how each was detected.
#[derive(Clone, Debug, Default)]
pub struct Profile {
    pub choices: Choices,
    /// Rule id → the choice, as the rule table names it.
    pub detected: BTreeMap<String, String>,
    /// Rule id → why the choice could not be detected (the rule then fails).
    pub problems: BTreeMap<String, String>,
}

/// Probes a fresh store of `fixture` for each implementation-defined choice.
pub async fn detect(fixture: &dyn StoreFixture) -> Result<Profile, NotDetected> {
    let storage = fixture.storage().await.map_err(|error| NotDetected {
        reached_store: error.breaks.is_some(),
        error,
    })?;
    let profile = match storage.open(crate::MAIN_NAMESPACE).await {
        Ok(store) => Ok(probe(&*store).await),
        Err(e) => Err(NotDetected {
            error: format!("opening a fresh store = Err({e}), want Ok").into(),
            reached_store: true,
        }),
    };
    let removed = storage.remove().await;
    let profile = profile?;
    removed.map_err(|e| NotDetected {
        error: format!("cannot remove the profile's storage: {e}").into(),
        reached_store: false,
    })?;
    Ok(profile)
}

/// Why a profile could not be detected.
#[derive(Debug)]
pub struct NotDetected {
    pub error: SetupError,
    /// The storage was had and the store itself failed (it cannot be opened, or emptied), as
    /// opposed to storage that is not there (no server).
    pub reached_store: bool,
}

impl std::fmt::Display for NotDetected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

/// The profile entry for how the store types its refusals (not a rule: it decides how every
/// refusal the rules require is compared).
pub const ERRORS: &str = "errors";

async fn probe(store: &dyn tokenstore_core::TokenStore) -> Profile {
    let mut profile = Profile::default();
    let typed = refusals_are_typed(store).await;
    profile.choices.untyped_refusals = !typed;
    profile.detected.insert(
        ERRORS.into(),
        if typed { "typed" } else { "untyped" }.into(),
    );

    let mut seed = Token {
        client_id: Some("probe-client".into()),
        client_secret: Some("probe-secret".into()),
        grant_token: Some("probe-grant".into()),
        refresh_token: Some("probe-refresh".into()),
        access_token: Some("probe-access".into()),
        ..Token::default()
    };
    let fallback = "find.grant-refresh-fallback";
    match store.save_token(&mut seed).await {
        Err(e) => {
            profile.problems.insert(
                fallback.into(),
                format!("saving the probe token failed: {e}"),
            );
        }
        Ok(()) => {
            let probe = Token {
                grant_token: Some("probe-other-grant".into()),
                access_token: None,
                ..seed.clone()
            };
            match store.find_token(&probe).await {
                Ok(found) => {
                    // A hit fills the probe's absent access token; the probe handed back as it
                    // came is a miss answered wrongly (find.miss-none), not a fallback.
                    let hit = found.is_some_and(|f| f.normalized() != probe.clone().normalized());
                    profile.choices.grant_falls_back_to_refresh = hit;
                    let name = if hit { "fallback" } else { "no-fallback" };
                    profile.detected.insert(fallback.into(), name.into());
                }
                Err(e) => {
                    profile.problems.insert(
                        fallback.into(),
                        format!("find_token with an unknown grant token = Err({e}), want Ok"),
                    );
                }
            }
        }
    }

    let missing = "delete.missing-id";
    match store.delete_token("tokenstore-check-missing-id").await {
        Ok(()) => {
            profile.detected.insert(missing.into(), "silent".into());
        }
        Err(e) if profile.choices.refuses_as(e.kind(), ErrorKind::NotFound) => {
            profile.choices.delete_missing_reports_not_found = true;
            profile.detected.insert(missing.into(), "not-found".into());
        }
        Err(e) => {
            profile.problems.insert(
                missing.into(),
                format!("delete_token of a missing id = Err({e}), want Ok or Err(NotFound)"),
            );
        }
    }
    profile
}

/// Whether the store types its refusals: it answers a tokenless save or a rename onto another
/// user's name with a typed error (InvalidToken, Conflict, NotFound). A store that answers them
/// with untyped refusals, or refuses neither, is held to untyped refusals; a store that types
/// one is held to typing every refusal (§12 of the spec).
async fn refusals_are_typed(store: &dyn tokenstore_core::TokenStore) -> bool {
    let typed = |e: &tokenstore_core::StoreError| {
        matches!(
            e.kind(),
            ErrorKind::InvalidToken | ErrorKind::Conflict | ErrorKind::NotFound
        )
    };
    let mut tokenless = Token {
        user_name: Some("probe-tokenless".into()),
        ..Token::default()
    };
    if matches!(store.save_token(&mut tokenless).await, Err(e) if typed(&e)) {
        return true;
    }
    let mut first = Token {
        user_name: Some("probe-first".into()),
        refresh_token: Some("probe-first-refresh".into()),
        ..Token::default()
    };
    let mut second = Token {
        user_name: Some("probe-second".into()),
        refresh_token: Some("probe-second-refresh".into()),
        ..Token::default()
    };
    if store.save_token(&mut first).await.is_err() || store.save_token(&mut second).await.is_err() {
        return false;
    }
    let mut rename = Token {
        id: second.id.clone(),
        user_name: Some("probe-first".into()),
        ..Token::default()
    };
    let typed = matches!(store.save_token(&mut rename).await, Err(e) if typed(&e));
    if let Some(id) = &second.id {
        let _ = store.delete_token(id).await;
    }
    if let Some(id) = &first.id {
        let _ = store.delete_token(id).await;
    }
    typed
}
