//! The model-based test: random sequences of the six operations (and reopen, for persistent
//! stores) over a small pool of values, so keys collide, mixed with hostile values. Each answer
//! of the store is compared with the reference model's; ids the store generates are referred to
//! symbolically ("the id the 3rd insert returned") and so are tested, never assumed.
//!
//! Generation and shrinking are proptest-state-machine's; [`execute`] runs one sequence and names
//! the rule the first wrong answer breaks.

use crate::fixture::Storage;
use crate::model::{is_plain, Model, SaveExpectation};
use crate::show;
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokenstore_core::{Choices, ErrorKind, Field, StoreError, Token, TokenStore};

/// An id as a step refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdRef {
    /// The id the n-th fresh-id insert of the sequence returned (modulo how many there were).
    Fresh(usize),
    /// This exact string.
    Literal(String),
}

/// One call of the sequence. Token fields are raw: `""` is passed to the store as is.
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
    Reopen,
}

/// The first wrong answer of a sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub rule: &'static str,
    /// What was called, what came back, what was wanted.
    pub message: String,
    /// Index of the step that went wrong.
    pub step: usize,
}

/// Steps as a person reads them, one line each, with ids resolved and answers shown.
pub type Transcript = Vec<String>;

/// Runs `steps` on a fresh store of `storage`, comparing each answer with the model.
/// `seen` counts the steps run, for proptest-state-machine's shrinking.
pub async fn execute(
    storage: &dyn Storage,
    steps: &[Step],
    choices: Choices,
    seen: Option<&AtomicUsize>,
) -> (Transcript, Result<(), Violation>) {
    let mut run = Run {
        store: match storage.open(crate::MAIN_NAMESPACE).await {
            Ok(store) => store,
            Err(e) => {
                let v = Violation {
                    rule: "store.durable",
                    message: format!("opening the store = Err({e})"),
                    step: 0,
                };
                return (Vec::new(), Err(v));
            }
        },
        storage,
        model: Model::new(choices),
        fresh: FreshIds::default(),
        transcript: Vec::new(),
    };
    for (i, step) in steps.iter().enumerate() {
        if let Some(seen) = seen {
            seen.fetch_add(1, Ordering::SeqCst);
        }
        if let Err((rule, message)) = run.step(step).await {
            run.transcript.push(format!("  ^ breaks {rule}: {message}"));
            return (
                run.transcript,
                Err(Violation {
                    rule,
                    message,
                    step: i,
                }),
            );
        }
    }
    let final_check = run
        .check_all("get_tokens() at the end", "get-tokens.exact")
        .await;
    if let Err((rule, message)) = final_check {
        run.transcript.push(format!("  ^ breaks {rule}: {message}"));
        return (
            run.transcript,
            Err(Violation {
                rule,
                message,
                step: steps.len(),
            }),
        );
    }
    (run.transcript, Ok(()))
}

type StepResult = Result<(), (&'static str, String)>;

struct Run<'a> {
    store: Arc<dyn TokenStore>,
    storage: &'a dyn Storage,
    model: Model,
    fresh: FreshIds,
    transcript: Transcript,
}

/// The fresh ids a store returned, in order: what [`IdRef::Fresh`] refers to.
#[derive(Default)]
pub struct FreshIds(Vec<String>);

impl FreshIds {
    pub fn push(&mut self, id: String) {
        self.0.push(id);
    }

