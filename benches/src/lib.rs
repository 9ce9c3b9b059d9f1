//! Lookup latency of the TokenStore backends: a synthetic population of tokens loaded in bulk,
//! each backend's raw floor (the cheapest lookup its driver allows; both from the backend's entry
//! in `tokenstore-backends`), and p50/p99 sampling. Used by
//! the criterion benches in `benches/lookup.rs` and by `tokenstore-check bench` ([`run`]).

pub mod chart;
pub mod load;
pub mod measure;
pub mod run;
pub mod setup;
pub mod workload;

pub use measure::{Op, OpResult};
pub use setup::Bench;
