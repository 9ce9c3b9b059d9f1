//! The backends compiled into `tokenstore-check`, by name, as fixtures: the registry of
//! `tokenstore-backends`, with this program as the one that serves them from other processes.

use std::path::PathBuf;
use tokenstore_suite::{DirFixture, StoreFixture};

/// The embedded backends: what `run` checks by default.
pub fn embedded() -> Vec<&'static str> {
    tokenstore_backends::embedded()
}

/// Every backend compiled in (`--backend all`): the embedded ones and the server ones.
pub fn all_names() -> Vec<&'static str> {
    tokenstore_backends::names()
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
    Some(tokenstore_backends::backend(name)?.fixture(serve_program()))
}

/// The fixture of a built-in backend that keeps its storage in a directory, served from other
/// processes by `program serve --backend NAME` when `program` is given.
pub fn dir_fixture(name: &str, program: Option<PathBuf>) -> Option<DirFixture> {
    tokenstore_backends::dir_fixture(name, program)
}
