//! The conformance suite for TokenStore implementations: the rule table, the reference model,
//! example-based checks per rule, the model-based test, the linearizability check of concurrent
//! histories, the crash tier, the client of the adapter protocol, and the reports.
//!
//! It depends on `tokenstore-core` and what the engine needs, never on a backend or a database
//! client: the `tokenstore-check` CLI (crate `harness/`) brings those.
//!
//! To check your own store from its tests, in a test target with `harness = false`:
//! ```text
//! tokenstore_suite::suite_main!(MyFixture::new());
//! ```
//! which runs one test per rule (a rule the store's capabilities exclude is reported as ignored,
//! so the test runner counts it as skipped) and the model-based test. [`suite!`] generates the
//! same tests as `#[test]` functions inside an existing test target.
//!
//! What a store author uses is re-exported here. The modules marked hidden are the engine's
//! parts the CLI and the kit's own tests reach; they are not an interface.

mod adapter;
#[doc(hidden)]
pub mod call;
pub mod causes;
#[doc(hidden)]
pub mod checks;
pub mod clients;
mod counting;
#[doc(hidden)]
pub mod crash;
#[doc(hidden)]
pub mod diff;
mod dir;
pub mod fixture;
#[doc(hidden)]
pub mod history;
mod html;
mod judge;
mod linearize;
mod load;
#[doc(hidden)]
pub mod machine;
mod markdown;
mod model;
#[doc(hidden)]
pub mod profile;
mod protocol;
pub mod replay;
pub mod report;
pub mod rules;
#[doc(hidden)]
pub mod runner;
#[doc(hidden)]
pub mod rust_tests;
mod seed;
#[doc(hidden)]
pub mod show;
mod story;
mod values;

pub use adapter::{AdapterFixture, DEFAULT_TIMEOUT as DEFAULT_ADAPTER_TIMEOUT};
pub use dir::DirFixture;
pub use fixture::{or_skip, required, Capabilities, SetupError, Storage, StoreFixture};
pub use load::Load;
pub use protocol::ProcessStore;
pub use report::{Report, Status, StoreReport};
pub use runner::{check_store, runtime, RunOptions, Selection};
pub use tokenstore_core;

/// The namespace checks open their store on; `store.namespaces-isolated` also opens `other`.
pub const MAIN_NAMESPACE: &str = "main";
