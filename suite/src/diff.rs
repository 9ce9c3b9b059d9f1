//! Differential runs: the same random sequences against two stores, answer by answer, and the
//! first divergence shrunk to minimal steps: "does my new store behave like the one it replaces?".
//!
//! Answers are compared with the ids each store generated replaced by their order of appearance
//! (`#1`, `#2`, ...), so two stores that number differently still agree; a step that refers to
//! the id of a deleted token refers to an id neither store holds, so a store that reuses deleted
//! ids and one that does not still agree. A divergence is named for what it is: a difference of
//! implementation-defined choices (the stores' profiles), a value one store refuses (its limits),
//! or a real divergence.

use crate::call::{call, Answer, IdRef, Ids, Op, Step};
use crate::fixture::StoreFixture;
use crate::machine::Sequences;
use crate::runner::RunOptions;
use crate::show;
use proptest::test_runner::{Config, TestCaseError, TestError};
use proptest_state_machine::ReferenceStateMachine;
use std::collections::HashMap;
use std::sync::Arc;
use tokenstore_core::Token;

/// The first step where two stores answered differently.
#[derive(Clone, Debug)]
pub struct Divergence {
    /// The minimal sequence, as steps.
    pub steps: Vec<Step>,
    /// Each store's answers to it, one line per step.
    pub left: Vec<String>,
    pub right: Vec<String>,
    /// Index of the first step answered differently.
    pub at: usize,
    /// What the divergence comes from, when it is not a real one: the stores' different
    /// implementation-defined choices, or a value one of them refuses.
    pub expected: Option<String>,
}

/// Runs `options.cases` sequences against both stores; `None` when they always agreed.
pub fn diff(
    left: &dyn StoreFixture,
    right: &dyn StoreFixture,
    options: &RunOptions,
) -> Result<Option<Divergence>, String> {
    let rt = crate::runner::runtime();
    let config = Config {
        cases: options.cases,
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    };
    let mut runner = crate::seed::seeded_runner(config, options.seed);
    let both = |steps: &[Step]| -> Result<(Vec<String>, Vec<String>), String> {
        rt.block_on(async { Ok((observe(left, steps).await?, observe(right, steps).await?)) })
    };
    let test = |(_, steps, seen): ((), Vec<Step>, Option<Arc<std::sync::atomic::AtomicUsize>>)| {
        let (l, r) = both(&steps).map_err(TestCaseError::fail)?;
        let at = first_difference(&l, &r);
        // Tell the shrinker how many steps mattered, so it trims only the ones after them.
        if let Some(seen) = seen {
            seen.store(
                at.map_or(steps.len(), |i| i + 1),
                std::sync::atomic::Ordering::SeqCst,
            );
        }
        match at {
            None => Ok(()),
            Some(at) => Err(TestCaseError::fail(format!(
                "step {at}: {} vs {}",
                l[at], r[at]
            ))),
        }
    };
    let persistent = left.capabilities().persistent && right.capabilities().persistent;
    let range = 1..=options.max_steps.max(1);
    let result = if persistent {
        runner.run(&Sequences::<true>::sequential_strategy(range), test)
    } else {
        runner.run(&Sequences::<false>::sequential_strategy(range), test)
    };
    match result {
        Ok(()) => Ok(None),
        Err(TestError::Abort(why)) => Err(format!("the differential run stopped: {why}")),
        Err(TestError::Fail(why, ((), steps, _))) => {
            let (l, r) = both(&steps)?;
            let at = first_difference(&l, &r)
                .ok_or_else(|| format!("the stores diverged once but not when run again: {why}"))?;
            let expected = rt.block_on(expected_divergence(left, right, &l[at], &r[at]));
            Ok(Some(Divergence {
                steps,
                left: l,
                right: r,
                at,
                expected,
            }))
        }
    }
}

