//! Empty: with a build script, cargo applies the build-dependencies of `Cargo.toml` too.
fn main() {}
