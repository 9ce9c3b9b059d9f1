//! `memory`: tokens in a hash map by id, with one hash index per lookup-key field, so every
//! lookup is O(1) whatever the number of tokens. Nothing outlives the store object.

use std::collections::{BTreeSet, HashMap};
use tokenstore_core::KEY_FIELDS;
use tokenstore_core::{Choices, Field, Result, TableStore, Token, TokenRows, TokenTable};

/// The memory backend's table: tokens by id, and for each key field, value → ids.
#[derive(Default)]
pub struct HashTable {
    by_id: HashMap<String, Token>,
    index: HashMap<Field, HashMap<String, BTreeSet<String>>>,
    counter: u64,
}

/// The `memory` store. Missing-id deletes report NotFound; no grant-to-refresh fallback.
pub type MemoryStore = TableStore<HashTable>;

/// A new, empty memory store.
pub fn memory_store() -> MemoryStore {
    TableStore::new(Choices {
        grant_falls_back_to_refresh: false,
        delete_missing_reports_not_found: true,
        untyped_refusals: false,
    })
}

impl HashTable {
    fn index_token(&mut self, token: &Token) {
        let id = token.id.clone().unwrap_or_default();
        for field in KEY_FIELDS {
            if let Some(value) = token.get(field) {
                self.index
                    .entry(field)
                    .or_default()
                    .entry(value.to_owned())
                    .or_default()
                    .insert(id.clone());
            }
        }
    }

    fn unindex_token(&mut self, token: &Token) {
        let id = token.id.as_deref().unwrap_or_default();
        for field in KEY_FIELDS {
            let Some(value) = token.get(field) else {
                continue;
            };
            let Some(values) = self.index.get_mut(&field) else {
                continue;
            };
            if let Some(ids) = values.get_mut(value) {
                ids.remove(id);
                if ids.is_empty() {
                    values.remove(value);
                }
            }
        }
    }
}

impl TokenRows for HashTable {
    fn by_id(&self, id: &str) -> Result<Option<Token>> {
        Ok(self.by_id.get(id).cloned())
    }

    fn by_field(&self, field: Field, value: &str) -> Result<Option<Token>> {
        let hit = self
            .index
            .get(&field)
            .and_then(|values| values.get(value))
            .and_then(|ids| ids.first())
            .and_then(|id| self.by_id.get(id));
        Ok(hit.cloned())
    }
}

impl TokenTable for HashTable {
    fn insert(&mut self, token: Token) -> Result<()> {
        self.index_token(&token);
        self.by_id
            .insert(token.id.clone().unwrap_or_default(), token);
        Ok(())
    }

    fn replace(&mut self, token: Token) -> Result<()> {
        let id = token.id.clone().unwrap_or_default();
        if let Some(old) = self.by_id.remove(&id) {
            self.unindex_token(&old);
        }
        self.insert(token)
    }

    fn remove(&mut self, id: &str) -> Result<bool> {
        match self.by_id.remove(id) {
            Some(old) => {
                self.unindex_token(&old);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn all(&self) -> Result<Vec<Token>> {
        Ok(self.by_id.values().cloned().collect())
    }

    fn clear(&mut self) -> Result<()> {
        self.by_id.clear();
        self.index.clear();
        Ok(())
    }

    fn id_counter(&mut self) -> &mut u64 {
        &mut self.counter
    }
}
