//! The serving side of the adapter protocol (`specs/adapter-protocol.md`) for the built-in
//! stores: `tokenstore-check serve --backend NAME` (and `--url URL` for a server backend). It is
//! what the processes and crash tiers start, several times on one storage, to check a built-in
//! store from separate processes (app instances) exactly as an adapter store is checked.
//! `attach` names the storage: the directory of a store that keeps its storage in one, the
//! storage's name on the server for a server backend.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use tokenstore_backends::ServerFixture;
use tokenstore_core::{StoreError, Token, TokenStore};
use tokenstore_suite::{DirFixture, Storage, StoreFixture};

/// What `serve` serves: a store that keeps its storage in a directory, or a server backend.
pub enum Served {
    Dir(DirFixture),
    Server(ServerFixture),
}

impl Served {
    fn fixture(&self) -> &dyn StoreFixture {
        match self {
            Served::Dir(fixture) => fixture,
            Served::Server(fixture) => fixture,
        }
    }

    /// The storage `attach` names: a directory, or a storage's name on the server.
    async fn attach(&self, storage: &str) -> Result<Box<dyn Storage>, StoreError> {
        match self {
            Served::Dir(fixture) => Ok(fixture.storage_at(&PathBuf::from(storage))),
            Served::Server(fixture) => fixture.storage_named(storage).await,
        }
    }
}

/// Serves `served` on standard input and output until `shutdown` or the end of input.
pub fn serve(served: &Served) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut server = Server {
        served,
        storage: None,
        stores: BTreeMap::new(),
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let request: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let op = request["op"].as_str().unwrap_or_default().to_owned();
        let mut response = json!({"seq": request["seq"]});
        match rt.block_on(server.answer(&op, &request)) {
            Ok(ok) => response["ok"] = ok,
            Err(e) => response["error"] = error(&e),
        }
        writeln!(stdout, "{response}")?;
        stdout.flush()?;
        if op == "shutdown" {
            break;
        }
    }
    Ok(())
}

struct Server<'a> {
    served: &'a Served,
    storage: Option<Box<dyn Storage>>,
    stores: BTreeMap<u64, Arc<dyn TokenStore>>,
}

fn error(e: &StoreError) -> Value {
    let kind = match e.kind() {
        tokenstore_core::ErrorKind::Backend => "other".to_owned(),
        tokenstore_core::ErrorKind::Refused => "refused".to_owned(),
        kind => format!("{kind:?}"),
    };
    let mut out = json!({"kind": kind, "message": e.to_string()});
    if let StoreError::InvalidToken { field, .. } = e {
        out["field"] = json!(field.name());
    }
    out
}

fn bad_request(why: impl Into<String>) -> StoreError {
    StoreError::Backend {
        message: why.into(),
        source: None,
    }
}

fn token_arg(request: &Value) -> Result<Token, StoreError> {
    serde_json::from_value(request["token"].clone())
        .map_err(|e| bad_request(format!("the token is not ten strings or nulls: {e}")))
}

fn id_arg(request: &Value) -> Result<&str, StoreError> {
    request["id"]
        .as_str()
        .ok_or_else(|| bad_request("the request has no string id"))
}

impl Server<'_> {
    async fn answer(&mut self, op: &str, request: &Value) -> Result<Value, StoreError> {
        match op {
            "hello" => Ok(json!({
                "name": self.served.fixture().name(),
                "language": "rust",
                "protocol": 1,
                "capabilities": self.served.fixture().capabilities(),
            })),
            "reset" => {
                self.stores.clear();
                let storage = self.served.fixture().storage().await.map_err(bad_request)?;
                self.storage = Some(storage);
                Ok(Value::Null)
            }
            "attach" => {
                self.stores.clear();
                let name = request["dir"]
                    .as_str()
                    .ok_or_else(|| bad_request("attach needs the storage's directory or name"))?;
                self.storage = Some(self.served.attach(name).await?);
                Ok(Value::Null)
            }
            "reopen" => {
                let storage = self
                    .storage
                    .as_ref()
                    .ok_or_else(|| bad_request("reopen before reset or attach"))?;
                let namespace = request["namespace"]
                    .as_str()
                    .unwrap_or(tokenstore_suite::MAIN_NAMESPACE);
                let store = storage.open(namespace).await?;
                let handle = self.stores.len() as u64 + 1;
                self.stores.insert(handle, store);
                Ok(json!({"store": handle}))
            }
            "shutdown" => Ok(Value::Null),
            _ => self.call(op, request).await,
        }
    }

    async fn call(&self, op: &str, request: &Value) -> Result<Value, StoreError> {
        let store = request["store"]
            .as_u64()
            .and_then(|h| self.stores.get(&h))
            .ok_or_else(|| bad_request(format!("{op}: no open store with that handle")))?;
        match op {
            "find_token" => {
                let probe = token_arg(request)?;
                let found = store.find_token(&probe).await?;
                Ok(json!({"found": found, "caller": probe}))
            }
            "save_token" => {
                let mut token = token_arg(request)?;
                store.save_token(&mut token).await?;
                Ok(json!({"caller": token}))
            }
            "delete_token" => store
                .delete_token(id_arg(request)?)
                .await
                .map(|()| Value::Null),
            "get_tokens" => Ok(json!(store.get_tokens().await?)),
            "delete_tokens" => store.delete_tokens().await.map(|()| Value::Null),
            "find_token_by_id" => Ok(json!(store.find_token_by_id(id_arg(request)?).await?)),
            _ => Err(bad_request(format!("unknown op {op:?}"))),
        }
    }
}
