//! `tokenstore._native`: the kit's backends as one Python class, [`Store`], whose methods take
//! and return tokens as dicts of field name to string and wait for the store with the GIL
//! released, so many Python threads may call one store at once. Errors are raised as
//! `_native.StoreError(kind, field, message)`: `kind` is `NotFound`, `Conflict`,
//! `InvalidToken` (with the field at fault), `refused` or `other` (the storage failed). The
//! `tokenstore` package wraps each backend in a subclass of the Python SDK's `TokenStore` that
//! speaks the SDK's token objects and raises the SDK's `SDKException`.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use tokenstore_core::{Field, Limits, StoreError, Token, TokenStore};

create_exception!(
    _native,
    StoreError_,
    PyException,
    "An error of a token store: (kind, field, message)."
);

/// The runtime every store's calls run on, started on first use.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tokenstore")
            .enable_all()
            .build()
            .expect("a tokio runtime starts")
    })
}

/// Runs `future` to its end with the GIL released.
fn wait<T: Send>(py: Python<'_>, future: impl Future<Output = T> + Send) -> T {
    py.detach(|| runtime().block_on(future))
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

/// One of the kit's stores.
#[pyclass(frozen, module = "tokenstore._native")]
struct Store {
    inner: Arc<dyn TokenStore>,
}

fn opened<S: TokenStore + 'static>(result: Result<S, StoreError>) -> PyResult<Store> {
    result
        .map(|store| Store {
            inner: Arc::new(store),
        })
        .map_err(raised)
}

#[pymethods]
impl Store {
    /// The `sqlite` backend: the table `table` in the SQLite database file at `path`.
    #[staticmethod]
    fn sqlite(path: String, table: String) -> PyResult<Store> {
        opened(tokenstore_sqlite::SqliteStore::open(path, &table))
    }

    /// The `file` backend: the CSV file at `path`, in the official FileStore's format.
    #[staticmethod]
    fn file(path: String) -> PyResult<Store> {
        opened(tokenstore_file::FileStore::open(path))
    }

    /// The `redis` backend on the server at `url`, in `namespace`.
    #[staticmethod]
    fn redis(py: Python<'_>, url: String, namespace: String) -> PyResult<Store> {
        opened(wait(
            py,
            tokenstore_redis::RedisStore::open(&url, &namespace),
        ))
    }

    /// The `postgres` backend: the table `table` on the server at `url`.
    #[staticmethod]
    fn postgres(py: Python<'_>, url: String, table: String) -> PyResult<Store> {
        opened(wait(
            py,
            tokenstore_postgres::PostgresStore::open(&url, &table),
        ))
    }

    /// The `mysql` backend: the table `table` on the server at `url`.
    #[staticmethod]
    fn mysql(py: Python<'_>, url: String, table: String) -> PyResult<Store> {
        opened(wait(py, tokenstore_mysql::MysqlStore::open(&url, &table)))
    }

    /// The stored token the probe's key designates, merged under the probe's fields; `None`.
    fn find_token(
        &self,
        py: Python<'_>,
        probe: HashMap<String, Option<String>>,
    ) -> PyResult<Option<HashMap<String, String>>> {
        let probe = token_of(probe)?;
        let found = wait(py, self.inner.find_token(&probe)).map_err(raised)?;
        Ok(found.as_ref().map(fields_of))
    }

    /// Saves the token; returns the id it is stored under.
    fn save_token(
        &self,
        py: Python<'_>,
        token: HashMap<String, Option<String>>,
    ) -> PyResult<String> {
        let mut token = token_of(token)?;
        wait(py, self.inner.save_token(&mut token)).map_err(raised)?;
        Ok(token.id.unwrap_or_default())
    }

    fn delete_token(&self, py: Python<'_>, id: String) -> PyResult<()> {
        wait(py, self.inner.delete_token(&id)).map_err(raised)
    }

    fn get_tokens(&self, py: Python<'_>) -> PyResult<Vec<HashMap<String, String>>> {
        let all = wait(py, self.inner.get_tokens()).map_err(raised)?;
        Ok(all.iter().map(fields_of).collect())
    }

    fn delete_tokens(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, self.inner.delete_tokens()).map_err(raised)
    }

    fn find_token_by_id(&self, py: Python<'_>, id: String) -> PyResult<HashMap<String, String>> {
        let found = wait(py, self.inner.find_token_by_id(&id)).map_err(raised)?;
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
