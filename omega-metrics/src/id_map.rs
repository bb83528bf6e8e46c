//! [`IdMap`]: a hash map for small integer ids (jobs, users) with a fast, fixed hasher
//! (one SplitMix64 step a word) instead of std's SipHash, which shows in the recorder's cost
//! per fact. Iteration order is never used for output.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use omega_core::splitmix64;

/// A hasher for integer keys: each written word goes through one SplitMix64 step.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }

    fn write_u64(&mut self, x: u64) {
        self.0 = splitmix64(self.0 ^ x);
    }
}

/// A `HashMap` keyed by ids, hashed with [`IdHasher`].
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hash;

    fn hash_of(x: impl Hash) -> u64 {
        let mut h = IdHasher::default();
        x.hash(&mut h);
        h.finish()
    }

    #[test]
    fn neighbouring_ids_hash_apart() {
        let a = hash_of(omega_core::JobId(1));
        let b = hash_of(omega_core::JobId(2));
        assert_ne!(a, b);
        // A good mixer flips about half the bits between neighbours.
        assert!((a ^ b).count_ones() > 16, "{a:x} {b:x}");
        let mut map: IdMap<u64, u32> = IdMap::default();
        map.insert(7, 1);
        assert_eq!(map.get(&7), Some(&1));
    }
}
