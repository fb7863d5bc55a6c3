//! The CPU's [`Compute`]: f32 slices, weights read in place from the mapped file, the KV cache
//! (f16 or q8_0) in host memory. Every op is the CPU backend's, rounded as llama.cpp's CPU build rounds
//! (see ARCHITECTURE.md, "Matching llama.cpp's numerics").

use backend::cpu::{self, AttnParams, Cpu, DotOrder, InBatch, KvRows, KvView, RopeParams, SeqView, TokenPlaces};
use backend::KvType;
use gguf::quants::dequantize;
use gguf::GgufFile;

use super::{Compute, Result};
use crate::arch::Activation;
use crate::batch::BatchPlan;
use crate::error::ModelError;
use crate::step_logits::{RowNeed, StepLogits};
use crate::weights::MatrixRef;

/// The CPU pool and the file the weights live in.
pub struct CpuCompute<'a> {
    pub cpu: &'a Cpu,
    pub file: &'a GgufFile,
}

/// One layer's cache in host memory.
pub struct CpuLayerKv {
    k: KvRows, // [slots, width] = [n_blocks, block_size, n_kv_head, head_dim]
    v: KvRows, // [slots, width]
    width: usize,
}

impl CpuLayerKv {
    pub(crate) fn new(ty: KvType, slots: usize, width: usize) -> CpuLayerKv {
        CpuLayerKv { k: KvRows::new(ty, slots, width), v: KvRows::new(ty, slots, width), width }
    }
}

/// The plan itself plus each token's cache slot.
pub struct CpuPlaces {
    plan: BatchPlan,
    slots: Vec<usize>,     // [T]
    orders: Vec<DotOrder>, // [T] each token's attention dot order, from `plan.llama_batch`
}

