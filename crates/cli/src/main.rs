//! `rocmforge`: the one binary. Each subcommand lives in its own module.

mod bench;
mod chat;
mod devices;
mod info;
mod load;
mod options;
mod output;
mod run;
mod serve;
mod synth;
mod tokenize;
mod usage;

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
    /// Generate from one prompt (chat template applied unless --raw); the text goes to stdout.
    Run(run::Args),
    /// Talk with a model in the terminal.
    Chat(chat::Args),
    /// Serve the OpenAI API (chat and completions, streaming) and a chat page over HTTP.
    Serve(serve::Args),
    /// Measure prompt processing and generation speed (as llama-bench does).
    Bench(bench::Args),
    /// List the GPUs (vendor, arch, memory, driver, warp size) and their run-time compilers.
    Devices(devices::Args),
    /// Show a GGUF model's architecture, hyperparameters, tokenizer, tensors and memory needs.
    Info(info::Args),
    /// Print the token ids of a text as one JSON array (as llama.cpp tokenizes it).
    Tokenize(tokenize::Args),
    /// Write a synthetic model: real shapes and metadata, random but valid weights.
    Synth(synth::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Devices(args) => devices::run(args),
        Command::Info(args) => info::run(args),
        Command::Tokenize(args) => tokenize::run(args),
        Command::Synth(args) => synth::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes joined by ": ".
            eprintln!("error: {e:#}");
            // Bad flags and unusable inputs exit 2, like clap's own usage errors.
            match e.downcast_ref::<usage::UsageError>() {
                Some(_) => ExitCode::from(2),
                None => ExitCode::FAILURE,
            }
        }
    }
}
