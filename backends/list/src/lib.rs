//! `list`: the shape of the store in the SDK's custom-persistence article, tokens in a plain
//! vector scanned from the front on every lookup. Linear on purpose: it is the simplest store
//! that is correct, and the baseline the indexed backends are compared with. The `file` backend
//! keeps its rows in the same table between reading and writing the file.

use tokenstore_core::{Choices, Field, Result, TableStore, Token, TokenRows, TokenTable};

/// Tokens in insertion order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListTable {
    rows: Vec<Token>,
    counter: u64,
}

/// The `list` store. Missing-id deletes succeed silently; no grant-to-refresh fallback.
pub type ListStore = TableStore<ListTable>;

/// A new, empty list store.
pub fn list_store() -> ListStore {
    TableStore::new(Choices {
        grant_falls_back_to_refresh: false,
        delete_missing_reports_not_found: false,
        untyped_refusals: false,
    })
}

impl ListTable {
    /// A table holding these rows, in this order. Fresh ids count on from the largest numeric
    /// id among them, as the SDK's own stores do.
    pub fn from_rows(rows: Vec<Token>) -> Self {
        let counter = rows
            .iter()
            .filter_map(|t| t.get(Field::Id)?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        ListTable { rows, counter }
    }

    /// The rows, in insertion order.
    pub fn rows(&self) -> &[Token] {
        &self.rows
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.rows.iter().position(|t| t.get(Field::Id) == Some(id))
    }
}

impl TokenRows for ListTable {
    fn by_id(&self, id: &str) -> Result<Option<Token>> {
        Ok(self.position(id).map(|i| self.rows[i].clone()))
    }

    fn by_field(&self, field: Field, value: &str) -> Result<Option<Token>> {
        Ok(self
            .rows
            .iter()
            .find(|t| t.get(field) == Some(value))
            .cloned())
    }
}

impl TokenTable for ListTable {
    fn insert(&mut self, token: Token) -> Result<()> {
        self.rows.push(token);
        Ok(())
    }

    fn replace(&mut self, token: Token) -> Result<()> {
        if let Some(i) = self.position(token.get(Field::Id).unwrap_or_default()) {
            self.rows[i] = token;
        }
        Ok(())
    }

    fn remove(&mut self, id: &str) -> Result<bool> {
        let before = self.rows.len();
        self.rows.retain(|t| t.get(Field::Id) != Some(id));
        Ok(self.rows.len() != before)
    }

    fn all(&self) -> Result<Vec<Token>> {
        Ok(self.rows.clone())
    }

    fn clear(&mut self) -> Result<()> {
        self.rows.clear();
        Ok(())
    }

    fn id_counter(&mut self) -> &mut u64 {
        &mut self.counter
    }
}
