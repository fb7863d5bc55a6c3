//! `rocmforge run`: one prompt in, the generated text streamed to stdout (diagnostics on
//! stderr). The chat template is applied unless `--raw`.

use std::io::{self, IsTerminal, Read, Write};
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{Context, Result};
use engine::{generate, GenStats};
use model::{Message, Session};

use crate::load::{self, Loaded};
use crate::options::{ModelArgs, SamplingArgs};
use crate::usage::usage;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// The prompt (else --file, else standard input).
    prompt: Option<String>,
    /// Read the prompt from this file.
    #[arg(short = 'f', long, conflicts_with = "prompt")]
    file: Option<PathBuf>,
    /// Plain completion: the prompt goes to the model as is, without the chat template.
    #[arg(long)]
    raw: bool,
    /// A system message for the chat template.
    #[arg(long, conflicts_with = "raw")]
    system: Option<String>,
    #[command(flatten)]
    sampling: SamplingArgs,
}

pub fn run(args: Args) -> Result<()> {
    let params = args.sampling.params()?;
    let text = match (&args.prompt, &args.file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read prompt file {}", f.display()))?
        }
        (None, None) => {
            if io::stdin().is_terminal() {
                eprintln!("reading the prompt from standard input (end with Ctrl-D)");
            }
            let mut s = String::new();
            io::stdin().read_to_string(&mut s).context("cannot read the prompt from standard input")?;
            s
        }
    };
    if text.trim().is_empty() {
        usage!("the prompt is empty");
    }
    let loaded = load::load(&args.model)?;
    let tokens = match args.raw {
        true => loaded.tok.encode(&text, true, true),
        false => {
            let template = load::template(&loaded, args.model.chat_template.as_deref())?;
            let mut messages: Vec<Message> = args.system.iter().map(Message::system).collect();
            messages.push(Message::user(text));
            let (bos, eos) = loaded.special_texts();
            loaded.chat_tokens(&template.render(&messages, None, true, &bos, &eos)?)
        }
    };
    if tokens.len() >= loaded.n_ctx {
        usage!("the prompt is {} tokens and the context holds {}; raise --ctx-size", tokens.len(), loaded.n_ctx);
    }
    let mut session = Session::new(&loaded.model, &loaded.device, loaded.kv_type, loaded.n_ctx)?;
    let mut out = io::stdout().lock();
    let mut last = '\n';
    let stats = generate(&mut session, &loaded.tok, &tokens, &params, |piece| {
        last = piece.chars().last().unwrap_or(last);
        // A closed pipe (`| head`) ends the generation quietly.
        match out.write_all(piece.as_bytes()).and_then(|()| out.flush()) {
            Ok(()) => ControlFlow::Continue(()),
            Err(_) => ControlFlow::Break(()),
        }
    })?;
    if last != '\n' {
        let _ = writeln!(out);
    }
    if args.model.verbose {
        report(&loaded, &stats);
    }
    Ok(())
}

/// Load time and speeds, llama.cpp style, on stderr.
pub fn report(loaded: &Loaded, s: &GenStats) {
    let rate = |n: usize, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    eprintln!("load: {:.2} s", loaded.load_secs);
    eprintln!(
        "prompt: {} tokens in {:.2} s ({:.1} tokens/s)",
        s.prompt_tokens,
        s.prompt_secs,
        rate(s.prompt_tokens, s.prompt_secs)
    );
    eprintln!(
        "generation: {} tokens in {:.2} s ({:.1} tokens/s), finish: {}",
        s.generated.len(),
        s.gen_secs,
        rate(s.generated.len(), s.gen_secs),
        s.finish.as_openai()
    );
}
