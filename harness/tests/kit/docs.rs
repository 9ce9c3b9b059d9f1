//! The docs hold to the kit: the README stays a short page of quick starts, every quick start is
//! run by the test command (a `ci/` script takes it out of README.md with `ci/quickstart.py`, or
//! a test compares it with the file it shows), and every relative link of the README and `docs/`
//! names a file that exists.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of the README's `<!-- quickstart: NAME -->` blocks, with each block's text.
fn quick_starts(readme: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line
            .trim()
            .strip_prefix("<!-- quickstart: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        assert!(
            lines[i + 1].starts_with("```"),
            "quick start {name}: no fenced block right after its marker"
        );
        let body: Vec<&str> = lines[i + 2..]
            .iter()
            .take_while(|l| !l.starts_with("```"))
            .copied()
            .collect();
        found.push((name.to_owned(), body.join("\n") + "\n"));
    }
    found
}

#[test]
fn the_readme_is_a_short_page() {
    let lines = read(&workspace().join("README.md")).lines().count();
    assert!(
        lines <= 300,
        "README.md has {lines} lines: move the detail into docs/ and link it"
    );
}

#[test]
fn every_quick_start_of_the_readme_is_run_by_the_test_command() {
    let root = workspace();
    let readme = read(&root.join("README.md"));
    let starts = quick_starts(&readme);
    let names: Vec<&str> = starts.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "python-pytest",
        "python-test",
        "python-cli",
        "node-install",
        "node-test",
    ] {
        assert!(
            names.contains(&expected),
            "no quick start {expected}: {names:?}"
        );
    }
    let scripts: String = std::fs::read_dir(root.join("ci"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .map(|p| read(&p))
        .collect();
    for (name, body) in &starts {
        if name == "rust-test" {
            let example = read(&root.join("examples/my-store/tests/conformance.rs"));
            assert!(
                example.ends_with(body.as_str()),
                "the README's Rust quick start is not examples/my-store/tests/conformance.rs"
            );
        } else {
            assert!(
                scripts.contains(&format!("ci/quickstart.py {name}")),
                "no ci/ script runs the README's quick start {name}"
            );
        }
    }
}

#[test]
fn every_relative_link_of_the_readme_and_docs_names_a_file() {
    let root = workspace();
    let mut pages = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        pages.push(entry.unwrap().path());
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = read(page);
        for (at, _) in text.match_indices("](") {
            let rest = &text[at + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.starts_with("http") || target.starts_with('#') || target.contains(' ') {
                continue;
            }
            let file = target.split('#').next().unwrap();
            if !page.parent().unwrap().join(file).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to no file: {broken:#?}");
}
