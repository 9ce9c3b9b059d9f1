//! The kit's own tests, one binary with a module per area (`cargo nextest run -p tokenstore-check
//! --test kit`; one area: add a filter such as `histories::`). `layout.rs` checks that every
//! file here is one of these modules.

mod adapter;
mod broken_stores;
mod cli;
mod cluster_failover;
mod corpus;
mod crash_consistency;
mod docs;
mod embedded_backends;
mod histories;
mod layout;
mod lock_waits;
mod rule_literals;
mod rule_table;
mod sdk_interop;
mod server_backends;
mod server_loss;
mod server_restart;
mod support;
