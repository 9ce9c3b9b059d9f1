//! Every rule id the suite's and the CLI's sources name in a string literal is a rule of specs/rules.toml:
//! a misspelt id can never carry a finding (the runner refuses one it does not know, loudly).

use std::path::Path;
use tokenstore_suite::rules;

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rule_id_literal_in_the_source_is_a_rule() {
    let prefixes: std::collections::BTreeSet<String> = rules::rules()
        .iter()
        .map(|r| format!("\"{}.", r.id.split('.').next().unwrap()))
        .collect();
    let mut files = Vec::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for crate_dir in [root.to_owned(), root.join("../suite")] {
        sources(&crate_dir.join("src"), &mut files);
    }
    let mut unknown = Vec::new();
    let mut seen = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for prefix in &prefixes {
            for (at, _) in text.match_indices(prefix.as_str()) {
                let rest = &text[at + 1..];
                let literal: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '.' || *c == '-')
                    .collect();
                // A prefix such as "token." is not an id.
                if !rest[literal.len()..].starts_with('"') || literal.ends_with('.') {
                    continue;
                }
                seen += 1;
                if rules::rule(&literal).is_none() {
                    unknown.push(format!("{}: {literal}", file.display()));
                }
            }
        }
    }
    assert!(
        seen > 100,
        "found only {seen} rule literals: the scan is broken"
    );
    assert_eq!(unknown, Vec::<String>::new());
}
