//! Finding a model's tensors by name and checking every shape against the hyperparameters
//! (a GGUF file is untrusted: a lying header must fail here, not index out of bounds later).
//! Matrices stay in the mapped file; small vectors (norms, biases) are dequantized to f32.

use backend::WeightView;
use gguf::{GgufFile, TensorInfo};

use crate::arch::ArchSpec;
use crate::error::ModelError;
use crate::hparams::HParams;

/// A matrix of the model file, by its index in the tensor table (shape checked at load).
#[derive(Clone, Copy, Debug)]
pub struct MatrixRef {
    info: usize,
}

/// One layer. Matrices are `[rows = outputs, cols = inputs]` (ggml ne1 x ne0). `M` is how a
/// device holds a matrix and `V` an f32 vector: `MatrixRef` and `Vec<f32>` as loaded (the CPU
/// uses them directly), device buffers once uploaded to a GPU ([`Weights::try_map`]).
pub struct LayerWeights<M = MatrixRef, V = Vec<f32>> {
    pub attn_norm: V,              // [n_embd]
    pub wq: M,                     // [n_head * hd, n_embd]
    pub wk: M,                     // [n_kv * hd, n_embd]
    pub wv: M,                     // [n_kv * hd, n_embd]
    pub bq: Option<V>,             // [n_head * hd]
    pub bk: Option<V>,             // [n_kv * hd]
    pub bv: Option<V>,             // [n_kv * hd]
    pub q_norm: Option<V>,         // [hd]
    pub k_norm: Option<V>,         // [hd]
    pub wo: M,                     // [n_embd, n_head * hd]
    pub post_attn_norm: Option<V>, // [n_embd]
    pub ffn_norm: V,               // [n_embd]
    pub w_gate: M,                 // [n_ff, n_embd]
    pub w_up: M,                   // [n_ff, n_embd]
    pub w_down: M,                 // [n_embd, n_ff]
    pub post_ffn_norm: Option<V>,  // [n_embd]
}

pub struct Weights<M = MatrixRef, V = Vec<f32>> {
    pub token_embd: M, // [n_vocab, n_embd]
    pub layers: Vec<LayerWeights<M, V>>,
    pub output_norm: V, // [n_embd]
    /// `output.weight`, or the token embeddings when the model ties them.
    pub output: M, // [n_vocab, n_embd]
}

struct Loader<'f> {
    file: &'f GgufFile,
}

impl Loader<'_> {
    fn find(&self, name: &str) -> Option<(usize, &TensorInfo)> {
        let i = self.file.tensor_index(name)?;
        Some((i, &self.file.tensors[i]))
    }

    fn shape_error(name: &str, want: &[u64], t: &TensorInfo) -> ModelError {
        ModelError::Shape { tensor: name.to_string(), expected: want.to_vec(), found: t.dims.clone() }
    }

    fn matrix(&self, name: &str, rows: u32, cols: u32) -> Result<MatrixRef, ModelError> {
        self.opt_matrix(name, rows, cols)?
            .ok_or_else(|| ModelError::Gguf(gguf::GgufError::MissingTensor { name: name.to_string() }))
    }

    fn opt_matrix(&self, name: &str, rows: u32, cols: u32) -> Result<Option<MatrixRef>, ModelError> {
        let Some((i, t)) = self.find(name) else {
            return Ok(None);
        };
        let want = [u64::from(cols), u64::from(rows)];
        if t.dims != want {
            return Err(Self::shape_error(name, &want, t));
        }
        WeightView::new(t, self.file.tensor_data(t)?).map_err(|e| ModelError::Weight(e.to_string()))?;
        Ok(Some(MatrixRef { info: i }))
    }

    fn vector(&self, name: &str, len: u32) -> Result<Vec<f32>, ModelError> {
        self.opt_vector(name, len)?
            .ok_or_else(|| ModelError::Gguf(gguf::GgufError::MissingTensor { name: name.to_string() }))
    }

    fn opt_vector(&self, name: &str, len: u32) -> Result<Option<Vec<f32>>, ModelError> {
        let Some((_, t)) = self.find(name) else {
            return Ok(None);
        };
        if t.dims != [u64::from(len)] {
            return Err(Self::shape_error(name, &[u64::from(len)], t));
        }
        Ok(Some(self.file.dequantize(t)?))
    }
}

