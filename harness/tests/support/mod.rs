//! Test support shared by the harness's own tests.

pub mod broken;
