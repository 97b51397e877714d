//! `run --seed`: where the values a run generates come from. Unseeded, from the OS; seeded,
//! each value is derived from the seed and what it is for (its purpose), so a case gets the
//! same `state` and PKCE verifier whether it runs alone (`--filter`) or in the whole suite.
//!
//! A seeded value is only as secret as the seed: seeds are for reproducing a run, and the
//! seed is printed in every report.

use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Randomness {
    seed: Option<u64>,
}

impl Randomness {
    pub fn seeded(seed: u64) -> Self {
        Randomness { seed: Some(seed) }
    }

    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// A generator for `purpose`: seeded, the same for the same (seed, purpose); else the OS's.
    pub fn rng(&self, purpose: &str) -> StdRng {
        match self.seed {
            Some(seed) => {
                let mut hash = Sha256::new();
                hash.update(seed.to_le_bytes());
                hash.update(purpose.as_bytes());
                StdRng::from_seed(hash.finalize().into())
            }
            None => StdRng::from_os_rng(),
        }
    }

    /// A base64url string of `bytes` random bytes for `purpose`.
    pub fn value(&self, purpose: &str, bytes: usize) -> String {
        crate::oauth::pkce::random(&mut self.rng(purpose), bytes)
    }

    /// Seeded, a loopback port for `purpose` in 10000..30000 (below Linux's ephemeral range,
    /// so a seeded run rarely meets a port the OS handed out); else 0 (any free port).
    pub fn port(&self, purpose: &str) -> u16 {
        match self.seed {
            Some(_) => 10_000 + (rand::Rng::random_range(&mut self.rng(purpose), 0..20_000u32) as u16),
            None => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_fixes_each_purpose_s_value_and_purposes_differ() {
        let seeded = Randomness::seeded(7);
        assert_eq!(seeded.value("state", 16), Randomness::seeded(7).value("state", 16));
        assert_ne!(seeded.value("state", 16), seeded.value("verifier", 16));
        assert_ne!(seeded.value("state", 16), Randomness::seeded(8).value("state", 16));
        assert_eq!(seeded.port("rs"), Randomness::seeded(7).port("rs"));
        assert!((10_000..30_000).contains(&seeded.port("rs")));
    }

    #[test]
    fn unseeded_values_differ_and_ports_are_left_to_the_os() {
        let os = Randomness::default();
        assert_ne!(os.value("state", 16), os.value("state", 16));
        assert_eq!(os.port("rs"), 0);
    }
}
