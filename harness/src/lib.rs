//! `tokenstore-check`, the command line of the conformance kit: the built-in backends as
//! fixtures (from the registry of `tokenstore-backends`), the baselines that gate CI, `serve` (a
//! built-in store over the adapter protocol), the Python and Node adapters inside the binary
//! (`--python`, `--node`), and one module per subcommand. The suite itself is
//! the `tokenstore-suite` crate, which depends on none of this.

pub mod adapters;
pub mod baseline;
pub mod builtin;
pub mod cli;
pub mod cmd;
pub mod serve;
