//! The rule table and the checks agree: every rule has a check, every check cites a known rule,
//! ids are unique, and implementation-defined rules list their choices.

use std::collections::HashSet;
use tokenstore_suite::checks;
use tokenstore_suite::rules::{self, Level};

#[test]
fn every_rule_has_at_least_one_check() {
    let checked: HashSet<&str> = checks::all().iter().map(|c| c.rule).collect();
    for rule in rules::rules() {
        assert!(
            checked.contains(rule.id.as_str()),
            "rule {} has no check",
            rule.id
        );
    }
}

#[test]
fn every_check_cites_a_known_rule() {
    for check in checks::all() {
        assert!(
            rules::rule(check.rule).is_some(),
            "check {} cites unknown rule {}",
            check.name,
            check.rule
        );
    }
}

#[test]
fn rule_ids_and_check_names_are_unique() {
    let ids: HashSet<_> = rules::rules().iter().map(|r| &r.id).collect();
    assert_eq!(ids.len(), rules::rules().len());
    let names: HashSet<_> = checks::all().iter().map(|c| c.name).collect();
    assert_eq!(names.len(), checks::all().len());
}

#[test]
fn implementation_defined_rules_list_their_choices() {
    for rule in rules::rules() {
        assert_eq!(
            rule.level == Level::Impl,
            !rule.choices.is_empty(),
            "{}",
            rule.id
        );
        assert!(!rule.methods.is_empty(), "{} names no method", rule.id);
    }
}

#[test]
fn the_spec_document_states_every_rule() {
    let spec = include_str!("../../../specs/tokenstore.md");
    for rule in rules::rules() {
        assert!(
            spec.contains(&format!("`{}`", rule.id)),
            "specs/tokenstore.md does not state {}",
            rule.id
        );
    }
}