    /// The id a step refers to; before any fresh id, `Fresh(n)` is the literal `n + 1`.
    pub fn resolve(&self, id: &IdRef) -> String {
        match id {
            IdRef::Literal(s) => s.clone(),
            IdRef::Fresh(n) if self.0.is_empty() => format!("{}", n + 1),
            IdRef::Fresh(n) => self.0[n % self.0.len()].clone(),
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
}

impl Run<'_> {
    async fn step(&mut self, step: &Step) -> StepResult {
        match step {
            Step::Save { id, fields } => self.save(self.fresh.token(id, fields)).await,
            Step::Find { id, fields } => self.find(self.fresh.token(id, fields)).await,
            Step::FindById(id) => self.find_by_id(self.fresh.resolve(id)).await,
            Step::Delete(id) => self.delete(self.fresh.resolve(id)).await,
            Step::GetTokens => {
                self.transcript.push("get_tokens()".into());
                self.check_all("get_tokens()", "get-tokens.exact").await
            }
            Step::DeleteTokens => {
                let result = self.store.delete_tokens().await;
                self.transcript
                    .push(format!("delete_tokens() = {}", unit(&result)));
                result.map_err(|e| {
                    (
                        "delete-tokens.empties",
                        format!("delete_tokens() = Err({e}), want Ok"),
                    )
                })?;
                self.model.clear();
                self.check_all(
                    "get_tokens() after delete_tokens()",
                    "delete-tokens.empties",
                )
                .await
            }
            Step::Reopen => {
                self.transcript.push("reopen".into());
                self.store = self
                    .storage
                    .open(crate::MAIN_NAMESPACE)
                    .await
                    .map_err(|e| ("store.durable", format!("reopening the store = Err({e})")))?;
                self.check_all("get_tokens() after reopening", "store.durable")
                    .await
            }
        }
    }

    async fn save(&mut self, token: Token) -> StepResult {
        let expected = self.model.expect_save(&token);
        let mut sent = token.clone();
        let result = self.store.save_token(&mut sent).await;
        let call = format!("save_token({})", show::token(&token));
        self.transcript.push(match &result {
            Ok(()) => format!(
                "{call} = Ok, id {}",
                sent.id
                    .as_deref()
                    .map(show::value)
                    .unwrap_or("absent".into())
            ),
            Err(e) => format!("{call} = Err({e})"),
        });
        let path_rule = match &expected {
            SaveExpectation::Update { by_id: true, .. } => "save.id-selects",
            SaveExpectation::Update { by_id: false, .. } => "save.key-selects",
            SaveExpectation::Insert(_) => "save.insert",
            SaveExpectation::Refused { rule, .. } => rule,
        };
        match (expected, result) {
            (_, Err(StoreError::InvalidToken { field, .. }))
                if token.get(field).is_some_and(|v| !is_plain(v)) =>
            {
                // A value the store cannot hold may be refused whatever else the save would do.
                return self
                    .check_all(
                        "get_tokens() after the refused save",
                        "store.failed-call-unchanged",
                    )
                    .await;
            }
            (SaveExpectation::Refused { kind, .. }, Err(e))
                if self.model.choices.refuses_as(e.kind(), kind) =>
            {
                return self
                    .check_all(
                        "get_tokens() after the refused save",
                        "store.failed-call-unchanged",
                    )
                    .await;
            }
            (SaveExpectation::Refused { kind, rule, why }, Err(e)) => {
                return Err((
                    rule,
                    format!("{call} = Err({e}), want Err({kind:?}): {why}"),
                ));
            }
            (SaveExpectation::Refused { kind, rule, why }, Ok(())) => {
                return Err((
                    rule,
                    format!("{call} = Ok (id {:?}), want Err({kind:?}): {why}", sent.id),
                ));
            }
            (_, Err(StoreError::InvalidToken { field, reason })) => {
                let rule = if token.get(field).is_some() {
                    "token.roundtrip"
                } else {
                    path_rule
                };
                return Err((rule, format!("{call} = Err(InvalidToken {field}: {reason}), want Ok: the value is one every store must hold")));
            }
            (_, Err(e)) => return Err((path_rule, format!("{call} = Err({e}), want Ok"))),
            (SaveExpectation::Update { candidates, by_id }, Ok(())) => {
                let Some(id) = sent.id.clone() else {
                    return Err((
                        "save.id-written-back",
                        format!("{call} left the caller's token without an id"),
                    ));
                };
                if !candidates
                    .iter()
                    .any(|c| c.id.as_deref() == Some(id.as_str()))
                {
                    let want: Vec<_> = candidates.iter().filter_map(|c| c.id.clone()).collect();
                    let rule = if by_id {
                        "save.id-selects"
                    } else {
                        self.save_key_rule(&token, self.model.get(&id))
                    };
                    return Err((
                        rule,
                        format!(
                            "{call} wrote id {id:?}, want an update of the token with id {}",
                            want.join(" or ")
                        ),
                    ));
                }
                self.model.apply_update(&id, &token);
            }
            (SaveExpectation::Insert(new), Ok(())) => {
                let Some(id) = sent.id.clone() else {
                    return Err((
                        "save.id-written-back",
                        format!("{call} left the caller's token without an id"),
                    ));
                };
                match new.id.as_deref() {
                    Some(chosen) if chosen != id => {
                        return Err((
                            "save.insert",
                            format!("{call} stored id {id:?}, want the caller's id {chosen:?}"),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        if let Some(updated) = self.model.get(&id) {
                            let rule = match self.save_key_rule(&token, Some(updated)) {
                                "save.key-selects" => "save.fresh-id-unique",
                                rule => rule,
                            };
                            return Err((rule, format!("{call} = Ok, id {}, which a stored token already has, want an insert with a fresh id", show::value(&id))));
                        }
                        self.fresh.push(id.clone());
                    }
                }
                self.model.apply_insert(&id, &new);
            }
        }
        let rule = match path_rule {
            "save.insert" => "save.insert",
            _ => "save.merge",
        };
        self.check_all("get_tokens() after the save", rule).await
    }

    async fn find(&mut self, probe: Token) -> StepResult {
        let answers = self.model.find(&probe);
        let result = self.store.find_token(&probe).await;
        let call = format!("find_token({})", show::token(&probe));
        self.transcript.push(match &result {
            Ok(got) => format!("{call} = {}", show::opt_token(got)),
            Err(e) => format!("{call} = Err({e})"),
        });
        let key_rule = self.key_rule(&probe);
        let got = match result {
            Ok(got) => got,
            Err(e) => return Err((key_rule, format!("{call} = Err({e}), want Ok"))),
        };
        if let Some(field) = got.as_ref().and_then(show::has_empty_value) {
            return Err((
                "token.absent-empty",
                format!("{call} returned {field} = \"\", want it absent"),
            ));
        }
        let want = || {
            if answers.is_empty() {
                "None".to_owned()
            } else {
                answers
                    .iter()
                    .map(|a| format!("Some({})", show::token(a)))
                    .collect::<Vec<_>>()
                    .join(" or ")
            }
        };
        match got {
            None if answers.is_empty() => Ok(()),
            Some(ref t) if answers.contains(t) => Ok(()),
            None => Err((key_rule, format!("{call} = None, want {}", want()))),
            Some(t) if answers.is_empty() => {
                let rule = self.miss_rule(&probe, &t);
                Err((
                    rule,
                    format!("{call} = Some({}), want None", show::token(&t)),
                ))
            }
            Some(t) => {
                let rule = if answers
                    .iter()
                    .any(|a| differs_only_in_unplain_values(a, &t))
                {
                    "token.roundtrip"
                } else if answers.iter().any(|a| a.id == t.id) {
                    "find.hit-fills-absent"
                } else {
                    key_rule
                };
                Err((
                    rule,
                    format!("{call} = Some({}), want {}", show::token(&t), want()),
                ))
            }
        }
    }

    /// The rule of the key a probe is matched on.
    fn key_rule(&self, probe: &Token) -> &'static str {
        match self.model.key(probe) {
            None => "find.no-key-none",
            Some(((Field::UserName, _), _)) => "find.by-user-name",
            Some(((Field::AccessToken, _), _)) => "find.by-access-token",
            Some(((Field::GrantToken, grant), _)) => {
                let grant_hits = self
                    .model
                    .tokens()
                    .iter()
                    .any(|t| t.get(Field::GrantToken) == Some(grant.as_str()));
                if !grant_hits && probe.get(Field::RefreshToken).is_some() {
                    "find.grant-refresh-fallback"
                } else {
                    "find.by-grant-token"
                }
            }
            Some(_) => "find.by-refresh-token",
        }
    }

    /// The rule a hit breaks when the model says miss.
    fn miss_rule(&self, probe: &Token, got: &Token) -> &'static str {
        // The probe handed back unchanged is no row at all: a miss answered wrongly, whatever
        // the probe's key (the official Node DBStore answers every miss so).
        if got.clone().normalized() == probe.clone().normalized() {
            return "find.miss-none";
        }
        let Some(((field, value), _)) = self.model.key(probe) else {
            return "find.no-key-none";
        };
        let by_id = probe.get(Field::Id).and_then(|id| self.model.get(id));
        if by_id.is_some_and(|stored| &probe.merged_over(stored) == got) {
            return "find.never-by-id";
        }
        let loosely = |v: &str| v.trim().to_lowercase();
        if got
            .get(field)
            .is_some_and(|v| v != value && loosely(v) == loosely(&value))
        {
            return "find.exact-match";
        }
        if field == Field::GrantToken
            && probe.get(Field::RefreshToken).is_some()
            && got.get(Field::RefreshToken) == probe.get(Field::RefreshToken)
        {
            return "find.grant-refresh-fallback";
        }
        "find.miss-none"
    }

    async fn find_by_id(&mut self, id: String) -> StepResult {
        let result = self.store.find_token_by_id(&id).await;
        let call = format!("find_token_by_id({})", show::value(&id));
        self.transcript.push(match &result {
            Ok(t) => format!("{call} = {}", show::token(t)),
            Err(e) => format!("{call} = Err({e})"),
        });
        match (self.model.get(&id), result) {
            (Some(want), Ok(got)) if &got == want => Ok(()),
            (Some(want), Ok(got)) => {
                let rule = if show::has_empty_value(&got).is_some() {
                    "token.absent-empty"
                } else if differs_only_in_unplain_values(want, &got) {
                    "token.roundtrip"
                } else {
                    "find-by-id.hit"
                };
                Err((
                    rule,
                    format!("{call} = {}, want {}", show::token(&got), show::token(want)),
                ))
            }
            (Some(want), Err(e)) => Err((
                "find-by-id.hit",
                format!("{call} = Err({e}), want {}", show::token(want)),
            )),
            (None, Err(e)) if self.model.choices.refuses_as(e.kind(), ErrorKind::NotFound) => {
                Ok(())
            }
            (None, Err(e)) => Err((
                "find-by-id.miss-not-found",
                format!("{call} = Err({e}), want Err(NotFound)"),
            )),
            (None, Ok(got)) => Err((
                "find-by-id.miss-not-found",
                format!("{call} = {}, want Err(NotFound)", show::token(&got)),
            )),
        }
    }

    async fn delete(&mut self, id: String) -> StepResult {
        let result = self.store.delete_token(&id).await;
        let call = format!("delete_token({})", show::value(&id));
        self.transcript.push(format!("{call} = {}", unit(&result)));
        let stored = self.model.get(&id).is_some();
        match (&result, stored) {
            (Ok(()), true) => {
                self.model.delete(&id);
                return self
                    .check_all("get_tokens() after delete_token", "delete.removes-exactly")
                    .await;
            }
            (Err(e), true) => {
                return Err((
                    "delete.removes-exactly",
                    format!("{call} = Err({e}), want Ok"),
                ))
            }
            (Ok(()), false) if !self.model.choices.delete_missing_reports_not_found => {}
            (Err(e), false)
                if self.model.choices.delete_missing_reports_not_found
                    && self.model.choices.refuses_as(e.kind(), ErrorKind::NotFound) => {}
            (_, false) => {
                let want = if self.model.choices.delete_missing_reports_not_found {
                    "Err(NotFound)"
                } else {
                    "Ok"
                };
                return Err((
                    "delete.missing-id",
                    format!(
                        "{call} = {}, want {want} (the store's detected choice)",
                        unit(&result)
                    ),
                ));
            }
        }
        self.check_all(
            "get_tokens() after deleting a missing id",
            "delete.missing-id",
        )
        .await
    }

    /// Compares the store's get_tokens with the model; `rule` is the rule a difference breaks.
    async fn check_all(&mut self, what: &str, rule: &'static str) -> StepResult {
        let mut got = self
            .store
            .get_tokens()
            .await
            .map_err(|e| ("get-tokens.exact", format!("{what} = Err({e}), want Ok")))?;
        if let Some(t) = got.iter().find(|t| show::has_empty_value(t).is_some()) {
            return Err((
                "token.absent-empty",
                format!(
                    "{what} returned {} with an empty string, want the field absent",
                    show::token(t)
                ),
            ));
        }
        got.sort_by(|a, b| a.id.cmp(&b.id));
        let mut want = self.model.tokens().to_vec();
        want.sort_by(|a, b| a.id.cmp(&b.id));
        if got == want {
            return Ok(());
        }
        if rule != "get-tokens.exact"
            && crate::checks::by_id_agrees(&*self.store, self.model.choices, &got, &want).await
        {
            return Err((
                "get-tokens.exact",
                format!(
                    "{what}: {} (find_token_by_id answers every token as the model holds it, so get_tokens is at fault)",
                    diff(&got, &want)
                ),
            ));
        }
        let rule = if got.len() == want.len()
            && got
                .iter()
                .zip(&want)
                .all(|(g, w)| g == w || differs_only_in_unplain_values(w, g))
        {
            "token.roundtrip"
        } else {
            let ids: Vec<_> = got.iter().map(|t| &t.id).collect();
            let mut unique = ids.clone();
            unique.dedup();
            if unique.len() != ids.len() && rule != "save.insert" {
                "get-tokens.exact"
            } else {
                rule
            }
        };
        Err((rule, format!("{what}: {}", diff(&got, &want))))
    }
}

impl Run<'_> {
    /// The rule a save breaks when it selected the wrong token by key (or none, or one where it
    /// should have inserted): the grant-to-refresh fallback when the store followed, or failed
    /// to follow, its refresh token; exact matching when it took a token that matches only
    /// loosely; else `save.key-selects`.
    fn save_key_rule(&self, token: &Token, updated: Option<&Token>) -> &'static str {
        let token = token.clone().normalized();
        if let Some(((field, value), fallback)) = self.model.key(&token) {
            if field == Field::GrantToken {
                let grant_hits = self
                    .model
                    .tokens()
                    .iter()
                    .any(|t| t.get(Field::GrantToken) == Some(value.as_str()));
                let refresh = token.get(Field::RefreshToken);
                let refresh_hits = refresh.is_some_and(|r| {
                    self.model
                        .tokens()
                        .iter()
                        .any(|t| t.get(Field::RefreshToken) == Some(r))
                });
                let followed_refresh = updated
                    .is_some_and(|u| refresh.is_some() && u.get(Field::RefreshToken) == refresh);
                if !grant_hits && refresh_hits && (fallback.is_some() || followed_refresh) {
                    return "find.grant-refresh-fallback";
                }
            }
            let loosely = |v: &str| v.trim().to_lowercase();
            if updated
                .and_then(|u| u.get(field))
                .is_some_and(|v| v != value && loosely(v) == loosely(&value))
            {
                return "find.exact-match";
            }
        }
        "save.key-selects"
    }
}

