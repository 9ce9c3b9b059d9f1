//! `tokenstore-check serve`: serves a built-in store over the adapter protocol, for the
//! processes and crash tiers: one that keeps its storage in a directory, or a server backend on
//! the server at `--url` (else its `TOKENSTORE_<SERVER>_URL`).

use crate::serve::Served;
use std::process::ExitCode;
use tokenstore_backends::ServerFixture;

pub fn serve(backend: &str, url: Option<&str>) -> Result<ExitCode, String> {
    let served = match tokenstore_backends::server(backend) {
        Some(server) => {
            let url = match url {
                Some(url) => url.to_owned(),
                None => std::env::var(server.url_variable()).map_err(|_| {
                    format!(
                        "serve --backend {backend} needs --url URL or {}",
                        server.url_variable()
                    )
                })?,
            };
            Served::Server(ServerFixture::at(server, &url))
        }
        None if url.is_some() => {
            let servers: Vec<&str> = tokenstore_backends::BACKENDS
                .iter()
                .filter_map(|b| b.server().map(|s| s.name()))
                .collect();
            return Err(format!(
                "--url is for a server backend ({}), not {backend:?}",
                servers.join(", ")
            ));
        }
        None => Served::Dir(crate::builtin::dir_fixture(backend, None).ok_or_else(|| {
            format!(
                "serve takes a built-in backend, not {backend:?}: one of {}",
                crate::builtin::all_names().join(", ")
            )
        })?),
    };
    crate::serve::serve(&served)
        .map(|()| ExitCode::SUCCESS)
        .map_err(|e| format!("serving {backend}: {e}"))
}
