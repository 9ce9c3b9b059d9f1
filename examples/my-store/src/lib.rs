//! `my-store`: the example of the README's "Check your own Rust store", built and tested by CI.
//! Each namespace's tokens live in one JSON file, read under a lock at every call and, when the
//! call changed them, written whole to a temporary file renamed over the old one. The decisions
//! (which stored token a key designates, the merge, conflicts, refusals, fresh ids) are
//! `tokenstore-core`'s, not re-derived here.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Mutex;
use tokenstore_core::{async_trait, delete_in, find_by_id_in, find_in, save_into};
use tokenstore_core::{
    Choices, Field, Result, StoreError, Token, TokenRows, TokenStore, TokenTable,
};

/// This store's implementation-defined choices (spec §5): a delete of a missing id is NotFound,
/// a grant token does not fall back to the refresh token.
const CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: false,
    delete_missing_reports_not_found: true,
    untyped_refusals: false,
};

/// The file's content: the tokens in insertion order and the last fresh id handed out.
#[derive(Default, Serialize, Deserialize)]
struct Rows {
    tokens: Vec<Token>,
    counter: u64,
}

impl TokenRows for Rows {
    fn by_id(&self, id: &str) -> Result<Option<Token>> {
        Ok(self
            .tokens
            .iter()
            .find(|t| t.get(Field::Id) == Some(id))
            .cloned())
    }

    fn by_field(&self, field: Field, value: &str) -> Result<Option<Token>> {
        Ok(self
            .tokens
            .iter()
            .find(|t| t.get(field) == Some(value))
            .cloned())
    }
}

impl TokenTable for Rows {
    fn insert(&mut self, token: Token) -> Result<()> {
        self.tokens.push(token);
        Ok(())
    }

    fn replace(&mut self, token: Token) -> Result<()> {
        if let Some(row) = self.tokens.iter_mut().find(|t| t.id == token.id) {
            *row = token;
        }
        Ok(())
    }

    fn remove(&mut self, id: &str) -> Result<bool> {
        let before = self.tokens.len();
        self.tokens.retain(|t| t.get(Field::Id) != Some(id));
        Ok(self.tokens.len() != before)
    }

    fn all(&self) -> Result<Vec<Token>> {
        Ok(self.tokens.clone())
    }

    fn clear(&mut self) -> Result<()> {
        self.tokens.clear();
        Ok(())
    }

    fn id_counter(&mut self) -> &mut u64 {
        &mut self.counter
    }
}

/// Tokens in the JSON file at `path`. One store object may be called from many tasks at once;
/// two store objects on one file must not be (nothing locks the file across processes).
pub struct MyStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl MyStore {
    /// A store on the file at `path`, created at the first save.
    ///
    /// Errors: Backend when the directory of `path` does not exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<MyStore> {
        let path = path.into();
        match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => Err(StoreError::Backend {
                message: format!("{} is not a directory", dir.display()),
                source: None,
            }),
            _ => Ok(MyStore {
                path,
                lock: Mutex::new(()),
            }),
        }
    }

    /// Runs `call` on the rows under the lock; writes them back when it returns `changed`.
    fn with_rows<T>(&self, call: impl FnOnce(&mut Rows) -> Result<(T, bool)>) -> Result<T> {
        let _held = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut rows = match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StoreError::backend(format!("{} is not JSON", self.path.display()), e)
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Rows::default(),
            Err(e) => {
                return Err(StoreError::backend(
                    format!("reading {}", self.path.display()),
                    e,
                ))
            }
        };
        let (answer, changed) = call(&mut rows)?;
        if changed {
            let json = serde_json::to_vec(&rows).expect("tokens are strings");
            let temporary = self.path.with_extension("tmp");
            std::fs::write(&temporary, json)
                .and_then(|()| std::fs::rename(&temporary, &self.path))
                .map_err(|e| StoreError::backend(format!("writing {}", self.path.display()), e))?;
        }
        Ok(answer)
    }
}

#[async_trait]
impl TokenStore for MyStore {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        self.with_rows(|rows| Ok((find_in(rows, probe, CHOICES)?, false)))
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        self.with_rows(|rows| Ok(((), save_into(rows, token, CHOICES)?)))
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        self.with_rows(|rows| Ok(((), delete_in(rows, id, CHOICES)?)))
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.with_rows(|rows| Ok((rows.all()?, false)))
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.with_rows(|rows| Ok(((), rows.clear().map(|()| true)?)))
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        self.with_rows(|rows| Ok((find_by_id_in(rows, id)?, false)))
    }
}
