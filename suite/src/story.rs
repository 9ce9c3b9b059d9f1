//! The story of a failure: every call an example check makes on its store, with the answer, so
//! that a failure shows which calls made its "want" the right answer. A [`Recorded`] store wraps
//! the store under test and writes each call to a shared [`Story`], which keeps the last
//! [`STORY_CALLS`] lines, secrets redacted by [`crate::show`].

use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokenstore_core::{StoreError, Token, TokenStore};

/// How many calls a failure shows: the last ones before it.
pub const STORY_CALLS: usize = 10;

/// How many tokens of a `get_tokens` answer a story line shows.
const LISTED: usize = 5;

/// The calls made on a check's stores, one line each: `save_token({..}) = Ok, id "1"`.
#[derive(Clone, Default)]
pub struct Story(Arc<Mutex<VecDeque<String>>>);

impl Story {
    pub fn push(&self, line: String) {
        let mut lines = self.0.lock().expect("not poisoned");
        if lines.len() == STORY_CALLS {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The recorded lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.0
            .lock()
            .expect("not poisoned")
            .iter()
            .cloned()
            .collect()
    }
}

/// A store that records each call and its answer in a [`Story`].
pub struct Recorded {
    pub inner: Arc<dyn TokenStore>,
    pub story: Story,
}

impl Recorded {
    /// `store`, recording into `story`.
    pub fn wrap(store: Arc<dyn TokenStore>, story: &Story) -> Arc<dyn TokenStore> {
        Arc::new(Recorded {
            inner: store,
            story: story.clone(),
        })
    }
}

fn error(e: &StoreError) -> String {
    format!("Err({e})")
}

#[async_trait]
impl TokenStore for Recorded {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>, StoreError> {
        let answer = self.inner.find_token(probe).await;
        let shown = match &answer {
            Ok(found) => crate::show::opt_token(found),
            Err(e) => error(e),
        };
        self.story.push(format!(
            "find_token({}) = {shown}",
            crate::show::token(probe)
        ));
        answer
    }

    async fn save_token(&self, token: &mut Token) -> Result<(), StoreError> {
        let sent = crate::show::token(token);
        let answer = self.inner.save_token(token).await;
        let shown = match &answer {
            Ok(()) => match &token.id {
                Some(id) => format!("Ok, id {}", crate::show::value(id)),
                None => "Ok, no id written back".into(),
            },
            Err(e) => error(e),
        };
        self.story.push(format!("save_token({sent}) = {shown}"));
        answer
    }

    async fn delete_token(&self, id: &str) -> Result<(), StoreError> {
        let answer = self.inner.delete_token(id).await;
        let shown = answer.as_ref().map_or_else(error, |()| "Ok".into());
        self.story.push(format!(
            "delete_token({}) = {shown}",
            crate::show::value(id)
        ));
        answer
    }

    async fn get_tokens(&self) -> Result<Vec<Token>, StoreError> {
        let answer = self.inner.get_tokens().await;
        // At most a few tokens are shown: a story line costs the same however large the store.
        let shown = match &answer {
            Ok(all) if all.len() <= LISTED => format!(
                "[{}]",
                all.iter()
                    .map(crate::show::token)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Ok(all) => format!(
                "[{}, … {} tokens in all]",
                all[..LISTED]
                    .iter()
                    .map(crate::show::token)
                    .collect::<Vec<_>>()
                    .join(", "),
                all.len()
            ),
            Err(e) => error(e),
        };
        self.story.push(format!("get_tokens() = {shown}"));
        answer
    }

    async fn delete_tokens(&self) -> Result<(), StoreError> {
        let answer = self.inner.delete_tokens().await;
        let shown = answer.as_ref().map_or_else(error, |()| "Ok".into());
        self.story.push(format!("delete_tokens() = {shown}"));
        answer
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token, StoreError> {
        let answer = self.inner.find_token_by_id(id).await;
        let shown = match &answer {
            Ok(t) => crate::show::token(t),
            Err(e) => error(e),
        };
        self.story.push(format!(
            "find_token_by_id({}) = {shown}",
            crate::show::value(id)
        ));
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_the_last_calls_with_answers_and_no_secret() {
        let story = Story::default();
        let inner: Arc<dyn TokenStore> = Arc::new(tokenstore_list::list_store());
        let store = Recorded::wrap(inner, &story);
        for i in 0..12 {
            let mut t = Token {
                user_name: Some(format!("u{i}")),
                refresh_token: Some("very-secret-refresh".into()),
                ..Token::default()
            };
            store.save_token(&mut t).await.unwrap();
        }
        assert!(store.find_token_by_id("nope").await.is_err());
        let lines = story.lines();
        assert_eq!(lines.len(), STORY_CALLS);
        assert!(lines[0].starts_with("save_token("), "{lines:?}");
        assert!(lines[0].contains("u3"), "{lines:?}");
        assert!(lines
            .last()
            .unwrap()
            .starts_with("find_token_by_id(\"nope\") = Err("));
        assert!(lines.iter().all(|l| !l.contains("very-secret-refresh")));
    }
}
