//! The TokenStore interface that the Zoho CRM SDKs persist OAuth tokens through, as Rust types.
//!
//! This crate is what a store implements and what the conformance harness calls: the [`Token`]
//! (ten optional strings), the async [`TokenStore`] trait (six methods, object safe), the typed
//! [`StoreError`], and the parts of the behaviour every store shares and must not re-derive: the
//! lookup key order ([`LookupKey`]), the merge of a saved token over a stored one
//! ([`Token::merged_over`]), and the save decision ([`plan_save`]). It holds no storage of its own.

mod candidates;
mod error;
mod key;
mod limits;
mod save;
pub mod sql;
mod store;
mod table;
mod token;

pub use candidates::{find_lookups, save_lookups, Candidates};
pub use error::{with_causes, ErrorKind, Result, StoreError};
pub use key::{Choices, LookupKey};
pub use limits::Limits;
pub use save::{find_in, next_fresh_id, plan_save, SavePlan, TokenRows};
pub use store::TokenStore;
pub use table::{delete_in, find_by_id_in, save_into, TableStore, TokenTable, KEY_FIELDS};
pub use token::{Field, Token};

/// The attribute an implementation of [`TokenStore`] puts on its `impl` block
/// (`#[tokenstore_core::async_trait]`), re-exported so a store needs no dependency of its own.
pub use async_trait::async_trait;
