//! The example-based checks: at least one per rule, each a small scenario on a fresh, empty store,
//! named after what must hold. Grouped one file per part of the interface. A check returns
//! `Err(message)` where the message reads `call(args) = got, want expected`.

mod absent;
mod calls;
mod concurrency;
mod data;
mod delete;
mod find;
mod find_by_id;
mod flows;
pub mod histories;
pub mod judged;
mod limits;
mod save;
pub mod server_loss;
mod store;

use crate::fixture::{Capabilities, Storage};
use crate::show;
use crate::story::{Recorded, Story};
pub use absent::EmptyAsAbsent;
use futures::future::BoxFuture;
use std::sync::{Arc, Mutex};
use tokenstore_core::{Choices, ErrorKind, Limits, StoreError, Token, TokenStore};

/// The outcome of one check.
pub type CheckResult = Result<(), String>;

/// One example-based check of one rule.
#[derive(Clone, Copy)]
pub struct Check {
    /// The rule the check verifies.
    pub rule: &'static str,
    /// What must hold, as a snake_case name.
    pub name: &'static str,
    pub run: fn(Ctx) -> BoxFuture<'static, CheckResult>,
}

/// Every check, in the order of the rules.
pub fn all() -> Vec<Check> {
    [
        data::CHECKS,
        find::CHECKS,
        find_by_id::CHECKS,
        save::CHECKS,
        delete::CHECKS,
        store::CHECKS,
        concurrency::CHECKS,
        histories::CHECKS,
        server_loss::CHECKS,
        limits::CHECKS,
        calls::CHECKS,
        flows::CHECKS,
    ]
    .concat()
}

/// Registers async check functions: `checks![("rule.id", name), ...]`.
macro_rules! checks {
    ($(($rule:literal, $name:ident)),* $(,)?) => {
        pub(super) const CHECKS: &[super::Check] = &[$(
            super::Check {
                rule: $rule,
                name: stringify!($name),
                run: |ctx| Box::pin($name(ctx)),
            }
        ),*];
    };
}
pub(crate) use checks;

/// Builds a token from `field = value` pairs: `token!(user_name = "u", refresh_token = "r")`.
macro_rules! token {
    ($($field:ident = $value:expr),* $(,)?) => {{
        #[allow(unused_mut)]
        let mut t = tokenstore_core::Token::default();
        $( t.$field = Some(String::from($value)); )*
        t
    }};
}
pub(crate) use token;

/// Failures of other rules than its own that a check saw on the way: rule → message. A check of
/// `save.insert` whose store answers its `get_tokens` wrongly reports `get-tokens.exact` here and
/// goes on with its own rule.
#[derive(Clone, Default)]
pub struct Notes(Arc<Mutex<NoteList>>);

