//! `list`: a vector in the process, scanned linearly; no floor (it is the baseline itself).

use crate::{dir, failed, save_all, Backend, Loaded};
use async_trait::async_trait;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenstore_core::{Limits, Token, TokenStore};
use tokenstore_suite::DirFixture;

pub(crate) struct List;
pub(crate) static LIST: List = List;

#[async_trait]
impl Backend for List {
    fn name(&self) -> &'static str {
        "list"
    }

    fn dir_fixture(&self, program: Option<PathBuf>) -> Option<DirFixture> {
        let open =
            |_: &Path, _: &str| Ok(Arc::new(tokenstore_list::list_store()) as Arc<dyn TokenStore>);
        Some(dir::fixture(
            self.name(),
            dir::IN_MEMORY,
            Limits::default(),
            open,
            program,
        ))
    }

    async fn load(&self, _: &str, _: &Path, _: &str, tokens: &[Token]) -> Result<Loaded, String> {
        let store = tokenstore_list::list_store();
        save_all(&store, tokens).await.map_err(failed("list"))?;
        Ok(Loaded {
            store: Arc::new(store),
            floor: None,
            cleanup: None,
        })
    }
}
