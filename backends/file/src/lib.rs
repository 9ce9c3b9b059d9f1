//! `file`: tokens in a CSV file in exactly the format of the Python SDK's FileStore, so one file
//! can be shared with it: the header
//! `id,user_name,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri,api_domain`,
//! minimal quoting, `\r\n` line ends, an absent value as an empty field, columns read by position,
//! and a 9-column file of older SDK versions read as if `api_domain` were empty.
//!
//! Every call reads the file afresh (another process may have written it), in one read; a call
//! that only reads parses it only when its bytes differ from those it parsed last (the parsed
//! table is kept with them), so a lookup in an unchanged file costs a read and a comparison, not
//! a parse. Every change is
//! written to a temporary file in the same directory, flushed to disk and renamed over the old
//! one, so a crash or a refused token never loses a row. A change holds an exclusive lock on
//! `PATH.lock` (flock(2)) from its read to its rename, so stores in several processes on one
//! file never lose each other's updates; reads take no lock, since a rename is atomic. Choices
//! follow the FileStore: a
//! grant-token lookup falls back to the refresh token, and deleting a missing id reports NotFound.

pub mod csv_format;

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tokenstore_core::{delete_in, find_by_id_in, find_in, save_into, Choices, Limits, Result};
use tokenstore_core::{StoreError, Token, TokenStore, TokenTable};
use tokenstore_list::ListTable;

/// The choices of the `file` store, the same as the Python FileStore's.
pub const FILE_CHOICES: Choices = Choices {
    grant_falls_back_to_refresh: true,
    delete_missing_reports_not_found: true,
    untyped_refusals: false,
};

/// A token store on one CSV file.
pub struct FileStore {
    path: PathBuf,
    lock: Mutex<()>,
    /// The file's bytes as last parsed for a read, and the table parsed from them.
    parsed: Mutex<Option<(Vec<u8>, ListTable)>>,
}

impl FileStore {
    /// A store on the file at `path`; the file is created (mode 0600, header only) on first write.
    /// An existing file is read and checked now, so a file that is not a token file is refused
    /// here rather than overwritten later, and so is a path in a directory that does not exist.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let store = FileStore {
            path: path.into(),
            lock: Mutex::new(()),
            parsed: Mutex::new(None),
        };
        if let Some(dir) = store.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(StoreError::Backend {
                    message: format!(
                        "the directory {dir:?} of the token file does not exist: create it, or give a path in an existing directory"
                    ),
                    source: None,
                });
            }
        }
        store.read()?;
        Ok(store)
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<ListTable> {
        csv_format::read_file(&self.path).map(ListTable::from_rows)
    }

    /// `f` on the table the file holds now: read once, parsed unless its bytes are the ones
    /// parsed last time.
    fn with_current<T>(&self, f: impl FnOnce(&ListTable) -> Result<T>) -> Result<T> {
        let bytes = csv_format::read_bytes(&self.path)?;
        let mut parsed = self
            .parsed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = match parsed.take() {
            Some((held, table)) if held == bytes => (held, table),
            _ => {
                let table = ListTable::from_rows(csv_format::parse(&self.path, &bytes)?);
                (bytes, table)
            }
        };
        let answer = f(&current.1);
        *parsed = Some(current);
        answer
    }

    /// The lock file beside the token file, held exclusively for the length of a change.
    fn lock_file(&self) -> Result<std::fs::File> {
        let mut name = self.path.clone().into_os_string();
        name.push(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&name)
            .map_err(|e| {
                StoreError::backend(format!("cannot open the lock file {name:?}: {e}"), e)
            })?;
        file.lock()
            .map_err(|e| StoreError::backend(format!("cannot lock {name:?}: {e}"), e))?;
        Ok(file)
    }

    /// Reads the table, applies `f`, and writes the table back when `f` reports a change.
    fn with_table<T>(&self, f: impl FnOnce(&mut ListTable) -> Result<(T, bool)>) -> Result<T> {
        let _guard = self.lock.lock().map_err(|_| StoreError::Backend {
            message: "a previous call panicked while holding the file lock".into(),
            source: None,
        })?;
        let _locked = self.lock_file()?;
        let mut table = self.read()?;
        let (out, changed) = f(&mut table)?;
        if changed {
            csv_format::write_file(&self.path, table.rows())?;
        }
        Ok(out)
    }
}

/// What the format cannot carry: the Python SDK's CSV reader rejects NUL characters.
pub const FILE_LIMITS: Limits = Limits {
    max_chars: &[],
    forbidden_chars: &[('\0', "a NUL character (the SDK's CSV reader rejects it)")],
};

#[async_trait::async_trait]
impl TokenStore for FileStore {
    async fn find_token(&self, probe: &Token) -> Result<Option<Token>> {
        self.with_current(|t| find_in(t, probe, FILE_CHOICES))
    }

    async fn save_token(&self, token: &mut Token) -> Result<()> {
        FILE_LIMITS.check(token)?;
        self.with_table(|t| Ok(((), save_into(t, token, FILE_CHOICES)?)))
    }

    async fn delete_token(&self, id: &str) -> Result<()> {
        self.with_table(|t| Ok(((), delete_in(t, id, FILE_CHOICES)?)))
    }

    async fn get_tokens(&self) -> Result<Vec<Token>> {
        self.with_current(|t| t.all())
    }

    async fn delete_tokens(&self) -> Result<()> {
        self.with_table(|t| Ok(((), t.clear().map(|()| true)?)))
    }

    async fn find_token_by_id(&self, id: &str) -> Result<Token> {
        self.with_current(|t| find_by_id_in(t, id))
    }
}
