//! The store every deliberately broken store starts from: a correct list store whose every call
//! goes through a hook of a [`Fault`]. A hook does what a correct store does unless the fault
//! overrides it, so a broken store is a small named type that overrides only where it goes
//! wrong. The broken stores themselves are declared in `broken_stores.rs`, each next to the rule
//! it must break; [`Correct`] overrides nothing.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokenstore_core::TokenTable;
use tokenstore_core::{delete_in, find_by_id_in, find_in, save_into, Choices, Field, Limits};
use tokenstore_core::{LookupKey, Result, SavePlan, StoreError, Token, TokenStore};
use tokenstore_list::ListTable;
use tokenstore_suite::{Capabilities, Storage, StoreFixture};

/// The choices of the correct store the faults start from.
pub const CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: false,
    delete_missing_reports_not_found: true,
    untyped_refusals: false,
};

/// A defect. Each hook runs with the store's table locked and does what a correct store does;
/// a fault overrides the hooks where it goes wrong. [`Fault::save_racily`] alone takes the
/// lock itself, for the faults that release it in the middle of a save.
#[async_trait]
pub trait Fault: Send + Sync + 'static {
    fn find(&self, table: &ListTable, probe: &Token) -> Result<Option<Token>> {
        find_in(table, probe, CHOICES)
    }

    fn save(&self, table: &mut ListTable, token: &mut Token) -> Result<()> {
        save_as(table, token, token.clone())
    }

    /// A save that does not hold the lock from its decision to its write; `None` makes the
    /// locked [`Fault::save`].
    async fn save_racily(
        &self,
        _table: &Mutex<ListTable>,
        _token: &mut Token,
    ) -> Option<Result<()>> {
        None
    }

    fn delete(&self, table: &mut ListTable, id: &str) -> Result<()> {
        delete_in(table, id, CHOICES).map(drop)
    }

    fn get_tokens(&self, table: &ListTable) -> Result<Vec<Token>> {
        table.all()
    }

    fn delete_tokens(&self, table: &mut ListTable) -> Result<()> {
        table.clear()
    }

    fn find_by_id(&self, table: &ListTable, id: &str) -> Result<Token> {
        find_by_id_in(table, id)
    }

    /// Whether a store makes calls again once its (simulated) server connection was killed.
    fn reconnects(&self) -> bool {
        true
    }

    /// The namespace whose tokens a store opened on `namespace` holds.
    fn table_of<'a>(&self, namespace: &'a str) -> &'a str {
        namespace
    }

    /// Whether a store opened again sees what the stores before it saved.
    fn durable(&self) -> bool {
        true
    }

    /// Whether a store object opens on a table an earlier object made that holds no token.
    fn opens_on_an_empty_table(&self) -> bool {
        true
    }

    /// The limits the store declares.
    fn limits(&self) -> Limits {
        Limits::default()
    }
}

/// The fault that changes nothing: a correct store.
#[derive(Default)]
pub struct Correct;

impl Fault for Correct {}

/// Saves `stored` in place of `token` (a store that alters what it was given before it saves
/// it) and writes the id it got back to `token`.
pub fn save_as(table: &mut ListTable, token: &mut Token, mut stored: Token) -> Result<()> {
    save_into(table, &mut stored, CHOICES)?;
    token.id = stored.id;
    Ok(())
}

/// `token` with a fresh id unless it has one.
pub fn with_fresh_id(table: &mut ListTable, mut token: Token) -> Result<Token> {
    if token.id.is_none() {
        token.id = Some(table.fresh_id()?);
    }
    Ok(token)
}

/// The field a probe is matched on first.
pub fn key_field(probe: &Token) -> Option<Field> {
    LookupKey::of(probe).map(|k| k.primary().0)
}

/// The table, locked.
pub fn lock(table: &Mutex<ListTable>) -> MutexGuard<'_, ListTable> {
    table.lock().unwrap()
}

/// The pause a racy save makes between its decision and its write, long enough for another
/// caller's save to decide too.
pub async fn pause() {
    tokio::time::sleep(Duration::from_millis(2)).await;
}

