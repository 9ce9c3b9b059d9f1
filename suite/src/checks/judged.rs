//! The one judge on every call of an example check: a store wrapper that sends each call on,
//! judges its answer with [`judge::step`] against a model of what the store holds, and, after
//! a save or a delete, compares the listing with the model as the model-based test does.
//!
//! A wrong answer is recorded as a [`Broken`] (the rule the judge names), and the model then
//! adopts what the store observably holds (its `get_tokens`), so that the calls after it are
//! judged against the store's own state and one defect is not seen again in every later call.
//! The check's verdict is then decided in one place ([`Deviations::verdict`]): a check whose
//! own assertion failed after a call of another rule went wrong was blocked by that rule (its
//! setup did not land), and is not failed under its own.

use crate::call::{describe_op, Answer, Op};
use crate::judge::{self, Broken};
use crate::model::Model;
use crate::show;
use async_trait::async_trait;
use std::sync::{Arc, Mutex};
use tokenstore_core::{Choices, Field, Limits, StoreError, Token, TokenStore};

/// What the judge found in one check: the wrong answers, in order, at most one per rule.
#[derive(Clone, Default)]
pub struct Deviations(Arc<Mutex<Follow>>);

#[derive(Default)]
struct Follow {
    /// What the store holds, as far as the judge can tell; `None` once the model no longer
    /// follows the store (its listing could not be had or read), and for no judge at all: the
    /// calls after that are not judged.
    model: Option<Model>,
    found: Vec<Broken>,
    /// The judge's verdict on the latest call: the wrong answer, or `None` when the call was
    /// right or could not be judged.
    last: Option<Broken>,
}

/// How a check's own verdict and the judge's findings fold into one outcome.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The check's own verdict stands; `others` are failures of the rules the judge names
    /// (its own rule too, when the check passed but the judge saw it broken).
    Own { others: Vec<Broken> },
    /// The check could not exercise its rule: a call before its assertion broke `by` (which
    /// fails); `others` are the judge's later findings.
    Blocked { by: Broken, others: Vec<Broken> },
}

impl Deviations {
    /// A judge for a fresh, empty store with `choices`.
    pub fn new(choices: Choices) -> Self {
        Deviations(Arc::new(Mutex::new(Follow {
            model: Some(Model::new(choices)),
            ..Follow::default()
        })))
    }

    /// No judge: the check makes calls the sequential model cannot follow (calls at once,
    /// faults injected, values past the declared limits).
    pub fn off() -> Self {
        Deviations::default()
    }

    fn model(&self) -> Option<Model> {
        self.0.lock().expect("not poisoned").model.clone()
    }

    fn keep(&self, model: Option<Model>) {
        let mut follow = self.0.lock().expect("not poisoned");
        follow.model = model;
        follow.last = None;
    }

    fn record(&self, broken: Broken, model: Option<Model>) {
        let mut follow = self.0.lock().expect("not poisoned");
        if !follow.found.iter().any(|b| b.rule == broken.rule) {
            follow.found.push(broken.clone());
        }
        follow.model = model;
        follow.last = Some(broken);
    }

    /// Whether the store's listing was found wrong in this check: it then witnesses nothing,
    /// neither a write's effect nor the state to follow after another wrong answer.
    pub fn listing_broken(&self) -> bool {
        let follow = self.0.lock().expect("not poisoned");
        follow.found.iter().any(|b| b.rule == "get-tokens.exact")
    }

    /// The ids of the tokens the judge's model holds, while it follows the store.
    pub fn model_ids(&self) -> Option<Vec<String>> {
        let follow = self.0.lock().expect("not poisoned");
        let model = follow.model.as_ref()?;
        Some(model.tokens().iter().filter_map(|t| t.id.clone()).collect())
    }

    /// A call the judge did not judge: what it said of the call before no longer applies.
    fn unjudged(&self) {
        self.0.lock().expect("not poisoned").last = None;
    }

    /// After the check's store object was replaced by one opened again on the same storage
    /// (`witness`): its listing must be what the model holds, or `store.durable` is broken.
    pub async fn reopened(&self, witness: &dyn TokenStore) {
        let Some(model) = self.model() else { return };
        let what = "get_tokens() after reopening";
        if let Err(broken) = listed(witness, &model, what, "store.durable").await {
            // Only the listing is wrong when find_token_by_id answers as the model holds.
            let adopted = if broken.rule == "get-tokens.exact" {
                Some(model)
            } else {
                adopt(witness, model.choices).await
            };
            self.record(broken, adopted);
        }
    }

    /// After the check's store object was replaced by one opened again on the storage of a
    /// store that does not persist: the model starts empty, as the store does.
    pub fn forget(&self) {
        let mut follow = self.0.lock().expect("not poisoned");
        if let Some(model) = &mut follow.model {
            model.clear();
        }
    }

