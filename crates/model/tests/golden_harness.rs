//! Tests of the forward-pass golden harness (tests/golden/mod.rs) on the fixtures themselves:
//! the files parse and hold what issue 4 asks for, llama.cpp's own logits pass with KL ~ 0,
//! damaged logits fail, and the greedy comparison finds divergences where they are.

#[path = "golden/mod.rs"]
mod golden;

use golden::{Golden, PositionGolden, MODELS};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A full row that llama.cpp's stored top-K reproduces: the stored logits, every other token at
/// one low value chosen so the tail holds llama.cpp's tail mass (so the row's log-sum-exp is
/// llama.cpp's). That value is below the K-th logit: it is the log of the mean tail weight.
fn row_from_golden(pos: &PositionGolden, n_vocab: usize) -> Vec<f32> {
    let k = pos.ids.len();
    let tail = pos.tail_mass();
    let last = pos.logits[k - 1];
    let fill =
        if tail > 0.0 { ((pos.lse + (tail / (n_vocab - k) as f64).ln()) as f32).min(last) } else { last - 100.0 };
    let mut row = vec![fill; n_vocab];
    for (&id, &l) in pos.ids.iter().zip(&pos.logits) {
        row[id as usize] = l;
    }
    row
}

/// An `eval` for check_logits that answers with llama.cpp's own rows, changed by `edit`.
fn own_rows<'a>(g: &'a Golden, mut edit: impl FnMut(&mut [f32]) + 'a) -> impl FnMut(&[u32]) -> Vec<Vec<f32>> + 'a {
    move |ids| {
        let p = g.prompts.iter().find(|p| p.ids == ids).expect("known prompt");
        p.positions
            .iter()
            .map(|pos| {
                let mut row = row_from_golden(pos, g.n_vocab);
                edit(&mut row);
                row
            })
            .collect()
    }
}

#[test]
fn fixtures_parse_and_hold_the_promised_prompts_and_continuations() {
    for model in MODELS {
        let g = golden::load(model);
        assert_eq!(g.model, model);
        assert!(g.top_k >= 32, "{model}: k {}", g.top_k);
        assert!(g.prompts.len() >= 8, "{model}: {} prompts", g.prompts.len());
        let names: Vec<&str> = g.prompts.iter().map(|p| p.name.as_str()).collect();
        for want in ["prose", "code", "chat", "list", "multilingual"] {
            assert!(names.contains(&want), "{model}: no {want} prompt in {names:?}");
        }
        for p in &g.prompts {
            assert!(p.ids.len() >= 64, "{model}/{}: {} tokens", p.name, p.ids.len());
            assert_eq!(p.positions.len(), p.ids.len());
            assert!(p.ids.iter().all(|&t| (t as usize) < g.n_vocab));
            if g.add_bos {
                assert_eq!(p.ids[0], g.bos_id, "{model}/{}: no BOS", p.name);
            }
            for (i, pos) in p.positions.iter().enumerate() {
                let at = format!("{model}/{} position {i}", p.name);
                assert_eq!(pos.ids.len(), g.top_k, "{at}");
                assert!(pos.ids.iter().all(|&t| (t as usize) < g.n_vocab), "{at}");
                let mut distinct = pos.ids.clone();
                distinct.sort_unstable();
                distinct.dedup();
                assert_eq!(distinct.len(), g.top_k, "{at}: repeated ids");
                assert!(pos.logits.iter().all(|l| l.is_finite()), "{at}");
                assert!(pos.logits.windows(2).all(|w| w[0] >= w[1]), "{at}: not sorted");
                assert!(pos.lse >= pos.logits[0] as f64, "{at}: lse below the max");
                let top: f64 = (0..g.top_k).map(|i| pos.prob(i)).sum();
                assert!(top <= 1.0 + 1e-5, "{at}: top-K mass {top}");
                // The rest of the row is at most the K-th logit, so this much mass fits.
                let room = (g.n_vocab - g.top_k) as f64 * pos.prob(g.top_k - 1);
                assert!(pos.tail_mass() <= room * (1.0 + 1e-5) + 1e-9, "{at}: tail too big");
            }
        }
        assert_eq!(g.continuations.len(), 20, "{model}");
        assert_eq!(g.max_new_tokens, 64);
        for c in &g.continuations {
            let at = format!("{model}/{}", c.name);
            assert!(!c.prompt_ids.is_empty(), "{at}");
            assert_eq!(c.top2_gaps.len(), c.generated.len(), "{at}");
            assert!(c.top2_gaps.iter().all(|&d| d >= 0.0), "{at}");
            let eog_at = c.generated.iter().position(|t| g.eog_ids.contains(t));
            if c.stopped_at_eog {
                assert_eq!(eog_at, Some(c.generated.len() - 1), "{at}");
            } else {
                assert_eq!(eog_at, None, "{at}");
                assert_eq!(c.generated.len(), g.max_new_tokens, "{at}");
            }
        }
        match &g.source {
            golden::Source::Fetch { name, sha256, .. } => {
                assert_eq!(name, model);
                assert_eq!(sha256.len(), 64);
            }
            golden::Source::Synth { preset, sha256, .. } => {
                assert_eq!(preset, model);
                assert!(model::synth::Preset::from_name(preset).is_some());
                assert_eq!(sha256.len(), 64);
            }
        }
    }
}

