//! Stop strings over streamed text.
//!
//! Text arrives in pieces (one per detokenized token). A piece may complete a stop string begun
//! in earlier pieces, so the matcher holds back the longest tail that is still the start of some
//! stop string and releases it once the next piece shows it is not. The stop string and
//! everything after it are never released.
//!
//! Semantics: after the first piece with which the text so far contains a stop string, the
//! output is that text cut at the earliest place where a stop string starts. (Only when one stop
//! string lies strictly inside a longer one that began earlier, and the pieces end between the
//! two, does this differ from cutting the whole text at its first stop string: a stream cannot
//! wait for the longer one, as generation ends at the first hit.)
//!
//! Each stop string is matched with its own Knuth-Morris-Pratt automaton over bytes, so a piece
//! costs O(piece length x number of stop strings) whatever the stop strings look like: a request
//! cannot make matching quadratic. Cuts fall only on `char` boundaries: a tail equal to the start
//! of a stop string (itself valid UTF-8) starts on a boundary.

/// What one [`StopMatcher::push`] releases.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StopPush {
    /// Text safe to emit now (possibly empty).
    pub text: String,
    /// Index (into the list given to [`StopMatcher::new`]) of the stop string hit by this piece;
    /// `Some` once, on the push that hit it. The text is cut where the earliest stop string
    /// starts; if several start there, the first listed is reported.
    pub stop: Option<usize>,
}

/// One stop string and its matcher state.
#[derive(Debug, Clone)]
struct Pattern {
    bytes: Vec<u8>,
    /// KMP failure function: `fail[i]` is the length of the longest proper prefix of
    /// `bytes[..=i]` that is also its suffix.
    fail: Vec<usize>,
    /// Length of the longest prefix of `bytes` that ends the text seen so far.
    state: usize,
}

impl Pattern {
    fn new(s: &str) -> Self {
        let bytes = s.as_bytes().to_vec();
        let mut fail = vec![0; bytes.len()];
        let mut k = 0;
        for i in 1..bytes.len() {
            while k > 0 && bytes[i] != bytes[k] {
                k = fail[k - 1];
            }
            if bytes[i] == bytes[k] {
                k += 1;
            }
            fail[i] = k;
        }
        Self { bytes, fail, state: 0 }
    }

    /// Feeds one byte; true when the whole pattern now ends the text.
    fn step(&mut self, b: u8) -> bool {
        let mut q = self.state;
        // `q < len` always holds here: a full match ends the stream before the next byte.
        while q > 0 && self.bytes.get(q) != Some(&b) {
            q = self.fail[q - 1];
        }
        if self.bytes.get(q) == Some(&b) {
            q += 1;
        }
        self.state = q;
        q == self.bytes.len()
    }
}

/// Finds the first stop string in a stream of text pieces.
#[derive(Debug, Clone, Default)]
pub struct StopMatcher {
    /// Stop strings in the order given; empty ones are kept (for the indices) but never match.
    patterns: Vec<Pattern>,
    /// Text received but not yet released: the longest tail that starts some stop string.
    held: String,
    stopped: Option<usize>,
}

impl StopMatcher {
    pub fn new<I, S>(stops: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            patterns: stops.into_iter().map(|s| Pattern::new(s.as_ref())).collect(),
            held: String::new(),
            stopped: None,
        }
    }

    /// Index of the stop string that was hit, if any.
    pub fn stopped(&self) -> Option<usize> {
        self.stopped
    }

    /// Adds the next piece of text. After a stop string was hit, every further piece is dropped.
    pub fn push(&mut self, piece: &str) -> StopPush {
        if self.stopped.is_some() {
            return StopPush::default();
        }
        let base = self.held.len();
        self.held.push_str(piece);

        // Earliest start (in `held`) of each stop string completed by this piece.
        let mut hit: Option<(usize, usize)> = None;
        for (i, p) in self.patterns.iter_mut().enumerate() {
            if p.bytes.is_empty() {
                continue;
            }
            for (j, &b) in piece.as_bytes().iter().enumerate() {
                if p.step(b) {
                    // Held text always covers the matched prefix, so this does not underflow.
                    let start = (base + j + 1).saturating_sub(p.bytes.len());
                    if hit.is_none_or(|(s, _)| start < s) {
                        hit = Some((start, i));
                    }
                    break;
                }
            }
        }
        if let Some((start, i)) = hit {
            self.stopped = Some(i);
            let cut = floor_char_boundary(&self.held, start);
            self.held.truncate(cut);
            return StopPush { text: std::mem::take(&mut self.held), stop: Some(i) };
        }

        let keep = self.patterns.iter().map(|p| p.state).max().unwrap_or(0);
        let cut = floor_char_boundary(&self.held, self.held.len().saturating_sub(keep));
        let text = self.held[..cut].to_string();
        self.held.replace_range(..cut, "");
        StopPush { text, stop: None }
    }

    /// Ends the stream: releases held text (nothing if a stop string was hit).
    pub fn finish(&mut self) -> String {
        for p in &mut self.patterns {
            p.state = 0;
        }
        std::mem::take(&mut self.held)
    }
}

/// The largest char boundary `<= i` (a no-op for the cuts above, which fall on boundaries; it
/// only guarantees slicing can never panic).
fn floor_char_boundary(s: &str, i: usize) -> usize {
    (0..=i.min(s.len())).rev().find(|&k| s.is_char_boundary(k)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (Vec<String>, Option<usize>, String) {
        let mut m = StopMatcher::new(stops.iter().copied());
        let mut out = Vec::new();
        let mut hit = None;
        for p in pieces {
            let r = m.push(p);
            out.push(r.text);
            hit = hit.or(r.stop);
        }
        (out, hit, m.finish())
    }

    #[test]
    fn holds_back_a_possible_start() {
        let (out, hit, rest) = run(&["</s>"], &["hello <", "/", "x"]);
        assert_eq!(out, ["hello ", "", "</x"]);
        assert_eq!(hit, None);
        assert_eq!(rest, "");
    }

    #[test]
    fn finish_flushes_held_text() {
        let (out, hit, rest) = run(&["STOP"], &["abc ST"]);
        assert_eq!(out, ["abc "]);
        assert_eq!(hit, None);
        assert_eq!(rest, "ST");
    }
}
