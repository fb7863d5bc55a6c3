//! A GPU's [`Compute`]: activations in device buffers, weights uploaded once in their file
//! encoding, the KV cache (f16 or q8_0) in device memory. Every op is an asynchronous launch on
//! the device's stream; the only synchronisation of a step is the copy of its logits (or of
//! their greedy choices) to the host.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use backend::cpu::{AttnParams, RopeParams};
use backend::gpu::{
    decode_pick, Arena, Argmax, DeviceBuffer, DeviceElem, GemvOut, Glu, Gpu, GpuMatrix, Graph, HostBuf, KvBuffers,
    Matmul, Ops, PagedPlaces, PinnedPool, Uploader,
};
use backend::KvType;
use gguf::GgmlType;

use super::{separate, Compute, Result};
use crate::arch::Activation;
use crate::batch::BatchPlan;
use crate::error::ModelError;
use crate::kv_cache::KvCache;
use crate::step_logits::{Logits, RowNeed, StepLogits};
use crate::weights::{MatrixRef, Weights};
use crate::Model;

/// A device with the model's kernels compiled.
pub struct GpuCompute {
    gpu: Gpu,
    ops: Ops,
    mm: Matmul,
    argmax: Argmax,
    /// Page-locked buffers the step's results are copied into: rows of logits read whole, the
    /// greedy choices.
    pinned: PinnedPool,
    /// Every buffer of a step (activations, the uploaded plan) is a piece of this arena, which
    /// starts over at the next step: no allocation (and no implicit device synchronisation of
    /// a free) per step once it has grown to the largest step.
    step: RefCell<Arena>,
    /// Whether decode-sized steps run the GEMV's fused forms (norm prologue, several matrices a
    /// launch, bias / residual / GLU epilogues), and every step the rope of q and k with the KV
    /// cache write in one launch: unless ROCMFORGE_NO_FUSION=1 (comparisons).
    fused: bool,
}

/// First size of the step arena; it doubles past the largest step seen.
const STEP_ARENA_BYTES: usize = 16 << 20;
/// Most floats of logits a step copies into page-locked memory (64 rows of a 152k vocabulary);
/// more (the logits of every prompt token) go to ordinary memory.
const PINNED_LOGITS: usize = 64 * 152_064;

/// One layer's cache in device memory: K and V [slots, width] = [n_blocks, block_size,
/// n_kv_head, head_dim] values of the cache's type.
pub type GpuLayerKv = KvBuffers;

/// The step's plan on the device: views of one buffer, so a step uploads it with one copy.
pub struct GpuPlaces {
    all: DeviceBuffer<u32>, // the arrays below, in their order
    t: usize,
    tokens: DeviceBuffer<u32>,       // [T]
    positions: DeviceBuffer<u32>,    // [T]
    token_seq: DeviceBuffer<u32>,    // [T]
    slots: DeviceBuffer<u32>,        // [T]
    block_tables: DeviceBuffer<u32>, // [n_seq, max_blocks]
    max_blocks: usize,
    max_pos: u32,
    logits_rows: DeviceBuffer<u32>, // [n_logits]
    n_logits: usize,
}

/// Weights as the GPU holds them; a matrix used twice (tied embeddings) is uploaded once.
pub type GpuWeights = Weights<Arc<GpuMatrix>, DeviceBuffer<f32>>;

impl GpuCompute {
    /// Compiles (or loads from the kernel cache) every kernel the forward pass needs, the
    /// matrix products for the weight types `types` only.
    pub fn new(gpu: Gpu, types: &[GgmlType]) -> Result<GpuCompute> {
        // The two sets compile side by side (a first run waits for the longer one only).
        let (ops, mm) = std::thread::scope(|s| {
            let ops = s.spawn(|| Ops::new(&gpu));
            let mm = Matmul::for_types(&gpu, types);
            (ops.join(), mm)
        });
        let ops = ops.map_err(|_| backend::gpu::GpuError::Invalid("the GPU op kernels' build panicked".into()))??;
        let mm = mm?;
        let argmax = Argmax::new(&gpu)?;
        let step = RefCell::new(gpu.arena(STEP_ARENA_BYTES, "step buffers")?);
        let fused = std::env::var("ROCMFORGE_NO_FUSION").map_or(true, |v| v != "1");
        let pinned = PinnedPool::new(&gpu);
        Ok(GpuCompute { gpu, ops, mm, argmax, pinned, step, fused })
    }

