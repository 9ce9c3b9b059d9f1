//! The Python and Node.js adapters inside the binary: `--python MODULE:CLASS` and
//! `--node FILE:EXPORT` build the adapter command themselves, so a `tokenstore-check` installed
//! alone (from a wheel, with no checkout of this repository) checks a store in one command. Each
//! adapter is written once to a directory named after the kit's version and the adapter's
//! content, under the system's temporary directory, and run from there.

use std::path::{Path, PathBuf};

const PYTHON_ADAPTER: &str = include_str!("../adapters/python/tokenstore_adapter.py");
const NODE_ADAPTER: &str = include_str!("../adapters/node/tokenstore_adapter.mjs");

/// The command that runs the Python store `store` (`module:Class`) behind the Python adapter:
/// the Python of `TOKENSTORE_PYTHON`, else the `python3` beside this executable (the virtual
/// environment it was installed into), else `python3` from `PATH`; the working directory first
/// on `sys.path`, so `module` is found where the command is typed; then `extra` (the adapter's
/// own flags, `--kwargs` among them).
pub fn python_command(store: &str, extra: &[String]) -> Result<Vec<String>, String> {
    let adapter = written("tokenstore_adapter.py", PYTHON_ADAPTER)?;
    let here = std::env::current_dir()
        .map_err(|e| format!("--python: cannot read the working directory: {e}"))?;
    let mut command = vec![
        python(),
        arg(&adapter),
        "--store".into(),
        store.to_owned(),
        "--path".into(),
        arg(&here),
    ];
    command.extend(extra.iter().cloned());
    Ok(command)
}

/// The command that runs the Node.js or TypeScript store `store` (`file.mjs:Export`) behind the
/// Node adapter, with `node` from `PATH`, then `extra` (the adapter's own flags).
pub fn node_command(store: &str, extra: &[String]) -> Result<Vec<String>, String> {
    let adapter = written("tokenstore_adapter.mjs", NODE_ADAPTER)?;
    let mut command = vec![
        "node".to_owned(),
        arg(&adapter),
        "--store".into(),
        store.to_owned(),
    ];
    command.extend(extra.iter().cloned());
    Ok(command)
}

fn python() -> String {
    if let Ok(python) = std::env::var("TOKENSTORE_PYTHON") {
        return python;
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("python3")))
        .filter(|p| p.exists());
    beside.map_or_else(|| "python3".to_owned(), |p| arg(&p))
}

/// The path of `name` holding `text`, written if it is not there yet (through a temporary file
/// and a rename, so a concurrent run never reads half of it).
fn written(name: &str, text: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "tokenstore-check-{}-{:016x}",
        env!("CARGO_PKG_VERSION"),
        fingerprint(text)
    ));
    let path = dir.join(name);
    if std::fs::read_to_string(&path).is_ok_and(|there| there == text) {
        return Ok(path);
    }
    let failed = |e: std::io::Error| format!("cannot write the adapter {}: {e}", path.display());
    std::fs::create_dir_all(&dir).map_err(failed)?;
    let partial = dir.join(format!(".{name}.{}", std::process::id()));
    std::fs::write(&partial, text).map_err(failed)?;
    std::fs::rename(&partial, &path).map_err(failed)?;
    Ok(path)
}

/// FNV-1a of `text`: names the directory of one adapter's version.
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_adapter_is_written_once_with_its_content() {
        let first = written("tokenstore_adapter.py", PYTHON_ADAPTER).unwrap();
        let again = written("tokenstore_adapter.py", PYTHON_ADAPTER).unwrap();
        assert_eq!(first, again);
        assert_eq!(std::fs::read_to_string(&first).unwrap(), PYTHON_ADAPTER);
        assert_ne!(fingerprint(PYTHON_ADAPTER), fingerprint(NODE_ADAPTER));
    }

    #[test]
    fn the_python_command_names_the_store_and_puts_the_working_directory_on_the_path() {
        let command =
            python_command("my_module:MyStore", &["--kwargs".into(), "{}".into()]).unwrap();
        assert!(command[1].ends_with("tokenstore_adapter.py"));
        assert_eq!(command[2..4], ["--store", "my_module:MyStore"]);
        assert_eq!(command[4], "--path");
        assert_eq!(
            command[5],
            std::env::current_dir().unwrap().to_string_lossy()
        );
        assert_eq!(command[6..], ["--kwargs", "{}"]);
    }
}
