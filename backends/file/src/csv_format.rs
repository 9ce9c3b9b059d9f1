//! Reading and writing the Python SDK FileStore's CSV format; nothing here knows the spec.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use tokenstore_core::{Field, Result, StoreError, Token};

/// The header the Python SDK writes (the other SDKs spell the ninth column `redirect_url`).
pub const HEADER: [&str; 10] = [
    "id",
    "user_name",
    "client_id",
    "client_secret",
    "refresh_token",
    "access_token",
    "grant_token",
    "expiry_time",
    "redirect_uri",
    "api_domain",
];

/// The tokens in the file; a missing or empty file holds none.
pub fn read_file(path: &Path) -> Result<Vec<Token>> {
    parse(path, &read_bytes(path)?)
}

/// The file's bytes, in one read; a missing file reads as empty.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    match fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io_error("cannot read", path, e)),
    }
}

/// The tokens in `bytes`, the content of the file at `path` (named in the errors); empty bytes
/// hold none.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Vec<Token>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    let width = match records.next() {
        None => return Ok(Vec::new()),
        Some(header) => {
            let header = header.map_err(|e| corrupt(path, format!("unreadable header: {e}")))?;
            if header.get(0) != Some("id") || !(9..=10).contains(&header.len()) {
                return Err(corrupt(
                    path,
                    "the first line is not the SDK's token header (id,user_name,...)".into(),
                ));
            }
            header.len()
        }
    };
    let mut tokens = Vec::new();
    for (line, record) in records.enumerate() {
        let record = record.map_err(|e| corrupt(path, format!("row {}: {e}", line + 1)))?;
        if record.len() != width {
            return Err(corrupt(
                path,
                format!(
                    "row {} has {} fields, the header {width}",
                    line + 1,
                    record.len()
                ),
            ));
        }
        let mut token = Token::default();
        for (field, value) in Field::ALL.into_iter().zip(record.iter()) {
            token.set(field, Some(value.to_owned()));
        }
        tokens.push(token);
    }
    Ok(tokens)
}

/// Replaces the file with these tokens: written beside it, flushed, then renamed over it.
pub fn write_file(path: &Path, tokens: &[Token]) -> Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    let encode = |e: csv::Error| StoreError::backend(format!("cannot encode CSV: {e}"), e);
    writer.write_record(HEADER).map_err(encode)?;
    for token in tokens {
        writer
            .write_record(Field::ALL.map(|f| token.get(f).unwrap_or("")))
            .map_err(encode)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| StoreError::backend("cannot encode CSV", e.into_error()))?;

    let temp = temp_path(path);
    let result = write_new(&temp, &bytes).and_then(|()| {
        fs::rename(&temp, path).map_err(|e| io_error("cannot rename over", path, e))
    });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn write_new(temp: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(temp)
        .map_err(|e| io_error("cannot create", temp, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error("cannot write", temp, e))
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "tokens.csv".into());
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::backend(format!("file: {what} {}: {e}", path.display()), e)
}

fn corrupt(path: &Path, why: String) -> StoreError {
    StoreError::Backend {
        message: format!(
            "file: {} is not a readable token file: {why}; fix or move the file",
            path.display()
        ),
        source: None,
    }
}