    /// The wrong answers found so far, in order.
    pub fn found(&self) -> Vec<Broken> {
        self.0.lock().expect("not poisoned").found.clone()
    }

    /// Folds the judge's findings with the check of `rule`, whose own assertion `failed` or
    /// not. A failed check whose rule the judge did not name is blocked by another rule the
    /// judge found broken: by the one it found in the check's last call (the call the failed
    /// assertion is about), else, when the judge followed the store to the end, by the first
    /// one (the store answered as what it holds, and what it holds went wrong earlier). Where
    /// the judge lost the store (its listing could not be read), the check's own failure
    /// stands.
    pub fn verdict(&self, rule: &str, failed: bool) -> Verdict {
        let (found, lost, last) = {
            let follow = self.0.lock().expect("not poisoned");
            (
                follow.found.clone(),
                follow.model.is_none(),
                follow.last.clone(),
            )
        };
        let own_seen = found.iter().any(|b| b.rule == rule);
        let mut others: Vec<Broken> = found
            .into_iter()
            .filter(|b| !(failed && b.rule == rule))
            .collect();
        if failed && !own_seen {
            if let Some(by) = last.filter(|b| b.rule != rule) {
                others.retain(|b| b.rule != by.rule);
                return Verdict::Blocked { by, others };
            }
            if !lost && !others.is_empty() {
                let by = others.remove(0);
                return Verdict::Blocked { by, others };
            }
        }
        Verdict::Own { others }
    }
}

/// `store`, every call judged into `deviations`; `witness` answers the listings the judge asks
/// for itself (the same store, without recording them in the check's story).
pub struct Judged {
    inner: Arc<dyn TokenStore>,
    witness: Arc<dyn TokenStore>,
    limits: Limits,
    deviations: Deviations,
}

impl Judged {
    pub fn wrap(
        store: Arc<dyn TokenStore>,
        witness: Arc<dyn TokenStore>,
        limits: Limits,
        deviations: &Deviations,
    ) -> Arc<dyn TokenStore> {
        Arc::new(Judged {
            inner: store,
            witness,
            limits,
            deviations: deviations.clone(),
        })
    }

    /// Judges `answer` to `op`; on a wrong answer, records it and adopts the store's state.
    async fn judge(&self, op: &Op, answer: &Answer) {
        let Some(mut model) = self.deviations.model() else {
            self.deviations.unjudged();
            return;
        };
        if let (Op::Save(token), Answer::Failed(_)) = (op, answer) {
            if self.limits.check(token).is_err() {
                // A refusal of a value past the declared limits is limits.declared's matter.
                self.deviations.unjudged();
                return;
            }
        }
        let judged = match judge::step(&mut model, op, answer) {
            Ok(explained) => match explained.listing {
                Some((what, rule)) if !self.deviations.listing_broken() => {
                    listed(&*self.witness, &model, what, rule).await
                }
                _ => Ok(()),
            },
            Err(broken) => Err(broken),
        };
        match judged {
            Ok(()) => self.deviations.keep(Some(model)),
            Err(broken) => {
                let broken = match (op, answer) {
                    (Op::Save(token), Answer::Saved(Some(id)))
                        if matches!(broken.rule, "save.fresh-id-unique" | "save.insert")
                            && !self.deviations.listing_broken() =>
                    {
                        overwritten(&*self.witness, &model, op, token, id)
                            .await
                            .unwrap_or(broken)
                    }
                    _ => broken,
                };
                let adopted = self.follow(op, answer, &broken, model).await;
                self.deviations.record(broken, adopted);
            }
        }
    }

    /// The model after `op` was answered wrongly: the model itself when only the listing is
    /// wrong (`find_token_by_id` answers every token as the model holds it), else the store's
    /// state as its listing shows it; `None` when that cannot be had (the listing was found
    /// wrong earlier in the check).
    async fn follow(
        &self,
        op: &Op,
        answer: &Answer,
        broken: &Broken,
        model: Model,
    ) -> Option<Model> {
        if broken.rule != "get-tokens.exact" {
            if self.deviations.listing_broken() {
                return None;
            }
            return adopt(&*self.witness, model.choices).await;
        }
        let (Op::GetTokens, Answer::Tokens(got)) = (op, answer) else {
            // A listing after a write, already weighed against find_token_by_id.
            return Some(model);
        };
        let mut got = got.clone();
        got.sort_by(|a, b| a.id.cmp(&b.id));
        let mut want = model.tokens().to_vec();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        if super::by_id_agrees(&*self.witness, model.choices, &got, &want).await {
            return Some(model);
        }
        adopt(&*self.witness, model.choices).await
    }
}

