//! Where the engine thread's time goes, summed over its steps: scheduling and planning, the
//! forward pass (on a GPU: queueing, the device's work and the copy of the sampled rows' results
//! back), and sampling with the token events. Read with [`Engine::step_times`](crate::Engine)
//! before and after a workload; the difference is that workload's breakdown.

use std::time::Duration;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepTimes {
    /// Forward steps run.
    pub steps: u64,
    /// Tokens those steps computed (decode tokens plus prompt chunks).
    pub tokens: u64,
    pub schedule: Duration,
    pub forward: Duration,
    pub sample: Duration,
}

impl StepTimes {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &StepTimes) -> StepTimes {
        StepTimes {
            steps: self.steps - earlier.steps,
            tokens: self.tokens - earlier.tokens,
            schedule: self.schedule.saturating_sub(earlier.schedule),
            forward: self.forward.saturating_sub(earlier.forward),
            sample: self.sample.saturating_sub(earlier.sample),
        }
    }

    /// One line: steps, tokens per step, and milliseconds per step of each phase.
    pub fn summary(&self) -> String {
        let n = self.steps.max(1) as f64;
        let ms = |d: Duration| d.as_secs_f64() * 1e3 / n;
        format!(
            "{} steps, {:.1} tokens/step; per step: schedule {:.3} ms, forward {:.3} ms, sample {:.3} ms",
            self.steps,
            self.tokens as f64 / n,
            ms(self.schedule),
            ms(self.forward),
            ms(self.sample)
        )
    }
}
