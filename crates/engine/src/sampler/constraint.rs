//! Per-request token constraints (structured output): something outside the engine, such as a
//! grammar matcher, decides which tokens may come next.
//!
//! The sampler asks the constraint to mask the logits after bias and penalties and before
//! anything else looks at them (so logprobs, greedy and the draw all see only allowed tokens),
//! then tells it the token it chose. A constraint that has nothing more to allow returns an
//! error or leaves only end-of-generation tokens; either way the request ends.

/// Restricts which tokens a request may generate.
pub trait TokenConstraint: Send {
    /// Sets the logit of every token that may not come next to `-inf` (`logits` is
    /// `[vocab_size]`). An error ends the request.
    fn mask(&mut self, logits: &mut [f32]) -> Result<(), String>;

    /// Told the token chosen after [`TokenConstraint::mask`]. An error ends the request.
    fn commit(&mut self, token: u32) -> Result<(), String>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sampler::{Sampler, SamplerError, SamplingParams};

    /// Allows only the tokens of `script`, in order, and records what it was told.
    struct Script {
        script: Vec<u32>,
        told: Vec<u32>,
    }

    impl TokenConstraint for Script {
        fn mask(&mut self, logits: &mut [f32]) -> Result<(), String> {
            let next = *self.script.get(self.told.len()).ok_or("script exhausted")?;
            for (i, l) in logits.iter_mut().enumerate() {
                if i as u32 != next {
                    *l = f32::NEG_INFINITY;
                }
            }
            Ok(())
        }

        fn commit(&mut self, token: u32) -> Result<(), String> {
            self.told.push(token);
            Ok(())
        }
    }

    #[test]
    fn constrained_sampling_follows_the_mask_and_reports_it() {
        let params = SamplingParams { seed: Some(3), logprobs: Some(2), ..SamplingParams::default() };
        let mut s = Sampler::new(params, 8)
            .unwrap()
            .with_constraint(Box::new(Script { script: vec![5, 1, 7], told: Vec::new() }));
        for want in [5, 1, 7] {
            // The unconstrained favourite is token 0; the mask overrides it.
            let mut logits = vec![9.0, 1.0, 0.5, 0.0, 0.0, 0.2, 0.0, 0.1];
            let t = s.sample(&mut logits, &[]).unwrap();
            assert_eq!(t.id, want);
            // Logprobs describe the constrained distribution: the only allowed token has p = 1.
            assert_eq!(t.logprob, Some(0.0));
            assert_eq!(t.top_logprobs, vec![(want, 0.0)]);
        }
        let mut logits = vec![0.0; 8];
        assert_eq!(s.sample(&mut logits, &[]), Err(SamplerError::Constraint("script exhausted".into())));
    }

    #[test]
    fn greedy_respects_the_mask() {
        let mut s = Sampler::new(SamplingParams::greedy(), 4)
            .unwrap()
            .with_constraint(Box::new(Script { script: vec![2], told: Vec::new() }));
        let mut logits = vec![3.0, 2.0, 1.0, 0.0];
        assert_eq!(s.sample(&mut logits, &[]).unwrap().id, 2);
    }
}
