//! The linearizability check of a concurrent history: is there an order of the calls, keeping
//! every call that ended before another began ahead of it, in which each call gets the answer the
//! reference model gives? A depth-first search over the calls that may come next (the ones that
//! began before every pending call ended), memoized on the set of calls placed and the model's
//! state, in the manner of Wing and Gong's algorithm with Lowe's memoization.

use crate::model::{Model, SaveExpectation};
use crate::show;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use tokenstore_core::{Choices, ErrorKind, Token};

/// The longest history the check takes: the set of placed calls is a 64-bit mask.
pub const MAX_CALLS: usize = 64;

/// One operation of a history, with its arguments as sent.
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
    /// An error, of this kind, with its message.
    Failed(ErrorKind, String),
}

/// One call of a history: who made it, when it began and ended (nanoseconds from the start of
/// the history), what it asked and what it got.
#[derive(Clone, Debug)]
pub struct Call {
    pub client: usize,
    pub start: u64,
    pub end: u64,
    pub op: Op,
    pub answer: Answer,
}

impl Call {
    /// The call as a person reads it: `client 2, 0.131-0.402 ms: find_token(...) = None`.
    pub fn describe(&self) -> String {
        let ms = |ns: u64| format!("{:.3}", ns as f64 / 1e6);
        format!(
            "client {}, {}-{} ms: {} = {}",
            self.client,
            ms(self.start),
            ms(self.end),
            describe_op(&self.op),
            describe_answer(&self.answer)
        )
    }
}

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

fn describe_answer(answer: &Answer) -> String {
    match answer {
        Answer::Saved(Some(id)) => format!("Ok, id {}", show::value(id)),
        Answer::Saved(None) => "Ok, no id written back".into(),
        Answer::Found(found) => show::opt_token(found),
        Answer::Token(t) => show::token(t),
        Answer::Tokens(all) => format!(
            "[{}]",
            all.iter().map(show::token).collect::<Vec<_>>().join(", ")
        ),
        Answer::Done => "Ok".into(),
        Answer::Failed(kind, message) => format!("Err({kind:?}: {message})"),
    }
}

/// Why a history is not linearizable: the furthest any order got, and why no call could come
/// after it.
#[derive(Clone, Debug)]
pub struct Unexplained {
    /// The calls (indexes into the history) of the longest order that explained them all.
    pub order: Vec<usize>,
    /// For each call that could have come next, why the model disagrees with its answer.
    pub next: Vec<(usize, String)>,
}

impl Unexplained {
    /// One paragraph: the order found, and why each possible next call is wrong.
    pub fn describe(&self, calls: &[Call]) -> String {
        let order: Vec<String> = self
            .order
            .iter()
            .map(|&i| describe_op(&calls[i].op))
            .collect();
        let next: Vec<String> = self
            .next
            .iter()
            .map(|(i, why)| format!("{} ({why})", describe_op(&calls[*i].op)))
            .collect();
        format!(
            "no order of the {} calls explains their answers; the longest order that does ({} calls: {}) cannot go on with any of: {}",
            calls.len(),
            order.len(),
            if order.is_empty() { "none".into() } else { order.join(", ") },
            next.join("; ")
        )
    }
}

/// Whether `calls` is linearizable against the model with the store's `choices`, from an empty
/// store.
pub fn check(calls: &[Call], choices: Choices) -> Result<(), Unexplained> {
    assert!(
        calls.len() <= MAX_CALLS,
        "histories hold at most {MAX_CALLS} calls"
    );
    let mut search = Search {
        calls,
        seen: HashSet::new(),
        order: Vec::new(),
        best: Unexplained {
            order: Vec::new(),
            next: Vec::new(),
        },
    };
    if search.place(0, Model::new(choices)) {
        Ok(())
    } else {
        Err(search.best)
    }
}

struct Search<'a> {
    calls: &'a [Call],
    /// (calls placed, model state) pairs already explored without success.
    seen: HashSet<(u64, u64)>,
    order: Vec<usize>,
    best: Unexplained,
}

impl Search<'_> {
    /// Places the remaining calls after those in `placed`; true when an order explains them.
    fn place(&mut self, placed: u64, model: Model) -> bool {
        let n = self.calls.len();
        if placed.count_ones() as usize == n {
            return true;
        }
        if !self.seen.insert((placed, fingerprint(&model))) {
            return false;
        }
        let pending = (0..n).filter(|i| placed & (1 << i) == 0);
        let first_end = pending
            .clone()
            .map(|i| self.calls[i].end)
            .min()
            .expect("a call is pending");
        let mut refusals = Vec::new();
        for i in pending.filter(|&i| self.calls[i].start <= first_end) {
            match apply(&model, &self.calls[i]) {
                Ok(next) => {
                    self.order.push(i);
                    if self.place(placed | (1 << i), next) {
                        return true;
                    }
                    self.order.pop();
                }
                Err(why) => refusals.push((i, why)),
            }
        }
        if self.order.len() >= self.best.order.len() && !refusals.is_empty() {
            self.best = Unexplained {
                order: self.order.clone(),
                next: refusals,
            };
        }
        false
    }
}

fn fingerprint(model: &Model) -> u64 {
    let mut tokens: Vec<&Token> = model.tokens().iter().collect();
    tokens.sort_by(|a, b| a.id.cmp(&b.id));
    let mut hasher = DefaultHasher::new();
    tokens.hash(&mut hasher);
    hasher.finish()
}

