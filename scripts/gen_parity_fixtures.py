#!/usr/bin/env python3
"""Write crates/backend/tests/fixtures/llama_parity/: llama.cpp's own inputs and outputs of single
ops of the Qwen2.5 and Gemma 3 test models, for tests/llama_parity.rs to hold our CPU kernels to
bit for bit.

Qwen: two llama.cpp runs of the first 70 tokens of logits prompt 0 (scripts/dump_llama_tensors.py,
layer 0, with its Q6_K ffn_down; layer 11 for its Q4_K ffn_down): the prompt as one batch
("batch") and one token per batch ("single", llama.cpp's decode arithmetic); and ffn_down at
the batch sizes where llama.cpp changes kernels ("edge_"). Gemma ("gemma_"):
GeGLU values of layer 0 of prompt 0 (those where the gelu table's rounding is delicate, and
some others) and the attention of layer 4 over the first 24 tokens of prompt 4, whose queries
llama.cpp scales before rounding them to f16. Each tensor is raw little-endian (f32, or f16
where the op rounds to f16 anyway), named <run>_<what>.<f32|f16>; shapes are in
tests/llama_parity.rs. Weights are sliced out of the GGUF file as stored (rows of the ggml type).

Rerun: pip install llama-cpp-python==0.3.36 numpy gguf; python3 scripts/gen_parity_fixtures.py
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import gguf

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "crates/backend/tests/fixtures/llama_parity"
TOKENS, HEADS, HD, KV_HEADS = 70, 14, 64, 2
# Attention outputs kept: the last 8 tokens' (each over 63 to 70 keys, past the 64 of the
# single order's four accumulators).
LAST = 8


def dump(model, out, layer, ubatch, name="qwen", prompt=0, tokens=TOKENS):
    subprocess.run([sys.executable, str(ROOT / "scripts/dump_llama_tensors.py"), model, name, str(prompt), str(out),
                    f"-{layer}", str(ubatch), str(tokens)], check=True)


def fetch(name):
    return subprocess.run([sys.executable, str(ROOT / "scripts/fetch_models.py"), name], check=True,
                          capture_output=True, text=True).stdout.strip()


def gelu_table_fma(x):
    """f16(gelu(x)) for f16-rounded x, as llama.cpp's table (1 + a x^2 contracted to an fma);
    and the same without the fma, to find where the two differ."""
    f32 = np.float32
    h = x.astype(np.float16).astype(np.float32)
    ax = f32(0.044715) * h
    fused = (ax.astype(np.float64) * h.astype(np.float64) + 1.0).astype(np.float32)
    plain = ax * h + f32(1.0)
    out = []
    for inner in (fused, plain):
        arg = f32(0.7978845608) * h * inner
        t = np.tanh(arg.astype(np.float64)).astype(np.float32)
        out.append((f32(0.5) * h * (f32(1.0) + t)).astype(np.float16))
    return out


def read(d, name):
    return np.fromfile(d / f"{name}.f32", np.float32)


def gemma(tmp):
    model = fetch("gemma")
    d = Path(tmp) / "gemma0"
    dump(model, d, 0, 1024, "gemma", 0, 124)
    gate, up, out = (read(d, n) for n in ("ffn_gate-0", "ffn_up-0", "ffn_geglu-0"))
    fused, plain = gelu_table_fma(gate)
    inside = np.abs(gate) < 10
    delicate = np.nonzero(inside & (fused != plain))[0]
    low = np.nonzero((gate <= -10) & (up < 0))[0][:16]
    keep = np.concatenate([delicate, low, np.arange(64)])
    for a, name in [(gate, "gemma_glu_gate.f32"), (up, "gemma_glu_up.f32"), (out, "gemma_glu_out.f32")]:
        a[keep].tofile(OUT / name)
    # Attention of layer 4 (4 heads of 256 on one KV head): the last 8 of 24 tokens (token 23
    # has a query component that f16 rounds differently once scaled).
    d = Path(tmp) / "gemma4"
    dump(model, d, 4, 1024, "gemma", 4, 24)
    read(d, "Qcur-4#2").reshape(24, 4, 256)[-8:].tofile(OUT / "gemma_attn_q.f32")
    read(d, "Kcur-4#2").astype(np.float16).tofile(OUT / "gemma_attn_k.f16")
    read(d, "Vcur-4").astype(np.float16).tofile(OUT / "gemma_attn_v.f16")
    read(d, "kqv_out-4").reshape(24, 4, 256)[-8:].tofile(OUT / "gemma_attn_out.f32")


def main():
    model = fetch("qwen")
    reader = gguf.GGUFReader(model)
    tensor = {t.name: t for t in reader.tensors}
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for run, ubatch in [("batch", 1024), ("single", 1)]:
            d = Path(tmp) / run
            dump(model, d, 0, ubatch)
            # Attention of KV head 0's query heads (0..7) for the last tokens: Q and K after
            # rope, V with its bias (every token's K and V).
            q = read(d, "Qcur-0#3").reshape(TOKENS, HEADS, HD)[-LAST:, :7]
            k = read(d, "Kcur-0#3").reshape(TOKENS, KV_HEADS, HD)[:, 0]
            v = read(d, "Vcur-0#1").reshape(TOKENS, KV_HEADS, HD)[:, 0]
            out = read(d, "kqv_out-0").reshape(TOKENS, HEADS, HD)[-LAST:, :7]
            q.astype(np.float16).tofile(OUT / f"{run}_attn_q.f16")
            k.astype(np.float16).tofile(OUT / f"{run}_attn_k.f16")
            v.astype(np.float16).tofile(OUT / f"{run}_attn_v.f16")
            out.astype(np.float32).tofile(OUT / f"{run}_attn_out.f32")
            # Q5_0 (attn_q) and Q8_0 (attn_v) products of 8 tokens, first 64 rows; layer 0's
            # normed input is the same in both runs.
            read(d, "attn_norm-0").reshape(TOKENS, -1)[:8].tofile(OUT / "norm.f32")
            read(d, "Qcur-0").reshape(TOKENS, -1)[:8, :64].copy().tofile(OUT / f"{run}_q5_0_out.f32")
            read(d, "Vcur-0").reshape(TOKENS, -1)[:8, :64].copy().tofile(OUT / f"{run}_q8_0_out.f32")
            # Q6_K ffn_down, first 16 rows, of 2 tokens: vec_dot (single) and tiled (batch).
            read(d, "ffn_swiglu-0").reshape(TOKENS, -1)[:2].tofile(OUT / f"{run}_q6_k_in.f32")
            read(d, "ffn_out-0").reshape(TOKENS, -1)[:2, :16].copy().tofile(OUT / f"{run}_q6_k_out.f32")
            if run == "batch":
                # Element-wise ops of the last tokens: rms_norm (ffn_inp -> ffn_norm, with the
                # weight), rope (Q of heads 0..2 before and after), SwiGLU (a row's first 1024),
                # softmax (head 0's scaled scores: kq -> kq_soft_max, 256 padded keys).
                read(d, "ffn_inp-0").reshape(TOKENS, -1)[-4:].tofile(OUT / "norm_in.f32")
                read(d, "ffn_norm-0").reshape(TOKENS, -1)[-4:].tofile(OUT / "norm_out.f32")
                for k, name in [("Qcur-0#2", "rope_in.f32"), ("Qcur-0#3", "rope_out.f32")]:
                    read(d, k).reshape(TOKENS, HEADS, HD)[-LAST:, :2].copy().tofile(OUT / name)
                for k, name in [("ffn_gate-0", "glu_gate.f32"), ("ffn_up-0", "glu_up.f32"), ("ffn_swiglu-0", "glu_out.f32")]:
                    read(d, k).reshape(TOKENS, -1)[-1, :1024].copy().tofile(OUT / name)
                for k, name in [("kq-0", "softmax_in.f32"), ("kq_soft_max-0", "softmax_out.f32")]:
                    read(d, k).reshape(HEADS, TOKENS, 256)[0, -LAST:].copy().tofile(OUT / name)
        d = Path(tmp) / "single11"
        dump(model, d, 11, 1)
        # Q4_K ffn_down of layer 11, its first 32 rows, for 2 tokens (the GEMV's arithmetic).
        read(d, "ffn_swiglu-11").reshape(TOKENS, -1)[:2].tofile(OUT / "single_ffn_in.f32")
        read(d, "ffn_out-11").reshape(TOKENS, -1)[:2, :32].copy().tofile(OUT / "single_q4_k_out.f32")
        # In the batch of 70: tokens 0 and 1 through the repacked GEMM, 68 and 69 (70 % 4) the GEMV.
        d = Path(tmp) / "batch11"
        dump(model, d, 11, 1024)
        pick = [0, 1, 68, 69]
        read(d, "ffn_swiglu-11").reshape(TOKENS, -1)[pick].tofile(OUT / "batch_ffn_in.f32")
        read(d, "ffn_out-11").reshape(TOKENS, -1)[pick, :32].copy().tofile(OUT / "batch_q4_k_out.f32")
        # The batch sizes where llama.cpp changes kernels: Q6_K's tiled kernel from 8 tokens
        # (the last token of batches of 7 and 8), the Q4_K GEMM for whole groups of 4 (batches
        # of 3, 4 and 5: tokens 2; 3; 3 and 4).
        edges = {"q6_k": (0, [(7, 6), (8, 7)], 16), "q4_k": (11, [(3, 2), (4, 3), (5, 3), (5, 4)], 32)}
        for kind, (layer, cases, rows) in edges.items():
            xs, ys = [], []
            for n, i in cases:
                d = Path(tmp) / f"edge_{kind}_{n}"
                if not d.exists():
                    dump(model, d, layer, 1024, tokens=n)
                xs.append(read(d, f"ffn_swiglu-{layer}").reshape(n, -1)[i])
                ys.append(read(d, f"ffn_out-{layer}").reshape(n, -1)[i, :rows])
            np.stack(xs).tofile(OUT / f"edge_{kind}_in.f32")
            np.stack(ys).tofile(OUT / f"edge_{kind}_out.f32")
        gemma(tmp)
    np.asarray(tensor["blk.0.ffn_norm.weight"].data, np.float32).tofile(OUT / "norm_weight.f32")
    for name, rows in [("blk.0.attn_q.weight", 64), ("blk.0.attn_v.weight", 64), ("blk.11.ffn_down.weight", 32),
                       ("blk.0.ffn_down.weight", 16)]:
        data = np.asarray(tensor[name].data).view(np.uint8).reshape(tensor[name].shape[::-1][0], -1)[:rows]
        data.tofile(OUT / (name.replace(".weight", "") + f".{tensor[name].tensor_type.name}"))
    for f in sorted(OUT.iterdir()):
        print(f"{f.stat().st_size:>8} {f.name}")


if __name__ == "__main__":
    main()
