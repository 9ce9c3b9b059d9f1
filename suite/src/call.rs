//! One model of a call, shared by every part of the suite that sends calls to a store: the
//! model-based test (`machine`), the concurrent histories (`history`), the crash tier (`crash`),
//! the differential run (`diff`) and the stories of failed checks (`story`).
//!
//! A [`Step`] is a call as generated and shrunk, its ids symbolic ([`IdRef`]: "the id the 3rd
//! insert returned", "the 2nd id this client has seen"); [`Ids`] resolves it, against the ids
//! the store has given so far, into an [`Op`] with its arguments as sent; [`call`] sends an op
//! to a store and returns its [`Answer`]. `judge::step` says whether the reference model could
//! have given that answer, and if not which rule it breaks.

use crate::show;
use serde::{Deserialize, Serialize};
use tokenstore_core::{ErrorKind, Field, StoreError, Token, TokenStore};

/// An id as a step refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdRef {
    /// The id the n-th fresh-id insert of the sequence returned (modulo how many there were);
    /// before any, the literal `n + 1`.
    Fresh(usize),
    /// The n-th id the caller has seen in any answer (modulo how many there were); before any,
    /// the literal `n % 3 + 1`.
    Seen(usize),
    /// This exact string.
    Literal(String),
}

/// One call as generated, with symbolic ids. Token fields are raw: `""` is passed to the store
/// as is. The serialized form is the one replay files keep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Save {
        id: Option<IdRef>,
        fields: Vec<(Field, String)>,
    },
    Find {
        id: Option<IdRef>,
        fields: Vec<(Field, String)>,
    },
    FindById(IdRef),
    Delete(IdRef),
    GetTokens,
    DeleteTokens,
    /// Drop the store object and open the storage again (persistent stores only): no call.
    Reopen,
}

/// One call with its arguments as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Save(Token),
    Find(Token),
    FindById(String),
    Delete(String),
    GetTokens,
    DeleteTokens,
}

/// What a call returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A save's Ok, with the id written back to the caller's token.
    Saved(Option<String>),
    /// find_token's Ok.
    Found(Option<Token>),
    /// find_token_by_id's Ok.
    Token(Token),
    /// get_tokens' Ok.
    Tokens(Vec<Token>),
    /// delete_token's or delete_tokens' Ok.
    Done,
    /// An error.
    Failed(Failure),
}

/// An error a call returned, as the judge needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub kind: ErrorKind,
    /// The field an InvalidToken error names.
    pub field: Option<Field>,
    /// The error as it displays.
    pub message: String,
}

impl Failure {
    pub fn of(e: &StoreError) -> Self {
        let field = match e {
            StoreError::InvalidToken { field, .. } => Some(*field),
            _ => None,
        };
        Failure {
            kind: e.kind(),
            field,
            message: show::message(&e.to_string()),
        }
    }
}

impl From<StoreError> for Answer {
    fn from(e: StoreError) -> Self {
        Answer::Failed(Failure::of(&e))
    }
}

impl Answer {
    /// The answer a call's `result` gives: `ok` of its Ok value, or its error.
    pub fn of<T>(result: &Result<T, StoreError>, ok: impl FnOnce(&T) -> Answer) -> Answer {
        match result {
            Ok(value) => ok(value),
            Err(e) => Answer::Failed(Failure::of(e)),
        }
    }
}

/// How many tokens of a `get_tokens` answer a description shows: a line costs the same however
/// large the store.
const LISTED: usize = 5;

/// The ids a caller has been given so far: what symbolic ids resolve to.
#[derive(Clone, Debug, Default)]
pub struct Ids {
    fresh: Vec<String>,
    seen: Vec<String>,
}

impl Ids {
    /// Records the id a fresh-id insert returned.
    pub fn push_fresh(&mut self, id: String) {
        self.fresh.push(id);
    }

    /// Records every id an answer shows.
    pub fn note(&mut self, answer: &Answer) {
        let mut add = |id: &Option<String>| {
            if let Some(id) = id {
                if !self.seen.contains(id) {
                    self.seen.push(id.clone());
                }
            }
        };
        match answer {
            Answer::Saved(id) => add(id),
            Answer::Found(Some(t)) | Answer::Token(t) => add(&t.id),
            Answer::Tokens(all) => all.iter().for_each(|t| add(&t.id)),
            _ => {}
        }
    }

    /// The id a step refers to.
    pub fn resolve(&self, id: &IdRef) -> String {
        match id {
            IdRef::Literal(s) => s.clone(),
            IdRef::Fresh(n) if self.fresh.is_empty() => format!("{}", n + 1),
            IdRef::Fresh(n) => self.fresh[n % self.fresh.len()].clone(),
            IdRef::Seen(n) if self.seen.is_empty() => format!("{}", n % 3 + 1),
            IdRef::Seen(n) => self.seen[n % self.seen.len()].clone(),
        }
    }