/// The model after `call`, or why the model could not have given the call's answer.
fn apply(model: &Model, call: &Call) -> Result<Model, String> {
    let mut next = model.clone();
    let wrong = |want: String| Err(format!("want {want}"));
    match (&call.op, &call.answer) {
        (_, Answer::Failed(ErrorKind::Backend, _)) => {
            return wrong("no Backend error: the storage did not fail".into())
        }
        (Op::Save(token), answer) => match (model.expect_save(token), answer) {
            (SaveExpectation::Refused { kind, .. }, Answer::Failed(got, _))
                if model.choices.refuses_as(*got, kind) => {}
            (SaveExpectation::Refused { kind, why, .. }, _) => {
                return wrong(format!("Err({kind:?}): {why}"))
            }
            (SaveExpectation::Update { candidates, .. }, Answer::Saved(Some(id)))
                if candidates.iter().any(|c| c.id.as_ref() == Some(id)) =>
            {
                next.apply_update(id, token)
            }
            (SaveExpectation::Update { candidates, .. }, _) => {
                let ids: Vec<_> = candidates.iter().filter_map(|c| c.id.clone()).collect();
                return wrong(format!("an update of id {}", ids.join(" or ")));
            }
            (SaveExpectation::Insert(new), Answer::Saved(Some(id))) => {
                match &new.id {
                    Some(chosen) if chosen != id => {
                        return wrong(format!("an insert with the caller's id {chosen:?}"))
                    }
                    None if model.get(id).is_some() => {
                        return wrong(format!("a fresh id, not the stored id {id:?}"))
                    }
                    _ => {}
                }
                next.apply_insert(id, &new)
            }
            (SaveExpectation::Insert(_), _) => return wrong("an insert".into()),
        },
        (Op::Find(probe), Answer::Found(got)) => {
            let answers = model.find(probe);
            let explained = match got {
                None => answers.is_empty(),
                Some(t) => answers.contains(t),
            };
            if !explained {
                return wrong(match answers.first() {
                    None => "None".into(),
                    Some(t) => format!("Some({})", show::token(t)),
                });
            }
        }
        (Op::FindById(id), answer) => match (model.get(id), answer) {
            (Some(want), Answer::Token(got)) if got == want => {}
            (None, Answer::Failed(got, _))
                if model.choices.refuses_as(*got, ErrorKind::NotFound) => {}
            (Some(want), _) => return wrong(show::token(want)),
            (None, _) => return wrong("Err(NotFound)".into()),
        },
        (Op::Delete(id), answer) => {
            let stored = next.delete(id);
            let explained = match answer {
                Answer::Done => stored || !model.choices.delete_missing_reports_not_found,
                Answer::Failed(got, _) if model.choices.refuses_as(*got, ErrorKind::NotFound) => {
                    !stored && model.choices.delete_missing_reports_not_found
                }
                _ => false,
            };
            if !explained {
                return wrong(
                    if stored {
                        "Ok"
                    } else {
                        "the store's answer to a missing id"
                    }
                    .into(),
                );
            }
        }
        (Op::GetTokens, Answer::Tokens(got)) => {
            let mut got = got.clone();
            got.sort_by(|a, b| a.id.cmp(&b.id));
            let mut want = model.tokens().to_vec();
            want.sort_by(|a, b| a.id.cmp(&b.id));
            if got != want {
                return wrong(format!("{} tokens as the model holds them", want.len()));
            }
        }
        (Op::DeleteTokens, Answer::Done) => next.clear(),
        (op, _) => return wrong(format!("the answer {} gives", describe_op(op))),
    }
    Ok(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, refresh: &str) -> Token {
        Token {
            user_name: Some(name.into()),
            refresh_token: Some(refresh.into()),
            ..Token::default()
        }
    }

    fn call(client: usize, start: u64, end: u64, op: Op, answer: Answer) -> Call {
        Call {
            client,
            start,
            end,
            op,
            answer,
        }
    }

    fn stored(id: &str, t: Token) -> Token {
        Token {
            id: Some(id.into()),
            ..t
        }
    }

    #[test]
    fn overlapping_saves_of_one_user_may_land_in_either_order() {
        let history = [
            call(
                0,
                0,
                10,
                Op::Save(user("u", "r1")),
                Answer::Saved(Some("1".into())),
            ),
            call(
                1,
                1,
                9,
                Op::Save(user("u", "r2")),
                Answer::Saved(Some("1".into())),
            ),
            call(
                2,
                20,
                30,
                Op::FindById("1".into()),
                Answer::Token(stored("1", user("u", "r1"))),
            ),
        ];
        assert!(check(&history, Choices::default()).is_ok());
    }

    #[test]
    fn two_inserts_for_one_user_are_not_linearizable() {
        let history = [
            call(
                0,
                0,
                10,
                Op::Save(user("u", "r1")),
                Answer::Saved(Some("1".into())),
            ),
            call(
                1,
                1,
                9,
                Op::Save(user("u", "r2")),
                Answer::Saved(Some("2".into())),
            ),
        ];
        let why = check(&history, Choices::default()).unwrap_err();
        assert_eq!(why.order.len(), 1);
        assert!(why.describe(&history).contains("an update of id"));
    }

    #[test]
    fn a_read_after_a_write_ended_must_see_it() {
        let history = [
            call(
                0,
                0,
                10,
                Op::Save(user("u", "r1")),
                Answer::Saved(Some("1".into())),
            ),
            call(1, 11, 20, Op::GetTokens, Answer::Tokens(Vec::new())),
        ];
        assert!(check(&history, Choices::default()).is_err());
        let overlapping = [
            call(
                0,
                0,
                10,
                Op::Save(user("u", "r1")),
                Answer::Saved(Some("1".into())),
            ),
            call(1, 5, 20, Op::GetTokens, Answer::Tokens(Vec::new())),
        ];
        assert!(check(&overlapping, Choices::default()).is_ok());
    }
}
