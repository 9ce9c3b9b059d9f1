//! `tokenstore-check serve`: serves a built-in store that keeps its storage in a directory over
//! the adapter protocol, for the processes and crash tiers.

use std::process::ExitCode;

pub fn serve(backend: &str) -> Result<ExitCode, String> {
    let fixture = crate::builtin::dir_fixture(backend, None).ok_or_else(|| {
        format!("serve takes a store that keeps its storage in a directory, not {backend:?}: one of memory, list, sqlite, sqlite-memory, file")
    })?;
    crate::serve::serve(&fixture)
        .map(|()| ExitCode::SUCCESS)
        .map_err(|e| format!("serving {backend}: {e}"))
}
