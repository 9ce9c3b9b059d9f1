//! Deliberately broken stores: a correct list store with one [`Mutation`] each, every mutation
//! breaking exactly one rule the way real stores get it wrong. The suite must catch each one by
//! that rule, and raise no alarm on [`Mutation::None`].

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokenstore_core::{
    delete_in, find_by_id_in, find_in, plan_save, save_into, Choices, Field, Limits, LookupKey,
};
use tokenstore_core::{Result, SavePlan, StoreError, Token, TokenRows, TokenStore, TokenTable};
use tokenstore_list::ListTable;
use tokenstore_suite::{Capabilities, Storage, StoreFixture};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mutation {
    /// A correct store.
    None,
    TrimsValues,
    EmptyStringForAbsent,
    ExpiryAsNumber,
    UserNameNotExclusive,
    NoAccessKey,
    NoGrantKey,
    NoRefreshKey,
    FallbackOnlyInFind,
    FirstRowWithoutKey,
    CaseInsensitiveUserName,
    FindsById,
    FindOverwritesProbe,
    MissReturnsProbe,
    ByIdDropsField,
    ByIdMissWrongError,
    IgnoresIdOnSave,
    KeySaveInserts,
    ReplacesInsteadOfMerge,
    CallerIdIgnored,
    NoIdWriteBack,
    CountingIds,
    AcceptsTokenless,
    SkipsUserConflict,
    UnstoredIdIgnored,
    InsertsWhenUnchanged,
    DeleteIsNoop,
    DeleteMissingFlips,
    DuplicatesInGetTokens,
    DeleteTokensKeepsFirst,
    PartialWriteOnConflict,
    ForgetsOnReopen,
    SharedNamespaces,
    RacyUpsert,
    RacyIds,
    NonAtomicUpdate,
    /// Once its (simulated) server connection is killed, every call fails: it never reconnects.
    NeverReconnects,
    /// Declares that it holds user names of at most 64 characters, and stores longer ones.
    UnenforcedLimit,
}

use Mutation as M;

const CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: false,
    delete_missing_reports_not_found: true,
    untyped_refusals: false,
};

pub struct Broken {
    table: Arc<Mutex<ListTable>>,
    mutation: Mutation,
    deletes: AtomicUsize,
    /// Set when the storage's (simulated) server connections are killed.
    connection_lost: Arc<AtomicBool>,
}

impl Broken {
    fn lock(&self) -> MutexGuard<'_, ListTable> {
        self.table.lock().unwrap()
    }

    /// A correct store reconnects after its connection was killed; NeverReconnects fails.
    fn connected(&self) -> Result<()> {
        if self.mutation == M::NeverReconnects && self.connection_lost.load(Ordering::SeqCst) {
            return Err(StoreError::Backend {
                message: "the connection was lost".into(),
                source: None,
            });
        }
        self.connection_lost.store(false, Ordering::SeqCst);
        Ok(())
    }
}

fn key_kind(probe: &Token) -> Option<Field> {
    LookupKey::of(probe).map(|k| k.primary().0)
}

fn with_fresh_id(table: &mut ListTable, mut token: Token) -> Result<Token> {
    if token.id.is_none() {
        token.id = Some(table.fresh_id()?);
    }
    Ok(token)
}

