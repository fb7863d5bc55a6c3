//! Writing command output to stdout. A closed pipe (`rocmforge info ... | head`) ends the
//! output quietly instead of panicking as `println!` does.

use std::io::{self, Write};

pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