    /// A piece of the step arena, growing it when the step needs more.
    fn piece<T: DeviceElem>(&self, len: usize, what: &str) -> Result<DeviceBuffer<T>> {
        let mut arena = self.step.borrow_mut();
        let bytes = len.saturating_mul(std::mem::size_of::<T>()) + 2 * backend::gpu::ARENA_ALIGN as usize;
        if arena.remaining() < bytes as u64 {
            let grown = (arena.capacity() as usize * 2).max(arena.used() as usize + bytes).max(bytes * 2);
            *arena = self.gpu.arena(grown, "step buffers")?;
        }
        Ok(arena.alloc(len, what)?)
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Uploads the model's weights, the file's reading overlapping the device's copies
    /// ([`Uploader`]); `progress(done, total)` in bytes.
    pub fn upload(&self, model: &Model, progress: &mut dyn FnMut(u64, u64)) -> Result<GpuWeights> {
        let total: u64 = model.file.tensors.iter().filter(|t| t.dims.len() >= 2).map(|t| t.n_bytes).sum();
        let up = RefCell::new(Uploader::new(&self.gpu)?);
        let uploaded = std::cell::RefCell::new((HashMap::<usize, Arc<GpuMatrix>>::new(), 0u64));
        let progress = std::cell::RefCell::new(progress);
        let matrix = |m: &MatrixRef| -> Result<Arc<GpuMatrix>> {
            let mut state = uploaded.borrow_mut();
            if let Some(done) = state.0.get(&m.index()) {
                return Ok(done.clone());
            }
            let view = m.view(&model.file);
            let name = &model.file.tensors[m.index()].name;
            let matrix = Arc::new(GpuMatrix::upload_via(&mut up.borrow_mut(), &self.gpu, &view, name)?);
            state.0.insert(m.index(), matrix.clone());
            state.1 += view.data.len() as u64;
            (progress.borrow_mut())(state.1, total);
            Ok(matrix)
        };
        let vector = |v: &Vec<f32>| -> Result<DeviceBuffer<f32>> { Ok(self.gpu.upload(v, "norm or bias vector")?) };
        let weights = model.weights.try_map(matrix, vector)?;
        up.into_inner().finish()?;
        Ok(weights)
    }

    /// Reads `logits` ([rows, vocab]) as `needs` asks: the greedy choices of the Argmax rows
    /// are taken on the device (one launch over every row) and copied back as (id, value)
    /// pairs, the other rows whole, each run of consecutive whole rows in one copy.
    fn read_rows(
        &self,
        logits: &DeviceBuffer<f32>,
        rows: usize,
        vocab: usize,
        needs: &[RowNeed],
    ) -> Result<StepLogits> {
        let s = self.gpu.stream();
        let whole: Vec<bool> = (0..rows).map(|i| needs.get(i) != Some(&RowNeed::Argmax)).collect();
        let mut picks = vec![None; rows];
        if whole.contains(&false) {
            let mut out = self.piece::<u32>(2 * rows, "greedy choices")?; // [rows, 2] (id, value bits)
            self.argmax.rows(s, logits, rows, vocab, &mut out)?;
            let mut host = HostBuf::<u32>::take(&self.pinned, 2 * rows);
            if let Err(e) = out.read_prefix(s, &mut host) {
                host.abandon();
                return Err(e.into());
            }
            for (p, pair) in picks.iter_mut().zip(host.chunks_exact(2)) {
                *p = decode_pick([pair[0], pair[1]], vocab);
            }
        }
        let n_whole = whole.iter().filter(|&&w| w).count();
        let mut values = match n_whole * vocab {
            n if n <= PINNED_LOGITS => Logits::take(&self.pinned, n),
            n => Logits::Heap(vec![0f32; n]),
        };
        let (mut r, mut at) = (0, 0);
        while r < rows {
            let run = whole[r..].iter().take_while(|&&w| w).count();
            if run > 0 {
                if let Err(e) = logits.read_at(s, r * vocab, &mut values[at * vocab..(at + run) * vocab]) {
                    values.abandon();
                    return Err(e.into());
                }
                at += run;
            }
            r += run.max(1);
        }
        Ok(StepLogits::mixed(vocab, values, &whole, &picks))
    }
}

/// A step's plan as the kernels read it, before upload.
struct PlaceArrays {
    tokens: Vec<u32>,    // [T]
    positions: Vec<u32>, // [T]
    token_seq: Vec<u32>, // [T]
    slots: Vec<u32>,     // [T]
    tables: Vec<u32>,    // [n_seq, max_blocks]
    max_blocks: usize,
    rows: Vec<u32>, // [n_logits]
}

impl PlaceArrays {
    /// The plan's arrays; with `pad = Some((b, max_blocks))` a decode step padded to `b`
    /// tokens and sequences and `max_blocks` table columns. Padding tokens name a padding
    /// sequence whose blocks do not exist and a slot that does not exist: kv_write skips them
    /// and attention gives them NaN, which no other row reads (every op is row-wise).
    fn new(plan: &BatchPlan, block_size: usize, pad: Option<(usize, usize)>) -> PlaceArrays {
        let t = plan.len();
        let (b, max_blocks) = pad.unwrap_or((t, plan.block_tables.iter().map(Vec::len).max().unwrap_or(0).max(1)));
        let n_seq = if pad.is_some() { b } else { plan.block_tables.len().max(1) };
        let mut tables = vec![u32::MAX; n_seq * max_blocks];
        // A table may hold blocks reserved beyond its last position; those are never read.
        for (row, table) in tables.chunks_exact_mut(max_blocks).zip(&plan.block_tables) {
            let n = table.len().min(max_blocks);
            row[..n].copy_from_slice(&table[..n]);
        }
        let padded = |v: Vec<u32>, fill: &dyn Fn(usize) -> u32| -> Vec<u32> {
            let mut v = v;
            v.extend((t..b).map(fill));
            v
        };
        PlaceArrays {
            tokens: padded(plan.tokens.clone(), &|_| 0),
            positions: padded(plan.positions.clone(), &|_| 0),
            token_seq: padded(plan.token_seq.iter().map(|&s| s as u32).collect(), &|i| i as u32),
            slots: padded((0..t).map(|i| plan.slot(i, block_size) as u32).collect(), &|_| u32::MAX),
            tables,
            max_blocks,
            rows: padded(plan.logits_rows.iter().map(|&r| r as u32).collect(), &|i| i as u32),
        }
    }

