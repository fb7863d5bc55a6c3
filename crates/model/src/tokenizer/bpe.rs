//! Byte-level BPE (`llm_tokenizer_bpe_session::tokenize` in llama.cpp): each pre-tokenized word
//! is mapped byte by byte to GPT-2's printable characters, then the adjacent pair of lowest merge
//! rank (leftmost on ties) is merged until no pair has a rank.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use gguf::Metadata;

use super::unicode;
use super::vocab::Vocab;
use crate::ModelError;

/// Merge ranks. Pairs whose halves are both tokens (all of them in practice) are keyed by id;
/// the rest by text, so even odd merge lists behave exactly as llama.cpp's string-keyed map.
pub struct Merges {
    by_id: HashMap<(u32, u32), u32>,
    by_text: HashMap<(Box<str>, Box<str>), u32>,
}

impl Merges {
    pub fn from_metadata(m: &Metadata, vocab: &Vocab) -> Result<Merges, ModelError> {
        let list = m.str_array("tokenizer.ggml.merges")?;
        let mut by_id = HashMap::with_capacity(list.len());
        let mut by_text = HashMap::new();
        for (rank, merge) in list.iter().enumerate() {
            // "left right", split at the first space after the first byte; an entry without one
            // can never match (llama.cpp stores it as an empty pair).
            let Some(pos) = merge.bytes().skip(1).position(|b| b == b' ') else {
                continue;
            };
            let (left, right) = (&merge[..pos + 1], &merge[pos + 2..]);
            let rank = rank as u32;
            // The first occurrence of a pair keeps its rank (std::unordered_map::emplace).
            match (vocab.id(left), vocab.id(right)) {
                (Some(l), Some(r)) => by_id.entry((l, r)).or_insert(rank),
                _ => by_text.entry((left.into(), right.into())).or_insert(rank),
            };
        }
        Ok(Merges { by_id, by_text })
    }

    fn rank(&self, left: &Sym, right: &Sym, word: &str) -> Option<u32> {
        match (left.id, right.id) {
            (Some(l), Some(r)) => self.by_id.get(&(l, r)).copied(),
            _ if self.by_text.is_empty() => None,
            _ => {
                let key = (word[left.range()].into(), word[right.range()].into());
                self.by_text.get(&key).copied()
            }
        }
    }
}

/// A run of the word's characters; `len == 0` once merged into its left neighbour.
#[derive(Clone, Copy)]
struct Sym {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
    id: Option<u32>,
}

impl Sym {
    fn range(&self) -> std::ops::Range<usize> {
        self.start..self.start + self.len
    }
}

/// Encodes one pre-tokenized word (raw text; the byte mapping happens here) into `out`.
pub fn encode_word(vocab: &Vocab, merges: &Merges, ignore_merges: bool, raw: &str, out: &mut Vec<u32>) {
    let map = unicode::byte_to_char();
    let word: String = raw.bytes().map(|b| map[b as usize]).collect();
    if ignore_merges {
        if let Some(id) = vocab.id(&word) {
            out.push(id);
            return;
        }
    }
    let mut syms: Vec<Sym> = word
        .char_indices()
        .map(|(i, c)| {
            let len = c.len_utf8();
            Sym { start: i, len, prev: None, next: None, id: vocab.id(&word[i..i + len]) }
        })
        .collect();
    let n = syms.len();
    for (i, s) in syms.iter_mut().enumerate() {
        s.prev = i.checked_sub(1);
        s.next = (i + 1 < n).then_some(i + 1);
    }

    // Min-heap on (rank, left index, merged byte length at push time).
    let mut queue = BinaryHeap::new();
    let push = |queue: &mut BinaryHeap<_>, syms: &[Sym], l: usize, r: usize| {
        if let Some(rank) = merges.rank(&syms[l], &syms[r], &word) {
            queue.push(Reverse((rank, l, syms[l].len + syms[r].len)));
        }
    };
    for i in 1..n {
        push(&mut queue, &syms, i - 1, i);
    }
    while let Some(Reverse((_, l, size))) = queue.pop() {
        let Some(r) = syms[l].next else { continue };
        // A pair is stale once either side changed: llama.cpp compares texts, and since a
        // symbol's start never moves, equal texts means equal lengths.
        if syms[l].len == 0 || syms[r].len == 0 || syms[l].len + syms[r].len != size {
            continue;
        }
        syms[l].len = size;
        syms[l].id = vocab.id(&word[syms[l].range()]);
        syms[r].len = 0;
        syms[l].next = syms[r].next;
        if let Some(nn) = syms[r].next {
            syms[nn].prev = Some(l);
        }
        if let Some(p) = syms[l].prev {
            push(&mut queue, &syms, p, l);
        }
        if let Some(nx) = syms[l].next {
            push(&mut queue, &syms, l, nx);
        }
    }

    for s in syms.iter().filter(|s| s.len > 0) {
        match s.id {
            Some(id) => out.push(id),
            // A merge result that is not a token: llama.cpp looks up each byte of the mapped
            // text as a one-byte token and drops the bytes that are none.
            None => out.extend(
                word[s.range()]
                    .bytes()
                    .filter(u8::is_ascii)
                    .filter_map(|b| vocab.id(std::str::from_utf8(&[b]).unwrap_or(""))),
            ),
        }
    }
}
