//! The generation loop of one sequence: prompt in, streamed text out, with sampling, EOS and
//! stop ids, stop strings matched across token boundaries (never emitted), max tokens and the
//! context end. `run`, `chat` and the goldens use it; the batching engine runs the same steps
//! for many sequences.

use std::ops::ControlFlow;
use std::time::Instant;

use model::{Detokenizer, ModelError, Session, Tokenizer};

use crate::finish::FinishReason;
use crate::sampler::{Sampler, SamplerError, SamplingParams};
use crate::stop::StopMatcher;

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Sampler(#[from] SamplerError),
}

/// What a generation did, for `--verbose` and usage counts.
#[derive(Clone, Debug)]
pub struct GenStats {
    pub prompt_tokens: usize,
    pub prompt_secs: f64,
    pub generated: Vec<u32>,
    pub gen_secs: f64,
    pub finish: FinishReason,
}

/// Appends `prompt` to the session and samples until a finish condition, handing each piece of
/// text to `on_text` as soon as it is safe to show (whole UTF-8 characters, no part of a stop
/// string). `on_text` returning `Break` cancels. The prompt must fit with room for one token.
pub fn generate(
    session: &mut Session,
    tok: &Tokenizer,
    prompt: &[u32],
    params: &SamplingParams,
    mut on_text: impl FnMut(&str) -> ControlFlow<()>,
) -> Result<GenStats, GenerateError> {
    let t0 = Instant::now();
    let mut logits = session.eval(prompt, false)?;
    let prompt_secs = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let mut sampler = Sampler::new(params.clone(), logits.len())?;
    let mut stops = StopMatcher::new(params.stop.iter());
    let mut detok = Detokenizer::new(tok);
    let mut generated = Vec::new();
    let mut emit = |text: &str, stops: &mut StopMatcher| -> ControlFlow<FinishReason> {
        let pushed = stops.push(text);
        if !pushed.text.is_empty() && on_text(&pushed.text).is_break() {
            return ControlFlow::Break(FinishReason::Cancelled);
        }
        match pushed.stop {
            Some(i) => ControlFlow::Break(FinishReason::StopString(i)),
            None => ControlFlow::Continue(()),
        }
    };
    let finish = loop {
        let id = sampler.sample(&mut logits, session.tokens())?.id;
        if !params.ignore_eos && tok.is_eog(id) {
            break FinishReason::Eos;
        }
        if params.stop_token_ids.contains(&id) {
            break FinishReason::StopToken(id);
        }
        generated.push(id);
        if let ControlFlow::Break(reason) = emit(&detok.push(id), &mut stops) {
            break reason;
        }
        let at_max = params.max_tokens.is_some_and(|m| generated.len() >= m as usize);
        if at_max || session.remaining() == 0 {
            break FinishReason::Length;
        }
        logits = session.eval(&[id], false)?;
    };
    // Held-back text (an incomplete character or a possible stop-string start) is shown unless
    // a stop string or a cancel ended the generation.
    if matches!(finish, FinishReason::Eos | FinishReason::StopToken(_) | FinishReason::Length) {
        let _ = emit(&detok.finish(), &mut stops);
        let rest = stops.finish();
        if !rest.is_empty() {
            let _ = on_text(&rest);
        }
    }
    Ok(GenStats { prompt_tokens: prompt.len(), prompt_secs, generated, gen_secs: t1.elapsed().as_secs_f64(), finish })
}
