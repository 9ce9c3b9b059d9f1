//! `memory`: hash maps in the process. Its floor is a `HashMap` get, one map per key field.

use crate::{dir, failed, save_all, Backend, Floor, Loaded, FLOOR_FIELDS};
use async_trait::async_trait;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokenstore_core::{Field, Limits, Token, TokenStore};
use tokenstore_suite::DirFixture;

pub(crate) struct Memory;
pub(crate) static MEMORY: Memory = Memory;

#[async_trait]
impl Backend for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn dir_fixture(&self, program: Option<PathBuf>) -> Option<DirFixture> {
        let open = |_: &Path, _: &str| {
            Ok(Arc::new(tokenstore_memory::memory_store()) as Arc<dyn TokenStore>)
        };
        Some(dir::fixture(
            self.name(),
            dir::IN_MEMORY,
            Limits::default(),
            open,
            program,
        ))
    }

    async fn load(&self, _: &str, _: &Path, _: &str, tokens: &[Token]) -> Result<Loaded, String> {
        let store = tokenstore_memory::memory_store();
        save_all(&store, tokens).await.map_err(failed("memory"))?;
        let mut maps: HashMap<Field, HashMap<String, Token>> = HashMap::new();
        for t in tokens {
            for field in FLOOR_FIELDS {
                if let Some(v) = t.get(field) {
                    maps.entry(field)
                        .or_default()
                        .insert(v.to_owned(), t.clone());
                }
            }
        }
        Ok(Loaded {
            store: Arc::new(store),
            floor: Some(Box::new(HashMaps(maps))),
            cleanup: None,
        })
    }
}

/// The floor: tokens by value, one map per field.
struct HashMaps(HashMap<Field, HashMap<String, Token>>);

#[async_trait]
impl Floor for HashMaps {
    async fn lookup(&self, field: Field, value: &str, _: &str) -> Result<bool, String> {
        Ok(self
            .0
            .get(&field)
            .and_then(|m| m.get(value))
            .cloned()
            .is_some())
    }
}
