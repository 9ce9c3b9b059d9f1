//! `tokenstore-check rules`: prints the rule table of `specs/rules.toml` (human or JSON).

use crate::cli::RulesFormat;
use tokenstore_suite::rules;

pub fn print_rules(format: RulesFormat) {
    let table = rules::rules();
    match format {
        RulesFormat::Json => {
            let rows: Vec<_> = table
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "level": r.level.as_str(), "title": r.title,
                        "methods": r.methods, "requires": r.requires, "choices": r.choices,
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&rows).expect("plain data")
            );
        }
        RulesFormat::Human => {
            for r in table {
                let requires = r
                    .requires
                    .map(|c| format!(" [needs {c:?}]").to_lowercase())
                    .unwrap_or_default();
                let choices = if r.choices.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.choices.join(" | "))
                };
                println!(
                    "{:32} {:5} {}{choices}{requires}",
                    r.id,
                    r.level.as_str(),
                    r.title
                );
            }
        }
    }
}