/// Why two answers to one step may differ without either store being wrong: a refusal of a
/// value (declared limits) on one side, or different choices in the stores' profiles.
async fn expected_divergence(
    left: &dyn StoreFixture,
    right: &dyn StoreFixture,
    l: &str,
    r: &str,
) -> Option<String> {
    if l.contains("Err(InvalidToken)") != r.contains("Err(InvalidToken)") {
        return Some(
            "one store refuses a value the other holds (its declared limits, or a value it cannot hold): a difference of limits, not of behaviour"
                .into(),
        );
    }
    let (a, b) = (
        crate::profile::detect(left).await.ok()?,
        crate::profile::detect(right).await.ok()?,
    );
    let differ: Vec<String> = a
        .detected
        .iter()
        .filter_map(|(k, v)| {
            let w = b.detected.get(k)?;
            (v != w).then(|| format!("{k}: {v} vs {w}"))
        })
        .collect();
    (!differ.is_empty()).then(|| {
        format!(
            "the stores made different implementation-defined choices ({}), which this divergence may come from",
            differ.join(", ")
        )
    })
}

fn first_difference(left: &[String], right: &[String]) -> Option<usize> {
    (0..left.len().max(right.len())).find(|&i| left.get(i) != right.get(i))
}

/// The store's answer to each step, with generated ids made symbolic.
async fn observe(fixture: &dyn StoreFixture, steps: &[Step]) -> Result<Vec<String>, String> {
    let storage = fixture.storage().await?;
    let mut store = storage
        .open(crate::MAIN_NAMESPACE)
        .await
        .map_err(|e| format!("{}: cannot open: {e}", fixture.name()))?;
    let mut fresh = LiveFresh::default();
    let mut names = Symbols::default();
    let mut answers = Vec::new();
    for step in steps {
        let Some(op) = fresh.op(step) else {
            answers.push(match storage.open(crate::MAIN_NAMESPACE).await {
                Ok(reopened) => {
                    store = reopened;
                    "reopen".into()
                }
                Err(e) => format!("reopen = Err({:?})", e.kind()),
            });
            continue;
        };
        let answer = call(&*store, &op).await;
        answers.push(names.describe(&op, &answer));
        match (&op, &answer) {
            (Op::Save(token), Answer::Saved(Some(stored)))
                if names.saved(stored) && token.id.is_none() =>
            {
                fresh.push(stored.clone());
            }
            (Op::Delete(id), Answer::Done) => {
                names.deleted(id);
                fresh.deleted(id);
            }
            (Op::DeleteTokens, Answer::Done) => {
                names.live.clear();
                fresh.cleared();
            }
            _ => {}
        }
    }
    let _ = storage.remove().await;
    Ok(answers)
}

/// The fresh ids a store returned, and which of their tokens are still stored: a step that
/// refers to a deleted one gets an id no store holds, the same on both sides, whether or not
/// the store has given that id to a newer token since.
#[derive(Default)]
struct LiveFresh {
    ids: Ids,
    live: Vec<(String, bool)>,
}

impl LiveFresh {
    fn push(&mut self, id: String) {
        self.live.push((id.clone(), true));
        self.ids.push_fresh(id);
    }

    fn deleted(&mut self, id: &str) {
        for (fresh, live) in &mut self.live {
            if fresh == id {
                *live = false;
            }
        }
    }

    fn cleared(&mut self) {
        for (_, live) in &mut self.live {
            *live = false;
        }
    }

    fn resolve(&self, id: &IdRef) -> String {
        match id {
            IdRef::Fresh(n) if !self.live.is_empty() => {
                let n = n % self.live.len();
                if self.live[n].1 {
                    self.live[n].0.clone()
                } else {
                    format!("deleted-{}", n + 1)
                }
            }
            id => self.ids.resolve(id),
        }
    }