impl Weights {
    pub fn load(file: &GgufFile, hp: &HParams, spec: &ArchSpec) -> Result<Weights, ModelError> {
        let ld = Loader { file };
        let vocab = hp.vocab_size.ok_or_else(|| ModelError::BadHParam {
            key: "tokenizer.ggml.tokens".into(),
            why: "no vocabulary size".into(),
        })?;
        let e = hp.n_embd;
        let token_embd = ld.matrix("token_embd.weight", vocab, e)?;
        let mut layers = Vec::with_capacity(hp.n_layer as usize);
        for l in 0..hp.n_layer {
            let li = l as usize;
            let n = |s: &str| format!("blk.{l}.{s}");
            let (q, kv, hd, ff) =
                (hp.n_head[li] * hp.head_dim_k, hp.n_head_kv[li] * hp.head_dim_k, hp.head_dim_k, hp.n_ff[li]);
            let required = |name: &str, len: u32, present: bool| -> Result<Option<Vec<f32>>, ModelError> {
                match present {
                    true => ld.vector(&n(name), len).map(Some),
                    false => Ok(None),
                }
            };
            layers.push(LayerWeights {
                attn_norm: ld.vector(&n("attn_norm.weight"), e)?,
                wq: ld.matrix(&n("attn_q.weight"), q, e)?,
                wk: ld.matrix(&n("attn_k.weight"), kv, e)?,
                wv: ld.matrix(&n("attn_v.weight"), kv, e)?,
                bq: ld.opt_vector(&n("attn_q.bias"), q)?,
                bk: ld.opt_vector(&n("attn_k.bias"), kv)?,
                bv: ld.opt_vector(&n("attn_v.bias"), kv)?,
                q_norm: required("attn_q_norm.weight", hd, spec.qk_norm)?,
                k_norm: required("attn_k_norm.weight", hd, spec.qk_norm)?,
                wo: ld.matrix(&n("attn_output.weight"), e, q)?,
                post_attn_norm: required("post_attention_norm.weight", e, spec.post_norms)?,
                ffn_norm: ld.vector(&n("ffn_norm.weight"), e)?,
                w_gate: ld.matrix(&n("ffn_gate.weight"), ff, e)?,
                w_up: ld.matrix(&n("ffn_up.weight"), ff, e)?,
                w_down: ld.matrix(&n("ffn_down.weight"), e, ff)?,
                post_ffn_norm: required("post_ffw_norm.weight", e, spec.post_norms)?,
            });
        }
        Ok(Weights {
            token_embd,
            layers,
            output_norm: ld.vector("output_norm.weight", e)?,
            output: ld.opt_matrix("output.weight", vocab, e)?.unwrap_or(token_embd),
        })
    }
}

impl<M, V> Weights<M, V> {
    /// The same weights held another way (uploaded to a device), converted one by one.
    pub fn try_map<M2, V2, E>(
        &self,
        mat: impl Fn(&M) -> Result<M2, E>,
        vector: impl Fn(&V) -> Result<V2, E>,
    ) -> Result<Weights<M2, V2>, E> {
        let opt = |v: &Option<V>| v.as_ref().map(&vector).transpose();
        let mut layers = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            layers.push(LayerWeights {
                attn_norm: vector(&l.attn_norm)?,
                wq: mat(&l.wq)?,
                wk: mat(&l.wk)?,
                wv: mat(&l.wv)?,
                bq: opt(&l.bq)?,
                bk: opt(&l.bk)?,
                bv: opt(&l.bv)?,
                q_norm: opt(&l.q_norm)?,
                k_norm: opt(&l.k_norm)?,
                wo: mat(&l.wo)?,
                post_attn_norm: opt(&l.post_attn_norm)?,
                ffn_norm: vector(&l.ffn_norm)?,
                w_gate: mat(&l.w_gate)?,
                w_up: mat(&l.w_up)?,
                w_down: mat(&l.w_down)?,
                post_ffn_norm: opt(&l.post_ffn_norm)?,
            });
        }
        Ok(Weights {
            token_embd: mat(&self.token_embd)?,
            layers,
            output_norm: vector(&self.output_norm)?,
            output: mat(&self.output)?,
        })
    }
}

impl MatrixRef {
    /// Its index in the file's tensor table.
    pub fn index(&self) -> usize {
        self.info
    }

    /// The matrix as a view into `file` (the file it was loaded from; checked at load).
    pub fn view<'f>(&self, file: &'f GgufFile) -> WeightView<'f> {
        let t = &file.tensors[self.info];
        let rows = t.dims[1..].iter().product::<u64>() as usize;
        let data = file.tensor_data(t).unwrap_or(&[]);
        WeightView { ty: t.ty, rows, cols: t.dims[0] as usize, data }
    }
}