/// A save the judge wanted to insert (its key designates no stored token), answered with the id
/// of a stored token that holds one of the save's own values: when the store's listing then
/// holds that id once, the store looked the token up by that value (a client id, a refresh token
/// without the client's credentials) and wrote the save over it: `save.insert`'s failure,
/// witnessed, naming the values the two share. `None` when they share no value (a fresh id that
/// collides with a stored one, `save.fresh-id-unique`), when the listing holds that id twice, or
/// when it cannot be had.
async fn overwritten(
    witness: &dyn TokenStore,
    model: &Model,
    op: &Op,
    token: &Token,
    id: &str,
) -> Option<Broken> {
    let before = model.get(id)?;
    let token = token.clone().normalized();
    let key = model.key(&token);
    if let Some(((field, value), _)) = &key {
        if before.get(*field) == Some(value.as_str()) {
            // The overwritten token holds the save's own key: the model and the store disagree
            // on what that token is (a value the store did not keep as given), not on the key.
            return None;
        }
    }
    let shown =
        |field: Field, value: &str| format!("{} {}", field.name(), show::field_value(field, value));
    // The fields a store could have looked the token up by, user name to grant token in the
    // SDK's column order: the key fields and the client's.
    let shared: Vec<String> = Field::ALL[1..=6]
        .iter()
        .filter_map(|&field| {
            let value = token.get(field)?;
            (before.get(field) == Some(value)).then(|| shown(field, value))
        })
        .collect();
    if shared.is_empty() {
        return None;
    }
    let listed = witness.get_tokens().await.ok()?;
    if listed
        .iter()
        .filter(|t| t.id.as_deref() == Some(id))
        .count()
        != 1
    {
        return None;
    }
    let key = match key {
        Some(((field, value), _)) => format!(
            "its key ({}) designates no stored token",
            shown(field, &value)
        ),
        None => "it has no lookup key".to_owned(),
    };
    let want = match token.id.as_deref() {
        Some(chosen) => format!(
            "want a new token with the caller's id {}",
            show::value(chosen)
        ),
        None => "want a new token with a fresh id".to_owned(),
    };
    Some(Broken::new(
        "save.insert",
        format!(
            "{} = Ok, id {}: {key}, so it must insert a token, {}{}, with which it shares {}; {want}",
            describe_op(op),
            show::value(id),
            judge::WROTE_OVER,
            show::value(id),
            shared.join(", "),
        ),
    ))
}

/// A model of what `store` holds now, from its listing; `None` when the listing cannot be had,
/// or holds what no store the spec allows can hold (a token without an id, two tokens with one
/// id or one user name): the model cannot say what such a store must answer next.
async fn adopt(store: &dyn TokenStore, choices: Choices) -> Option<Model> {
    let listed = store.get_tokens().await.ok()?;
    let mut model = Model::new(choices);
    let mut ids = std::collections::HashSet::new();
    let mut users = std::collections::HashSet::new();
    for token in listed {
        let token = token.normalized();
        let id = token.id.clone()?;
        let user_taken = token
            .user_name
            .as_ref()
            .is_some_and(|user| !users.insert(user.clone()));
        if !ids.insert(id.clone()) || user_taken {
            return None;
        }
        model.apply_insert(&id, &token);
    }
    Some(model)
}

/// Compares `store`'s listing with `model`; `rule` is the rule a difference breaks. A listing
/// that differs while `find_token_by_id` answers every token as the model holds it is
/// `get_tokens`' own fault (`get-tokens.exact`), not the call's before it.
pub async fn listed(
    store: &dyn TokenStore,
    model: &Model,
    what: &str,
    rule: &'static str,
) -> Result<(), Broken> {
    let got = match store.get_tokens().await {
        Ok(got) => got,
        Err(e) => {
            return Err(Broken::new(
                "get-tokens.exact",
                format!(
                    "{what} = Err({}), want Ok",
                    crate::show::message(&e.to_string())
                ),
            ))
        }
    };
    let Err(broken) = judge::listing(model, &got, what, rule) else {
        return Ok(());
    };
    let mut sorted = got;
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = model.tokens().to_vec();
    want.sort_by(|a, b| a.id.cmp(&b.id));
    if broken.rule != "token.absent-empty"
        && rule != "get-tokens.exact"
        && super::by_id_agrees(store, model.choices, &sorted, &want).await
    {
        return Err(Broken::new(
            "get-tokens.exact",
            format!(
                "{what}: {} (find_token_by_id answers every token as the model holds it, so get_tokens is at fault)",
                judge::diff(&sorted, &want)
            ),
        ));
    }
    Err(broken)
}

impl Judged {
    /// Judges the answer of `op` (its `result`, `answer` reading the Ok value) and hands the
    /// result back unchanged.
    async fn call<T>(
        &self,
        op: Op,
        result: Result<T, StoreError>,
        answer: impl FnOnce(&T) -> Answer,
    ) -> Result<T, StoreError> {
        self.judge(&op, &Answer::of(&result, answer)).await;
        result
    }
}