/// Whether two tokens differ only in fields where the wanted value is not plain (a value a
/// store altered rather than matched wrongly).
fn differs_only_in_unplain_values(want: &Token, got: &Token) -> bool {
    let mut differs = false;
    for field in Field::ALL {
        if want.get(field) != got.get(field) {
            if want.get(field).is_none_or(is_plain) {
                return false;
            }
            differs = true;
        }
    }
    differs
}

fn unit(result: &Result<(), StoreError>) -> String {
    match result {
        Ok(()) => "Ok".into(),
        Err(e) => format!("Err({e})"),
    }
}

/// The first difference between two id-sorted token lists, in words.
fn diff(got: &[Token], want: &[Token]) -> String {
    for w in want {
        match got.iter().filter(|g| g.id == w.id).count() {
            0 => return format!("missing {}", show::token(w)),
            1 => {}
            n => return format!("{n} tokens with id {:?}, want 1", w.id),
        }
        let g = got.iter().find(|g| g.id == w.id).expect("counted above");
        if g != w {
            return format!("got {}, want {}", show::token(g), show::token(w));
        }
    }
    match got.iter().find(|g| !want.iter().any(|w| w.id == g.id)) {
        Some(extra) => format!("unexpected {}", show::token(extra)),
        None => "the lists differ".into(),
    }
}

