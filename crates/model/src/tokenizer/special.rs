//! Splitting raw text on special-token texts before tokenization
//! (`llama_vocab::impl::tokenizer_st_partition`).
//!
//! llama.cpp takes the special tokens longest text first and, for each, cuts every remaining
//! text fragment at all its occurrences. Doing that for all of a vocabulary's special tokens
//! (Gemma has 6414) would cost tokens x text length, so a trie scan first finds which special
//! texts occur in the input at all; only those run the (exact) llama.cpp procedure.

use std::ops::Range;

use super::vocab::{attr, Vocab, SPECIAL_ATTRS};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fragment {
    Text(Range<usize>),
    Token(u32),
}

/// Per trie node: sorted (byte, child) edges and the token ending here.
type Node = (Vec<(u8, u32)>, Option<u32>);

/// A byte trie over the special texts; each node may end one token.
struct Trie {
    nodes: Vec<Node>,
}

impl Trie {
    fn new() -> Trie {
        Trie { nodes: vec![(Vec::new(), None)] }
    }

    fn insert(&mut self, text: &[u8], id: u32) {
        let mut node = 0;
        for &b in text {
            let edges = &self.nodes[node].0;
            node = match edges.binary_search_by_key(&b, |e| e.0) {
                Ok(k) => edges[k].1 as usize,
                Err(k) => {
                    let child = self.nodes.len();
                    self.nodes.push((Vec::new(), None));
                    self.nodes[node].0.insert(k, (b, child as u32));
                    child
                }
            };
        }
        self.nodes[node].1 = Some(id);
    }

    /// Calls `f` with every token whose text starts at the beginning of `s`.
    fn prefixes(&self, s: &[u8], mut f: impl FnMut(u32)) {
        let mut node = 0;
        for &b in s {
            let edges = &self.nodes[node].0;
            match edges.binary_search_by_key(&b, |e| e.0) {
                Ok(k) => node = edges[k].1 as usize,
                Err(_) => return,
            }
            if let Some(id) = self.nodes[node].1 {
                f(id);
            }
        }
    }
}

pub struct Specials {
    /// Special token ids in llama.cpp's order: longest text first (ties by id; llama.cpp's
    /// unstable sort leaves them unspecified, which only matters for equal-length texts that
    /// overlap in the input).
    order: Vec<u32>,
    /// Position of each id in `order`, indexed by id (u32::MAX when not special).
    rank: Vec<u32>,
    trie: Trie,
}

impl Specials {
    pub fn new(vocab: &Vocab) -> Specials {
        let mut order: Vec<u32> = (0..vocab.len() as u32).filter(|&id| vocab.attr(id) & SPECIAL_ATTRS != 0).collect();
        let len = |id: u32| vocab.text(id).map_or(0, str::len);
        order.sort_by_key(|&id| (std::cmp::Reverse(len(id)), id));
        let mut rank = vec![u32::MAX; vocab.len()];
        let mut trie = Trie::new();
        for (k, &id) in order.iter().enumerate() {
            rank[id as usize] = k as u32;
            trie.insert(vocab.text(id).unwrap_or("").as_bytes(), id);
        }
        Specials { order, rank, trie }
    }

    /// Cuts `text` into raw fragments and special tokens. Without `parse_special` only
    /// user-defined tokens are recognised (control and unknown texts stay text).
    pub fn partition(&self, vocab: &Vocab, text: &str, parse_special: bool) -> Vec<Fragment> {
        if text.is_empty() {
            return Vec::new();
        }
        let mut frags = vec![Fragment::Text(0..text.len())];
        if self.order.is_empty() {
            return frags;
        }
        let skip = |id: u32| !parse_special && vocab.attr(id) & (attr::CONTROL | attr::UNKNOWN) != 0;
        let bytes = text.as_bytes();
        let mut present = Vec::new();
        for start in 0..bytes.len() {
            self.trie.prefixes(&bytes[start..], |id| {
                if !skip(id) {
                    present.push(self.rank[id as usize]);
                }
            });
        }
        present.sort_unstable();
        present.dedup();
        for rank in present {
            let id = self.order[rank as usize];
            frags = split_all(&frags, bytes, vocab, id);
        }
        frags
    }
}

/// Replaces every text fragment by its pieces around the occurrences of token `id`.
fn split_all(frags: &[Fragment], bytes: &[u8], vocab: &Vocab, id: u32) -> Vec<Fragment> {
    let needle = vocab.text(id).unwrap_or("").as_bytes();
    let a = vocab.attr(id);
    let mut out = Vec::with_capacity(frags.len() + 2);
    for f in frags {
        let Fragment::Text(r) = f else {
            out.push(f.clone());
            continue;
        };
        let (mut start, end) = (r.start, r.end);
        while let Some(m) = find(&bytes[start..end], needle).map(|k| start + k) {
            let mut left_end = m;
            if a & attr::LSTRIP != 0 {
                while left_end > start && is_space(bytes[left_end - 1]) {
                    left_end -= 1;
                }
            }
            if left_end > start {
                out.push(Fragment::Text(start..left_end));
            }
            out.push(Fragment::Token(id));
            start = m + needle.len();
            if a & attr::RSTRIP != 0 {
                while start < end && is_space(bytes[start]) {
                    start += 1;
                }
            }
        }
        if start < end {
            out.push(Fragment::Text(start..end));
        }
    }
    out
}

/// C `isspace` in the "C" locale, which llama.cpp uses for LSTRIP / RSTRIP.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    let first = needle[0];
    (0..=hay.len() - needle.len()).find(|&i| hay[i] == first && hay[i..].starts_with(needle))
}