#[async_trait]
impl TokenStore for Judged {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>, StoreError> {
        let result = self.inner.find_token(probe).await;
        self.call(Op::Find(probe.clone()), result, |found| {
            Answer::Found(found.clone())
        })
        .await
    }

    async fn save_token(&self, token: &mut Token) -> Result<(), StoreError> {
        let op = Op::Save(token.clone());
        let result = self.inner.save_token(token).await;
        let id = token.id.clone();
        self.call(op, result, |()| Answer::Saved(id)).await
    }

    async fn delete_token(&self, id: &str) -> Result<(), StoreError> {
        let result = self.inner.delete_token(id).await;
        self.call(Op::Delete(id.to_owned()), result, |()| Answer::Done)
            .await
    }

    async fn get_tokens(&self) -> Result<Vec<Token>, StoreError> {
        let result = self.inner.get_tokens().await;
        self.call(Op::GetTokens, result, |all| Answer::Tokens(all.clone()))
            .await
    }

    async fn delete_tokens(&self) -> Result<(), StoreError> {
        let result = self.inner.delete_tokens().await;
        self.call(Op::DeleteTokens, result, |()| Answer::Done).await
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token, StoreError> {
        let result = self.inner.find_token_by_id(id).await;
        self.call(Op::FindById(id.to_owned()), result, |t| {
            Answer::Token(t.clone())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(rule: &'static str) -> Broken {
        Broken::new(rule, format!("{rule} broken"))
    }

    fn following() -> Deviations {
        Deviations::new(Choices::default())
    }

    #[test]
    fn a_failed_check_after_another_rules_wrong_answer_is_blocked_by_it() {
        let judge = following();
        judge.record(broken("save.insert"), Some(Model::default()));
        judge.keep(Some(Model::default()));
        assert_eq!(
            judge.verdict("find.by-user-name", true),
            Verdict::Blocked {
                by: broken("save.insert"),
                others: vec![]
            }
        );
        // The check's own rule seen broken by the judge: its failure stands.
        judge.record(broken("find.by-user-name"), Some(Model::default()));
        assert!(matches!(
            judge.verdict("find.by-user-name", true),
            Verdict::Own { .. }
        ));
    }

    #[test]
    fn a_passed_check_reports_what_the_judge_found_including_its_own_rule() {
        let judge = following();
        judge.record(broken("save.merge"), Some(Model::default()));
        judge.record(broken("find.miss-none"), Some(Model::default()));
        assert_eq!(
            judge.verdict("save.merge", false),
            Verdict::Own {
                others: vec![broken("save.merge"), broken("find.miss-none")]
            }
        );
    }

    #[test]
    fn a_lost_judge_blocks_only_through_the_last_call() {
        let judge = following();
        judge.record(broken("get-tokens.exact"), None);
        judge.unjudged();
        assert!(matches!(
            judge.verdict("save.merge", true),
            Verdict::Own { .. }
        ));
        // The failed assertion's own call went wrong under another rule: blocked by it, even
        // though the model no longer follows the store.
        judge.record(broken("save.insert"), None);
        assert_eq!(
            judge.verdict("save.merge", true),
            Verdict::Blocked {
                by: broken("save.insert"),
                others: vec![broken("get-tokens.exact")]
            }
        );
    }

    #[tokio::test]
    async fn the_judge_follows_the_store_after_a_wrong_answer() {
        let inner: Arc<dyn TokenStore> = Arc::new(tokenstore_list::list_store());
        let judge = following();
        let store = Judged::wrap(inner.clone(), inner.clone(), Limits::default(), &judge);
        let mut alice = Token {
            user_name: Some("alice".into()),
            refresh_token: Some("r-a".into()),
            ..Token::default()
        };
        store.save_token(&mut alice).await.unwrap();
        // A write behind the judge's back: the next listing differs from the model once, and
        // the model then holds what the store holds.
        let mut bob = Token {
            user_name: Some("bob".into()),
            refresh_token: Some("r-b".into()),
            ..Token::default()
        };
        inner.save_token(&mut bob).await.unwrap();
        store.get_tokens().await.unwrap();
        let found = judge.found();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].rule, "get-tokens.exact");
        store
            .find_token(&Token {
                user_name: Some("alice".into()),
                ..Token::default()
            })
            .await
            .unwrap();
        store
            .find_token(&Token {
                user_name: Some("bob".into()),
                ..Token::default()
            })
            .await
            .unwrap();
        assert_eq!(
            judge.found().len(),
            1,
            "answers that agree with what the store holds add nothing"
        );
        assert!(judge.0.lock().unwrap().model.is_some());
    }
}
