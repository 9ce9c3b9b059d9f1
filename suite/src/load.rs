//! The load of the tiers that run calls at once: how many tasks share one store object in the
//! concurrency tier, and how many processes share one storage in the processes tier's load check.
//! A leaf the runner and the checks both read.

/// How many clients the tiers that run calls at once use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Load {
    /// Tasks sharing one store object (the concurrency tier's checks).
    pub tasks: usize,
    /// Processes sharing one storage (the processes tier's load check).
    pub processes: usize,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            tasks: 16,
            processes: 4,
        }
    }
}
