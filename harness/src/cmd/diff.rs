//! `tokenstore-check diff`: runs the same random sequences against two stores and prints the
//! first divergence, saying when the stores' implementation-defined choices explain it.

use crate::cli::Stores;
use std::process::ExitCode;
use tokenstore_suite::{diff, RunOptions};

pub fn compare(stores: &Stores, options: &RunOptions) -> Result<ExitCode, String> {
    let fixtures = stores.fixtures(&[])?;
    let [left, right] = fixtures.as_slice() else {
        return Err(format!(
            "diff compares exactly two stores, got {}",
            fixtures.len()
        ));
    };
    let (l, r) = (left.name(), right.name());
    match diff::diff(left.as_ref(), right.as_ref(), options)? {
        None => {
            println!(
                "{l} and {r} agreed on {} sequences (seed {})",
                options.cases, options.seed
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(d) => {
            println!(
                "{l} and {r} diverge at step {} of {} (seed {}):",
                d.at + 1,
                d.steps.len(),
                options.seed
            );
            for (i, (a, b)) in d.left.iter().zip(&d.right).enumerate() {
                if a == b {
                    println!("  {a}");
                } else {
                    println!("  {l}: {a}");
                    println!("  {r}: {b}");
                }
                if i == d.at {
                    break;
                }
            }
            match &d.expected {
                Some(why) => println!("expected: {why}"),
                None => println!(
                    "a real divergence: the stores made the same choices and hold the same values"
                ),
            }
            Ok(ExitCode::from(1))
        }
    }
}