/// A failure of a rule: the rule and the message.
pub type Note = (&'static str, String);

#[derive(Default)]
struct NoteList {
    notes: Vec<Note>,
    blocked_by: Option<Note>,
}

impl Notes {
    /// Records that `rule` failed with `message` (the rule must be in the rule table).
    pub fn add(&self, rule: &'static str, message: String) {
        debug_assert!(crate::rules::rule(rule).is_some(), "{rule} is not a rule");
        let mut list = self.0.lock().expect("not poisoned");
        if !list.notes.iter().any(|(r, _)| *r == rule) {
            list.notes.push((rule, message));
        }
    }

    /// Records that a call the check relies on, of `rule`, failed with `message`, so the check
    /// cannot go on: it is reported blocked by `rule`, which fails.
    pub fn block(&self, rule: &'static str, message: String) {
        debug_assert!(crate::rules::rule(rule).is_some(), "{rule} is not a rule");
        let mut list = self.0.lock().expect("not poisoned");
        list.blocked_by.get_or_insert((rule, message));
    }

    /// The notes, and what blocked the check, if anything.
    pub fn take(&self) -> (Vec<Note>, Option<Note>) {
        let mut list = self.0.lock().expect("not poisoned");
        (std::mem::take(&mut list.notes), list.blocked_by.take())
    }
}

/// What a check works with: a fresh store, its storage (for reopening), and the store's profile.
#[derive(Clone)]
pub struct Ctx {
    /// The store under test, recording every call in `story`.
    pub store: Arc<dyn TokenStore>,
    pub storage: Arc<dyn Storage>,
    pub choices: Choices,
    pub capabilities: Capabilities,
    /// The limits the store declares.
    pub limits: Limits,
    /// The run's seed, for checks that draw random workloads.
    pub seed: u64,
    /// How many tasks and processes the tiers that run calls at once use.
    pub load: crate::Load,
    /// The calls made on `store`, for the failure's story.
    pub story: Story,
    /// Failures of other rules seen on the way.
    pub notes: Notes,
    /// Whether the tier's fault is on: connections are killed (server loss), calls overlap
    /// (concurrency). Off, the same check is a control run: a failure that stays without the
    /// fault is a sequential defect, not the tier's.
    pub faults: bool,
    /// What the judge found in the calls on `store` ([`judged`]; off for the checks whose calls
    /// the sequential model cannot follow).
    pub deviations: judged::Deviations,
}

/// A client id and secret pair, so that a probe's grant or refresh token is its key.
pub fn with_client(mut t: Token) -> Token {
    t.client_id = Some("client-1".into());
    t.client_secret = Some("secret-1".into());
    t
}

impl Ctx {
    /// Saves a copy of `token` and returns it as the store left it (with its id). A store that
    /// does not write the id back fails `save.id-written-back` (noted), and the check goes on
    /// with the id the store holds the token under.
    pub async fn save(&self, token: &Token) -> Result<Token, String> {
        let mut t = token.clone();
        match self.store.save_token(&mut t).await {
            Ok(()) if t.id.is_some() => {
                let got = t.id.clone().unwrap_or_default();
                match &token.id {
                    Some(sent) if *sent != got => {
                        match self.blame_ignored_id(token, sent, &got).await {
                            Some(message) => Err(message),
                            None => Ok(t),
                        }
                    }
                    _ => Ok(t),
                }
            }
            Ok(()) => {
                t.id = Some(self.id_not_written_back(token).await?);
                Ok(t)
            }
            Err(e) => Err(format!(
                "save_token({}) = Err({e}), want Ok",
                show::token(token)
            )),
        }
    }

    /// After `save_token(token)` wrote back `got` instead of the caller's id `sent`: when the
    /// store ignores callers' ids (it does not keep even a plain one), the save broke
    /// `save.id-selects` (`sent` names a stored token) or `save.insert` (it does not), and the
    /// check, which relies on ids, is blocked by that rule; the message is returned. `None` when
    /// only this value was altered (the check's own verdict stands).
    pub async fn blame_ignored_id(&self, token: &Token, sent: &str, got: &str) -> Option<String> {
        let stored = self.store.find_token_by_id(sent).await.is_ok();
        let ignored = if stored {
            !self.stored_ids_select(sent).await
        } else {
            !self.caller_ids_kept().await
        };
        if !ignored {
            return None;
        }
        let (rule, why) = if stored {
            ("save.id-selects", "a stored id selects the token it names")
        } else {
            ("save.insert", "an insert keeps the id its caller chose")
        };
        let message = format!(
            "save_token({}) = Ok, id {}, want the caller's id {}: {why}",
            show::token(token),
            show::value(got),
            show::value(sent)
        );
        self.notes.block(rule, message.clone());
        Some(message)
    }

    /// After an update of `before` by `update` left `got`: when the store replaced the stored
    /// token with the saved one (every field `update` lacks is gone, and `before` had one), the
    /// update broke `save.merge`, and the check is blocked by it; the message is returned.
    pub fn blame_replace(&self, before: &Token, update: &Token, got: &Token) -> Option<String> {
        use tokenstore_core::Field;
        let raw = update;
        let update = update.clone().normalized();
        let fields = Field::ALL.into_iter().filter(|f| *f != Field::Id);
        // A field the update leaves out (not one it sets to "", which is another rule's
        // matter) that was stored and is gone.
        let replaced = fields.clone().all(|f| got.get(f) == update.get(f))
            && fields
                .clone()
                .any(|f| raw.raw(f).is_none() && before.get(f).is_some());
        if !replaced {
            return None;
        }
        let message = format!(
            "save_token({}) over the stored {} left {}, want the merge {}: absent fields keep their stored value",
            show::token(&update),
            show::token(before),
            show::token(got),
            show::token(&update.merged_over(before))
        );
        self.notes.block("save.merge", message.clone());
        Some(message)
    }

    /// Whether a save naming the stored id `id`, with one field changed, updates that token
    /// (the id written back is `id`).
    async fn stored_ids_select(&self, id: &str) -> bool {
        let mut probe = Token {
            id: Some(id.into()),
            expiry_time: Some("kit-probe-expiry".into()),
            ..Token::default()
        };
        self.store.save_token(&mut probe).await.is_ok() && probe.id.as_deref() == Some(id)
    }

    /// Whether the store keeps a plain id its caller chose on insert (the probe token is
    /// deleted again).
    async fn caller_ids_kept(&self) -> bool {
        const PROBE: &str = "kit-caller-id";
        let mut probe = Token {
            id: Some(PROBE.into()),
            user_name: Some("kit-caller-id-user".into()),
            refresh_token: Some("kit-caller-id-refresh".into()),
            ..Token::default()
        };
        if self.store.save_token(&mut probe).await.is_err() {
            return false;
        }
        if let Some(id) = &probe.id {
            let _ = self.store.delete_token(id).await;
        }
        probe.id.as_deref() == Some(PROBE)
    }

    /// After `save_token(token)` answered Ok and left the caller's token without an id: notes
    /// `save.id-written-back` and gives the id the store holds the token under, so the check
    /// goes on with its own rule.
    pub async fn id_not_written_back(&self, token: &Token) -> Result<String, String> {
        let call = format!("save_token({})", show::token(token));
        self.notes.add(
            "save.id-written-back",
            format!(
                "{call} = Ok, and the caller's token has no id, want the stored id written back"
            ),
        );
        self.stored_id_of(token).await.ok_or_else(|| {
            format!("{call} = Ok, want the token stored: find_token and get_tokens do not find it")
        })
    }

    /// The id of the stored token `saved` was saved as: the one its key finds, else the one
    /// stored token whose fields hold every present field of `saved`.
    async fn stored_id_of(&self, saved: &Token) -> Option<String> {
        if let Ok(Some(found)) = self.store.find_token(saved).await {
            if found.id.is_some() {
                return found.id;
            }
        }
        let all = self.store.get_tokens().await.ok()?;
        let holds = |t: &Token| {
            tokenstore_core::Field::ALL
                .into_iter()
                .filter(|f| *f != tokenstore_core::Field::Id)
                .all(|f| saved.get(f).is_none() || t.get(f) == saved.get(f))
        };
        let mut matching = all.into_iter().filter(holds);
        let first = matching.next()?;
        match matching.next() {
            None => first.id,
            Some(_) => None,
        }
    }

    /// Checks that `get_tokens` lists exactly `want` (sorted by id). When it does not, but
    /// `find_token_by_id` answers every wanted token as wanted and knows no listed extra, the
    /// fault is `get_tokens`': that is noted under `get-tokens.exact` and the check goes on.
    pub async fn expect_tokens(&self, what: &str, want: &[Token]) -> CheckResult {
        let got = self.all().await?;
        let Err(message) = expect_same_tokens(what, &got, want) else {
            return Ok(());
        };
        if self.by_id_agrees(&got, want).await {
            self.notes.add(
                "get-tokens.exact",
                format!("{message} (find_token_by_id answers every token as wanted, so get_tokens is at fault)"),
            );
            return Ok(());
        }
        Err(message)
    }

    /// Whether `find_token_by_id` agrees with `want` ([`by_id_agrees`]).
    pub async fn by_id_agrees(&self, got: &[Token], want: &[Token]) -> bool {
        by_id_agrees(&*self.store, self.choices, got, want).await
    }

    /// Empties `store` (this one, or another namespace's) with `delete_tokens`, as a step of a
    /// check of another rule. When it fails, that is noted under `delete-tokens.empties` and the
    /// answer is `false`: the check ends there, with what it checked before.
    pub async fn delete_all(&self, store: &dyn TokenStore, what: &str) -> bool {
        match store.delete_tokens().await {
            Ok(()) => true,
            Err(e) => {
                self.notes.add(
                    "delete-tokens.empties",
                    format!("{what}delete_tokens() = Err({e}), want Ok"),
                );
                false
            }
        }
    }

    /// Saves and returns the stored id.
    pub async fn save_id(&self, token: &Token) -> Result<String, String> {
        Ok(self.save(token).await?.id.unwrap_or_default())
    }

    /// Saves a token the spec says must be refused with `kind`; checks the store is unchanged.
    pub async fn save_refused(&self, token: &Token, kind: ErrorKind) -> CheckResult {
        let before = self.all().await?;
        let mut t = token.clone();
        match self.store.save_token(&mut t).await {
            Err(e) if self.choices.refuses_as(e.kind(), kind) => {}
            Err(e) => {
                return Err(format!(
                    "save_token({}) = Err({e}), want Err({kind:?})",
                    show::token(token)
                ))
            }
            Ok(()) => {
                let stored_id = token
                    .id
                    .as_ref()
                    .filter(|sent| before.iter().any(|b| b.id.as_ref() == Some(*sent)));
                if let (Some(sent), Some(got)) = (stored_id, &t.id) {
                    if sent != got {
                        let message = format!(
                            "save_token({}) = Ok, id {}, want an update of the stored token with id {} (or the refusal): a stored id selects the token it names",
                            show::token(token),
                            show::value(got),
                            show::value(sent)
                        );
                        self.notes.block("save.id-selects", message.clone());
                        return Err(message);
                    }
                }
                return Err(format!(
                    "save_token({}) = Ok, id {}, want Err({kind:?})",
                    show::token(token),
                    t.id.as_deref().map_or("absent".into(), show::value)
                ));
            }
        }
        // A refusal that changed the store breaks store.failed-call-unchanged, whatever rule
        // asked for the refusal.
        let what = format!(
            "get_tokens() after the refused save_token({})",
            show::token(token)
        );
        if let Err(message) = self.expect_tokens(&what, &before).await {
            self.notes.add("store.failed-call-unchanged", message);
        }
        Ok(())
    }

    /// Whether `probe` has no usable lookup key (§3): such a probe finds None.
    fn keyless(&self, probe: &Token) -> bool {
        crate::model::Model::new(self.choices).key(probe).is_none()
    }

    /// `find_token(probe)`. An error for a probe with no usable key breaks `find.no-key-none`
    /// (such a probe finds None), whatever the check: it is noted there and read as None, so
    /// the check goes on with its own rule.
    pub async fn find(&self, probe: &Token) -> Result<Option<Token>, String> {
        match self.store.find_token(probe).await {
            Ok(found) => Ok(found),
            Err(e) if self.keyless(probe) => {
                self.notes.add(
                    "find.no-key-none",
                    format!(
                        "find_token({}) = Err({e}), want None: the probe has no usable key",
                        show::token(probe)
                    ),
                );
                Ok(None)
            }
            Err(e) => Err(format!(
                "find_token({}) = Err({e}), want Ok",
                show::token(probe)
            )),
        }
    }

    /// Checks `find_token(probe)` gives exactly `want`.
    pub async fn expect_find(&self, probe: &Token, want: Option<&Token>) -> CheckResult {
        let got = self.find(probe).await?;
        if got.as_ref() != want
            && want.is_none()
            && self.probe_returned_on_a_miss(probe, &got).await
        {
            self.notes.add(
                "find.miss-none",
                format!(
                    "find_token({}) = {}, want None: no stored token has its key, and the store returned the probe itself",
                    show::token(probe),
                    show::opt_token(&got)
                ),
            );
            return Ok(());
        }
        if got.is_some() && want.is_none() && self.keyless(probe) {
            // A row for a probe with no usable key is find.no-key-none's failure, whatever the
            // check (a store that answers the first row then fails one rule, not four).
            self.notes.add(
                "find.no-key-none",
                format!(
                    "find_token({}) = {}, want None: the probe has no usable key",
                    show::token(probe),
                    show::opt_token(&got)
                ),
            );
            return Ok(());
        }
        if got.as_ref() != want {
            return Err(format!(
                "find_token({}) = {}, want {}",
                show::token(probe),
                show::opt_token(&got),
                show::opt_token(&want.cloned())
            ));
        }
        Ok(())
    }

    /// Whether `got` is `probe` handed back unchanged while no stored token has the probe's key
    /// (get_tokens is the witness): a miss answered wrongly, whatever the check is about.
    async fn probe_returned_on_a_miss(&self, probe: &Token, got: &Option<Token>) -> bool {
        let Some(got) = got else { return false };
        if got.clone().normalized() != probe.clone().normalized() {
            return false;
        }
        // Every stored token has an id: the probe handed back without one is no stored token.
        if probe.id.is_none() {
            return true;
        }
        let Ok(stored) = self.store.get_tokens().await else {
            return false;
        };
        let mut model = crate::model::Model::new(self.choices);
        for t in &stored {
            model.apply_insert(t.id.as_deref().unwrap_or_default(), t);
        }
        model.find(probe).is_empty()
    }

    /// Checks `find_token(probe)` hits the token with id `id`.
    pub async fn expect_find_id(&self, probe: &Token, id: &str) -> CheckResult {
        let got = self.find(probe).await?;
        match &got {
            Some(t) if t.id.as_deref() == Some(id) => Ok(()),
            _ => Err(format!(
                "find_token({}) = {}, want the stored token with id {id:?}",
                show::token(probe),
                show::opt_token(&got)
            )),
        }
    }

    pub async fn by_id(&self, id: &str) -> Result<Result<Token, StoreError>, String> {
        Ok(self.store.find_token_by_id(id).await)
    }

    /// The stored token with this id, which must exist.
    pub async fn stored(&self, id: &str) -> Result<Token, String> {
        self.store.find_token_by_id(id).await.map_err(|e| {
            format!(
                "find_token_by_id({}) = Err({e}), want the stored token",
                show::value(id)
            )
        })
    }

    /// Every stored token, sorted by id. A token listed twice, identical, is a fault of
    /// get_tokens (no save stores one token twice): noted under `get-tokens.exact`, and listed
    /// once, so the check goes on with its own rule. Once the judge has found the listing wrong
    /// in this check, the second witness answers instead: the tokens the judge's model holds,
    /// each read back with `find_token_by_id` (those it does not find left out), so a check
    /// that reads the listing still judges its own rule.
    pub async fn all(&self) -> Result<Vec<Token>, String> {
        let listed = self.store.get_tokens().await;
        if self.deviations.listing_broken() {
            if let Some(ids) = self.deviations.model_ids() {
                let mut witnessed = Vec::new();
                for id in ids {
                    if let Ok(token) = self.store.find_token_by_id(&id).await {
                        witnessed.push(token);
                    }
                }
                witnessed.sort_by(|a, b| a.id.cmp(&b.id));
                return Ok(witnessed);
            }
        }
        let mut tokens = listed.map_err(|e| {
            // The check relies on the list; a get_tokens that cannot answer is that rule's
            // failure, and the check is blocked by it.
            let message = format!("get_tokens() = Err({e}), want Ok");
            self.notes.block("get-tokens.exact", message.clone());
            message
        })?;
        tokens.sort_by(|a, b| a.id.cmp(&b.id));
        let listed = tokens.len();
        tokens.dedup();
        if tokens.len() != listed {
            self.notes.add(
                "get-tokens.exact",
                format!(
                    "get_tokens() listed {listed} tokens, {} of them copies of another, want each stored token once",
                    listed - tokens.len()
                ),
            );
        }
        Ok(tokens)
    }

    /// A new store object on the same storage and namespace, replacing this one. A store that
    /// cannot be opened again breaks `store.reopens`, and the check, which relies on it, is
    /// blocked by that rule. The reopened store of a persistent store must hold what the judge's
    /// model holds (`store.durable`); that of a store that does not persist starts empty.
    pub async fn reopen(&mut self) -> CheckResult {
        let store = match self.storage.open(crate::MAIN_NAMESPACE).await {
            Ok(store) => store,
            Err(e) => {
                let message = format!(
                    "opening the store again on the storage it made = Err({}), want Ok",
                    show::message(&e.to_string())
                );
                self.notes.block("store.reopens", message.clone());
                return Err(message);
            }
        };
        self.story.push("reopen".into());
        self.store = observed(
            store.clone(),
            &self.story,
            &self.notes,
            &self.deviations,
            self.limits,
        );
        if self.capabilities.persistent {
            self.deviations
                .reopened(&*EmptyAsAbsent::wrap(store, &self.notes))
                .await;
        } else {
            self.deviations.forget();
        }
        Ok(())
    }
}

/// `store` as a check sees it: every call recorded in `story` (its answers as given), an empty
/// string returned as a value noted under `token.absent-empty` ([`EmptyAsAbsent`]), and every
/// answer judged into `deviations` ([`judged::Judged`]).
pub fn observed(
    store: Arc<dyn TokenStore>,
    story: &Story,
    notes: &Notes,
    deviations: &judged::Deviations,
    limits: Limits,
) -> Arc<dyn TokenStore> {
    let witness = EmptyAsAbsent::wrap(store.clone(), notes);
    let seen = EmptyAsAbsent::wrap(Recorded::wrap(store, story), notes);
    judged::Judged::wrap(seen, witness, limits, deviations)
}

/// Compares two token lists (sorted by id) and names the first difference.
pub fn expect_same_tokens(what: &str, got: &[Token], want: &[Token]) -> CheckResult {
    if got == want {
        return Ok(());
    }
    let list = |ts: &[Token]| ts.iter().map(show::token).collect::<Vec<_>>().join(", ");
    Err(format!("{what} = [{}], want [{}]", list(got), list(want)))
}

/// Fails with `message` unless `condition` holds.
pub fn ensure(condition: bool, message: impl FnOnce() -> String) -> CheckResult {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}

/// Whether `find_token_by_id` gives each of `want` exactly, and NotFound for every id `got`
/// lists beyond them: the witness that tells a wrong `get_tokens` from a wrong write.
pub async fn by_id_agrees(
    store: &dyn TokenStore,
    choices: Choices,
    got: &[Token],
    want: &[Token],
) -> bool {
    for w in want {
        let Some(id) = &w.id else { return false };
        match store.find_token_by_id(id).await {
            Ok(t) if &t == w => {}
            _ => return false,
        }
    }
    for g in got {
        let Some(id) = &g.id else { continue };
        if want.iter().any(|w| w.id.as_ref() == Some(id)) {
            continue;
        }
        match store.find_token_by_id(id).await {
            Err(e) if choices.refuses_as(e.kind(), ErrorKind::NotFound) => {}
            _ => return false,
        }
    }
    true
}
