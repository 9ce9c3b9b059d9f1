//! `tokenstore-check replay`: runs a saved failing sequence again against one store.

use crate::cli::{one_store, Stores};
use std::path::PathBuf;
use std::process::ExitCode;
use tokenstore_suite::replay::ReplayFile;
use tokenstore_suite::{machine, profile, runner};

pub fn replay(path: PathBuf, stores: &Stores) -> Result<ExitCode, String> {
    let file = ReplayFile::read(&path)?;
    let fixture = one_store(stores)?;
    let rt = runner::runtime();
    let (transcript, result) = rt
        .block_on(async {
            let profile = profile::detect(fixture.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            let storage = fixture.storage().await?;
            let outcome = machine::execute(&*storage, &file.steps, profile.choices, None).await;
            let _ = storage.remove().await;
            Ok::<_, String>(outcome)
        })
        .map_err(|e| format!("cannot run {}: {e}", fixture.name()))?;
    println!(
        "replaying {} ({} steps, found on {} breaking {})",
        path.display(),
        file.steps.len(),
        file.backend,
        file.rule
    );
    for line in &transcript {
        println!("  {line}");
    }
    Ok(match result {
        Ok(()) => {
            println!("{}: the sequence passes", fixture.name());
            ExitCode::SUCCESS
        }
        Err(v) => {
            println!("{}: still breaks {}: {}", fixture.name(), v.rule, v.message);
            ExitCode::from(1)
        }
    })
}
