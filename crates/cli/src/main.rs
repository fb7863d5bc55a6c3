//! `rocmforge`: the one binary. Each subcommand lives in its own module.

mod info;
mod output;
mod synth;
mod tokenize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "rocmforge", version, about = "LLM inference for AMD GPUs, NVIDIA GPUs and CPUs (GGUF models)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a GGUF model's architecture, hyperparameters, tokenizer, tensors and memory needs.
    Info(info::Args),
    /// Write a synthetic model: real shapes and metadata, random but valid weights.
    Synth(synth::Args),
    /// Print the token ids of a text as one JSON array (as llama.cpp tokenizes it).
    Tokenize(tokenize::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(args) => info::run(args),
        Command::Synth(args) => synth::run(args),
        Command::Tokenize(args) => tokenize::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes joined by ": ".
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