impl Compute for CpuCompute<'_> {
    type Act = Vec<f32>;
    type Mat = MatrixRef;
    type Vector = Vec<f32>;
    type LayerKv = CpuLayerKv;
    type Places = CpuPlaces;

    fn places(&self, plan: &BatchPlan, block_size: usize) -> Result<CpuPlaces> {
        let slots = (0..plan.len()).map(|i| plan.slot(i, block_size)).collect();
        let orders = plan.llama_batch.iter().map(|b| b.dot_order()).collect();
        Ok(CpuPlaces { plan: plan.clone(), slots, orders })
    }

    fn act(&self, len: usize) -> Result<Vec<f32>> {
        Ok(vec![0.0; len])
    }

    fn layer_kv(&self, ty: KvType, slots: usize, width: usize) -> Result<CpuLayerKv> {
        Ok(CpuLayerKv::new(ty, slots, width))
    }

    fn embed(&self, table: &MatrixRef, at: &CpuPlaces, t: usize, scale: f32, x: &mut Vec<f32>) -> Result<()> {
        let w = table.view(self.file);
        for (row, &id) in x.chunks_exact_mut(w.cols).zip(&at.plan.tokens[..t]) {
            dequantize(w.ty, w.row(id as usize), row).map_err(|e| ModelError::Weight(e.to_string()))?;
            if scale != 1.0 {
                row.iter_mut().for_each(|v| *v *= scale);
            }
        }
        Ok(())
    }

    fn rms_norm(&self, x: &Vec<f32>, w: &Vec<f32>, rows: usize, eps: f32, out: &mut Vec<f32>) -> Result<()> {
        let n = rows * w.len();
        self.cpu.for_rows2(&mut out[..n], &x[..n], w.len(), |o, x| cpu::rms_norm_rows(x, w, eps, o));
        Ok(())
    }

    fn rms_norm_in_place(&self, x: &mut Vec<f32>, w: &Vec<f32>, rows: usize, eps: f32) -> Result<()> {
        self.cpu.for_rows(&mut x[..rows * w.len()], w.len(), |_, x| cpu::rms_norm_in_place(x, w, eps));
        Ok(())
    }

    fn matmul(&self, x: &Vec<f32>, at: &CpuPlaces, t: usize, w: &MatrixRef, out: &mut Vec<f32>) -> Result<()> {
        self.matmuls(x, at, t, &[w], &mut [out])
    }

    fn matmuls(
        &self,
        x: &Vec<f32>,
        at: &CpuPlaces,
        t: usize,
        ws: &[&MatrixRef],
        outs: &mut [&mut Vec<f32>],
    ) -> Result<()> {
        let views: Vec<_> = ws.iter().map(|w| w.view(self.file)).collect();
        let cols = views.first().map_or(0, |v| v.cols);
        let mut slices: Vec<&mut [f32]> = outs.iter_mut().zip(&views).map(|(o, v)| &mut o[..t * v.rows]).collect();
        self.cpu.matmuls_in(&x[..t * cols], &at.plan.llama_batch[..t], &views, &mut slices);
        Ok(())
    }

    fn add_bias(&self, x: &mut Vec<f32>, b: &Vec<f32>, rows: usize) -> Result<()> {
        self.cpu.for_rows(&mut x[..rows * b.len()], b.len(), |_, x| {
            x.chunks_exact_mut(b.len()).for_each(|row| cpu::add_in_place(row, b))
        });
        Ok(())
    }

    fn add(&self, acc: &mut Vec<f32>, x: &Vec<f32>, n: usize) -> Result<()> {
        self.cpu.for_rows2(&mut acc[..n], &x[..n], 1, cpu::add_in_place);
        Ok(())
    }

    fn rope(
        &self,
        x: &mut Vec<f32>,
        at: &CpuPlaces,
        t: usize,
        n_heads: usize,
        hd: usize,
        p: &RopeParams,
    ) -> Result<()> {
        let width = n_heads * hd;
        let positions = &at.plan.positions[..t];
        self.cpu.for_rows(&mut x[..t * width], width, |first, x| {
            cpu::rope(x, n_heads, hd, &positions[first..first + x.len() / width], p)
        });
        Ok(())
    }

    fn kv_write(&self, kv: &mut CpuLayerKv, at: &CpuPlaces, k: &Vec<f32>, v: &Vec<f32>, t: usize) -> Result<()> {
        let w = kv.width;
        for (i, &slot) in at.slots[..t].iter().enumerate() {
            kv.k.write(slot, &k[i * w..(i + 1) * w]);
            kv.v.write(slot, &v[i * w..(i + 1) * w]);
        }
        Ok(())
    }

    fn attention(
        &self,
        q: &Vec<f32>,
        at: &CpuPlaces,
        kv: &CpuLayerKv,
        block_size: usize,
        p: &AttnParams,
        out: &mut Vec<f32>,
    ) -> Result<()> {
        let plan = &at.plan;
        let n = plan.len() * p.n_head * p.head_dim;
        let seqs: Vec<SeqView> = plan.block_tables.iter().map(|b| SeqView { blocks: b }).collect();
        let places = TokenPlaces { positions: &plan.positions, token_seq: &plan.token_seq, orders: &at.orders };
        let view = KvView { k: kv.k.data(), v: kv.v.data(), block_size };
        self.cpu.attention(&q[..n], &places, &seqs, &view, p, &mut out[..n]);
        Ok(())
    }

    fn glu(&self, act: Activation, gate: &mut Vec<f32>, up: &Vec<f32>, rows: usize, ff: usize) -> Result<()> {
        let f = match act {
            Activation::SwiGlu => cpu::swiglu,
            Activation::GeGlu => cpu::geglu,
        };
        // Whole rows: the SwiGLU rounds per 16-element chunk of a row (see `cpu::swiglu`).
        let n = rows * ff;
        self.cpu.for_rows2(&mut gate[..n], &up[..n], ff, |g, u| {
            g.chunks_exact_mut(ff).zip(u.chunks_exact(ff)).for_each(|(g, u)| f(g, u))
        });
        Ok(())
    }

    fn logits(&self, x: &Vec<f32>, at: &CpuPlaces, norm: &Vec<f32>, eps: f32, output: &MatrixRef) -> Result<Vec<f32>> {
        let (e, rows) = (norm.len(), &at.plan.logits_rows);
        let mut last = vec![0.0; rows.len() * e];
        for (dst, &r) in last.chunks_exact_mut(e).zip(rows) {
            cpu::rms_norm(&x[r * e..(r + 1) * e], norm, eps, dst);
        }
        let w = output.view(self.file);
        let mut logits = vec![0.0; rows.len() * w.rows];
        // The output matrix rounds each logits row as its token's batch, as llama.cpp with
        // every row's logits (logits_all) does; its default multiplies only the rows it outputs
        // (ARCHITECTURE.md, "Goldens against llama.cpp", the gaps).
        let batch: Vec<InBatch> = rows.iter().map(|&r| at.plan.llama_batch[r]).collect();
        self.cpu.matmuls_in(&last, &batch, &[w], &mut [&mut logits]);
        Ok(logits)
    }

    /// Every row whole: a greedy choice costs the sampler one pass over a row already in memory.
    fn read_logits(&self, mut a: Vec<f32>, rows: usize, vocab: usize, _: &[RowNeed]) -> Result<StepLogits> {
        a.truncate(rows * vocab);
        Ok(StepLogits::whole(a, vocab))
    }
}
