//! Test support shared by the kit's tests: the deliberately broken stores, and the Python and
//! Node controls behind their adapters.

pub mod broken;
pub mod node_controls;
pub mod python_controls;

use tokenstore_suite::{rules, Selection};

/// The rules a control's test runs: every rule with no capability to declare, and the tiers
/// named (`concurrency`, `processes`, `crash`). A test of blame runs the tiers that can see its
/// fault, not every tier.
pub fn sequential_and(tiers: &[&str]) -> Selection {
    let names: Vec<&str> = rules::rules()
        .iter()
        .filter(|r| r.requires.is_none())
        .map(|r| r.id.as_str())
        .chain(tiers.iter().copied())
        .collect();
    Selection::of(&names).expect("rule ids and tiers of the rule table")
}
