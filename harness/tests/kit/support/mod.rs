//! Test support shared by the kit's tests: the deliberately broken stores, and the Python and
//! Node controls behind their adapters.

pub mod broken;
pub mod node_controls;
pub mod python_controls;

use tokenstore_suite::{required, rules, Selection};

/// The rules a control's test runs: every rule but those of the `groups` named (tiers such as
/// `processes` and `crash`, whose start of many adapter processes costs most of a run). A test
/// of blame runs the tiers that can see its fault, not every tier.
pub fn every_rule_but(groups: &[&str]) -> Selection {
    let names: Vec<&str> = rules::rules()
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| {
            !groups
                .iter()
                .any(|g| id.split_once('.').map(|(g2, _)| g2) == Some(*g))
        })
        .collect();
    Selection::of(&names).expect("rule ids of the rule table")
}

/// The MySQL server of TOKENSTORE_MYSQL_URL, or `None` (and a printed line) when the tests that
/// need it are to be skipped; a failure when TOKENSTORE_REQUIRE names mysql.
pub fn mysql_url() -> Option<String> {
    let url = std::env::var("TOKENSTORE_MYSQL_URL").ok();
    if url.is_none() {
        assert!(
            !required("mysql"),
            "TOKENSTORE_REQUIRE names mysql, but TOKENSTORE_MYSQL_URL is not set"
        );
        eprintln!("skipped: TOKENSTORE_MYSQL_URL is not set");
    }
    url
}