#[async_trait]
impl TokenStore for Broken {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        self.connected()?;
        let t = self.lock();
        let rows = t.rows();
        let kind = key_kind(probe);
        let merged = |row: &Token| probe.merged_over(row);
        match self.mutation {
            M::CaseInsensitiveUserName if probe.get(Field::UserName).is_some() => {
                let user = probe.get(Field::UserName).unwrap().to_lowercase();
                return Ok(rows
                    .iter()
                    .find(|r| r.get(Field::UserName).map(str::to_lowercase) == Some(user.clone()))
                    .map(merged));
            }
            M::FirstRowWithoutKey if kind.is_none() => return Ok(rows.first().map(merged)),
            M::FindsById => {
                if let Some(row) = probe
                    .get(Field::Id)
                    .and_then(|id| rows.iter().find(|r| r.get(Field::Id) == Some(id)))
                {
                    return Ok(Some(merged(row)));
                }
            }
            M::NoAccessKey if kind == Some(Field::AccessToken) => return Ok(None),
            M::NoGrantKey if kind == Some(Field::GrantToken) => return Ok(None),
            M::NoRefreshKey if kind == Some(Field::RefreshToken) => return Ok(None),
            M::UserNameNotExclusive if kind == Some(Field::UserName) => {
                if let Some(found) = find_in(&*t, probe, CHOICES)? {
                    return Ok(Some(found));
                }
                let by_access = match probe.get(Field::AccessToken) {
                    Some(access) => t.by_field(Field::AccessToken, access)?,
                    None => None,
                };
                return Ok(by_access.as_ref().map(merged));
            }
            _ => {}
        }
        let choices = if self.mutation == M::FallbackOnlyInFind {
            Choices {
                grant_falls_back_to_refresh: true,
                ..CHOICES
            }
        } else {
            CHOICES
        };
        let found = find_in(&*t, probe, choices)?;
        Ok(match self.mutation {
            M::MissReturnsProbe if found.is_none() && kind.is_some() => Some(probe.clone()),
            M::FindOverwritesProbe => match LookupKey::of(probe) {
                Some(key) => t.by_field(key.primary().0, key.primary().1)?,
                None => None,
            },
            M::EmptyStringForAbsent => found.map(|mut f| {
                f.redirect_url.get_or_insert_with(String::new);
                f
            }),
            _ => found,
        })
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        self.connected()?;
        match self.mutation {
            M::RacyUpsert | M::RacyIds | M::NonAtomicUpdate => return self.racy_save(token).await,
            _ => {}
        }
        let mut t = self.lock();
        let mut copy = token.clone();
        match self.mutation {
            M::TrimsValues => {
                for f in Field::ALL.into_iter().filter(|f| *f != Field::Id) {
                    let trimmed = copy.get(f).map(|v| v.trim().to_owned());
                    copy.set(f, trimmed);
                }
            }
            M::ExpiryAsNumber => {
                if let Some(n) = copy
                    .get(Field::ExpiryTime)
                    .and_then(|v| v.parse::<u64>().ok())
                {
                    copy.expiry_time = Some(n.to_string());
                }
            }
            M::IgnoresIdOnSave => copy.id = None,
            _ => {}
        }
        let plan = plan_save(&*t, &copy, CHOICES);
        match (self.mutation, plan) {
            (M::ReplacesInsteadOfMerge, Ok(SavePlan::Update { merged, .. })) => {
                let mut replacement = copy.clone().normalized();
                replacement.id = merged.id.clone();
                t.replace(replacement)?;
                token.id = merged.id;
                return Ok(());
            }
            (M::CallerIdIgnored, Ok(SavePlan::Insert(mut new))) => {
                new.id = Some(t.fresh_id()?);
                token.id = new.id.clone();
                return t.insert(new);
            }
            (M::CountingIds, Ok(SavePlan::Insert(mut new))) if new.id.is_none() => {
                let id = (t.rows().len() + 1).to_string();
                new.id = Some(id.clone());
                if t.by_id(&id)?.is_some() {
                    t.replace(new)?;
                } else {
                    t.insert(new)?;
                }
                token.id = Some(id);
                return Ok(());
            }
            (M::KeySaveInserts, Ok(SavePlan::Update { .. })) if copy.get(Field::Id).is_none() => {
                let new = with_fresh_id(&mut t, copy.clone().normalized())?;
                token.id = new.id.clone();
                return t.insert(new);
            }
            (
                M::InsertsWhenUnchanged,
                Ok(SavePlan::Update {
                    merged,
                    changed: false,
                }),
            ) => {
                let mut dup = merged;
                dup.id = Some(t.fresh_id()?);
                token.id = dup.id.clone();
                return t.insert(dup);
            }
            (M::AcceptsTokenless, Err(StoreError::InvalidToken { .. })) => {
                let new = with_fresh_id(&mut t, copy.clone().normalized())?;
                token.id = new.id.clone();
                return t.insert(new);
            }
            (
                M::SkipsUserConflict | M::PartialWriteOnConflict,
                Err(e @ StoreError::Conflict(_)),
            ) => {
                let stored = copy
                    .get(Field::Id)
                    .and_then(|id| t.by_id(id).ok().flatten());
                if let Some(stored) = stored {
                    let mut merged = copy.merged_over(&stored);
                    if self.mutation == M::PartialWriteOnConflict {
                        merged.user_name = stored.user_name.clone();
                        t.replace(merged)?;
                        return Err(e);
                    }
                    t.replace(merged)?;
                    token.id = stored.id;
                    return Ok(());
                }
                return Err(e);
            }
            (M::UnstoredIdIgnored, Err(StoreError::Conflict(_)))
                if copy
                    .get(Field::Id)
                    .is_some_and(|id| t.by_id(id).ok().flatten().is_none()) =>
            {
                copy.id = None;
                save_into(&mut *t, &mut copy, CHOICES)?;
                token.id = copy.id;
                return Ok(());
            }
            (_, Err(e)) => return Err(e),
            _ => {}
        }
        let before = token.id.clone();
        save_into(&mut *t, &mut copy, CHOICES)?;
        token.id = if self.mutation == M::NoIdWriteBack {
            before
        } else {
            copy.id
        };
        Ok(())
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        self.connected()?;
        match self.mutation {
            M::DeleteIsNoop => Ok(()),
            M::DeleteMissingFlips => {
                let n = self.deletes.fetch_add(1, Ordering::SeqCst);
                let mut t = self.lock();
                match delete_in(&mut *t, id, CHOICES) {
                    Err(StoreError::NotFound { .. }) if n % 2 == 1 => Ok(()),
                    other => other.map(drop),
                }
            }
            _ => delete_in(&mut *self.lock(), id, CHOICES).map(drop),
        }
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.connected()?;
        let mut all = self.lock().all()?;
        if self.mutation == M::DuplicatesInGetTokens && all.len() > 1 {
            all.push(all[0].clone());
        }
        Ok(all)
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.connected()?;
        let mut t = self.lock();
        if self.mutation == M::DeleteTokensKeepsFirst {
            let first = t.rows().first().cloned();
            t.clear()?;
            if let Some(first) = first {
                t.insert(first)?;
            }
            return Ok(());
        }
        t.clear()
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        self.connected()?;
        let t = self.lock();
        match (self.mutation, find_by_id_in(&*t, id)) {
            (M::ByIdMissWrongError, Err(StoreError::NotFound { .. })) => Err(StoreError::Backend {
                message: "no row".into(),
                source: None,
            }),
            (M::ByIdDropsField, Ok(mut found)) => {
                found.api_domain = None;
                Ok(found)
            }
            (_, other) => other,
        }
    }
}

