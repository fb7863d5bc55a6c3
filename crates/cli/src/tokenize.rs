//! `rocmforge tokenize`: the token ids of a text as one JSON array, exactly as llama.cpp's
//! tokenizer gives them (BOS added when the model asks for it).

use std::path::PathBuf;

use anyhow::{Context, Result};
use gguf::GgufFile;
use model::Tokenizer;
use serde_json::{json, Value};

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model file.
    #[arg(short, long)]
    model: PathBuf,
    /// Keep special-token texts such as `<|im_start|>` as plain text.
    #[arg(long)]
    no_special: bool,
    /// Read the text from this file instead of the command line.
    #[arg(short, long, conflicts_with = "text")]
    file: Option<PathBuf>,
    /// Print [id, piece] pairs; a piece that is not whole UTF-8 is printed as its byte values.
    #[arg(long)]
    detok: bool,
    /// The text to tokenize.
    #[arg(required_unless_present = "file")]
    text: Option<String>,
}

pub fn run(args: Args) -> Result<()> {
    let path = args.model.display().to_string();
    let text = match (&args.file, args.text) {
        (Some(f), _) => std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?,
        (None, Some(t)) => t,
        (None, None) => anyhow::bail!("no text given"),
    };
    let file = GgufFile::open(&args.model).with_context(|| path.clone())?;
    let tok = Tokenizer::from_metadata(&file.metadata).with_context(|| path.clone())?;
    let ids = tok.encode(&text, true, !args.no_special);
    let out: Value = match args.detok {
        false => json!(ids),
        true => ids.iter().map(|&id| json!([id, piece_json(tok.token_piece(id))])).collect(),
    };
    crate::output::print(&format!("{out}\n"))
}

fn piece_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => json!(s),
        Err(_) => json!(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_utf8_pieces_print_as_bytes() {
        assert_eq!(piece_json(" hi".as_bytes()), json!(" hi"));
        assert_eq!(piece_json(&[0xE4, 0xB8]), json!([228, 184]));
    }
}
