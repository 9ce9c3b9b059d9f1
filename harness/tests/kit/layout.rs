//! The layout of the crates holds: the suite crate depends on no backend, database client,
//! bundled SQLite or container library; no module of the suite, the CLI or the backend registry
//! imports another in a circle (through `crate::` paths); and every file of the kit's tests is
//! compiled.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn the_suite_crate_depends_on_no_backend_or_database_client() {
    let output = Command::new(env!("CARGO"))
        .args(["tree", "-p", "tokenstore-suite", "-e", "normal"])
        .args(["--prefix", "none", "--format", "{p}", "--offline"])
        .current_dir(workspace())
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    let crates: BTreeSet<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains("tokenstore-core") && crates.contains("proptest"),
        "{crates:?}"
    );
    let forbidden = [
        "tokenstore-memory",
        "tokenstore-list",
        "tokenstore-sqlite",
        "tokenstore-file",
        "tokenstore-mysql",
        "tokenstore-postgres",
        "tokenstore-redis",
        "tokenstore-retry",
        "tokenstore-check",
        "tokenstore-bench",
        "mysql_async",
        "redis",
        "tokio-postgres",
        "rusqlite",
        "libsqlite3-sys",
        "testcontainers",
        "testcontainers-modules",
    ];
    let found: Vec<&str> = forbidden
        .into_iter()
        .filter(|c| crates.contains(c))
        .collect();
    assert_eq!(found, Vec::<&str>::new(), "the suite crate pulls these in");
}

/// Each top-level module of `src` (a file, or a directory with `mod.rs`) and the modules it
/// names through `crate::` paths outside its unit tests.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut all = Vec::new();
    files(src, &mut all);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in all {
        let relative = file.strip_prefix(src).unwrap();
        let top = relative.components().next().unwrap().as_os_str();
        let module = top.to_str().unwrap().trim_end_matches(".rs").to_owned();
        if module == "bin" || module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        let names = graph.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let paths = match rest.strip_prefix('{') {
                Some(group) => &group[..group.find('}').unwrap_or(group.len())],
                None => rest,
            };
            let paths = match rest.starts_with('{') {
                true => paths.split(',').collect(),
                false => vec![paths],
            };
            for path in paths {
                let name: String = path
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    names.insert(name);
                }
            }
        }
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for names in graph.values_mut() {
        names.retain(|n| modules.contains(n));
    }
    graph
}

/// A circle of modules, if the graph has one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|m| m == at) {
            let mut found = path[start..].to_vec();
            found.push(at.to_owned());
            return Some(found);
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_owned());
        for next in &graph[at] {
            if let Some(found) = visit(next, graph, path, done) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(at.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_module_imports_another_in_a_circle() {
    for krate in ["suite", "harness", "backends/registry"] {
        let graph = module_graph(&workspace().join(krate).join("src"));
        assert!(graph.len() >= 5, "{krate}: read only {graph:?}");
        assert_eq!(circle(&graph), None, "{krate}: modules import each other");
    }
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("adapter", vec!["fixture", "rules"]),
        ("fixture", vec!["adapter"]),
        ("rules", vec![]),
    ]
    .into_iter()
    .map(|(m, names)| (m.into(), names.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        circle(&graph),
        Some(vec!["adapter".into(), "fixture".into(), "adapter".into()])
    );
}

#[test]
fn every_test_file_is_a_module_of_the_test_binary() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let loose: Vec<_> = std::fs::read_dir(&tests)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    assert_eq!(
        loose,
        Vec::<PathBuf>::new(),
        "test files outside tests/kit/"
    );
    for (dir, declaring) in [("kit", "main.rs"), ("kit/support", "mod.rs")] {
        let dir = tests.join(dir);
        let declared = std::fs::read_to_string(dir.join(declaring)).unwrap();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if path.extension().is_some_and(|e| e == "rs") && path.file_name().unwrap() != declaring
            {
                assert!(
                    declared.contains(&format!("mod {stem};")),
                    "{} is not declared in {declaring}: its tests never run",
                    path.display()
                );
            }
        }
    }
}

/// A backend is named in its registry module only: the CLI, the suite and the benchmarks
/// iterate the registry (`tokenstore_backends::BACKENDS`), so adding one touches nothing there.
#[test]
fn no_crate_but_the_registry_names_a_backend() {
    let mut found = Vec::new();
    for dir in ["harness/src", "suite/src", "benches/src", "benches/benches"] {
        let mut files = Vec::new();
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        walk(&workspace().join(dir), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap();
            for name in tokenstore_backends::names() {
                if code.contains(&format!("\"{name}\"")) {
                    found.push(format!("{}: {name:?}", file.display()));
                }
            }
        }
    }
    assert!(tokenstore_backends::names().len() >= 8);
    assert_eq!(
        found,
        Vec::<String>::new(),
        "backend names outside the registry"
    );
}
