//! A step's logits as its caller asked for them: each row either whole, or (on a GPU) only its
//! greedy choice, so a greedy decode step does not copy a vocabulary of logits per sequence from
//! the device.

/// What a caller needs of one row of logits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowNeed {
    /// Every logit (sampling filters, penalties, logit bias, logprobs, constraints).
    Full,
    /// Only the largest logit and its id: NaN counted as -inf, ties to the lowest id. A device
    /// may still answer with the full row.
    Argmax,
}

/// Logits as a step returns them: in ordinary memory, or (from a GPU) in the page-locked buffer
/// the device copied them into, which goes back to its pool when this is dropped. Either way a
/// slice of floats.
pub type Logits = backend::gpu::HostBuf<f32>;

/// One row of a step's logits.
#[derive(Debug, PartialEq)]
pub enum Row<'a> {
    /// The whole row ([vocab]).
    Full(&'a mut [f32]),
    /// The greedy choice (id, logit), or None when the row held only NaN and -inf.
    Argmax(Option<(u32, f32)>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kept {
    /// Row `i` of `values`.
    Full(usize),
    Argmax(Option<(u32, f32)>),
}

/// The logits of a step's `logits_rows`, in order.
#[derive(Debug, Default)]
pub struct StepLogits {
    vocab: usize,
    values: Logits, // [rows kept whole, vocab]
    rows: Vec<Kept>,
}

impl StepLogits {
    /// Every row whole: `values` is [rows, vocab].
    pub fn whole(values: impl Into<Logits>, vocab: usize) -> StepLogits {
        let values = values.into();
        let rows = (0..values.len().checked_div(vocab).unwrap_or(0)).map(Kept::Full).collect();
        StepLogits { vocab, values, rows }
    }

    /// Rows in `needs`' order: `values` holds the rows kept whole ([n, vocab]), `picks[i]` the
    /// greedy choice of row i (read only where row i is not whole).
    pub(crate) fn mixed(vocab: usize, values: Logits, whole: &[bool], picks: &[Option<(u32, f32)>]) -> StepLogits {
        let mut n = 0;
        let rows = whole
            .iter()
            .zip(picks)
            .map(|(&w, &p)| match w {
                true => {
                    n += 1;
                    Kept::Full(n - 1)
                }
                false => Kept::Argmax(p),
            })
            .collect();
        StepLogits { vocab, values, rows }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Row `i`, or None past the end.
    pub fn row(&mut self, i: usize) -> Option<Row<'_>> {
        Some(match *self.rows.get(i)? {
            Kept::Full(at) => Row::Full(&mut self.values[at * self.vocab..(at + 1) * self.vocab]),
            Kept::Argmax(p) => Row::Argmax(p),
        })
    }

    /// The rows kept whole, [n, vocab] (every row, when every row was asked for whole).
    pub fn into_values(self) -> Logits {
        self.values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixed_rows_keep_their_order() {
        let mut s =
            StepLogits::mixed(2, vec![1.0, 2.0, 3.0, 4.0].into(), &[true, false, true], &[None, Some((7, 0.5)), None]);
        assert_eq!(s.len(), 3);
        assert_eq!(s.row(0), Some(Row::Full(&mut [1.0, 2.0])));
        assert_eq!(s.row(1), Some(Row::Argmax(Some((7, 0.5)))));
        assert_eq!(s.row(2), Some(Row::Full(&mut [3.0, 4.0])));
        assert_eq!(s.row(3), None);
    }

    #[test]
    fn whole_rows() {
        let mut s = StepLogits::whole(vec![0.0; 6], 3);
        assert_eq!(s.len(), 2);
        assert!(matches!(s.row(1), Some(Row::Full(r)) if r.len() == 3));
        assert!(StepLogits::whole(Vec::new(), 0).is_empty());
    }
}