    fn max_pos(&self) -> u32 {
        self.positions.iter().copied().max().unwrap_or(0)
    }

    /// The arrays in GpuPlaces' order, one after the other.
    fn packed(&self) -> Vec<u32> {
        [&self.tokens, &self.positions, &self.token_seq, &self.slots, &self.tables, &self.rows].map(|v| &v[..]).concat()
    }
}

impl GpuCompute {
    fn upload_places(&self, a: &PlaceArrays) -> Result<GpuPlaces> {
        let packed = a.packed();
        let mut all = self.piece::<u32>(packed.len(), "step plan")?;
        all.write(self.gpu.stream(), &packed)?;
        let mut at = 0;
        let mut next = |len: usize| {
            at += len;
            all.view(at - len, len)
        };
        Ok(GpuPlaces {
            t: a.tokens.len(),
            tokens: next(a.tokens.len())?,
            positions: next(a.positions.len())?,
            token_seq: next(a.token_seq.len())?,
            slots: next(a.slots.len())?,
            block_tables: next(a.tables.len())?,
            max_blocks: a.max_blocks,
            max_pos: a.max_pos(),
            logits_rows: next(a.rows.len())?,
            n_logits: a.rows.len(),
            all,
        })
    }

    /// Rewrites a captured step's inputs (same shapes) in place.
    fn rewrite_places(&self, p: &mut GpuPlaces, a: &PlaceArrays) -> Result<()> {
        Ok(p.all.write(self.gpu.stream(), &a.packed())?)
    }
}

impl Compute for GpuCompute {
    type Act = DeviceBuffer<f32>;
    type Mat = Arc<GpuMatrix>;
    type Vector = DeviceBuffer<f32>;
    type LayerKv = GpuLayerKv;
    type Places = GpuPlaces;

