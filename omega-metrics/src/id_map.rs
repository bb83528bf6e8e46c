//! [`IdMap`]: a hash map for small integer ids (jobs, users, tasks) with rustc's fast Fx
//! hasher instead of std's SipHash, which shows in the recorder's cost per fact. Iteration
//! order is never used for output.

/// A `HashMap` keyed by ids, hashed with the Fx hasher.
pub(crate) type IdMap<K, V> = rustc_hash::FxHashMap<K, V>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_keys() {
        let mut map: IdMap<omega_core::JobId, u32> = IdMap::default();
        map.insert(omega_core::JobId(7), 1);
        map.insert(omega_core::JobId(8), 2);
        assert_eq!(map.get(&omega_core::JobId(7)), Some(&1));
        assert_eq!(map.len(), 2);
    }
}