    /// The token a step passes, with its fields exactly as generated (`""` included).
    pub fn token(&self, id: &Option<IdRef>, fields: &[(Field, String)]) -> Token {
        let mut t = Token {
            id: id.as_ref().map(|i| self.resolve(i)),
            ..Token::default()
        };
        for (field, value) in fields {
            t.set_raw(*field, Some(value.clone()));
        }
        t
    }

    /// The op a step makes; `None` for [`Step::Reopen`], which calls nothing.
    pub fn op(&self, step: &Step) -> Option<Op> {
        Some(match step {
            Step::Save { id, fields } => Op::Save(self.token(id, fields)),
            Step::Find { id, fields } => Op::Find(self.token(id, fields)),
            Step::FindById(id) => Op::FindById(self.resolve(id)),
            Step::Delete(id) => Op::Delete(self.resolve(id)),
            Step::GetTokens => Op::GetTokens,
            Step::DeleteTokens => Op::DeleteTokens,
            Step::Reopen => return None,
        })
    }
}

/// Sends `op` to `store` and returns its answer; a save's token is sent as a copy, whose id
/// after the call is the answer.
pub async fn call(store: &dyn TokenStore, op: &Op) -> Answer {
    let answer = match op {
        Op::Save(t) => {
            let mut sent = t.clone();
            store
                .save_token(&mut sent)
                .await
                .map(|()| Answer::Saved(sent.id))
        }
        Op::Find(probe) => store.find_token(probe).await.map(Answer::Found),
        Op::FindById(id) => store.find_token_by_id(id).await.map(Answer::Token),
        Op::Delete(id) => store.delete_token(id).await.map(|()| Answer::Done),
        Op::GetTokens => store.get_tokens().await.map(Answer::Tokens),
        Op::DeleteTokens => store.delete_tokens().await.map(|()| Answer::Done),
    };
    answer.unwrap_or_else(Answer::from)
}

/// The op as a person reads it: `find_token({user_name:"alice"})`.
pub fn describe_op(op: &Op) -> String {
    match op {
        Op::Save(t) => format!("save_token({})", show::token(t)),
        Op::Find(t) => format!("find_token({})", show::token(t)),
        Op::FindById(id) => format!("find_token_by_id({})", show::value(id)),
        Op::Delete(id) => format!("delete_token({})", show::value(id)),
        Op::GetTokens => "get_tokens()".into(),
        Op::DeleteTokens => "delete_tokens()".into(),
    }
}

/// The answer as a person reads it: `Ok, id "3"`, `Some({..})`, `Err(not found: ...)`.
pub fn describe_answer(answer: &Answer) -> String {
    match answer {
        Answer::Saved(Some(id)) => format!("Ok, id {}", show::value(id)),
        Answer::Saved(None) => "Ok, no id written back".into(),
        Answer::Found(found) => show::opt_token(found),
        Answer::Token(t) => show::token(t),
        Answer::Tokens(all) => {
            let shown: Vec<String> = all.iter().take(LISTED).map(show::token).collect();
            match all.len() {
                n if n <= LISTED => format!("[{}]", shown.join(", ")),
                n => format!("[{}, … {n} tokens in all]", shown.join(", ")),
            }
        }
        Answer::Done => "Ok".into(),
        Answer::Failed(f) => format!("Err({})", f.message),
    }
}

/// `op = answer`, one line.
pub fn describe(op: &Op, answer: &Answer) -> String {
    format!("{} = {}", describe_op(op), describe_answer(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbolic_ids_resolve_to_literals_until_the_store_gives_ids() {
        let mut ids = Ids::default();
        assert_eq!(ids.resolve(&IdRef::Fresh(0)), "1");
        assert_eq!(ids.resolve(&IdRef::Seen(4)), "2");
        ids.push_fresh("a".into());
        ids.push_fresh("b".into());
        assert_eq!(ids.resolve(&IdRef::Fresh(3)), "b");
        ids.note(&Answer::Tokens(vec![Token {
            id: Some("z".into()),
            ..Token::default()
        }]));
        ids.note(&Answer::Saved(Some("z".into())));
        assert_eq!(ids.resolve(&IdRef::Seen(7)), "z");
        assert_eq!(ids.resolve(&IdRef::Literal("x y".into())), "x y");
        assert_eq!(ids.op(&Step::Reopen), None);
        assert_eq!(
            ids.op(&Step::Delete(IdRef::Fresh(0))),
            Some(Op::Delete("a".into()))
        );
    }

    #[test]
    fn a_step_passes_empty_values_as_they_were_generated() {
        let ids = Ids::default();
        let op = ids.op(&Step::Save {
            id: None,
            fields: vec![(Field::UserName, String::new())],
        });
        let Some(Op::Save(t)) = op else {
            panic!("{op:?}")
        };
        assert_eq!(t.raw(Field::UserName), Some(""));
    }
}