    /// The op a step makes, with fresh ids resolved as [`LiveFresh::resolve`] does.
    fn op(&self, step: &Step) -> Option<Op> {
        let token = |id: &Option<IdRef>, fields| {
            let mut t = self.ids.token(&None, fields);
            t.id = id.as_ref().map(|i| self.resolve(i));
            t
        };
        Some(match step {
            Step::Save { id, fields } => Op::Save(token(id, fields)),
            Step::Find { id, fields } => Op::Find(token(id, fields)),
            Step::FindById(id) => Op::FindById(self.resolve(id)),
            Step::Delete(id) => Op::Delete(self.resolve(id)),
            step => return self.ids.op(step),
        })
    }
}

/// Stored ids, named by the order of the saves that stored them: a store that reuses a deleted
/// id and one that does not still agree.
#[derive(Default)]
struct Symbols {
    names: HashMap<String, String>,
    live: std::collections::HashSet<String>,
    count: usize,
}

impl Symbols {
    /// Records a save that stored `id`; true when it stored a new token (a new name).
    fn saved(&mut self, id: &str) -> bool {
        if self.live.contains(id) {
            return false;
        }
        self.count += 1;
        self.names.insert(id.to_owned(), format!("#{}", self.count));
        self.live.insert(id.to_owned());
        true
    }

    fn deleted(&mut self, id: &str) {
        self.live.remove(id);
    }

    fn id(&self, id: &str) -> String {
        self.names
            .get(id)
            .cloned()
            .unwrap_or_else(|| show::value(id))
    }

    fn token(&self, t: &Token) -> String {
        let mut shown = t.clone();
        shown.id = None;
        let body = show::token(&shown);
        match t.id.as_deref() {
            Some(id) => format!("{} {body}", self.id(id)),
            None => body,
        }
    }

    /// `op = answer` with stored ids named, and errors shown by their kind alone, as the spec
    /// sees them.
    fn describe(&self, op: &Op, answer: &Answer) -> String {
        let call = match op {
            Op::Save(t) => format!("save_token({})", self.token(t)),
            Op::Find(t) => format!("find_token({})", self.token(t)),
            Op::FindById(id) => format!("find_token_by_id({})", self.id(id)),
            Op::Delete(id) => format!("delete_token({})", self.id(id)),
            Op::GetTokens => "get_tokens()".into(),
            Op::DeleteTokens => "delete_tokens()".into(),
        };
        let shown = match answer {
            Answer::Saved(id) => format!("Ok, id {}", self.id(id.as_deref().unwrap_or_default())),
            Answer::Found(Some(t)) => format!("Some({})", self.token(t)),
            Answer::Found(None) => "None".into(),
            Answer::Token(t) => self.token(t),
            Answer::Tokens(all) => {
                let mut shown: Vec<String> = all.iter().map(|t| self.token(t)).collect();
                shown.sort();
                format!("[{}]", shown.join(", "))
            }
            Answer::Done => "Ok".into(),
            Answer::Failed(f) => format!("Err({:?})", f.kind),
        };
        format!("{call} = {shown}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps a run resolves against a store that reuses a deleted id and one that does not.
    fn resolved(ids: [&str; 3]) -> Vec<String> {
        let mut fresh = LiveFresh::default();
        fresh.push(ids[0].into());
        fresh.push(ids[1].into());
        fresh.deleted(ids[0]);
        fresh.push(ids[2].into());
        (0..3).map(|n| fresh.resolve(&IdRef::Fresh(n))).collect()
    }

    #[test]
    fn a_deleted_token_is_referred_to_by_no_stored_id_whether_or_not_its_id_was_reused() {
        let reusing = resolved(["1", "2", "1"]);
        let counting = resolved(["1", "2", "3"]);
        assert_eq!(reusing, ["deleted-1", "2", "1"]);
        assert_eq!(counting, ["deleted-1", "2", "3"]);
        // Symbolically (by order of insert) the two agree: the third insert is live in both.
        let mut names = Symbols::default();
        names.saved("1");
        names.saved("2");
        names.deleted("1");
        names.saved("1");
        assert_eq!(names.id(&reusing[2]), "#3");
    }
}