/// Carries out a save's plan: replaces the token it updates, or inserts it (with a fresh id
/// unless the caller chose one); writes the id back to `token`.
pub fn write_plan(table: &mut ListTable, plan: SavePlan, token: &mut Token) -> Result<()> {
    match plan {
        SavePlan::Update { merged, .. } => {
            token.id = merged.id.clone();
            table.replace(merged)
        }
        SavePlan::Insert(new) => {
            let new = with_fresh_id(table, new)?;
            token.id = new.id.clone();
            table.insert(new)
        }
    }
}

/// A store with a fault.
struct Faulty {
    table: Arc<Mutex<ListTable>>,
    fault: Arc<dyn Fault>,
    /// Set when the storage's (simulated) server connections are killed.
    connection_lost: Arc<AtomicBool>,
}

impl Faulty {
    fn lock(&self) -> MutexGuard<'_, ListTable> {
        lock(&self.table)
    }

    /// A correct store reconnects after its connection was killed.
    fn connected(&self) -> Result<()> {
        if !self.fault.reconnects() && self.connection_lost.load(Ordering::SeqCst) {
            return Err(StoreError::Backend {
                message: "the connection was lost".into(),
                source: None,
            });
        }
        self.connection_lost.store(false, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl TokenStore for Faulty {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        self.connected()?;
        self.fault.find(&self.lock(), probe)
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        self.connected()?;
        if let Some(result) = self.fault.save_racily(&self.table, token).await {
            return result;
        }
        self.fault.save(&mut self.lock(), token)
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        self.connected()?;
        self.fault.delete(&mut self.lock(), id)
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.connected()?;
        self.fault.get_tokens(&self.lock())
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.connected()?;
        self.fault.delete_tokens(&mut self.lock())
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        self.connected()?;
        self.fault.find_by_id(&self.lock(), id)
    }
}

/// Makes the fault of one store: a fault that keeps state (how many deletes it has seen, say)
/// keeps it per store object.
type MakeFault = Arc<dyn Fn() -> Arc<dyn Fault> + Send + Sync>;

/// The fixture of a broken store: persistent (stores of one storage share their tables per
/// namespace), with namespaces, concurrency and connections declared.
#[derive(Clone)]
pub struct BrokenFixture {
    make: MakeFault,
    /// The fault of the fixture itself, asked for the limits and of every storage, for the
    /// namespaces and durability.
    fault: Arc<dyn Fault>,
}

impl BrokenFixture {
    /// The fixture of the store with fault `F`, one `F::default()` per store object.
    pub fn of<F: Fault + Default>() -> Self {
        BrokenFixture {
            make: Arc::new(|| Arc::new(F::default())),
            fault: Arc::new(F::default()),
        }
    }
}

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
        self.fault.limits()
    }

    async fn storage(&self) -> std::result::Result<Box<dyn Storage>, tokenstore_suite::SetupError> {
        Ok(Box::new(BrokenStorage {
            make: self.make.clone(),
            fault: self.fault.clone(),
            tables: Mutex::new(HashMap::new()),
            connection_lost: Arc::new(AtomicBool::new(false)),
        }))
    }
}

struct BrokenStorage {
    make: MakeFault,
    fault: Arc<dyn Fault>,
    tables: Mutex<HashMap<String, Arc<Mutex<ListTable>>>>,
    connection_lost: Arc<AtomicBool>,
}

#[async_trait]
impl Storage for BrokenStorage {
    async fn open(&self, namespace: &str) -> Result<Arc<dyn TokenStore>> {
        let namespace = self.fault.table_of(namespace);
        let mut tables = self.tables.lock().unwrap();
        if let Some(made) = tables.get(namespace) {
            if !self.fault.opens_on_an_empty_table() && lock(made).rows().is_empty() {
                return Err(StoreError::Backend {
                    message: "table tokens already exists".into(),
                    source: None,
                });
            }
        }
        let table = if self.fault.durable() {
            tables.entry(namespace.to_owned()).or_default().clone()
        } else {
            Arc::new(Mutex::new(ListTable::default()))
        };
        Ok(Arc::new(Faulty {
            table,
            fault: (self.make)(),
            connection_lost: self.connection_lost.clone(),
        }))
    }

    /// The stores share one simulated connection; killing it counts as one connection.
    async fn kill_connections(&self) -> Result<usize> {
        self.connection_lost.store(true, Ordering::SeqCst);
        Ok(1)
    }
}
