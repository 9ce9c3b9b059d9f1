//! The linearizability check of a concurrent history: is there an order of the calls, keeping
//! every call that ended before another began ahead of it, in which each call gets the answer the
//! reference model gives? A depth-first search over the calls that may come next (the ones that
//! began before every pending call ended), memoized on the set of calls placed and the model's
//! state, in the manner of Wing and Gong's algorithm with Lowe's memoization.

use crate::call::{describe, describe_op, Answer, Op};
use crate::judge;
use crate::model::Model;
use std::collections::hash_map::DefaultHasher;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use tokenstore_core::{Choices, Token};

/// The longest history the check takes: the set of placed calls is a 64-bit mask.
pub const MAX_CALLS: usize = 64;

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
            "client {}, {}-{} ms: {}",
            self.client,
            ms(self.start),
            ms(self.end),
            describe(&self.op, &self.answer)
        )
    }
}

/// Why a history is not linearizable: the furthest any order got, and why no call could come
/// after it.
#[derive(Clone, Debug)]
pub struct Unexplained {
    /// The calls (indexes into the history) of the longest order that explained them all.
    pub order: Vec<usize>,
    /// For each call that could have come next, why the model disagrees with its answer (the
    /// call, its answer and what the model wanted).
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
        let next: Vec<String> = self.next.iter().map(|(_, why)| why.clone()).collect();
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
    judge::step(&mut next, &call.op, &call.answer)
        .map(|_| next)
        .map_err(|broken| broken.message)
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
        assert!(why
            .describe(&history)
            .contains("want an update of the token with id"));
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