/// proptest-state-machine's view of the sequences: which steps may come next. Generation needs
/// no state beyond whether the store persists, so that reopen is a step.
pub struct Sequences<const PERSISTENT: bool>;

impl<const PERSISTENT: bool> ReferenceStateMachine for Sequences<PERSISTENT> {
    type State = ();
    type Transition = Step;

    fn init_state() -> BoxedStrategy<()> {
        Just(()).boxed()
    }

    fn transitions(_: &()) -> BoxedStrategy<Step> {
        thread_local! {
            static STEPS: [BoxedStrategy<Step>; 2] = [steps(false), steps(true)];
        }
        STEPS.with(|s| s[usize::from(PERSISTENT)].clone())
    }

    fn apply((): (), _: &Step) {}
}

/// Every step but reopen; reopen too for persistent stores. Built once per thread: generation
/// asks for it before every step.
fn steps(persistent: bool) -> BoxedStrategy<Step> {
    let token = token_strategy();
    let reopen_weight = if persistent { 2 } else { 0 };
    prop_oneof![
        12 => token.clone().prop_map(|(id, fields)| Step::Save { id, fields }),
        6 => token.prop_map(|(id, fields)| Step::Find { id, fields }),
        3 => id_strategy().prop_map(Step::FindById),
        2 => id_strategy().prop_map(Step::Delete),
        1 => Just(Step::GetTokens),
        1 => Just(Step::DeleteTokens),
        reopen_weight => Just(Step::Reopen),
    ]
    .boxed()
}

