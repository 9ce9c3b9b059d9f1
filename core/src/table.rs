//! A store's operations over a mutable table of tokens, and [`TableStore`], the `TokenStore` for
//! tables held in memory behind one lock.
//!
//! Backends whose storage can be read and written synchronously under one lock or transaction
//! (in-memory maps, a vector, a CSV file, SQLite) implement [`TokenTable`] and get the six
//! operations from here, so the spec's decisions live in one place.

use crate::{find_in, next_fresh_id, plan_save, Choices, Field, Result, SavePlan, StoreError};
use crate::{Token, TokenRows, TokenStore};
use async_trait::async_trait;
use std::sync::Mutex;

/// Storage of whole tokens by id, with lookups by field value ([`TokenRows`]).
pub trait TokenTable: TokenRows {
    /// Adds a token whose id is present and not stored.
    fn insert(&mut self, token: Token) -> Result<()>;
    /// Replaces the stored token that has the same id.
    fn replace(&mut self, token: Token) -> Result<()>;
    /// Removes the token with this id; false when there was none.
    fn remove(&mut self, id: &str) -> Result<bool>;
    /// Every stored token.
    fn all(&self) -> Result<Vec<Token>>;
    /// Removes every token.
    fn clear(&mut self) -> Result<()>;
    /// The id counter fresh ids count up from (see [`next_fresh_id`]).
    fn id_counter(&mut self) -> &mut u64;

    /// A fresh id: one that no stored token has.
    fn fresh_id(&mut self) -> Result<String> {
        let mut counter = *self.id_counter();
        let id = next_fresh_id(&mut counter, |id| Ok(self.by_id(id)?.is_some()))?;
        *self.id_counter() = counter;
        Ok(id)
    }
}

/// `save_token` on a table: plans the save, writes it, and writes the stored id back.
/// Returns whether the table changed.
pub fn save_into(table: &mut impl TokenTable, token: &mut Token, choices: Choices) -> Result<bool> {
    match plan_save(table, token, choices)? {
        SavePlan::Update { merged, changed } => {
            let id = merged.id.clone();
            if changed {
                table.replace(merged)?;
            }
            token.id = id;
            Ok(changed)
        }
        SavePlan::Insert(mut new) => {
            if new.id.is_none() {
                new.id = Some(table.fresh_id()?);
            }
            let id = new.id.clone();
            table.insert(new)?;
            token.id = id;
            Ok(true)
        }
    }
}

/// `find_token_by_id` on a table.
pub fn find_by_id_in(table: &impl TokenRows, id: &str) -> Result<Token> {
    table
        .by_id(id)?
        .ok_or_else(|| StoreError::NotFound { id: id.to_owned() })
}

/// `delete_token` on a table. Returns whether the table changed.
pub fn delete_in(table: &mut impl TokenTable, id: &str, choices: Choices) -> Result<bool> {
    let removed = table.remove(id)?;
    if !removed && choices.delete_missing_reports_not_found {
        return Err(StoreError::NotFound { id: id.to_owned() });
    }
    Ok(removed)
}

/// A [`TokenStore`] over an in-memory [`TokenTable`] behind one mutex: every call is atomic.
pub struct TableStore<T> {
    table: Mutex<T>,
    choices: Choices,
}

impl<T: TokenTable + Default> TableStore<T> {
    pub fn new(choices: Choices) -> Self {
        TableStore {
            table: Mutex::new(T::default()),
            choices,
        }
    }
}

impl<T> TableStore<T> {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, T>> {
        self.table.lock().map_err(|_| StoreError::Backend {
            message: "a previous call panicked while holding the store's lock".into(),
            source: None,
        })
    }
}

#[async_trait]
impl<T: TokenTable + Send> TokenStore for TableStore<T> {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        find_in(&*self.lock()?, probe, self.choices)
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        save_into(&mut *self.lock()?, token, self.choices).map(drop)
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        delete_in(&mut *self.lock()?, id, self.choices).map(drop)
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.lock()?.all()
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.lock()?.clear()
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        find_by_id_in(&*self.lock()?, id)
    }
}

/// The fields a lookup key can be on: the ones a table indexes.
pub const KEY_FIELDS: [Field; 4] = [
    Field::UserName,
    Field::AccessToken,
    Field::GrantToken,
    Field::RefreshToken,
];
