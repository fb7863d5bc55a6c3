//! `rocmforge chat`: an interactive conversation. Each turn renders the whole conversation with
//! the chat template and evaluates only what the KV cache does not already hold. `/reset`
//! starts over, `/exit` (or end of input) quits, Ctrl-C stops the answer being written. Works
//! with piped input too (one user message per line).

use std::io::{self, BufRead, IsTerminal, Write};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::{Context, Result};
use engine::generate;
use model::{Message, Session};

use crate::load;
use crate::options::{ModelArgs, SamplingArgs};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    model: ModelArgs,
    /// A system message that opens the conversation.
    #[arg(long)]
    system: Option<String>,
    #[command(flatten)]
    sampling: SamplingArgs,
}

pub fn run(args: Args) -> Result<()> {
    let params = args.sampling.params()?;
    let loaded = load::load(&args.model)?;
    let template = load::template(&loaded, args.model.chat_template.as_deref())?;
    let (bos, eos) = loaded.special_texts();
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).context("cannot install the Ctrl-C handler")?;

    let interactive = io::stdin().is_terminal();
    if interactive {
        eprintln!(
            "chatting with {} (/reset starts over, /exit or Ctrl-D quits, Ctrl-C stops an answer)",
            loaded.model.hparams.name.as_deref().unwrap_or(&loaded.model.hparams.arch)
        );
    }
    let opening: Vec<Message> = args.system.iter().map(Message::system).collect();
    let mut messages = opening.clone();
    let mut session = Session::new(&loaded.model, &loaded.device, loaded.kv_type, loaded.n_ctx)?;
    let mut out = io::stdout();
    let mut lines = io::stdin().lock().lines();
    loop {
        if interactive {
            eprint!("> ");
        }
        let Some(line) = lines.next() else { break };
        let line = line.context("cannot read standard input")?;
        match line.trim() {
            "" => continue,
            "/exit" | "/quit" => break,
            "/reset" => {
                messages = opening.clone();
                session.reset();
                eprintln!("(conversation reset)");
                continue;
            }
            _ => {}
        }
        messages.push(Message::user(line));
        let tokens = loaded.chat_tokens(&template.render(&messages, None, true, &bos, &eos)?);
        if tokens.len() >= loaded.n_ctx {
            eprintln!("(the conversation no longer fits in the {}-token context; /reset to start over)", loaded.n_ctx);
            messages.pop();
            continue;
        }
        // Keep the cached prefix the new rendering shares with what the cache holds.
        let keep = session.tokens().iter().zip(&tokens).take_while(|(a, b)| a == b).count().min(tokens.len() - 1);
        session.truncate(keep);
        interrupted.store(false, Ordering::SeqCst);
        let mut answer = String::new();
        let stats = generate(&mut session, &loaded.tok, &tokens[keep..], &params, |piece| {
            answer.push_str(piece);
            let _ = out.write_all(piece.as_bytes()).and_then(|()| out.flush());
            match interrupted.swap(false, Ordering::SeqCst) {
                true => ControlFlow::Break(()),
                false => ControlFlow::Continue(()),
            }
        })?;
        let _ = writeln!(out);
        if args.model.verbose {
            crate::run::report(&loaded, &stats);
        }
        messages.push(Message::assistant(answer));
    }
    Ok(())
}
