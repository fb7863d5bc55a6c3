//! Ownership of the paged KV cache's blocks: which sequence holds which physical block, how many
//! hold it, and which full blocks can be found again by their contents (prefix reuse).
//!
//! A block is in exactly one of three states:
//! - **free**: on the free list, holding nothing anyone will ask for;
//! - **in use**: `refcount > 0`, listed in that many sequences' block tables;
//! - **cached**: `refcount == 0` but full and registered under its chain hash, waiting in an LRU
//!   for a later request with the same prefix. Cached blocks count as free: `alloc` takes a free
//!   block first and otherwise evicts the least recently released cached one.
//!
//! A full block's key is its tokens together with the key of the block before it, so two
//! sequences share block `i` only when their first `(i + 1) * block_size` tokens are equal.
//! Lookups compare the stored tokens too, so a 64-bit hash collision cannot hand out wrong K/V.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

/// Chain hash of a full block: its parent's hash and its tokens.
pub fn block_hash(parent: Option<u64>, tokens: &[u32]) -> u64 {
    let mut h = DefaultHasher::new();
    parent.hash(&mut h);
    tokens.hash(&mut h);
    h.finish()
}

/// What identifies a registered block.
#[derive(Clone, Debug, PartialEq, Eq)]
struct BlockKey {
    hash: u64,
    parent: Option<u64>,
    tokens: Vec<u32>,
}

pub struct BlockManager {
    block_size: usize,
    refcount: Vec<u32>,
    /// Blocks with nothing worth keeping, popped from the end.
    free: Vec<u32>,
    /// Registered contents of each block (full blocks only).
    key: Vec<Option<BlockKey>>,
    /// hash -> registered block.
    by_hash: HashMap<u64, u32>,
    /// Cached blocks (refcount 0, registered) by release time, oldest first.
    lru: BTreeMap<u64, u32>,
    /// The LRU tick of each cached block.
    lru_tick: Vec<Option<u64>>,
    tick: u64,
    hits: u64,
}

impl BlockManager {
    pub fn new(n_blocks: usize, block_size: usize) -> BlockManager {
        assert!(block_size > 0 && n_blocks <= u32::MAX as usize);
        BlockManager {
            block_size,
            refcount: vec![0; n_blocks],
            free: (0..n_blocks as u32).rev().collect(),
            key: vec![None; n_blocks],
            by_hash: HashMap::new(),
            lru: BTreeMap::new(),
            lru_tick: vec![None; n_blocks],
            tick: 0,
            hits: 0,
        }
    }

    pub fn block_size(&self) -> usize {
        self.block_size
    }

    pub fn n_blocks(&self) -> usize {
        self.refcount.len()
    }

    /// Blocks `alloc` can hand out: free ones plus cached ones it may evict.
    pub fn n_free(&self) -> usize {
        self.free.len() + self.lru.len()
    }

    /// Blocks held only as reusable cache.
    pub fn n_cached(&self) -> usize {
        self.lru.len()
    }

    /// Blocks found by prefix lookups so far.
    pub fn prefix_hits(&self) -> u64 {
        self.hits
    }

    /// A block for one owner: a free one, else the least recently used cached one (forgotten).
    pub fn alloc(&mut self) -> Option<u32> {
        let b = match self.free.pop() {
            Some(b) => b,
            None => {
                let (_, b) = self.lru.pop_first()?;
                self.lru_tick[b as usize] = None;
                self.unregister(b);
                b
            }
        };
        self.refcount[b as usize] = 1;
        Some(b)
    }

    /// `n` blocks or none (nothing changes when they are not all there).
    pub fn alloc_n(&mut self, n: usize) -> Option<Vec<u32>> {
        if self.n_free() < n {
            return None;
        }
        Some((0..n).map(|_| self.alloc().expect("counted")).collect())
    }

    /// Drops one owner's hold on each block; blocks nobody holds become cached (registered
    /// ones, most recently released last) or free.
    pub fn release(&mut self, blocks: &[u32]) {
        // Release the tail first, so that on eviction a sequence's later blocks (useless without
        // the earlier ones) go before its earlier ones.
        for &b in blocks.iter().rev() {
            let rc = &mut self.refcount[b as usize];
            assert!(*rc > 0, "block {b} released but not held");
            *rc -= 1;
            if *rc == 0 {
                if self.key[b as usize].is_some() {
                    self.tick += 1;
                    self.lru.insert(self.tick, b);
                    self.lru_tick[b as usize] = Some(self.tick);
                } else {
                    self.free.push(b);
                }
            }
        }
    }

