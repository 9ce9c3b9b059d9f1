//! Detects a store's implementation-defined choices (its profile) on fresh storage, so that the
//! checks and the model hold the store to the choice it made, consistently.

use crate::fixture::StoreFixture;
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
pub async fn detect(fixture: &dyn StoreFixture) -> Result<Profile, String> {
    let storage = fixture.storage().await?;
    let profile = match storage.open(crate::MAIN_NAMESPACE).await {
        Ok(store) => Ok(probe(&*store).await),
        Err(e) => Err(format!("cannot open a store to detect its profile: {e}")),
    };
    let removed = storage.remove().await;
    let profile = profile?;
    removed.map_err(|e| format!("cannot remove the profile's storage: {e}"))?;
    Ok(profile)
}

async fn probe(store: &dyn tokenstore_core::TokenStore) -> Profile {
    let mut profile = Profile::default();

    let mut seed = Token {
        client_id: Some("probe-client".into()),
        client_secret: Some("probe-secret".into()),
        grant_token: Some("probe-grant".into()),
        refresh_token: Some("probe-refresh".into()),
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
                ..seed.clone()
            };
            match store.find_token(&probe).await {
                Ok(found) => {
                    profile.choices.grant_falls_back_to_refresh = found.is_some();
                    let name = if found.is_some() {
                        "fallback"
                    } else {
                        "no-fallback"
                    };
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
        Err(e) if e.kind() == ErrorKind::NotFound => {
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