    fn places(&self, plan: &BatchPlan, block_size: usize) -> Result<GpuPlaces> {
        // A new step: the last step's buffers are gone (or the arena is replaced as it grows).
        self.step.borrow_mut().reset();
        self.upload_places(&PlaceArrays::new(plan, block_size, None))
    }

    fn act(&self, len: usize) -> Result<DeviceBuffer<f32>> {
        self.piece(len, "activations")
    }

    fn layer_kv(&self, ty: KvType, slots: usize, width: usize) -> Result<GpuLayerKv> {
        Ok(KvBuffers::alloc(&self.gpu, ty, slots, width)?)
    }

    fn embed(&self, table: &Arc<GpuMatrix>, at: &GpuPlaces, t: usize, scale: f32, x: &mut Self::Act) -> Result<()> {
        Ok(self.mm.get_rows(self.gpu.stream(), table, &at.tokens, t, scale, x)?)
    }

    fn rms_norm(&self, x: &Self::Act, w: &Self::Vector, rows: usize, eps: f32, out: &mut Self::Act) -> Result<()> {
        Ok(self.ops.rms_norm(self.gpu.stream(), x, w, rows, eps, out)?)
    }

    fn rms_norm_in_place(&self, x: &mut Self::Act, w: &Self::Vector, rows: usize, eps: f32) -> Result<()> {
        Ok(self.ops.rms_norm_in_place(self.gpu.stream(), x, w, rows, eps)?)
    }

    fn matmul(&self, x: &Self::Act, _: &GpuPlaces, t: usize, w: &Arc<GpuMatrix>, out: &mut Self::Act) -> Result<()> {
        Ok(self.mm.matmul(self.gpu.stream(), w, x, t, out)?)
    }

    fn norm_matmuls(
        &self,
        x: &Self::Act,
        at: &GpuPlaces,
        norm: &Self::Vector,
        eps: f32,
        t: usize,
        ws: &[&Arc<GpuMatrix>],
        biases: &[Option<&Self::Vector>],
        normed: &mut Self::Act,
        outs: &mut [&mut Self::Act],
    ) -> Result<()> {
        if self.fused {
            let mut gemv: Vec<GemvOut> = (ws.iter().zip(biases).zip(outs.iter_mut()))
                .map(|((w, bias), y)| GemvOut { w, bias: *bias, y })
                .collect();
            if self.mm.gemv_fused(self.gpu.stream(), x, t, Some((norm, eps)), &mut gemv, false)? {
                return Ok(());
            }
        }
        separate::norm_matmuls(self, x, at, norm, eps, t, ws, biases, normed, outs)
    }

    fn matmul_add(
        &self,
        x: &Self::Act,
        at: &GpuPlaces,
        t: usize,
        w: &Arc<GpuMatrix>,
        width: usize,
        tmp: &mut Self::Act,
        acc: &mut Self::Act,
    ) -> Result<()> {
        let mut gemv = [GemvOut { w, bias: None, y: &mut *acc }];
        if self.fused && self.mm.gemv_fused(self.gpu.stream(), x, t, None, &mut gemv, true)? {
            return Ok(());
        }
        separate::matmul_add(self, x, at, t, w, width, tmp, acc)
    }

    fn norm_glu(
        &self,
        x: &Self::Act,
        at: &GpuPlaces,
        norm: &Self::Vector,
        eps: f32,
        t: usize,
        w_gate: &Arc<GpuMatrix>,
        w_up: &Arc<GpuMatrix>,
        act: Activation,
        ff: usize,
        normed: &mut Self::Act,
        up: &mut Self::Act,
        gate: &mut Self::Act,
    ) -> Result<()> {
        let glu = match act {
            Activation::SwiGlu => Glu::Swi,
            Activation::GeGlu => Glu::Ge,
        };
        let s = self.gpu.stream();
        if self.fused && self.mm.gemv_glu(s, x, t, Some((norm, eps)), w_gate, w_up, glu, gate)? {
            return Ok(());
        }
        separate::norm_glu(self, x, at, norm, eps, t, w_gate, w_up, act, ff, normed, up, gate)
    }

