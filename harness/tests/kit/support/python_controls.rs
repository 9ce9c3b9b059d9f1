//! The Python stores of `harness/adapters/python/controls` behind the adapter, for the tests
//! that check them: the interpreter with the SDK comes from TOKENSTORE_PYTHON.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tokenstore_suite::required;
use tokenstore_suite::AdapterFixture;

/// The Python with the official SDK installed, or `None` (and a printed line) when the tests
/// that need it are to be skipped; a failure when TOKENSTORE_REQUIRE names sdk.
pub fn python_with_sdk() -> Option<String> {
    match std::env::var("TOKENSTORE_PYTHON") {
        Ok(p) => Some(p),
        Err(_) => {
            assert!(
                !required("sdk"),
                "TOKENSTORE_REQUIRE names sdk, but TOKENSTORE_PYTHON is not set"
            );
            eprintln!("skipped: set TOKENSTORE_PYTHON to a Python with zohocrmsdk8-0");
            None
        }
    }
}

/// The directory of the Python adapter.
pub fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("adapters/python")
}

/// The adapter command for the control `class` (`module:Class`), on a file in {tmpdir}.
pub fn control_command(python: &str, class: &str) -> Vec<String> {
    adapter_command(
        python,
        class,
        Some(r#"{"path": "{tmpdir}/tokens.db", "table": "{namespace}"}"#),
    )
}

/// The adapter command for the control `class`, with `kwargs` as given (none: the store takes
/// no argument).
pub fn adapter_command(python: &str, class: &str, kwargs: Option<&str>) -> Vec<String> {
    let dir = python_dir();
    let mut command: Vec<String> = [
        python,
        dir.join("tokenstore_adapter.py").to_str().unwrap(),
        "--path",
        dir.join("controls").to_str().unwrap(),
        "--store",
        class,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Some(kwargs) = kwargs {
        command.extend(["--kwargs".to_owned(), kwargs.to_owned()]);
    }
    command
}

/// The control `class` started behind the adapter. Its storage is a fresh {tmpdir}, so the
/// look at what it holds before checking it is skipped (a control may answer that look wrongly).
pub fn control(python: &str, class: &str) -> AdapterFixture {
    AdapterFixture::start(
        &control_command(python, class),
        Duration::from_secs(10),
        true,
    )
    .expect("the adapter starts")
}