fn id_strategy() -> impl Strategy<Value = IdRef> + Clone {
    prop_oneof![
        4 => (0usize..6).prop_map(IdRef::Fresh),
        1 => prop::sample::select(vec!["1", "2", "01", "abc", "10", "x y", ""]).prop_map(|s| IdRef::Literal(s.into())),
        1 => prop::sample::select(crate::values::hostile().to_vec()).prop_map(IdRef::Literal),
    ]
}

/// A value from `pool`, an empty string, or a hostile value; `None` (absent) most often.
fn value(pool: &'static [&'static str]) -> impl Strategy<Value = Option<String>> + Clone {
    prop_oneof![
        6 => Just(None),
        1 => Just(Some(String::new())),
        6 => prop::sample::select(pool).prop_map(|s| Some(s.to_owned())),
        1 => prop::sample::select(crate::values::hostile().to_vec()).prop_map(Some),
    ]
}

type TokenParts = (Option<IdRef>, Vec<(Field, String)>);

fn token_strategy() -> impl Strategy<Value = TokenParts> + Clone {
    const USERS: &[&str] = &["alice", "bob", "Alice", "alice "];
    const TOKENS: &[&str] = &["t1", "t2", "T1", "t3"];
    const CLIENT: &[&str] = &["c1", "c2"];
    const OTHER: &[&str] = &["1700000000000", "007", "https://x.example/cb"];
    let id = prop_oneof![3 => Just(None), 1 => id_strategy().prop_map(Some)];
    let client = prop_oneof![
        2 => Just((None, None)),
        3 => (prop::sample::select(CLIENT), prop::sample::select(CLIENT)).prop_map(|(a, b)| (Some(a.to_owned()), Some(b.to_owned()))),
        1 => (value(CLIENT), value(CLIENT)),
    ];
    (
        id,
        value(USERS),
        client,
        (value(TOKENS), value(TOKENS), value(TOKENS)),
        (value(OTHER), value(OTHER), value(OTHER)),
    )
        .prop_map(
            |(id, user, (cid, csecret), (refresh, access, grant), (expiry, redirect, domain))| {
                let fields = [
                    (Field::UserName, user),
                    (Field::ClientId, cid),
                    (Field::ClientSecret, csecret),
                    (Field::RefreshToken, refresh),
                    (Field::AccessToken, access),
                    (Field::GrantToken, grant),
                    (Field::ExpiryTime, expiry),
                    (Field::RedirectUrl, redirect),
                    (Field::ApiDomain, domain),
                ];
                let fields = fields
                    .into_iter()
                    .filter_map(|(f, v)| v.map(|v| (f, v)))
                    .collect();
                (id, fields)
            },
        )
}
