//! No code: the features the workspace build gives the third-party crates, as dependencies of
//! the packages maturin builds alone (`tokenstore-check`, `tokenstore-python`), so their wheels
//! reuse the workspace build. `cargo hakari generate` rewrites `Cargo.toml` after a dependency
//! change; `ci/maturin.sh build` fails under ci/test.sh when it is out of date.
