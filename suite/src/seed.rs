//! Randomness drawn from a seed: the same seed generates the same sequences, histories and kill
//! times, so a failure is replayed by its seed.

use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// proptest's random source for `seed`: the same seed draws the same values.
pub fn seeded_rng(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// A proptest runner with `config` whose cases are drawn from `seed`.
pub fn seeded_runner(config: Config, seed: u64) -> TestRunner {
    TestRunner::new_with_rng(config, seeded_rng(seed))
}
