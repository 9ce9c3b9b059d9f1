//! Test support shared by the kit's tests: the deliberately broken stores, the Python and Node
//! controls behind their adapters, and private server instances.

pub mod broken;
pub mod node_controls;
pub mod private_server;
pub mod python_controls;
