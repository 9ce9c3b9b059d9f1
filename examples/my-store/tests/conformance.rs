//! The conformance suite against `MyStore`: one test per rule and the model-based test.
//! `cargo nextest run -p my-store` lists the rules that need a capability it does not declare
//! (processes, connections) as skipped.

use my_store::MyStore;
use std::sync::Arc;
use tokenstore_core::TokenStore;
use tokenstore_suite::{Capabilities, DirFixture};

tokenstore_suite::suite_main!(DirFixture::new(
    "my-store",
    Capabilities {
        persistent: true,
        namespaces: true,
        concurrent: true,
        ..Default::default()
    },
    // Open a store on `namespace` inside the fresh temporary directory `dir`.
    |dir, namespace| {
        let store = MyStore::open(dir.join(format!("{namespace}.json")))?;
        Ok(Arc::new(store) as Arc<dyn TokenStore>)
    },
));