    /// Records that `block` (held by the caller) is full with `tokens`, after a prefix whose last
    /// block hashed to `parent`; returns the block's hash. If another block already holds the
    /// same contents, this one stays unregistered (its owner keeps using it).
    pub fn register(&mut self, block: u32, parent: Option<u64>, tokens: &[u32]) -> u64 {
        debug_assert_eq!(tokens.len(), self.block_size);
        let hash = block_hash(parent, tokens);
        if self.key[block as usize].is_none() && !self.by_hash.contains_key(&hash) {
            self.by_hash.insert(hash, block);
            self.key[block as usize] = Some(BlockKey { hash, parent, tokens: tokens.to_vec() });
        }
        hash
    }

    /// The registered block holding `tokens` after `parent`, taken for one more owner.
    pub fn lookup(&mut self, parent: Option<u64>, tokens: &[u32]) -> Option<(u32, u64)> {
        let hash = block_hash(parent, tokens);
        let &b = self.by_hash.get(&hash)?;
        let key = self.key[b as usize].as_ref().expect("registered");
        if key.parent != parent || key.tokens != tokens {
            return None; // hash collision
        }
        if let Some(t) = self.lru_tick[b as usize].take() {
            self.lru.remove(&t);
        }
        self.refcount[b as usize] += 1;
        self.hits += 1;
        Some((b, hash))
    }

    /// The registered block holding `tokens` after `parent` and its hash, ownership unchanged.
    pub fn peek(&self, parent: Option<u64>, tokens: &[u32]) -> Option<(u32, u64)> {
        let hash = block_hash(parent, tokens);
        let &b = self.by_hash.get(&hash)?;
        let k = self.key[b as usize].as_ref()?;
        (k.parent == parent && k.tokens == tokens).then_some((b, hash))
    }

    /// Whether `tokens` after `parent` is registered (no change of ownership).
    pub fn contains(&self, parent: Option<u64>, tokens: &[u32]) -> bool {
        self.peek(parent, tokens).is_some()
    }

    /// Whether `b` is cached (held by nobody, kept for reuse); lookups would take it out of the
    /// free count.
    pub fn is_cached(&self, b: u32) -> bool {
        self.lru_tick[b as usize].is_some()
    }

    fn unregister(&mut self, b: u32) {
        if let Some(k) = self.key[b as usize].take() {
            self.by_hash.remove(&k.hash);
        }
    }

    pub fn refcount(&self, b: u32) -> u32 {
        self.refcount[b as usize]
    }

    /// Checks the bookkeeping against the block tables of every owner: each block is exactly one
    /// of free, cached or held, and held blocks are held exactly `refcount` times.
    pub fn check<'a>(&self, tables: impl IntoIterator<Item = &'a [u32]>) -> Result<(), String> {
        let n = self.n_blocks();
        let mut owners = vec![0u32; n];
        for t in tables {
            for &b in t {
                *owners.get_mut(b as usize).ok_or(format!("block {b} out of range"))? += 1;
            }
        }
        let mut state = vec![0u8; n];
        for &b in &self.free {
            state[b as usize] += 1;
            if self.key[b as usize].is_some() {
                return Err(format!("free block {b} is registered"));
            }
        }
        for (&t, &b) in &self.lru {
            state[b as usize] += 1;
            if self.lru_tick[b as usize] != Some(t) || self.key[b as usize].is_none() {
                return Err(format!("cached block {b} has inconsistent LRU or key"));
            }
        }
        for b in 0..n {
            let rc = self.refcount[b];
            if rc != owners[b] {
                return Err(format!("block {b} has refcount {rc} but {} owners", owners[b]));
            }
            if rc > 0 {
                state[b] += 1;
            }
            if state[b] != 1 {
                return Err(format!("block {b} is in {} of free/cached/held", state[b]));
            }
        }
        for (&h, &b) in &self.by_hash {
            if self.key[b as usize].as_ref().map(|k| k.hash) != Some(h) {
                return Err(format!("hash index names block {b} that holds something else"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_release_and_reuse() {
        let mut bm = BlockManager::new(4, 2);
        let a = bm.alloc_n(2).unwrap();
        let h0 = bm.register(a[0], None, &[1, 2]);
        bm.register(a[1], Some(h0), &[3, 4]);
        bm.release(&a);
        assert_eq!(bm.n_free(), 4);
        assert_eq!(bm.n_cached(), 2);
        let (b0, h) = bm.lookup(None, &[1, 2]).unwrap();
        assert_eq!((b0, h), (a[0], h0));
        assert!(bm.lookup(Some(h0), &[3, 5]).is_none());
        assert_eq!(bm.n_free(), 3);
        // Fill the rest: the free blocks go first, then the cached [3, 4] block is evicted.
        let rest = bm.alloc_n(3).unwrap();
        assert!(!bm.contains(Some(h0), &[3, 4]));
        assert!(bm.alloc().is_none());
        bm.check([&[b0][..], &rest]).unwrap();
        bm.release(&rest);
        bm.release(&[b0]);
        assert_eq!(bm.n_free(), 4);
        bm.check([]).unwrap();
    }
}
