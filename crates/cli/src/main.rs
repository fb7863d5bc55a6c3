//! `rocmforge`: the one binary. Each subcommand lives in its own module.

mod devices;
mod info;
mod output;
mod synth;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "rocmforge",
    version,
    about = "LLM inference for AMD GPUs, NVIDIA GPUs and CPUs (GGUF models)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the GPUs (vendor, arch, memory, driver, warp size) and their run-time compilers.
    Devices(devices::Args),
    /// Show a GGUF model's architecture, hyperparameters, tokenizer, tensors and memory needs.
    Info(info::Args),
    /// Write a synthetic model: real shapes and metadata, random but valid weights.
    Synth(synth::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Devices(args) => devices::run(args),
        Command::Info(args) => info::run(args),
        Command::Synth(args) => synth::run(args),
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
