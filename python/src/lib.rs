//! `tokenstore._native`: the kit's backends as one Python class, [`Store`], whose methods take
//! and return tokens as dicts of field name to string and wait for the store with the GIL
//! released, so many Python threads may call one store at once; each call waits at most the
//! store's timeout, and a store used in a forked child opens its storage again there. Errors are raised as
//! `_native.StoreError(kind, field, message)`: `kind` is `NotFound`, `Conflict`,
//! `InvalidToken` (with the field at fault), `refused` or `other` (the storage failed). The
//! `tokenstore` package wraps each backend in a subclass of the Python SDK's `TokenStore` that
//! speaks the SDK's token objects and raises the SDK's `SDKException`.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokenstore_core::{Field, Limits, StoreError, Token, TokenStore};

create_exception!(
    _native,
    StoreError_,
    PyException,
    "An error of a token store: (kind, field, message)."
);

/// The runtime every store's calls run on in this process, started on first use. A child made
/// by fork(2) (gunicorn `--preload`, multiprocessing's fork start method) inherits the parent's
/// runtime without its threads, so it starts its own; the parent's is left alone, never dropped.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: Mutex<Option<(u32, &'static tokio::runtime::Runtime)>> = Mutex::new(None);
    let mut current = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    match *current {
        Some((pid, runtime)) if pid == std::process::id() => runtime,
        _ => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("tokenstore")
                .enable_all()
                .build()
                .expect("a tokio runtime starts");
            let runtime: &'static tokio::runtime::Runtime = Box::leak(Box::new(runtime));
            *current = Some((std::process::id(), runtime));
            runtime
        }
    }
}

/// Runs `future` to its end on this process's runtime, for at most `timeout`.
fn block_on<T>(
    timeout: Duration,
    future: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    runtime()
        .block_on(async move { tokio::time::timeout(timeout, future).await })
        .unwrap_or_else(|_| {
            Err(StoreError::Backend {
                message: format!(
                    "the storage did not answer within {:.1} s (the store's timeout); the call may or may not have taken effect",
                    timeout.as_secs_f64()
                ),
                source: None,
            })
        })
}

/// The Python exception for a store's error.
fn raised(e: StoreError) -> PyErr {
    let (kind, field) = match &e {
        StoreError::NotFound { .. } => ("NotFound", None),
        StoreError::Conflict(_) => ("Conflict", None),
        StoreError::InvalidToken { field, .. } => ("InvalidToken", Some(field.name())),
        StoreError::Refused { .. } => ("refused", None),
        StoreError::Backend { .. } => ("other", None),
    };
    StoreError_::new_err((kind, field, e.to_string()))
}

/// A token from a dict of field name to value; `None` and missing fields are absent, and an
/// unknown field name is refused.
fn token_of(fields: HashMap<String, Option<String>>) -> PyResult<Token> {
    let mut token = Token::default();
    for (name, value) in fields {
        let field = Field::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "{name:?} is not a token field; the fields are {}",
                    Field::ALL.map(Field::name).join(", ")
                ))
            })?;
        token.set_raw(field, value);
    }
    Ok(token)
}

/// The present fields of a token.
fn fields_of(token: &Token) -> HashMap<String, String> {
    Field::ALL
        .into_iter()
        .filter_map(|f| Some((f.name().to_owned(), token.raw(f)?.to_owned())))
        .collect()
}

/// Where a store's tokens are, so that it can be opened again.
#[derive(Clone, Debug)]
enum Storage {
    Sqlite { path: String, table: String },
    File { path: String },
    Redis { url: String, namespace: String },
    Postgres { url: String, table: String },
    Mysql { url: String, table: String },
}

impl Storage {
    async fn open(&self) -> Result<Arc<dyn TokenStore>, StoreError> {
        Ok(match self {
            Storage::Sqlite { path, table } => {
                Arc::new(tokenstore_sqlite::SqliteStore::open(path, table)?)
            }
            Storage::File { path } => Arc::new(tokenstore_file::FileStore::open(path)?),
            Storage::Redis { url, namespace } => {
                Arc::new(tokenstore_redis::RedisStore::open(url, namespace).await?)
            }
            Storage::Postgres { url, table } => {
                Arc::new(tokenstore_postgres::PostgresStore::open(url, table).await?)
            }
            Storage::Mysql { url, table } => {
                Arc::new(tokenstore_mysql::MysqlStore::open(url, table).await?)
            }
        })
    }
}

/// One of the kit's stores. Every call waits with the GIL released, for at most the store's
/// timeout. In a child made by fork(2) the store opens its storage again on its first call: the
/// parent's connections and runtime threads are not the child's to use.
#[pyclass(frozen, module = "tokenstore._native")]
struct Store {
    storage: Storage,
    timeout: Duration,
    /// The process the store object was opened in, and the store.
    opened: Mutex<(u32, Arc<dyn TokenStore>)>,
}

