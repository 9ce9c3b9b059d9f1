//! The rule table of `specs/rules.toml`, embedded at build time: the ids every check and every
//! report cites.

use serde::Deserialize;
use std::sync::OnceLock;

/// How binding a rule is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Level {
    /// Required of every store.
    #[serde(rename = "MUST")]
    Must,
    /// Implementation-defined: one of the rule's choices, detected and then required consistently.
    #[serde(rename = "IMPL")]
    Impl,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Impl => "IMPL",
        }
    }
}

/// A capability a store declares; rules that require one are skipped without it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Persistent,
    Namespaces,
    Concurrent,
    Processes,
    Connections,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Rule {
    pub id: String,
    pub level: Level,
    pub title: String,
    pub methods: Vec<String>,
    #[serde(default)]
    pub requires: Option<Capability>,
    #[serde(default)]
    pub choices: Vec<String>,
    /// The foundations the rule's checks stand on: when one of them fails, the rule is blocked
    /// by it rather than checked (`relies_on` in specs/rules.toml).
    #[serde(default)]
    pub relies_on: Vec<String>,
    /// The spec version that added the rule or last made it stricter (`since`, 1 when not
    /// given): a failure of a rule newer than a baseline is not a regression of the store.
    #[serde(default = "first_spec")]
    pub since: u32,
}

fn first_spec() -> u32 {
    1
}

#[derive(Deserialize)]
struct RuleFile {
    spec_version: u32,
    rule: Vec<Rule>,
}

const RULES_TOML: &str = include_str!("../../specs/rules.toml");

fn rule_file() -> &'static RuleFile {
    static FILE: OnceLock<RuleFile> = OnceLock::new();
    FILE.get_or_init(|| {
        toml::from_str::<RuleFile>(RULES_TOML)
            .expect("specs/rules.toml is embedded at build time and must parse")
    })
}

/// Every rule of the spec, in the spec's order.
pub fn rules() -> &'static [Rule] {
    &rule_file().rule
}

/// The spec's version (`spec_version` in specs/rules.toml): raised whenever a rule is added or
/// made stricter, as CHANGELOG.md lists.
pub fn spec_version() -> u32 {
    rule_file().spec_version
}

/// The kit's version and the spec's, as `--version` and every report give them:
/// `0.1.0 (spec 2)`.
pub fn versions() -> String {
    format!("{} (spec {})", env!("CARGO_PKG_VERSION"), spec_version())
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    rules().iter().find(|r| r.id == id)
}
