//! The backends compiled into `tokenstore-check`, by name, as fixtures.

use crate::servers::{Server, ServerFixture};
use std::path::PathBuf;
use std::sync::Arc;
use tokenstore_core::TokenStore;
use tokenstore_suite::{Capabilities, DirFixture, StoreFixture};

/// The embedded backends: what `run` checks by default.
pub const EMBEDDED: [&str; 5] = ["memory", "list", "sqlite", "sqlite-memory", "file"];

/// Every backend compiled in (`--backend all`): the embedded ones and the server ones.
pub fn all_names() -> Vec<&'static str> {
    EMBEDDED
        .into_iter()
        .chain(Server::ALL.map(Server::name))
        .collect()
}

/// The arguments of `tokenstore-check replay` that name the store called `name` in a report:
/// `--backend NAME` for a built-in backend, the adapter placeholder otherwise.
pub fn replay_args(name: &str) -> String {
    if all_names().contains(&name) {
        format!("--backend {name}")
    } else {
        "--adapter -- ADAPTER COMMAND".to_owned()
    }
}

/// The program that serves the built-in stores from other processes (`serve`): the variable
/// TOKENSTORE_CHECK_BIN, else this program when it is `tokenstore-check`.
pub fn serve_program() -> Option<PathBuf> {
    if let Some(program) = std::env::var_os("TOKENSTORE_CHECK_BIN") {
        return Some(program.into());
    }
    let exe = std::env::current_exe().ok()?;
    let name = exe.file_stem()?.to_str()?;
    (name == "tokenstore-check").then_some(exe)
}

/// The fixture of a built-in backend, or `None` for an unknown name.
pub fn fixture(name: &str) -> Option<Box<dyn StoreFixture>> {
    if let Some(server) = Server::from_name(name) {
        let fixture = ServerFixture::new(server);
        return Some(Box::new(match serve_program() {
            Some(program) => fixture.served_by(program),
            None => fixture,
        }));
    }
    dir_fixture(name, serve_program()).map(|f| Box::new(f) as Box<dyn StoreFixture>)
}

/// The fixture of a built-in backend that keeps its storage in a directory, served from other
/// processes by `program serve --backend NAME` when `program` is given.
pub fn dir_fixture(name: &str, program: Option<PathBuf>) -> Option<DirFixture> {
    let in_memory = Capabilities {
        persistent: false,
        namespaces: true,
        concurrent: true,
        ..Capabilities::default()
    };
    let on_disk = Capabilities {
        persistent: true,
        ..in_memory
    };
    let fixture = match name {
        "memory" => DirFixture::new(name, in_memory, |_, _| {
            Ok(Arc::new(tokenstore_memory::memory_store()) as Arc<dyn TokenStore>)
        }),
        "list" => DirFixture::new(name, in_memory, |_, _| {
            Ok(Arc::new(tokenstore_list::list_store()) as Arc<dyn TokenStore>)
        }),
        "sqlite" => DirFixture::new(name, on_disk, |dir, namespace| {
            let store = tokenstore_sqlite::SqliteStore::open(dir.join("tokens.db"), namespace)?;
            Ok(Arc::new(store) as Arc<dyn TokenStore>)
        }),
        "sqlite-memory" => DirFixture::new(name, in_memory, |_, namespace| {
            let store = tokenstore_sqlite::SqliteStore::open_in_memory(namespace)?;
            Ok(Arc::new(store) as Arc<dyn TokenStore>)
        }),
        "file" => DirFixture::new(name, on_disk, |dir, namespace| {
            let store = tokenstore_file::FileStore::open(dir.join(format!("{namespace}.csv")))?;
            Ok(Arc::new(store) as Arc<dyn TokenStore>)
        })
        .with_limits(tokenstore_file::FILE_LIMITS),
        _ => return None,
    };
    let persists_locally = matches!(name, "sqlite" | "file");
    Some(match program {
        Some(program) if persists_locally => {
            let program = program.to_string_lossy().into_owned();
            fixture.served_by(vec![
                program,
                "serve".into(),
                "--backend".into(),
                name.into(),
            ])
        }
        _ => fixture,
    })
}