    fn add_bias(&self, x: &mut Self::Act, b: &Self::Vector, rows: usize) -> Result<()> {
        Ok(self.ops.add_bias(self.gpu.stream(), x, b, rows)?)
    }

    fn add(&self, acc: &mut Self::Act, x: &Self::Act, n: usize) -> Result<()> {
        Ok(self.ops.add(self.gpu.stream(), acc, x, n)?)
    }

    fn rope(
        &self,
        x: &mut Self::Act,
        at: &GpuPlaces,
        t: usize,
        n_heads: usize,
        hd: usize,
        p: &RopeParams,
    ) -> Result<()> {
        Ok(self.ops.rope(self.gpu.stream(), x, t, n_heads, hd, &at.positions, p)?)
    }

    fn rope_qk(
        &self,
        q: &mut Self::Act,
        k: &mut Self::Act,
        at: &GpuPlaces,
        t: usize,
        n_q: usize,
        n_k: usize,
        hd: usize,
        p: &RopeParams,
    ) -> Result<()> {
        Ok(self.ops.rope_qk(self.gpu.stream(), q, n_q, k, n_k, t, hd, &at.positions, p)?)
    }

    fn rope_qk_kv_write(
        &self,
        q: &mut Self::Act,
        k: &mut Self::Act,
        v: &Self::Act,
        kv: &mut GpuLayerKv,
        at: &GpuPlaces,
        t: usize,
        n_q: usize,
        n_k: usize,
        hd: usize,
        p: &RopeParams,
    ) -> Result<()> {
        if !self.fused {
            return separate::rope_qk_kv_write(self, q, k, v, kv, at, t, n_q, n_k, hd, p);
        }
        let s = self.gpu.stream();
        Ok(self.ops.rope_qk_kv_write(s, (q, n_q), (k, n_k), v, t, hd, &at.positions, &at.slots, p, kv)?)
    }

    fn kv_write(&self, kv: &mut GpuLayerKv, at: &GpuPlaces, k: &Self::Act, v: &Self::Act, t: usize) -> Result<()> {
        Ok(self.ops.kv_write(self.gpu.stream(), k, v, &at.slots, t, kv)?)
    }

    fn attention(
        &self,
        q: &Self::Act,
        at: &GpuPlaces,
        kv: &GpuLayerKv,
        block_size: usize,
        p: &AttnParams,
        out: &mut Self::Act,
    ) -> Result<()> {
        let places = PagedPlaces {
            positions: &at.positions,
            token_seq: &at.token_seq,
            block_tables: &at.block_tables,
            max_blocks: at.max_blocks,
            t: at.t,
            max_pos: at.max_pos,
        };
        Ok(self.ops.attention(self.gpu.stream(), q, &places, kv, block_size, p, out)?)
    }

    fn glu(&self, act: Activation, gate: &mut Self::Act, up: &Self::Act, rows: usize, ff: usize) -> Result<()> {
        let (s, n) = (self.gpu.stream(), rows * ff);
        match act {
            Activation::SwiGlu => self.ops.swiglu(s, gate, up, n)?,
            Activation::GeGlu => self.ops.geglu(s, gate, up, n)?,
        }
        Ok(())
    }

    fn logits(
        &self,
        x: &Self::Act,
        at: &GpuPlaces,
        norm: &Self::Vector,
        eps: f32,
        output: &Arc<GpuMatrix>,
    ) -> Result<Self::Act> {
        let (s, n, e) = (self.gpu.stream(), at.n_logits, norm.len());
        let mut last = self.act(n * e)?; // [n, n_embd]
        self.ops.gather_rows(s, x, &at.logits_rows, n, e, &mut last)?;
        let mut normed = self.act(n * e)?; // [n, n_embd]
        self.ops.rms_norm(s, &last, norm, n, eps, &mut normed)?;
        let mut logits = self.act(n * output.rows())?; // [n, vocab]
        self.mm.matmul(s, output, &normed, n, &mut logits)?;
        Ok(logits)
    }

