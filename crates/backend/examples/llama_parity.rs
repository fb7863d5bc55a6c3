//! Our CPU ops against llama.cpp's, bit for bit, on the tensors of one llama.cpp forward pass
//! (scripts/dump_llama_tensors.py; one layer of the Qwen2.5 test model): each op gets llama.cpp's
//! own input and its result is compared with llama.cpp's output. Prints, per op, how many
//! values differ; a development tool for matching llama.cpp's rounding (docs/ARCHITECTURE.md).
//!
//!     cargo run --release -p backend --example llama_parity -- MODEL.gguf DUMP_DIR [LAYER]
//!
//! (the dump's FILTER must then be "-LAYER").

use backend::cpu::{rms_norm_rows, rope, softmax, swiglu, Cpu, RopeParams, RopeStyle};
use backend::WeightView;
use gguf::GgufFile;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn read(dir: &str, name: &str) -> Res<Vec<f32>> {
    let b = std::fs::read(format!("{dir}/{name}.f32")).map_err(|e| format!("{dir}/{name}.f32: {e}"))?;
    Ok(b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

fn report(what: &str, ours: &[f32], theirs: &[f32]) {
    let diff: Vec<f32> =
        ours.iter().zip(theirs).filter(|(a, b)| a.to_bits() != b.to_bits()).map(|(a, b)| (a - b).abs()).collect();
    let worst = diff.iter().copied().fold(0f32, f32::max);
    println!("{what:<34} {:>9} of {:>9} differ (largest {worst:e})", diff.len(), ours.len());
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    let (model, dir, layer) = match &args[..] {
        [_, m, d] => (m, d, 0),
        [_, m, d, l] => (m, d, l.parse::<usize>()?),
        _ => return Err("usage: llama_parity MODEL.gguf DUMP_DIR [LAYER]".into()),
    };
    let file = GgufFile::open(model)?;
    let cpu = Cpu::new(2)?;
    let f32s = |name: &str| -> Res<Vec<f32>> {
        let data = file.tensor_data(file.require_tensor(name)?)?;
        Ok(data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    };
    // Matmuls: the whole prompt at once, then token by token (prefill and decode kernels).
    let (b, l) = (|n: &str| format!("blk.{layer}.{n}.weight"), |n: &str| format!("{n}-{layer}"));
    for (w, x, y) in [
        (b("attn_q"), l("attn_norm"), l("Qcur")),
        (b("attn_v"), l("attn_norm"), l("Vcur")),
        (b("ffn_gate"), l("ffn_norm"), l("ffn_gate")),
        (b("ffn_down"), l("ffn_swiglu"), l("ffn_out")),
        ("output.weight".into(), "result_norm".into(), "result_output".into()),
    ] {
        let (w, x, y) = (&w, &x, &y);
        let info = file.require_tensor(w)?;
        let wv = WeightView::new(info, file.tensor_data(info)?)?;
        let (xv, want) = (read(dir, x)?, read(dir, y)?);
        let t = xv.len() / wv.cols;
        let mut out = vec![0f32; t * wv.rows];
        cpu.matmul(&xv, t, &wv, &mut out);
        report(&format!("{w} {} x{t}", wv.ty), &out, &want);
        for (xr, or) in xv.chunks_exact(wv.cols).zip(out.chunks_exact_mut(wv.rows)) {
            cpu.matmul(xr, 1, &wv, or);
        }
        report(&format!("{w} {} x1", wv.ty), &out, &want);
    }
    let mut g = read(dir, &l("ffn_gate"))?;
    swiglu(&mut g, &read(dir, &l("ffn_up"))?);
    report("swiglu", &g, &read(dir, &l("ffn_swiglu"))?);

    let x = read(dir, &l("ffn_inp"))?;
    let mut y = vec![0f32; x.len()];
    rms_norm_rows(&x, &f32s(&format!("blk.{layer}.ffn_norm.weight"))?, 1e-6, &mut y);
    report("rms_norm", &y, &read(dir, &l("ffn_norm"))?);

    // Qcur-L#2 is Q reshaped to heads, #3 the same after rope.
    let (n_head, head_dim) = (14, 64);
    let mut q = read(dir, &format!("{}#2", l("Qcur")))?;
    let t = q.len() / (n_head * head_dim);
    let positions: Vec<u32> = (0..t as u32).collect();
    let p = RopeParams { n_rot: head_dim, base: 1e6, freq_scale: 1.0, style: RopeStyle::Neox };
    rope(&mut q, n_head, head_dim, &positions, &p);
    report("rope", &q, &read(dir, &format!("{}#3", l("Qcur")))?);

    // kq: [head][token][key] over the 256 padded keys; token i sees keys 0..=i.
    let (kq, want) = (read(dir, &l("kq"))?, read(dir, &l("kq_soft_max"))?);
    let mut got = vec![0f32; kq.len()];
    for (r, (row, o)) in kq.chunks_exact(256).zip(got.chunks_exact_mut(256)).enumerate() {
        let visible = r % t + 1;
        let mut w: Vec<f32> = row[..visible].iter().map(|v| v * (1.0 / (head_dim as f32).sqrt())).collect();
        softmax(&mut w, 0);
        o[..visible].copy_from_slice(&w);
    }
    report("softmax", &got, &want);
    Ok(())
}