#[test]
fn the_goldens_own_logits_agree_perfectly() {
    for model in MODELS {
        let g = golden::load(model);
        let report = golden::check_logits(model, own_rows(&g, |_| {}));
        assert_eq!(report.top1_equal, report.positions, "{report}");
        assert!(report.mean_kl < 1e-6, "{report}");
        assert!(report.passes(), "{report}");
        // Softmax ignores a constant shift of the whole row.
        let report = golden::check_logits(model, own_rows(&g, |r| r.iter_mut().for_each(|x| *x += 3.5)));
        assert_eq!(report.top1_equal, report.positions, "{report}");
        assert!(report.mean_kl < 1e-6, "{report}");
        println!("{report}");
    }
}

#[test]
fn perturbed_logits_give_a_worse_kl() {
    for model in ["tiny-llama", "gemma"] {
        let g = golden::load(model);
        let clean = golden::check_logits(model, own_rows(&g, |_| {}));
        // Small noise on every logit: the argmax mostly survives, the KL grows.
        let mut rng = StdRng::seed_from_u64(7);
        let noisy = golden::check_logits(
            model,
            own_rows(&g, move |r| r.iter_mut().for_each(|x| *x += rng.gen_range(-0.3..0.3))),
        );
        assert!(noisy.mean_kl > 1e-3, "{noisy}");
        assert!(noisy.mean_kl > 1000.0 * clean.mean_kl.max(1e-12), "{noisy}\n{clean}");
        // A sharper distribution (temperature 0.8): same argmax, worse KL.
        let sharp = golden::check_logits(model, own_rows(&g, |r| r.iter_mut().for_each(|x| *x *= 1.25)));
        assert_eq!(sharp.top1_equal, sharp.positions, "{sharp}");
        assert!(sharp.mean_kl > 1e-3 && !sharp.passes(), "{sharp}");
        println!("{noisy}{sharp}");
    }
}

