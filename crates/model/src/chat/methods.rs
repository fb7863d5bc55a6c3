//! Python methods on template values (`.strip()`, `.items()`, ...), from minijinja-contrib's
//! pycompat, with one guard added.
//!
//! `str.format` pads to the width and precision its spec asks for before any fuel is charged,
//! so `'{:>1000000000}'.format(x)` would allocate a gigabyte (and a larger number abort the
//! process). Every number in the format string is taken as a possible width; their sum is
//! charged as fuel up front and must stay under a cap.

use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, State, Value};

/// Upper bound on the padding one `str.format` call may produce.
const MAX_FORMAT_PADDING: u64 = 1 << 20;

pub(crate) fn unknown_method(state: &mut State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    if method == "format" && value.kind() == ValueKind::String {
        let padding = digit_runs_sum(value.as_str().unwrap_or_default());
        if padding > MAX_FORMAT_PADDING {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!("str.format: widths and precisions add up to more than {MAX_FORMAT_PADDING}"),
            ));
        }
        state.consume_fuel(padding / 64)?;
    }
    minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)
}

/// Sum of the decimal numbers written in `s`, saturating.
fn digit_runs_sum(s: &str) -> u64 {
    let (mut sum, mut run) = (0u64, 0u64);
    for b in s.bytes().chain(std::iter::once(b' ')) {
        if b.is_ascii_digit() {
            run = run.saturating_mul(10).saturating_add(u64::from(b - b'0'));
        } else {
            sum = sum.saturating_add(run);
            run = 0;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    #[test]
    fn sums_numbers() {
        assert_eq!(super::digit_runs_sum("{:>10}{:.3f} x7"), 20);
        assert_eq!(super::digit_runs_sum(&"9".repeat(40)), u64::MAX);
    }
}
