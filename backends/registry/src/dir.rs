//! What the backends that keep their storage in a directory (or nowhere) share: their
//! capabilities and their fixture, each storage a fresh temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenstore_core::{Limits, StoreError, TokenStore};
use tokenstore_suite::{Capabilities, DirFixture};

/// A store that lives in its process: gone with it.
pub(crate) const IN_MEMORY: Capabilities = Capabilities {
    persistent: false,
    namespaces: true,
    concurrent: true,
    processes: false,
    connections: false,
};

/// A store on disk: a reopen sees what was saved.
pub(crate) const ON_DISK: Capabilities = Capabilities {
    persistent: true,
    ..IN_MEMORY
};

/// The fixture of a backend called `name` that opens its store with `open(dir, namespace)`. A
/// persistent one is served from other processes by `program serve --backend NAME` when
/// `program` is given.
pub(crate) fn fixture(
    name: &str,
    capabilities: Capabilities,
    limits: Limits,
    open: impl Fn(&Path, &str) -> Result<Arc<dyn TokenStore>, StoreError> + Send + Sync + 'static,
    program: Option<PathBuf>,
) -> DirFixture {
    let fixture = DirFixture::new(name, capabilities, open).with_limits(limits);
    match program {
        Some(program) if capabilities.persistent => fixture.served_by(vec![
            program.to_string_lossy().into_owned(),
            "serve".into(),
            "--backend".into(),
            name.into(),
        ]),
        _ => fixture,
    }
}
