//! Test support shared by the kit's tests: the deliberately broken stores, and the Python and
//! Node controls behind their adapters.

pub mod broken;
pub mod node_controls;
pub mod python_controls;
