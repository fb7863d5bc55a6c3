//! `rocmforge synth`: write a synthetic model (see `model::synth`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use gguf::GgufFile;
use model::synth::{self, Preset, SynthOptions};

#[derive(clap::Args)]
pub struct Args {
    /// Output GGUF file.
    #[arg(short, long)]
    output: PathBuf,
    /// Copy the metadata, tokenizer and tensor table of this GGUF file.
    #[arg(long, conflicts_with = "preset")]
    like: Option<PathBuf>,
    /// A named shape: qwen2.5-0.5b, qwen2.5-7b, llama3-8b (Q4_K_M-like type mix).
    #[arg(long)]
    preset: Option<String>,
    /// With --preset: copy the tokenizer (and chat template) from this GGUF file.
    #[arg(long, requires = "preset")]
    tokenizer_from: Option<PathBuf>,
    /// With --like: write only the metadata (tokenizer, template, hyperparameters).
    #[arg(long, requires = "like", conflicts_with = "skeleton")]
    vocab_only: bool,
    /// With --like: write the metadata and the tensor table without tensor data (a few MB);
    /// `--like SKELETON` later writes a full synthetic model with those shapes and types.
    #[arg(long, requires = "like")]
    skeleton: bool,
    /// Random seed (the same seed writes the same file).
    #[arg(long, default_value_t = 0x5eed)]
    seed: u64,
    /// Weight magnitude multiplier (larger makes logits less flat).
    #[arg(long, default_value_t = 1.0)]
    scale: f32,
}

pub fn run(args: Args) -> Result<()> {
    if !(args.scale.is_finite() && args.scale > 0.0) {
        bail!("--scale must be positive and finite, not {}", args.scale);
    }
    let opts = SynthOptions { seed: args.seed, scale: args.scale };
    let open = |p: &PathBuf| GgufFile::open(p).with_context(|| p.display().to_string());
    let t0 = Instant::now();
    let writer = match (&args.like, &args.preset) {
        (Some(src), None) => {
            let src = open(src)?;
            match (args.vocab_only, args.skeleton) {
                (true, _) => synth::vocab_only(&src)?,
                (_, true) => synth::skeleton(&src)?,
                _ => synth::like(&src, opts)?,
            }
        }
        (None, Some(name)) => {
            let Some(preset) = Preset::from_name(name) else {
                bail!("unknown preset '{name}'; known: {}", Preset::NAMES.join(", "));
            };
            let tok = args.tokenizer_from.as_ref().map(open).transpose()?;
            preset.writer(tok.as_ref(), opts)?
        }
        _ => bail!("give either --like FILE or --preset NAME"),
    };
    writer.write_file(&args.output)?;
    let bytes = std::fs::metadata(&args.output).map(|m| m.len()).unwrap_or(0);
    eprintln!("wrote {} ({bytes} bytes) in {:.2}s", args.output.display(), t0.elapsed().as_secs_f64());
    Ok(())
}
