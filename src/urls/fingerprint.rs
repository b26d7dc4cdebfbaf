//! Fingerprints of normalized URLs, and the sets that keep them: 8 bytes a
//! URL instead of the URL itself.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use url::Url;

/// A 64-bit fingerprint of a normalized URL, for the seen-set.
///
/// Collisions are possible in principle (about one in 10^8 for a million seeds);
/// fingerprints keep the set at ~9 bytes a seed instead of the whole URL.
pub fn fingerprint(url: &Url) -> u64 {
    let mut hasher = DefaultHasher::new();
    url.as_str().hash(&mut hasher);
    hasher.finish()
}

/// URLs already queued, kept as fingerprints.
#[derive(Debug, Default)]
pub struct SeenSet(HashSet<u64, BuildHasherDefault<IdentityHasher>>);

impl SeenSet {
    /// An empty set with room for `capacity` URLs, so it never grows in steps.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(HashSet::with_capacity_and_hasher(
            capacity,
            BuildHasherDefault::default(),
        ))
    }

    /// Records `url`; `true` when it was not seen before.
    pub fn insert(&mut self, url: &Url) -> bool {
        self.0.insert(fingerprint(url))
    }

    /// How many distinct URLs were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Counts distinct URLs in 8 bytes each (a sorted list of fingerprints), a
/// third of what a [`SeenSet`] costs while it grows: validating a million
/// seeds peaks at 8 MB, not 28 MB.
#[derive(Debug, Default)]
pub struct DistinctCount(Vec<u64>);

impl DistinctCount {
    /// Counts `url`.
    pub fn insert(&mut self, url: &Url) {
        if self.0.len() == self.0.capacity() && self.0.len() >= 1024 {
            // Drop duplicates before growing, so repeats never cost memory.
            self.compact();
        }
        self.0.push(fingerprint(url));
    }

    /// How many distinct URLs were counted.
    pub fn len(&mut self) -> usize {
        self.compact();
        self.0.len()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn compact(&mut self) {
        self.0.sort_unstable();
        self.0.dedup();
    }
}

/// Fingerprints are already well mixed; hashing them again would be wasted work.
#[derive(Debug, Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8) | u64::from(*byte);
        }
    }
    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::urls::parse_seed;

    #[test]
    fn distinct_count_counts_each_url_once() {
        let mut count = DistinctCount::default();
        for index in 0..5000 {
            let url = parse_seed(&format!("http://127.0.0.1/{}", index % 3000)).unwrap();
            count.insert(&url);
        }
        assert_eq!(count.len(), 3000);
    }

    #[test]
    fn seen_set_deduplicates_normalized_urls() {
        let mut seen = SeenSet::default();
        let a = parse_seed("http://127.0.0.1/a#x").unwrap();
        let b = parse_seed("HTTP://127.0.0.1:80/a").unwrap();
        assert!(seen.insert(&a));
        assert!(!seen.insert(&b));
        assert_eq!(seen.len(), 1);
    }
}