    fn read_logits(&self, a: Self::Act, rows: usize, vocab: usize, needs: &[RowNeed]) -> Result<StepLogits> {
        self.read_rows(&a, rows, vocab, needs)
    }
}

/// Tokens of the warm-up prefill at load: enough for every matmul kernel a prefill takes (the
/// vendor BLAS from 65 tokens).
const WARM_UP_TOKENS: usize = 128;

/// Decode steps of up to this many sequences replay a captured graph (padded to the bucket).
const GRAPH_BUCKETS: [usize; 7] = [1, 2, 4, 8, 16, 32, 64];
/// Captured graphs kept at once (they hold their activation buffers).
const MAX_GRAPHS: usize = 32;

/// A captured decode step: fixed input buffers rewritten before each replay, the logits it
/// leaves, and the arena its activations live in.
struct DecodeGraph {
    places: GpuPlaces,
    logits: DeviceBuffer<f32>, // [bucket, vocab]
    graph: Graph,
    _arena: Arena,
}

/// Which graph serves a step: bucket, table columns, and the cache it was captured on.
type GraphKey = (usize, usize, u64, usize);

/// A model's weights on a GPU, with its kernels: what `Device::Gpu` holds.
pub struct GpuModel {
    pub compute: GpuCompute,
    pub weights: GpuWeights,
    graphs: RefCell<HashMap<GraphKey, DecodeGraph>>,
    /// Decode steps replay captured graphs unless ROCMFORGE_NO_GRAPHS is set (read at load).
    use_graphs: bool,
}

impl GpuModel {
    /// Uploads the weights and runs one warm-up prefill, so that the first prompt does not pay
    /// the one-time costs (the vendor BLAS library's start and self-check, the kernels' loads,
    /// the step arena's growth).
    pub fn load(model: &Model, gpu: Gpu, progress: &mut dyn FnMut(u64, u64)) -> Result<GpuModel> {
        // The types of the matrices `upload` will make (every tensor of two or more dimensions).
        let types: Vec<GgmlType> = model.file.tensors.iter().filter(|t| t.dims.len() >= 2).map(|t| t.ty).collect();
        let compute = GpuCompute::new(gpu, &types)?;
        let weights = compute.upload(model, progress)?;
        let use_graphs = std::env::var_os("ROCMFORGE_NO_GRAPHS").is_none();
        let g = GpuModel { compute, weights, graphs: RefCell::new(HashMap::new()), use_graphs };
        g.warm_up(model)?;
        Ok(g)
    }

    /// A prefill of WARM_UP_TOKENS tokens on a cache of its own (no graph: a decode graph would
    /// keep pointing at this cache after it is freed).
    fn warm_up(&self, model: &Model) -> Result<()> {
        let bs = crate::kv_cache::DEFAULT_BLOCK_SIZE;
        let n_blocks = WARM_UP_TOKENS.div_ceil(bs);
        let mut kv = self.kv_cache(model, KvType::F16, n_blocks, bs)?;
        let table: Vec<u32> = (0..n_blocks as u32).collect();
        let plan = BatchPlan::single(&[0; WARM_UP_TOKENS], 0, &table, false);
        model.forward_on(&self.compute, &self.weights, &mut kv, &plan, &[]).map(drop)
    }

    /// Turns the fused decode kernels on or off (comparisons; ROCMFORGE_NO_FUSION=1 at load is
    /// off). Drops the captured graphs, which hold the kernels of the old setting.
    pub fn set_fused(&mut self, on: bool) {
        self.compute.fused = on;
        self.graphs.borrow_mut().clear();
    }

    pub fn kv_cache(
        &self,
        model: &Model,
        ty: KvType,
        n_blocks: usize,
        block_size: usize,
    ) -> Result<KvCache<GpuLayerKv>> {
        KvCache::on(&self.compute, &model.hparams, ty, n_blocks, block_size)
    }

    /// One step, each row of logits read as `needs` asks; decode-only steps (one token per
    /// sequence, every row's logits) of up to 64 sequences replay a graph captured for their
    /// size bucket, so a decode step costs one launch instead of hundreds.
    pub fn forward(
        &self,
        model: &Model,
        kv: &mut KvCache<GpuLayerKv>,
        plan: &BatchPlan,
        needs: &[RowNeed],
    ) -> Result<StepLogits> {
        match graph_shape(plan, kv.block_size()) {
            Some((bucket, max_blocks)) if self.use_graphs => {
                plan.validate(model.vocab_size(), kv.block_size(), kv.n_blocks())?;
                self.replay(model, kv, plan, bucket, max_blocks, needs)
            }
            _ => model.forward_on(&self.compute, &self.weights, kv, plan, needs),
        }
    }

