//! The Node.js stores of `harness/adapters/node/controls` (and the official SDKs' stores)
//! behind the Node adapter, for the tests that check them: `node` from PATH, the SDKs from
//! `harness/adapters/node/node_modules` (`npm ci` there).

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokenstore_suite::required;
use tokenstore_suite::AdapterFixture;

/// The directory of the Node adapter.
pub fn node_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/node")
}

/// Whether the Node tests can run: `node` starts and the SDKs are installed. Otherwise `false`
/// (and a printed line) when they are to be skipped; a failure when TOKENSTORE_REQUIRE names
/// node.
pub fn node_with_sdks() -> bool {
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let sdks = node_dir()
        .join("node_modules/@zohocrm/nodejs-sdk-8.0/package.json")
        .exists()
        && node_dir()
            .join("node_modules/@zohocrm/typescript-sdk-8.0/package.json")
            .exists();
    if node && sdks {
        return true;
    }
    let why = if node {
        "the Zoho CRM Node.js and TypeScript SDKs are not installed: run `npm ci` in harness/adapters/node"
    } else {
        "`node` is not on PATH"
    };
    assert!(
        !required("node"),
        "TOKENSTORE_REQUIRE names node, but {why}"
    );
    eprintln!("skipped: {why}");
    false
}

/// The adapter command for `store` (`path/to/module.mjs:Export`, or a package specifier), with
/// `args` as the constructor's arguments (JSON) and any `extra` flags.
pub fn node_command(store: &str, args: &str, extra: &[&str]) -> Vec<String> {
    let mut command: Vec<String> = [
        "node",
        node_dir().join("tokenstore_adapter.mjs").to_str().unwrap(),
        "--store",
        store,
        "--kwargs",
        args,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    command.extend(extra.iter().map(|s| s.to_string()));
    command
}

/// The control `class` of `controls/{module}` on a directory per namespace in {tmpdir}.
pub fn node_control(module: &str, class: &str) -> AdapterFixture {
    let store = format!(
        "{}:{class}",
        node_dir().join("controls").join(module).to_str().unwrap()
    );
    AdapterFixture::start(
        &node_command(&store, r#"["{tmpdir}/{namespace}"]"#, &[]),
        Duration::from_secs(10),
        true,
    )
    .expect("the adapter starts")
}
