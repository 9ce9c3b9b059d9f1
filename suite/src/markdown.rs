//! The report as Markdown (`run --format markdown`), short enough for a CI job summary: each
//! store's counts, then one line per failure with the first line of its message and the likely
//! cause.

use crate::report::{Report, Status};
use std::fmt::Write as _;

impl Report {
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "## tokenstore-check\n\nkit {}\n\n| store | passed | failed | skipped | blocked |\n|---|---|---|---|---|\n",
            crate::rules::versions()
        );
        for store in &self.stores {
            let s = &store.summary;
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                cell(&store.name),
                s.passed,
                s.failed,
                s.skipped,
                s.blocked
            );
        }
        for store in self.stores.iter().filter(|s| !s.resources.is_empty()) {
            let _ = writeln!(out, "\n### {}: resources\n", cell(&store.name));
            for finding in &store.resources {
                let _ = writeln!(out, "- {}", finding.replace('`', "'"));
            }
        }
        let failures: Vec<_> = self
            .stores
            .iter()
            .flat_map(|store| store.rules.iter().map(move |rule| (store, rule)))
            .filter(|(_, rule)| matches!(rule.status, Status::Fail | Status::Blocked))
            .collect();
        if failures.is_empty() {
            out.push_str("\nNo rule failed.\n");
            return out;
        }
        for store in &self.stores {
            let causes = &store.root_causes;
            if causes.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n### {}: {} root causes\n",
                cell(&store.name),
                causes.len()
            );
            for cause in causes {
                let _ = write!(
                    out,
                    "1. `{}`: `{}`",
                    cause.rule,
                    cause.message.replace('`', "'")
                );
                if !cause.blocks.is_empty() {
                    let _ = write!(out, " (blocks {})", cause.blocks.len());
                }
                if !cause.same_cause.is_empty() {
                    let _ = write!(
                        out,
                        "; the same likely cause fails `{}` too",
                        cause.same_cause.join("`, `")
                    );
                }
                out.push('\n');
            }
        }
        out.push_str("\n### Failures\n\n");
        for (store, rule) in failures {
            let what = match (&rule.status, &rule.blocked_by) {
                (Status::Blocked, Some(by)) => format!("blocked by `{by}`"),
                _ => rule
                    .message
                    .as_deref()
                    .and_then(|m| m.lines().next())
                    .map(|line| format!("`{}`", line.replace('`', "'")))
                    .unwrap_or_default(),
            };
            let _ = write!(out, "- **{}** `{}`: {what}", cell(&store.name), rule.id);
            if let Some(cause) = &rule.likely_cause {
                let _ = write!(out, " (likely cause: {})", cause.replace('\n', " "));
            }
            out.push('\n');
        }
        out
    }
}

/// `text` safe inside a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}