impl Broken {
    /// A save that decides under the lock and writes under another acquisition, with a pause
    /// between: what a read-then-insert store without a transaction does.
    async fn racy_save(&self, token: &mut Token) -> Result<()> {
        let plan = {
            let t = self.lock();
            let plan = plan_save(&*t, token, CHOICES)?;
            match (self.mutation, plan) {
                (M::RacyIds, SavePlan::Insert(mut new)) if new.id.is_none() => {
                    new.id = Some((t.rows().len() + 1).to_string());
                    SavePlan::Insert(new)
                }
                (_, plan) => plan,
            }
        };
        if self.mutation == M::NonAtomicUpdate {
            if let SavePlan::Update { merged, .. } = &plan {
                self.lock()
                    .remove(merged.id.as_deref().unwrap_or_default())?;
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
        let mut t = self.lock();
        match plan {
            SavePlan::Update { merged, .. } => {
                token.id = merged.id.clone();
                if self.mutation == M::NonAtomicUpdate {
                    t.insert(merged)
                } else {
                    t.replace(merged)
                }
            }
            SavePlan::Insert(new) => {
                let new = with_fresh_id(&mut t, new)?;
                token.id = new.id.clone();
                t.insert(new)
            }
        }
    }
}

/// The fixture of a broken store: persistent (stores of one storage share their tables per
/// namespace), with namespaces and concurrency declared.
pub struct BrokenFixture(pub Mutation);

#[async_trait]
impl StoreFixture for BrokenFixture {
    fn name(&self) -> &str {
        "broken"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            persistent: true,
            namespaces: true,
            concurrent: true,
            connections: true,
            ..Capabilities::default()
        }
    }

    fn limits(&self) -> Limits {
        match self.0 {
            M::UnenforcedLimit => Limits {
                max_chars: &[(Field::UserName, 64)],
                forbidden_chars: &[],
            },
            _ => Limits::default(),
        }
    }

    async fn storage(&self) -> std::result::Result<Box<dyn Storage>, tokenstore_suite::SetupError> {
        Ok(Box::new(BrokenStorage {
            mutation: self.0,
            tables: Mutex::new(HashMap::new()),
            connection_lost: Arc::new(AtomicBool::new(false)),
        }))
    }
}

struct BrokenStorage {
    mutation: Mutation,
    tables: Mutex<HashMap<String, Arc<Mutex<ListTable>>>>,
    connection_lost: Arc<AtomicBool>,
}

#[async_trait]
impl Storage for BrokenStorage {
    async fn open(&self, namespace: &str) -> Result<Arc<dyn TokenStore>> {
        let namespace = if self.mutation == M::SharedNamespaces {
            "shared"
        } else {
            namespace
        };
        let mut tables = self.tables.lock().unwrap();
        let table = if self.mutation == M::ForgetsOnReopen {
            Arc::new(Mutex::new(ListTable::default()))
        } else {
            tables.entry(namespace.to_owned()).or_default().clone()
        };
        Ok(Arc::new(Broken {
            table,
            mutation: self.mutation,
            deletes: AtomicUsize::new(0),
            connection_lost: self.connection_lost.clone(),
        }))
    }

    /// The stores share one simulated connection; killing it counts as one connection.
    async fn kill_connections(&self) -> Result<usize> {
        self.connection_lost.store(true, Ordering::SeqCst);
        Ok(1)
    }
}
