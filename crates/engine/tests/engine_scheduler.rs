//! The scheduler and block manager without a model: random submit / step / cancel / finish
//! sequences never leak a block or give one to two owners, respect the token budget, and come
//! back to an all-free cache when idle; plus the scheduling rules one by one.

use std::collections::HashMap;

use engine::scheduler::{Scheduler, SchedulerConfig, Step, SubmitError};
use proptest::prelude::*;

fn config() -> SchedulerConfig {
    SchedulerConfig { n_blocks: 12, block_size: 4, n_ctx: 40, token_budget: 16, max_running: 4, max_waiting: 6 }
}

/// Blocks of 8: the prefix cache shares prompt blocks of 8 tokens or more
/// (`InBatch::prefix_is_settled`), so these configurations exercise it.
fn caching_config() -> SchedulerConfig {
    SchedulerConfig { n_blocks: 8, block_size: 8, n_ctx: 40, token_budget: 16, max_running: 4, max_waiting: 6 }
}

#[derive(Clone, Debug)]
enum Op {
    /// Prompt: the first `shared` tokens of a common prefix (one of 3), then `tail` tokens.
    Submit {
        prefix: u8,
        shared: usize,
        tail: Vec<u32>,
        max_tokens: u32,
    },
    /// One step; each sampling sequence ends (EOS) when its bit in `eos` is set.
    Step {
        eos: u32,
        token: u32,
    },
    Cancel(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3, 0usize..20, prop::collection::vec(0u32..5, 0..10), 1u32..20)
            .prop_map(|(prefix, shared, tail, max_tokens)| Op::Submit { prefix, shared, tail, max_tokens }),
        6 => (any::<u32>(), 0u32..5).prop_map(|(eos, token)| Op::Step { eos: eos & (eos >> 7) & (eos >> 13), token }),
        1 => any::<usize>().prop_map(Op::Cancel),
    ]
}

struct Sim {
    s: Scheduler,
    max_gen: HashMap<u64, usize>,
    next: u64,
}

impl Sim {
    fn step(&mut self, eos: u32, token: u32) -> Step {
        let step = self.s.schedule();
        let cfg = self.s.config().clone();
        assert!(step.n_tokens() <= cfg.token_budget, "step of {} tokens", step.n_tokens());
        self.s.check().unwrap();
        if !step.is_empty() {
            let plan = self.s.plan(&step);
            plan.validate(1000, cfg.block_size, cfg.n_blocks).unwrap();
        }
        self.s.complete(&step);
        for (k, sch) in step.seqs.iter().filter(|s| s.logits).enumerate() {
            let gen = self.s.get(sch.id).unwrap().n_generated();
            if eos >> (k % 32) & 1 == 1 {
                self.s.remove(sch.id).unwrap();
            } else {
                self.s.append(sch.id, token);
                if gen + 1 >= self.max_gen[&sch.id] {
                    self.s.remove(sch.id).unwrap();
                }
            }
        }
        self.s.check().unwrap();
        step
    }
}