    fn replay(
        &self,
        model: &Model,
        kv: &mut KvCache<GpuLayerKv>,
        plan: &BatchPlan,
        bucket: usize,
        max_blocks: usize,
        needs: &[RowNeed],
    ) -> Result<StepLogits> {
        let arrays = PlaceArrays::new(plan, kv.block_size(), Some((bucket, max_blocks)));
        let key = (bucket, max_blocks, kv.layer(0).k.device_ptr(), kv.n_blocks());
        let mut graphs = self.graphs.borrow_mut();
        if !graphs.contains_key(&key) {
            if graphs.len() >= MAX_GRAPHS {
                graphs.clear();
            }
            let g = self.capture(model, kv, &arrays)?;
            graphs.insert(key, g);
        }
        let g = graphs.get_mut(&key).ok_or_else(|| ModelError::KvCache("decode graph missing".into()))?;
        let s = self.compute.gpu.stream();
        self.compute.rewrite_places(&mut g.places, &arrays)?;
        g.graph.launch(s)?;
        // A new step for the step arena too (the graph has its own): the reads may take pieces.
        self.compute.step.borrow_mut().reset();
        self.compute.read_rows(&g.logits, plan.len(), model.vocab_size(), needs)
    }

    /// Captures the decode step of `arrays`' shape: its inputs and activations in an arena of
    /// their own, sized up front (nothing may be allocated while capturing).
    fn capture(&self, model: &Model, kv: &mut KvCache<GpuLayerKv>, arrays: &PlaceArrays) -> Result<DecodeGraph> {
        let c = &self.compute;
        let b = arrays.tokens.len();
        let floats = model.step_act_floats(b, b);
        let u32s = 5 * b + arrays.tables.len() + b;
        let bytes = 4 * (floats + u32s) + 64 * backend::gpu::ARENA_ALIGN as usize;
        let arena = c.gpu.arena(bytes, "decode graph buffers")?;
        let normal = c.step.replace(arena);
        let captured = (|| {
            let places = c.upload_places(arrays)?;
            let mut out: Option<Result<Option<DeviceBuffer<f32>>>> = None;
            let graph = c.gpu.stream().capture(|_| {
                let r = model.forward_device(c, &self.weights, kv, &places, b, b);
                let failed = r.is_err();
                out = Some(r);
                match failed {
                    true => Err(backend::gpu::GpuError::Invalid("decode step capture failed".into())),
                    false => Ok(()),
                }
            });
            let logits = match (out, graph) {
                (Some(Err(e)), _) => return Err(e),
                (_, Err(e)) => return Err(e.into()),
                (Some(Ok(Some(l))), Ok(graph)) => (l, graph),
                _ => return Err(ModelError::KvCache("decode step produced no logits".into())),
            };
            Ok((places, logits))
        })();
        let arena = c.step.replace(normal);
        let (places, (logits, graph)) = captured?;
        Ok(DecodeGraph { places, logits, graph, _arena: arena })
    }
}

/// The graph bucket and table width of a decode-only step (one token per sequence, logits
/// for every row in order), or None.
fn graph_shape(plan: &BatchPlan, block_size: usize) -> Option<(usize, usize)> {
    let t = plan.len();
    let bucket = *GRAPH_BUCKETS.iter().find(|&&b| b >= t)?;
    let one_each = plan.block_tables.len() == t && plan.token_seq.iter().enumerate().all(|(i, &s)| s == i);
    let all_rows = plan.logits_rows.iter().enumerate().all(|(i, &r)| r == i) && plan.logits_rows.len() == t;
    if !(one_each && all_rows) {
        return None;
    }
    // Columns cover the longest context, rounded up so a graph serves many steps.
    let need = plan.positions.iter().map(|&p| p as usize / block_size + 1).max().unwrap_or(1);
    Some((bucket, need.next_power_of_two().max(16)))
}
