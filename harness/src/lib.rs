//! The conformance suite for TokenStore implementations: the rule table, the reference model,
//! example-based checks per rule, the model-based test, and the reports. The CLI
//! `tokenstore-check` and the [`suite!`] macro are its two front doors.
//!
//! To check your own store from its tests:
//! ```text
//! tokenstore_harness::suite!(my_store, MyFixture::new());
//! ```
//! which generates one `#[test]` per rule (nextest-friendly) and one model-based test.

pub mod adapter;
pub mod baseline;
pub mod builtin;
pub mod causes;
pub mod checks;
mod counting;
pub mod crash;
pub mod diff;
pub mod fixture;
pub mod history;
pub mod linearize;
pub mod machine;
pub mod model;
pub mod profile;
pub mod replay;
pub mod report;
pub mod rules;
pub mod runner;
pub mod serve;
pub mod server_admin;
pub mod servers;
pub mod show;
pub mod story;
pub mod suite;
pub mod values;

pub use fixture::{Capabilities, DirFixture, SetupError, Storage, StoreFixture};
pub use report::{Report, Status, StoreReport};
pub use runner::{check_store, RunOptions};

/// The namespace checks open their store on; `store.namespaces-isolated` also opens `other`.
pub const MAIN_NAMESPACE: &str = "main";
