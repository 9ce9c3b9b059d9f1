//! The report as one self-contained HTML page (`run --format html`): the rule matrix by store,
//! each store's summary, profile and model-based figures, each failure with its message,
//! likely cause and the calls before it, and benchmark charts when the run is given some. Styles are inline and a content security policy forbids
//! every fetch, so the page shows the same offline, attached to a CI job.

use crate::report::{Report, RuleResult, Status, StoreReport};
use std::fmt::Write as _;

const STYLE: &str = "
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em; color: #1b1b1b; }
h1 { font-size: 1.6em; } h2 { margin-top: 2em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: left; }
th { background: #f3f3f3; }
td.pass { background: #e3f4e3; } td.fail { background: #f9d6d5; font-weight: bold; }
td.skip { background: #f1f1f1; color: #666; } td.blocked { background: #fbe5c8; }
td a { color: inherit; }
pre, code { font: 13px/1.4 ui-monospace, monospace; }
pre { background: #f7f7f7; padding: .6em; white-space: pre-wrap; word-break: break-word; }
ol.calls { font: 13px/1.4 ui-monospace, monospace; }
.cause { border-left: 4px solid #d98c00; padding-left: .6em; }
.summary { font-weight: bold; }
";

impl Report {
    /// The report as one HTML page that needs nothing else (no script, no fetch).
    pub fn to_html(&self) -> String {
        self.to_html_with_charts(&[])
    }

    /// The page with `charts` (title, SVG document) drawn inline after the stores.
    pub fn to_html_with_charts(&self, charts: &[(String, String)]) -> String {
        let mut page = String::from(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
             <title>tokenstore-check report</title>\n<style>",
        );
        page.push_str(STYLE);
        page.push_str("</style>\n</head>\n<body>\n<h1>tokenstore-check report</h1>\n");
        let _ = writeln!(
            page,
            "<p class=\"versions\">kit {}</p>",
            crate::rules::versions()
        );
        for store in &self.stores {
            let s = &store.summary;
            let _ = writeln!(
                page,
                "<p class=\"summary\" id=\"summary-{id}\">{name}: {} passed, {} failed, {} skipped, {} blocked</p>",
                s.passed,
                s.failed,
                s.skipped,
                s.blocked,
                id = anchor(&store.name),
                name = escape(&store.name),
            );
            for finding in &store.resources {
                let _ = writeln!(
                    page,
                    "<p class=\"resources\">resources: {}</p>",
                    escape(finding)
                );
            }
            if !store.root_causes.is_empty() {
                let _ = writeln!(
                    page,
                    "<ol class=\"root-causes\" id=\"root-causes-{}\">",
                    anchor(&store.name)
                );
                for cause in &store.root_causes {
                    let same = if cause.same_cause.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; the same likely cause fails <code>{}</code> too",
                            escape(&cause.same_cause.join(", "))
                        )
                    };
                    let _ = writeln!(
                        page,
                        "<li><code>{}</code>: {} ({} blocked{same})</li>",
                        escape(&cause.rule),
                        escape(&cause.message),
                        cause.blocks.len()
                    );
                }
                page.push_str("</ol>\n");
            }
        }
        self.matrix(&mut page);
        for store in &self.stores {
            store_section(&mut page, store);
        }
        if !charts.is_empty() {
            page.push_str("<h2 id=\"charts\">Benchmarks</h2>\n");
            for (title, svg) in charts {
                let _ = writeln!(
                    page,
                    "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
                    inline_svg(svg),
                    escape(title)
                );
            }
        }
        page.push_str("</body>\n</html>\n");
        page
    }

    /// The rules by store: one row per rule, one column per store; a failure links to its story.
    fn matrix(&self, page: &mut String) {
        page.push_str("<h2>Rules</h2>\n<table id=\"matrix\">\n<tr><th>rule</th><th>level</th>");
        for store in &self.stores {
            let _ = write!(page, "<th>{}</th>", escape(&store.name));
        }
        page.push_str("</tr>\n");
        let Some(first) = self.stores.first() else {
            page.push_str("</table>\n");
            return;
        };
        for rule in &first.rules {
            let _ = write!(
                page,
                "<tr><td><code>{}</code></td><td>{}</td>",
                escape(&rule.id),
                level(rule)
            );
            for store in &self.stores {
                let cell = match store.rule(&rule.id) {
                    Some(r) if matches!(r.status, Status::Fail | Status::Blocked) => format!(
                        "<td class=\"{0}\"><a href=\"#{1}\">{0}</a></td>",
                        status(r.status),
                        failure_anchor(store, r)
                    ),
                    Some(r) => format!("<td class=\"{0}\">{0}</td>", status(r.status)),
                    None => "<td></td>".into(),
                };
                page.push_str(&cell);
            }
            page.push_str("</tr>\n");
        }
        page.push_str("</table>\n");
    }
}

/// One store: its profile, capabilities, model-based figures, then each failure's story.
fn store_section(page: &mut String, store: &StoreReport) {
    let _ = writeln!(
        page,
        "<h2 id=\"store-{}\">{}</h2>",
        anchor(&store.name),
        escape(&store.name)
    );
    page.push_str("<h3>Profile</h3>\n<ul>\n");
    for (rule, choice) in &store.profile {
        let _ = writeln!(
            page,
            "<li><code>{}</code> = {}</li>",
            escape(rule),
            escape(choice)
        );
    }
    let c = &store.capabilities;
    let _ = writeln!(
        page,
        "<li>capabilities: persistent {}, namespaces {}, concurrent {}, processes {}, connections {}</li>\n</ul>",
        c.persistent, c.namespaces, c.concurrent, c.processes, c.connections
    );
    if let Some(m) = &store.model {
        let _ = writeln!(
            page,
            "<p>Model-based test: {} cases, {} steps ({:.0}/s), {} store calls, seed {}.</p>",
            m.cases, m.steps, m.steps_per_second, m.calls, m.seed
        );
    }
    let failures: Vec<&RuleResult> = store
        .rules
        .iter()
        .filter(|r| matches!(r.status, Status::Fail | Status::Blocked))
        .collect();
    if failures.is_empty() {
        page.push_str("<p>No rule failed.</p>\n");
        return;
    }
    page.push_str("<h3>Failures</h3>\n");
    for rule in failures {
        let _ = writeln!(
            page,
            "<section class=\"failure\" id=\"{}\">\n<h3>{} <code>{}</code></h3>",
            failure_anchor(store, rule),
            status(rule.status).to_uppercase(),
            escape(&rule.id)
        );
        if let Some(by) = &rule.blocked_by {
            let _ = writeln!(
                page,
                "<p>Not checked: blocked by <code>{}</code>.</p>",
                escape(by)
            );
        }
        if let Some(message) = &rule.message {
            let _ = writeln!(page, "<pre>{}</pre>", escape(message));
        }
        if let Some(cause) = &rule.likely_cause {
            let _ = writeln!(
                page,
                "<p class=\"cause\">Likely cause: {}</p>",
                escape(cause)
            );
        }
        if let Some(repro) = &rule.repro {
            if !repro.steps.is_empty() {
                page.push_str("<p>The calls before it:</p>\n<ol class=\"calls\">\n");
                for step in &repro.steps {
                    let _ = writeln!(page, "<li>{}</li>", escape(step));
                }
                page.push_str("</ol>\n");
            }
            if let Some(file) = &repro.replay_file {
                let _ = writeln!(page, "<p>Replay file: <code>{}</code></p>", escape(file));
            }
        }
        page.push_str("</section>\n");
    }
}

/// An SVG document as markup inside the page: from its `<svg` on (no XML prolog or doctype).
fn inline_svg(svg: &str) -> &str {
    svg.find("<svg").map_or("", |at| &svg[at..])
}

fn status(status: Status) -> &'static str {
    match status {
        Status::Pass => "pass",
        Status::Fail => "fail",
        Status::Skip => "skip",
        Status::Blocked => "blocked",
    }
}

fn level(rule: &RuleResult) -> String {
    serde_json::to_value(rule.level)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn failure_anchor(store: &StoreReport, rule: &RuleResult) -> String {
    format!("fail-{}-{}", anchor(&store.name), anchor(&rule.id))
}

/// `text` as an id: letters, digits and `-`.
fn anchor(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// `text` with the characters HTML gives a meaning escaped.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_values_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
