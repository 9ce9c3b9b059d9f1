//! One module per subcommand of `tokenstore-check`, each taking its parsed arguments and
//! returning the exit status, or a one-line error for exit status 2.

pub mod bench;
pub mod diff;
pub mod replay;
pub mod rules;
pub mod run;
pub mod serve;