#[test]
fn compare_distributions_on_a_small_vocabulary() {
    // llama.cpp's row [2, 1, 0, 0, -1] with K = 2: stored ids 0 and 1, the tail is ids 2..5.
    let full = [2.0f32, 1.0, 0.0, 0.0, -1.0];
    let lse = full.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
    let pos = PositionGolden { lse, ids: vec![0, 1], logits: vec![2.0, 1.0] };
    // The full row itself: KL 0, top-1 equal.
    let (top1, kl) = golden::compare_distributions(&pos, &full);
    assert!(top1 && kl.abs() < 1e-12, "{kl}");
    // Reshaping mass inside the tail is invisible (the coarsening keeps only the tail's total).
    let moved = (2.0f64 - 0.5f64.exp()).ln() as f32; // e^0.5 + e^moved = e^0 + e^0
    let (top1, kl) = golden::compare_distributions(&pos, &[2.0, 1.0, 0.5, moved, -1.0]);
    assert!(top1 && kl < 1e-6, "{kl}");
    // Swapping the top two: top-1 differs, KL is the hand-computed value.
    let ours = [1.0f32, 2.0, 0.0, 0.0, -1.0];
    let (top1, kl) = golden::compare_distributions(&pos, &ours);
    let p = |x: f64| (x - lse).exp();
    let want = p(2.0) * (p(2.0) / p(1.0)).ln() + p(1.0) * (p(1.0) / p(2.0)).ln();
    assert!(!top1 && (kl - want).abs() < 1e-12, "{kl} vs {want}");
    // Moving mass into the tail is seen: q = softmax([2, 1, 3, 0, -1]).
    let ours = [2.0f32, 1.0, 3.0, 0.0, -1.0];
    let (top1, kl) = golden::compare_distributions(&pos, &ours);
    let lq = ours.iter().map(|&x| (x as f64).exp()).sum::<f64>().ln();
    let q = |x: f64| (x - lq).exp();
    let (pt, qt) = (1.0 - p(2.0) - p(1.0), 1.0 - q(2.0) - q(1.0));
    let want = p(2.0) * (p(2.0) / q(2.0)).ln() + p(1.0) * (p(1.0) / q(1.0)).ln() + pt * (pt / qt).ln();
    assert!(!top1 && (kl - want).abs() < 1e-9, "{kl} vs {want}");
    // NaN, or zero probability for a stored token, is infinitely wrong.
    let (top1, kl) = golden::compare_distributions(&pos, &[2.0, f32::NAN, 0.0, 0.0, -1.0]);
    assert!(!top1 && kl == f64::INFINITY);
    let (_, kl) = golden::compare_distributions(&pos, &[2.0, f32::NEG_INFINITY, 0.0, 0.0, -1.0]);
    assert_eq!(kl, f64::INFINITY);
    // Ties: the lowest id is the argmax on both sides.
    let (top1, _) = golden::compare_distributions(&pos, &[2.0, 2.0, 0.0, 0.0, -1.0]);
    assert!(top1);
}

#[test]
fn check_greedy_counts_identical_continuations_and_finds_divergences() {
    for model in MODELS {
        let g = golden::load(model);
        let lookup = |ids: &[u32]| {
            let c = g.continuations.iter().find(|c| c.prompt_ids == ids);
            c.expect("known prompt").generated.clone()
        };
        // llama.cpp's own continuations; going on past an end-of-generation token is ignored.
        let report = golden::check_greedy(model, |ids, n| {
            assert_eq!(n, 64);
            let mut out = lookup(ids);
            out.extend([0, 1, 2]);
            out
        });
        assert_eq!((report.identical, report.total), (20, 20), "{report}");
        assert!(report.passes());
        // Three full-length continuations change at token 10, a fourth stops early at token 5.
        let full: Vec<&golden::Continuation> =
            g.continuations.iter().filter(|c| c.generated.len() == g.max_new_tokens).take(4).collect();
        let report = golden::check_greedy(model, |ids, _| {
            let mut out = lookup(ids);
            match full.iter().position(|c| c.prompt_ids == ids) {
                Some(0..=2) => out[10] = out[10].wrapping_add(1),
                Some(3) => out.truncate(5),
                _ => {}
            }
            out
        });
        assert_eq!(report.identical, 16, "{report}");
        let at: Vec<(&str, usize, bool)> =
            report.divergences.iter().map(|d| (d.name.as_str(), d.index, d.ours.is_some())).collect();
        let want: Vec<(&str, usize, bool)> = full
            .iter()
            .zip([(10, true), (10, true), (10, true), (5, false)])
            .map(|(c, (i, some))| (c.name.as_str(), i, some))
            .collect();
        assert_eq!(at, want, "{report}");
        assert_eq!(report.divergences[0].llama_gap, full[0].top2_gaps[10]);
        println!("{report}");
        // Continuations that all diverge at once fail.
        let report = golden::check_greedy(model, |ids, _| {
            let mut out = lookup(ids);
            out[0] = out[0].wrapping_add(1);
            out
        });
        assert_eq!(report.identical, 0);
        assert!(!report.passes(), "{report}");
    }
}

/// `model_path` gives the files the goldens were made from: the real models through
/// fetch_models.py, the synthetic ones regenerated bit for bit (sha256 checked inside).
#[test]
fn model_paths_regenerate_the_goldens_models() {
    for model in MODELS {
        let path = golden::model_path(model);
        let file = gguf::GgufFile::open(&path).unwrap();
        let g = golden::load(model);
        let tokens = file.metadata.str_array("tokenizer.ggml.tokens").unwrap();
        assert_eq!(tokens.len(), g.n_vocab, "{model}");
        if let golden::Source::Synth { sha256, .. } = &g.source {
            assert_eq!(&golden::sha256_file(&path), sha256, "{model}");
        }
    }
}