const PREFIXES: [[u32; 20]; 3] = [[1; 20], [2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4, 1], [7; 20]];

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    #[test]
    fn blocks_are_never_leaked_or_shared_wrongly(ops in prop::collection::vec(op(), 1..120)) {
        let mut sim = Sim { s: Scheduler::new(caching_config()).unwrap(), max_gen: HashMap::new(), next: 0 };
        let n_blocks = caching_config().n_blocks;
        for op in ops {
            match op {
                Op::Submit { prefix, shared, tail, max_tokens } => {
                    let mut prompt = PREFIXES[prefix as usize][..shared].to_vec();
                    prompt.extend(tail);
                    let id = sim.next;
                    sim.next += 1;
                    match Scheduler::check_fits(sim.s.config(), prompt.len(), Some(max_tokens)) {
                        Ok(m) => {
                            match sim.s.add(id, prompt, Some(max_tokens)) {
                                Ok(()) => { sim.max_gen.insert(id, m); }
                                Err(SubmitError::Overloaded { .. }) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                        Err(e) => prop_assert!(sim.s.add(id, prompt, Some(max_tokens)).unwrap_err() == e),
                    }
                }
                Op::Step { eos, token } => { sim.step(eos, token); }
                Op::Cancel(i) => {
                    let ids = sim.s.ids();
                    if !ids.is_empty() {
                        sim.s.remove(ids[i % ids.len()]).unwrap();
                    }
                }
            }
            sim.s.check().unwrap();
        }
        // Everything left runs to its end, within a bounded number of steps (no livelock).
        let mut steps = 0;
        while !sim.s.is_idle() {
            let step = sim.step(0, 3);
            prop_assert!(!step.is_empty() || !step.preempted.is_empty(), "a step with nothing to do while busy");
            steps += 1;
            prop_assert!(steps < 2000, "not idle after 2000 steps");
        }
        sim.s.check().unwrap();
        prop_assert_eq!(sim.s.block_manager().n_free(), n_blocks);
    }
}

#[test]
fn refuses_what_can_never_fit_and_overload() {
    let mut s = Scheduler::new(config()).unwrap();
    assert_eq!(s.add(0, vec![], Some(1)), Err(SubmitError::EmptyPrompt));
    assert_eq!(s.add(0, vec![1; 41], Some(1)), Err(SubmitError::PromptTooLong { prompt: 41, n_ctx: 40 }));
    // 12 blocks of 4 = 48 slots but the context is 40: a long request is cut at the context.
    assert_eq!(Scheduler::check_fits(s.config(), 30, Some(100)), Ok(11));
    let small = SchedulerConfig { n_blocks: 5, ..config() };
    assert_eq!(Scheduler::check_fits(&small, 10, Some(12)), Err(SubmitError::NeverFits { needed: 21, capacity: 20 }));
    assert_eq!(Scheduler::check_fits(&small, 10, Some(11)), Ok(11));
    for id in 0..6 {
        s.add(id, vec![1, 2, 3], Some(4)).unwrap();
    }
    assert_eq!(s.add(6, vec![1], Some(1)), Err(SubmitError::Overloaded { waiting: 6 }));
}

#[test]
fn mixes_decode_with_chunked_prefill_fcfs() {
    let mut s = Scheduler::new(config()).unwrap();
    s.add(0, vec![1; 6], Some(5)).unwrap();
    let st = s.schedule();
    assert_eq!((st.seqs.len(), st.seqs[0].len, st.seqs[0].logits), (1, 6, true));
    s.complete(&st);
    s.append(0, 9);
    s.add(1, vec![2; 30], Some(5)).unwrap();
    s.add(2, vec![3; 3], Some(5)).unwrap();
    // Decode of 0 first, then 15 tokens of 1's prompt; 2 waits behind 1 (FCFS).
    let st = s.schedule();
    let lens: Vec<_> = st.seqs.iter().map(|x| (x.id, x.start, x.len, x.logits)).collect();
    assert_eq!(lens, vec![(0, 6, 1, true), (1, 0, 15, false)]);
    s.complete(&st);
    s.append(0, 9);
    let st = s.schedule();
    let lens: Vec<_> = st.seqs.iter().map(|x| (x.id, x.start, x.len, x.logits)).collect();
    assert_eq!(lens, vec![(0, 7, 1, true), (1, 15, 15, true)]);
    s.check().unwrap();
}

#[test]
fn prefix_blocks_are_reused_and_kept_after_the_request() {
    let mut s = Scheduler::new(caching_config()).unwrap();
    let prompt: Vec<u32> = (0..20).collect();
    s.add(0, prompt.clone(), Some(1)).unwrap();
    let st = s.schedule();
    s.complete(&st);
    let st = s.schedule();
    s.complete(&st);
    s.remove(0).unwrap();
    assert_eq!(s.block_manager().n_cached(), 2); // two full blocks of 8 kept
    assert_eq!(s.block_manager().n_free(), 8);
    let mut p2 = prompt[..16].to_vec();
    p2.extend([50, 51]);
    s.add(1, p2, Some(1)).unwrap();
    let st = s.schedule();
    assert_eq!((st.seqs[0].start, st.seqs[0].len), (16, 2));
    assert_eq!(s.get(1).unwrap().cached_tokens, 16);
    s.complete(&st);
    s.remove(1).unwrap();
    // A prompt that is exactly the cached blocks still computes its last token.
    s.add(2, prompt[..16].to_vec(), Some(1)).unwrap();
    let st = s.schedule();
    assert_eq!((st.seqs[0].start, st.seqs[0].len), (8, 8));
    s.check().unwrap();
}

/// Blocks whose tokens' arithmetic depends on the prompt's length are not shared: with blocks
/// of 4 a prompt's first block is computed by kernels that a longer prompt would not use.
#[test]
fn unsettled_prompt_blocks_are_not_cached() {
    let mut s = Scheduler::new(config()).unwrap();
    s.add(0, (0..10).collect(), Some(1)).unwrap();
    let st = s.schedule();
    s.complete(&st);
    s.remove(0).unwrap();
    assert_eq!(s.block_manager().n_cached(), 0);
    s.check().unwrap();
}

#[test]
fn preempts_the_newest_when_blocks_run_out() {
    // 6 blocks of 4: two sequences of 10 prompt tokens (3 blocks each) fill the cache.
    let cfg =
        SchedulerConfig { n_blocks: 6, block_size: 4, n_ctx: 24, token_budget: 32, max_running: 4, max_waiting: 4 };
    let mut s = Scheduler::new(cfg).unwrap();
    s.add(0, (0..12).collect(), Some(8)).unwrap();
    s.add(1, (100..112).collect(), Some(8)).unwrap();
    let st = s.schedule();
    assert_eq!(st.seqs.len(), 2);
    s.complete(&st);
    s.append(0, 5);
    s.append(1, 5);
    // Both need a 4th block for their 13th token: 1 (newest) is preempted for 0.
    let st = s.schedule();
    assert_eq!(st.preempted, vec![1]);
    assert_eq!(st.seqs.iter().map(|x| x.id).collect::<Vec<_>>(), vec![0]);
    let p = s.get(1).unwrap();
    assert_eq!((p.n_computed(), p.tokens.len(), p.n_preemptions), (0, 13, 1));
    s.check().unwrap();
}
