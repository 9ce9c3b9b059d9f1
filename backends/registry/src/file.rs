//! `file`: the Python SDK FileStore's CSV format, one file per namespace; loaded by writing the
//! file; no floor.

use crate::{dir, failed, Backend, Loaded};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenstore_core::{Token, TokenStore};
use tokenstore_suite::DirFixture;

pub(crate) struct File;
pub(crate) static FILE: File = File;

#[async_trait]
impl Backend for File {
    fn name(&self) -> &'static str {
        "file"
    }

    fn dir_fixture(&self, program: Option<PathBuf>) -> Option<DirFixture> {
        let open = |dir: &Path, namespace: &str| {
            let store = tokenstore_file::FileStore::open(dir.join(format!("{namespace}.csv")))?;
            Ok(Arc::new(store) as Arc<dyn TokenStore>)
        };
        Some(dir::fixture(
            self.name(),
            dir::ON_DISK,
            tokenstore_file::FILE_LIMITS,
            open,
            program,
        ))
    }

    /// It reads its whole file per call: past 10k tokens one bench takes minutes.
    fn largest_bench_size(&self) -> Option<usize> {
        Some(10_000)
    }

    async fn load(&self, _: &str, dir: &Path, _: &str, tokens: &[Token]) -> Result<Loaded, String> {
        let path = dir.join("tokens.csv");
        tokenstore_file::csv_format::write_file(&path, tokens).map_err(failed("file"))?;
        let store = tokenstore_file::FileStore::open(&path).map_err(failed("file"))?;
        Ok(Loaded {
            store: Arc::new(store),
            floor: None,
            cleanup: None,
        })
    }
}
