//! The story of a failure: every call an example check makes on its store, with the answer, so
//! that a failure shows which calls made its "want" the right answer. A [`Recorded`] store wraps
//! the store under test and writes each call to a shared [`Story`], which keeps the last
//! [`STORY_CALLS`] lines, described as [`crate::call::describe`] describes a call (secrets
//! redacted by [`crate::show`]), and counts in a [`Census`] the reads that answered a token and
//! the saves that answered Ok, over every call.

use crate::call::{describe, Answer, Op};
use async_trait::async_trait;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokenstore_core::{StoreError, Token, TokenStore};

/// How many calls a failure shows: the last ones before it.
pub const STORY_CALLS: usize = 10;

/// The calls made on a check's stores, one line each: `save_token({..}) = Ok, id "1"`.
#[derive(Clone, Default)]
pub struct Story {
    lines: Arc<Mutex<VecDeque<String>>>,
    census: Arc<Mutex<Census>>,
}

impl Story {
    pub fn push(&self, line: String) {
        let mut lines = self.lines.lock().expect("not poisoned");
        if lines.len() == STORY_CALLS {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    /// The recorded lines, oldest first.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .expect("not poisoned")
            .iter()
            .cloned()
            .collect()
    }

    /// The counts of every call recorded so far (not only the last lines).
    pub fn census(&self) -> Census {
        *self.census.lock().expect("not poisoned")
    }
}

/// What a store's calls answered, counted: the reads (`find_token`, `find_token_by_id`,
/// `get_tokens`) that answered Ok, those among them that answered a token, and the saves that
/// answered Ok. A store whose reads never answer a token while its saves answer Ok either
/// stores nothing or fails inside every read and answers as if it found nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Census {
    pub reads: u64,
    pub reads_with_a_token: u64,
    pub saves_acknowledged: u64,
}

/// How many reads and acknowledged saves a run needs before [`Census::reads_answer_nothing`]
/// speaks: every check saves before it reads, so a run of the rules makes dozens of each.
const CENSUS_MINIMUM: u64 = 10;

impl Census {
    fn count(&mut self, op: &Op, answer: &Answer) {
        match (op, answer) {
            (Op::Save(_), Answer::Saved(_)) => self.saves_acknowledged += 1,
            (_, Answer::Found(found)) => self.read(found.is_some()),
            (_, Answer::Token(_)) => self.read(true),
            (_, Answer::Tokens(all)) => self.read(!all.is_empty()),
            _ => {}
        }
    }

    fn read(&mut self, with_a_token: bool) {
        self.reads += 1;
        self.reads_with_a_token += u64::from(with_a_token);
    }

    /// `self` and `other` together.
    pub fn add(&mut self, other: Census) {
        self.reads += other.reads;
        self.reads_with_a_token += other.reads_with_a_token;
        self.saves_acknowledged += other.saves_acknowledged;
    }

    /// Whether no read answered a token though many saves answered Ok, in words: the likely
    /// cause of every failure that shows a read answering nothing.
    pub fn reads_answer_nothing(&self) -> Option<String> {
        (self.reads_with_a_token == 0
            && self.reads >= CENSUS_MINIMUM
            && self.saves_acknowledged >= CENSUS_MINIMUM)
            .then(|| {
                format!(
                    "likely cause: not one of the run's {} reads (find_token, find_token_by_id, get_tokens) answered a token, though {} saves answered Ok: the reads most likely fail inside and the error is caught and answered as nothing found (None, []), or the saves store nothing; save a token and list the store by hand with its logging on, and let errors out of the reads",
                    self.reads, self.saves_acknowledged
                )
            })
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
        let answer = Answer::of(&result, answer);
        self.story
            .census
            .lock()
            .expect("not poisoned")
            .count(&op, &answer);
        self.story.push(describe(&op, &answer));
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

    #[tokio::test]
    async fn the_census_speaks_only_when_no_read_of_many_answered_a_token() {
        let census = |reads_answer: bool| async move {
            let story = Story::default();
            let store = Recorded::wrap(Arc::new(tokenstore_list::list_store()), &story);
            for i in 0..10 {
                let mut t = Token {
                    user_name: Some(format!("u{i}")),
                    refresh_token: Some("r".into()),
                    ..Token::default()
                };
                store.save_token(&mut t).await.unwrap();
                let probe = Token {
                    user_name: Some(if reads_answer {
                        format!("u{i}")
                    } else {
                        "nobody".into()
                    }),
                    ..Token::default()
                };
                store.find_token(&probe).await.unwrap();
            }
            story.census()
        };
        let silent = census(false).await;
        assert_eq!(
            silent,
            Census {
                reads: 10,
                reads_with_a_token: 0,
                saves_acknowledged: 10
            }
        );
        assert!(silent
            .reads_answer_nothing()
            .is_some_and(|advice| advice.contains("10 reads") && advice.contains("10 saves")));
        assert_eq!(census(true).await.reads_answer_nothing(), None);
        let few = Census {
            reads: 9,
            reads_with_a_token: 0,
            saves_acknowledged: 10,
        };
        assert_eq!(few.reads_answer_nothing(), None);
    }
}
