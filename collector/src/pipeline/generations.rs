//! A bounded map from 64-bit hashes to small values that forgets its
//! oldest entries first, a generation at a time: the memory of recent page
//! views behind [`super::engagement`].
//!
//! Each of [`SHARDS`] shards holds two generations, `current` and
//! `previous`. New entries go into `current`; when it is full, `previous`
//! is dropped whole and `current` takes its place. An entry used again
//! from `previous` moves back into `current`, so what is in use survives.
//!
//! Why not a cache crate: `quick_cache` spent about 72 bytes per entry
//! here (measured: 524,288 page views in 37 MiB), for a 20-byte entry.
//! Plain hash tables sized so that a full generation fills its table to
//! the 7/8 load limit, and never grows it, spend about 26 bytes.

use std::collections::HashMap;
use std::sync::Mutex;

/// Shards, so that concurrent beacons rarely wait for one another.
pub const SHARDS: usize = 64;

/// Entries per generation and shard: 7/8 of 4,096 buckets.
pub const PER_GENERATION: usize = 3584;

/// Entries remembered at most.
pub const CAPACITY: usize = SHARDS * 2 * PER_GENERATION;

/// What [`Generations::update`] does with the entry it found.
pub enum Action<R> {
    Keep(R),
    Remove,
}

type Table<V> = HashMap<u64, V, foldhash::fast::RandomState>;

struct Shard<V> {
    current: Table<V>,
    previous: Table<V>,
}

impl<V> Shard<V> {
    fn new() -> Self {
        let table = || Table::with_capacity_and_hasher(PER_GENERATION, Default::default());
        Self {
            current: table(),
            previous: table(),
        }
    }

    /// Makes room for one more entry in `current`.
    fn room(&mut self) {
        if self.current.len() >= PER_GENERATION {
            std::mem::swap(&mut self.current, &mut self.previous);
            // Keeps the table's allocation for the next generation.
            self.current.clear();
        }
    }

    fn insert(&mut self, key: u64, value: V) {
        self.previous.remove(&key);
        if !self.current.contains_key(&key) {
            self.room();
        }
        self.current.insert(key, value);
    }
}

pub struct Generations<V> {
    shards: Box<[Mutex<Shard<V>>]>,
}

impl<V> Default for Generations<V> {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::new())).collect(),
        }
    }
}

impl<V> Generations<V> {
    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, Shard<V>> {
        // The keys are hashes already: their top bits pick the shard.
        let index = (key >> 58) as usize % SHARDS;
        self.shards[index]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn insert(&self, key: u64, value: V) {
        self.shard(key).insert(key, value);
    }

    /// Runs `f` on the entry of `key`, if there is one, and keeps or
    /// removes it as `f` says. An entry kept from `previous` moves to
    /// `current`.
    pub fn update<R>(&self, key: u64, f: impl FnOnce(&mut V) -> Action<R>) -> Option<R> {
        let mut shard = self.shard(key);
        if let Some(value) = shard.current.get_mut(&key) {
            return match f(value) {
                Action::Keep(r) => Some(r),
                Action::Remove => {
                    shard.current.remove(&key);
                    None
                }
            };
        }
        let mut value = shard.previous.remove(&key)?;
        match f(&mut value) {
            Action::Keep(r) => {
                shard.insert(key, value);
                Some(r)
            }
            Action::Remove => None,
        }
    }

    /// Keeps only the entries for which `keep` is true.
    pub fn retain(&self, mut keep: impl FnMut(&V) -> bool) {
        for shard in self.shards.iter() {
            let mut shard = shard
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            shard.current.retain(|_, v| keep(v));
            shard.previous.retain(|_, v| keep(v));
        }
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let shard = shard
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                shard.current.len() + shard.previous.len()
            })
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Keys below 2^58 all land in shard 0, so small numbers fill one shard.

    #[test]
    fn a_full_generation_pushes_out_the_oldest() {
        let map = Generations::default();
        let per = PER_GENERATION as u64;
        for n in 0..2 * per {
            map.insert(n, n);
        }
        assert_eq!(map.len(), 2 * PER_GENERATION);
        // One more: the first generation (0..per) goes, the second stays.
        map.insert(2 * per, 2 * per);
        assert_eq!(map.len(), PER_GENERATION + 1);
        assert_eq!(map.update(0, |v| Action::Keep(*v)), None);
        assert_eq!(map.update(per, |v| Action::Keep(*v)), Some(per));
    }

    #[test]
    fn an_entry_used_again_survives_its_generation() {
        let map = Generations::default();
        let per = PER_GENERATION as u64;
        for n in 0..per {
            map.insert(n, n);
        }
        // Fill the next generation, using entry 0 halfway.
        for n in per..2 * per {
            if n == per + 10 {
                assert_eq!(map.update(0, |v| Action::Keep(*v)), Some(0));
            }
            map.insert(n, n);
        }
        // Entry 0 outlived its first generation (0..per), dropped by now.
        map.insert(2 * per, 0);
        assert_eq!(map.update(0, |v| Action::Keep(*v)), Some(0));
        assert_eq!(map.update(1, |v| Action::Keep(*v)), None);
    }

    #[test]
    fn update_can_remove_and_retain_filters() {
        let map = Generations::default();
        for n in 0..10u64 {
            map.insert(n << 58, n);
        }
        assert_eq!(map.update::<()>(3 << 58, |_| Action::Remove), None);
        assert_eq!(map.len(), 9);
        map.retain(|v| v % 2 == 0);
        assert_eq!(map.len(), 5);
        assert!(map.update(4 << 58, |v| Action::Keep(*v)).is_some());
        assert!(map.update(5 << 58, |v| Action::Keep(*v)).is_none());
    }
}
