//! The model-based test: random sequences of the six operations (and reopen, for persistent
//! stores) over a small pool of values, so keys collide, mixed with hostile values. Each answer
//! of the store is compared with the reference model's; ids the store generates are referred to
//! symbolically ("the id the 3rd insert returned") and so are tested, never assumed.
//!
//! Generation and shrinking are proptest-state-machine's; [`execute`] runs one sequence, sends
//! each call with [`crate::call::call`], and has [`crate::judge`] name the rule the first wrong
//! answer breaks. After every call that may change the stored tokens, it compares `get_tokens`
//! with the model too.

use crate::call::{self, Ids};
use crate::fixture::Storage;
use crate::judge;
use crate::model::Model;
use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokenstore_core::{Choices, Field, TokenStore};

pub use crate::call::{IdRef, Step};

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
        ids: Ids::default(),
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
    ids: Ids,
    transcript: Transcript,
}

impl Run<'_> {
    async fn step(&mut self, step: &Step) -> StepResult {
        let Some(op) = self.ids.op(step) else {
            self.transcript.push("reopen".into());
            self.store = self
                .storage
                .open(crate::MAIN_NAMESPACE)
                .await
                .map_err(|e| ("store.durable", format!("reopening the store = Err({e})")))?;
            return self
                .check_all("get_tokens() after reopening", "store.durable")
                .await;
        };
        let answer = call::call(&*self.store, &op).await;
        self.transcript.push(call::describe(&op, &answer));
        let explained =
            judge::step(&mut self.model, &op, &answer).map_err(|b| (b.rule, b.message))?;
        if let Some(id) = explained.fresh {
            self.ids.push_fresh(id);
        }
        match explained.listing {
            Some((what, rule)) => self.check_all(what, rule).await,
            None => Ok(()),
        }
    }

    /// Compares the store's get_tokens with the model; `rule` is the rule a difference breaks.
    async fn check_all(&mut self, what: &str, rule: &'static str) -> StepResult {
        crate::checks::judged::listed(&*self.store, &self.model, what, rule)
            .await
            .map_err(|b| (b.rule, b.message))
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
