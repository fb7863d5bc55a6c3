//! Loading a model for the generating commands: device choice, the mapped file paged in behind
//! a progress bar, tokenizer, chat template and context size.

use std::time::Instant;

use anyhow::{Context, Result};
use backend::cpu::Cpu;
use backend::gpu::{Gpu, GpuError};
use indicatif::{ProgressBar, ProgressStyle};
use model::compute::gpu::GpuModel;
use model::{ChatTemplate, Device, KvType, Model, Tokenizer};

use crate::options::ModelArgs;
use crate::usage::usage;

const DEFAULT_MAX_CTX: usize = 4096;

pub struct Loaded {
    pub model: Model,
    pub device: Device,
    pub tok: Tokenizer,
    pub n_ctx: usize,
    /// The KV cache's element type (--kv-cache-type).
    pub kv_type: KvType,
    pub load_secs: f64,
}

/// Which device `--device` asks for.
#[derive(Debug, PartialEq)]
enum DeviceChoice {
    Auto,
    Cpu,
    Gpu(usize),
}

fn parse_device(s: &str) -> Result<DeviceChoice> {
    Ok(match s {
        "auto" => DeviceChoice::Auto,
        "cpu" => DeviceChoice::Cpu,
        "gpu" => DeviceChoice::Gpu(0),
        _ => match s.strip_prefix("gpu:").map(str::parse) {
            Some(Ok(n)) => DeviceChoice::Gpu(n),
            _ => usage!("--device must be auto, cpu, gpu or gpu:N, not '{s}'"),
        },
    })
}

pub fn load(args: &ModelArgs) -> Result<Loaded> {
    let t0 = Instant::now();
    let choice = parse_device(&args.device)?;
    if args.ctx_size == Some(0) {
        usage!("--ctx-size must be at least 1");
    }
    let path = args.model.display().to_string();
    let model = Model::load(&args.model).with_context(|| path.clone())?;
    let file_name = args.model.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let bar = progress_bar("loading", &file_name, model.file.file_len());
    model.file.prefault(|done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let kv_type = args.kv_cache_type;
    if let Err(why) = kv_type.check_head_dim(model.hparams.head_dim_k as usize) {
        usage!("--kv-cache-type {kv_type}: {why}");
    }
    let device = open_device(&choice, &model, &file_name, args.threads, args.verbose)?;
    let tok = Tokenizer::from_metadata(&model.file.metadata).with_context(|| path.clone())?;
    let train_ctx = model.hparams.context_length as usize;
    let n_ctx = args.ctx_size.unwrap_or(train_ctx.min(DEFAULT_MAX_CTX));
    if n_ctx > train_ctx {
        eprintln!("warning: --ctx-size {n_ctx} is beyond the model's training context of {train_ctx}");
    }
    let load_secs = t0.elapsed().as_secs_f64();
    if args.verbose {
        eprintln!(
            "loaded {path}: {} ({} layers), {}, context {n_ctx}, KV cache {kv_type} ({} per token), in {load_secs:.2}s",
            model.hparams.arch,
            model.hparams.n_layer,
            device.describe(),
            backend::gpu::human_bytes(model.hparams.kv_bytes_per_token(kv_type)),
        );
    }
    Ok(Loaded { model, device, tok, n_ctx, kv_type, load_secs })
}

fn progress_bar(verb: &str, name: &str, len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len).with_style(
        ProgressStyle::with_template(&format!("{verb} {{msg}} [{{bar:30}}] {{bytes}}/{{total_bytes}}"))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(name.to_string());
    bar
}

/// The device `--device` asks for, with the model's weights on it. `auto` takes the first GPU
/// when there is one, runs on the CPU quietly when there is none, and says why when a GPU is
/// there but cannot be used; `gpu[:N]` is an error without that GPU. A GPU in use is always
/// named on stderr, and with `verbose` what its kernels cost (compiled or from the cache).
fn open_device(choice: &DeviceChoice, model: &Model, name: &str, threads: usize, verbose: bool) -> Result<Device> {
    let ordinal = match choice {
        DeviceChoice::Cpu => return Ok(Device::Cpu(Cpu::new(threads)?)),
        DeviceChoice::Gpu(n) => *n,
        DeviceChoice::Auto => 0,
    };
    let gpu = match (Gpu::new(ordinal), choice) {
        (Ok(g), _) => g,
        (Err(GpuError::NoDevice(_) | GpuError::NoRuntime(_)), DeviceChoice::Auto) => {
            return Ok(Device::Cpu(Cpu::new(threads)?))
        }
        (Err(e), DeviceChoice::Auto) => {
            eprintln!("note: running on the CPU: {e}");
            return Ok(Device::Cpu(Cpu::new(threads)?));
        }
        (Err(e), _) => return Err(anyhow::Error::new(e).context(format!("--device gpu:{ordinal}"))),
    };
    let compiler = gpu.compiler();
    let on_gpu = || -> Result<Device> {
        let bar = progress_bar("uploading", name, 0);
        let loaded = GpuModel::load(model, gpu, &mut |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        });
        bar.finish_and_clear();
        Ok(Device::Gpu(Box::new(loaded?)))
    };
    let device = match (on_gpu(), choice) {
        (Ok(d), _) => d,
        (Err(e), DeviceChoice::Auto) => {
            eprintln!("note: running on the CPU: {e:#}");
            Device::Cpu(Cpu::new(threads)?)
        }
        (Err(e), _) => return Err(e),
    };
    if let Device::Gpu(_) = device {
        eprintln!("device: {}", device.describe());
        if verbose {
            if let Ok(c) = &compiler {
                eprintln!("GPU kernels: {}", c.summary());
            }
        }
    }
    Ok(device)
}

/// The chat template `--chat-template` and the model decide on (see ChatTemplate::for_gguf);
/// says so on stderr when a built-in stands in for a missing or unusable one.
pub fn template(loaded: &Loaded, choice: Option<&str>) -> Result<ChatTemplate> {
    let t = ChatTemplate::for_gguf(choice, &loaded.model.file)?;
    if let model::chat::TemplateOrigin::Fallback { builtin, reason } = t.origin() {
        eprintln!("note: using the built-in '{builtin}' chat template ({reason})");
    }
    Ok(t)
}

impl Loaded {
    /// Tokens of a rendered chat prompt: special tokens parsed, BOS added as the model asks
    /// unless the template already wrote it.
    pub fn chat_tokens(&self, rendered: &str) -> Vec<u32> {
        let mut ids = self.tok.encode(rendered, true, true);
        if let Some(bos) = self.tok.bos() {
            if ids.len() >= 2 && ids[0] == bos && ids[1] == bos {
                ids.remove(0);
            }
        }
        ids
    }

    /// BOS and EOS as text for templates.
    pub fn special_texts(&self) -> (String, String) {
        let text = |id: Option<u32>| id.and_then(|i| self.tok.token_text(i)).unwrap_or("").to_string();
        (text(self.tok.bos()), text(self.tok.eos()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_flags() {
        assert_eq!(parse_device("auto").unwrap(), DeviceChoice::Auto);
        assert_eq!(parse_device("gpu:3").unwrap(), DeviceChoice::Gpu(3));
        assert!(parse_device("tpu").unwrap_err().downcast_ref::<crate::usage::UsageError>().is_some());
        assert!(parse_device("gpu:x").is_err());
    }
}
