//! The story of a failure: every call an example check makes on its store, with the answer, so
//! that a failure shows which calls made its "want" the right answer. A [`Recorded`] store wraps
//! the store under test and writes each call to a shared [`Story`], which keeps the last
//! [`STORY_CALLS`] lines, described as [`crate::call::describe`] describes a call (secrets
//! redacted by [`crate::show`]).

use crate::call::{describe, Answer, Op};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokenstore_core::{StoreError, Token, TokenStore};

/// How many calls a failure shows: the last ones before it.
pub const STORY_CALLS: usize = 10;

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

impl Recorded {
    /// Writes `op = answer` to the story and hands the result back.
    fn record<T>(
        &self,
        op: Op,
        result: Result<T, StoreError>,
        answer: impl FnOnce(&T) -> Answer,
    ) -> Result<T, StoreError> {
        self.story.push(describe(&op, &Answer::of(&result, answer)));
        result
    }
}

#[async_trait]
impl TokenStore for Recorded {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>, StoreError> {
        let result = self.inner.find_token(probe).await;
        self.record(Op::Find(probe.clone()), result, |found| {
            Answer::Found(found.clone())
        })
    }

    async fn save_token(&self, token: &mut Token) -> Result<(), StoreError> {
        let op = Op::Save(token.clone());
        let result = self.inner.save_token(token).await;
        self.record(op, result, |()| Answer::Saved(token.id.clone()))
    }

    async fn delete_token(&self, id: &str) -> Result<(), StoreError> {
        let result = self.inner.delete_token(id).await;
        self.record(Op::Delete(id.to_owned()), result, |()| Answer::Done)
    }

    async fn get_tokens(&self) -> Result<Vec<Token>, StoreError> {
        let result = self.inner.get_tokens().await;
        self.record(Op::GetTokens, result, |all| Answer::Tokens(all.clone()))
    }

    async fn delete_tokens(&self) -> Result<(), StoreError> {
        let result = self.inner.delete_tokens().await;
        self.record(Op::DeleteTokens, result, |()| Answer::Done)
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token, StoreError> {
        let result = self.inner.find_token_by_id(id).await;
        self.record(Op::FindById(id.to_owned()), result, |t| {
            Answer::Token(t.clone())
        })
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
