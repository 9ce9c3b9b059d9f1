//! Replay files: a failing sequence of the model-based test, saved so that it can be run again
//! (`tokenstore-check replay FILE --backend NAME`) after a fix, or against another store.

use crate::machine::Step;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The format tag every replay file starts with.
pub const FORMAT: &str = "tokenstore-replay/1";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplayFile {
    pub format: String,
    /// The store the sequence failed on.
    pub backend: String,
    /// The rule it broke, and how.
    pub rule: String,
    pub message: String,
    /// The seed of the run that found it.
    pub seed: u64,
    pub steps: Vec<Step>,
}

impl ReplayFile {
    /// Writes the file as `DIR/BACKEND-RULE.json` and returns its path.
    pub fn write(&self, dir: &Path) -> Result<PathBuf, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join(format!("{}-{}.json", self.backend, self.rule));
        let json = serde_json::to_string_pretty(self).expect("a replay file is plain data");
        std::fs::write(&path, json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(path)
    }

    /// Reads a replay file; the error is one line saying what is wrong with it.
    pub fn read(path: &Path) -> Result<ReplayFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read replay file {}: {e}", path.display()))?;
        let file: ReplayFile = serde_json::from_str(&text).map_err(|e| {
            format!("{} is not a replay file ({e}); replay files are the JSON files `run` writes to its replay directory", path.display())
        })?;
        if file.format != FORMAT {
            return Err(format!(
                "{} has format {:?}; this tokenstore-check reads {FORMAT:?}",
                path.display(),
                file.format
            ));
        }
        Ok(file)
    }
}
