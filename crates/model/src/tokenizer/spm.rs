//! SentencePiece-style merging (`llm_tokenizer_spm_session::tokenize` in llama.cpp): start from
//! single characters and repeatedly merge the adjacent pair whose concatenation is the
//! highest-scoring token (leftmost on ties); characters left without a token fall back to
//! `<0xNN>` byte tokens.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::vocab::Vocab;

struct Sym {
    start: usize,
    len: usize,
    prev: Option<usize>,
    next: Option<usize>,
}

/// A candidate merge; the heap's maximum is the best (higher score, then lower left index).
struct Bigram {
    score: f32,
    left: usize,
    right: usize,
    size: usize,
}

impl Ord for Bigram {
    fn cmp(&self, o: &Self) -> Ordering {
        self.score.total_cmp(&o.score).then_with(|| o.left.cmp(&self.left))
    }
}
impl PartialOrd for Bigram {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl PartialEq for Bigram {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Bigram {}

/// Encodes `text` (spaces already escaped to U+2581) into `out`.
pub fn encode(vocab: &Vocab, text: &str, out: &mut Vec<u32>) {
    let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let n = starts.len();
    let mut syms: Vec<Sym> = starts
        .iter()
        .enumerate()
        .map(|(i, &s)| Sym {
            start: s,
            len: starts.get(i + 1).copied().unwrap_or(text.len()) - s,
            prev: i.checked_sub(1),
            next: (i + 1 < n).then_some(i + 1),
        })
        .collect();

    let mut queue = BinaryHeap::new();
    let try_add = |queue: &mut BinaryHeap<Bigram>, syms: &[Sym], left: usize, right: usize| {
        let (l, r) = (&syms[left], &syms[right]);
        let piece = &text[l.start..r.start + r.len];
        if let Some(id) = vocab.id(piece) {
            queue.push(Bigram { score: vocab.scores[id as usize], left, right, size: piece.len() });
        }
    };
    for i in 1..n {
        try_add(&mut queue, &syms, i - 1, i);
    }
    while let Some(b) = queue.pop() {
        let (l, r) = (&syms[b.left], &syms[b.right]);
        if l.len == 0 || r.len == 0 || l.len + r.len != b.size {
            continue;
        }
        syms[b.left].len = b.size;
        syms[b.right].len = 0;
        let next = syms[b.right].next;
        syms[b.left].next = next;
        if let Some(nx) = next {
            syms[nx].prev = Some(b.left);
        }
        if let Some(p) = syms[b.left].prev {
            try_add(&mut queue, &syms, p, b.left);
        }
        if let Some(nx) = next {
            try_add(&mut queue, &syms, b.left, nx);
        }
    }

    // Every merged symbol is a token (only token pairs merge), so llama.cpp's `rev_merge`
    // re-segmentation never applies: a symbol is a token or a lone character to spell in bytes.
    let mut i = (n > 0).then_some(0);
    while let Some(k) = i {
        let s = &syms[k];
        let piece = &text[s.start..s.start + s.len];
        match vocab.id(piece) {
            Some(id) => out.push(id),
            None => out.extend(piece.bytes().filter_map(|b| byte_token(vocab, b))),
        }
        i = s.next;
    }
}

/// The token of one byte (`llama_vocab::byte_to_token`): `<0xNN>`, else the byte itself as a
/// one-character token. llama.cpp throws when neither exists; we fall back to the unknown
/// token, or drop the byte when there is none.
fn byte_token(vocab: &Vocab, b: u8) -> Option<u32> {
    vocab
        .id(&format!("<0x{b:02X}>"))
        .or_else(|| std::str::from_utf8(&[b]).ok().and_then(|s| vocab.id(s)))
        .or(vocab.ids.unk)
}