impl Store {
    fn open(py: Python<'_>, storage: Storage, timeout: f64) -> PyResult<Store> {
        if !(timeout > 0.0 && timeout.is_finite()) {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "timeout must be a positive number of seconds, got {timeout}"
            )));
        }
        let timeout = Duration::from_secs_f64(timeout);
        let inner = py
            .detach(|| block_on(timeout, storage.open()))
            .map_err(raised)?;
        Ok(Store {
            storage,
            timeout,
            opened: Mutex::new((std::process::id(), inner)),
        })
    }

    /// Runs `call` on this process's store with the GIL released.
    fn call<T: Send, F, Fut>(&self, py: Python<'_>, call: F) -> PyResult<T>
    where
        F: FnOnce(Arc<dyn TokenStore>) -> Fut + Send,
        Fut: Future<Output = Result<T, StoreError>> + Send,
    {
        py.detach(|| {
            let store = {
                let mut opened = self.opened.lock().unwrap_or_else(PoisonError::into_inner);
                if opened.0 != std::process::id() {
                    let fresh = block_on(self.timeout, self.storage.open())?;
                    let parents = std::mem::replace(&mut *opened, (std::process::id(), fresh));
                    // Dropping the parent's store could wait on connections of the parent's
                    // runtime, which has no threads here.
                    std::mem::forget(parents);
                }
                opened.1.clone()
            };
            block_on(self.timeout, call(store))
        })
        .map_err(raised)
    }
}

#[pymethods]
impl Store {
    /// The `sqlite` backend: the table `table` in the SQLite database file at `path`.
    #[staticmethod]
    fn sqlite(py: Python<'_>, path: String, table: String, timeout: f64) -> PyResult<Store> {
        Store::open(py, Storage::Sqlite { path, table }, timeout)
    }

    /// The `file` backend: the CSV file at `path`, in the official FileStore's format.
    #[staticmethod]
    fn file(py: Python<'_>, path: String, timeout: f64) -> PyResult<Store> {
        Store::open(py, Storage::File { path }, timeout)
    }

    /// The `redis` backend on the server at `url`, in `namespace`.
    #[staticmethod]
    fn redis(py: Python<'_>, url: String, namespace: String, timeout: f64) -> PyResult<Store> {
        Store::open(py, Storage::Redis { url, namespace }, timeout)
    }

    /// The `postgres` backend: the table `table` on the server at `url`.
    #[staticmethod]
    fn postgres(py: Python<'_>, url: String, table: String, timeout: f64) -> PyResult<Store> {
        Store::open(py, Storage::Postgres { url, table }, timeout)
    }

    /// The `mysql` backend: the table `table` on the server at `url`.
    #[staticmethod]
    fn mysql(py: Python<'_>, url: String, table: String, timeout: f64) -> PyResult<Store> {
        Store::open(py, Storage::Mysql { url, table }, timeout)
    }

    /// The stored token the probe's key designates, merged under the probe's fields; `None`.
    fn find_token(
        &self,
        py: Python<'_>,
        probe: HashMap<String, Option<String>>,
    ) -> PyResult<Option<HashMap<String, String>>> {
        let probe = token_of(probe)?;
        let found = self.call(py, |store| async move { store.find_token(&probe).await })?;
        Ok(found.as_ref().map(fields_of))
    }

    /// Saves the token; returns the id it is stored under.
    fn save_token(
        &self,
        py: Python<'_>,
        token: HashMap<String, Option<String>>,
    ) -> PyResult<String> {
        let mut token = token_of(token)?;
        self.call(py, |store| async move {
            store.save_token(&mut token).await?;
            Ok(token.id.unwrap_or_default())
        })
    }

    fn delete_token(&self, py: Python<'_>, id: String) -> PyResult<()> {
        self.call(py, |store| async move { store.delete_token(&id).await })
    }

    fn get_tokens(&self, py: Python<'_>) -> PyResult<Vec<HashMap<String, String>>> {
        let all = self.call(py, |store| async move { store.get_tokens().await })?;
        Ok(all.iter().map(fields_of).collect())
    }

    fn delete_tokens(&self, py: Python<'_>) -> PyResult<()> {
        self.call(py, |store| async move { store.delete_tokens().await })
    }

    fn find_token_by_id(&self, py: Python<'_>, id: String) -> PyResult<HashMap<String, String>> {
        let found = self.call(py, |store| async move { store.find_token_by_id(&id).await })?;
        Ok(fields_of(&found))
    }
}

/// What the backend `backend` (`sqlite`, `file`, `redis`, `postgres`, `mysql`) cannot hold, in
/// the shape the kit's adapters declare limits in: `{"max_chars": {field: n},
/// "forbidden_chars": [c]}`.
#[pyfunction]
fn limits(py: Python<'_>, backend: &str) -> PyResult<Py<PyAny>> {
    let limits = match backend {
        "file" => tokenstore_file::FILE_LIMITS,
        "mysql" => tokenstore_mysql::MYSQL_LIMITS,
        "postgres" => tokenstore_postgres::POSTGRES_LIMITS,
        "sqlite" | "redis" => Limits::default(),
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "no backend {other:?}: want sqlite, file, redis, postgres or mysql"
            )))
        }
    };
    let max_chars = pyo3::types::PyDict::new(py);
    for (field, n) in limits.max_chars {
        max_chars.set_item(field.name(), n)?;
    }
    let forbidden: Vec<String> = limits
        .forbidden_chars
        .iter()
        .map(|(c, _)| c.to_string())
        .collect();
    let out = pyo3::types::PyDict::new(py);
    out.set_item("max_chars", max_chars)?;
    out.set_item("forbidden_chars", forbidden)?;
    Ok(out.into_any().unbind())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Store>()?;
    m.add_function(wrap_pyfunction!(limits, m)?)?;
    m.add("StoreError", m.py().get_type::<StoreError_>())?;
    Ok(())
}
