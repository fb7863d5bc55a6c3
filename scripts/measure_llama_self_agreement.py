#!/usr/bin/env python3
"""How well llama.cpp agrees with its own forward goldens when only the batching changes.

The goldens (scripts/gen_forward_goldens.py) evaluate each prompt as one batch. Here the same
llama.cpp build evaluates the same prompts one token per batch (n_batch = n_ubatch = 1, as its
own generation does), which runs other kernels (matrix-vector instead of matrix-matrix) with
other float summation orders. The agreement it reaches is the numerical noise floor of the
comparison: an implementation that is exactly right but sums in another order cannot be
expected to beat it. Writes crates/model/tests/fixtures/forward/<model>/self_agreement.json:
top-1 agreement and mean KL (same coarsened top-K + tail KL as tests/golden/mod.rs) over every
position of the 8 logits prompts, and how many of the 20 greedy continuations are identical.

Rerun (after gen_forward_goldens.py, same machine kind): pip install llama-cpp-python==0.3.36
numpy; python3 scripts/measure_llama_self_agreement.py MODEL=PATH ...
e.g. qwen=$(scripts/fetch_models.py qwen); the synthetic files are the ones the Rust tests cache
under ~/.cache/rocmforge/models/synth/.
"""
import json
import struct
import sys
from pathlib import Path

import numpy as np
import llama_cpp

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "crates/model/tests/fixtures/forward"


def read_logits(path: Path):
    raw = path.read_bytes()
    assert raw[:8] == b"RFFWDLG1"
    _, k, n_vocab, n_prompts = struct.unpack("<IIII", raw[8:24])
    off, prompts = 24, []
    for _ in range(n_prompts):
        (n_pos,) = struct.unpack("<I", raw[off:off + 4])
        off += 4
        rows = []
        for _ in range(n_pos):
            (lse,) = struct.unpack("<d", raw[off:off + 8])
            ids = np.frombuffer(raw, "<u4", k, off + 8)
            logits = np.frombuffer(raw, "<f4", k, off + 8 + 4 * k)
            off += 8 + 8 * k
            rows.append((lse, ids, logits))
        prompts.append(rows)
    return prompts


def coarse_kl(golden_row, row: np.ndarray) -> float:
    lse, ids, logits = golden_row
    p = np.exp(logits.astype(np.float64) - lse)
    r = row.astype(np.float64)
    m = r.max()
    our_lse = m + np.log(np.exp(r - m).sum())
    q = np.exp(r[ids] - our_lse)
    kl = float((p * (np.log(np.maximum(p, 1e-300)) - np.log(np.maximum(q, 1e-300)))).sum())
    pt, qt = max(1.0 - p.sum(), 0.0), max(1.0 - q.sum(), 0.0)
    if pt > 0:
        kl += pt * (np.log(pt) - np.log(max(qt, 1e-300)))
    return kl


def measure(name: str, path: str) -> dict:
    golden = json.loads((FIXTURES / name / "golden.json").read_text())
    rows = read_logits(FIXTURES / name / "logits.bin")
    llm = llama_cpp.Llama(model_path=path, n_ctx=1024, n_batch=1, n_ubatch=1, n_threads=2,
                          n_threads_batch=2, logits_all=True, flash_attn=False, verbose=False)
    agree = total = 0
    kls = []
    for prompt, golden_rows in zip(golden["prompts"], rows):
        llm.reset()
        llm.eval(prompt["ids"])
        ours = np.array(llm.scores[:len(prompt["ids"])])
        for g, row in zip(golden_rows, ours):
            agree += int(int(row.argmax()) == int(g[1][0]))
            kls.append(coarse_kl(g, row))
            total += 1
    identical = 0
    for c in golden["continuations"]:
        llm.reset()
        llm.eval(c["prompt_ids"])
        out = []
        while len(out) < len(c["generated"]):
            tok = int(np.argmax(llm.scores[llm.n_tokens - 1]))
            out.append(tok)
            if len(out) < len(c["generated"]):
                llm.eval([tok])
        identical += int(out == c["generated"])
    return {
        "batching": "n_batch = n_ubatch = 1 (the goldens: one batch per prompt)",
        "positions": total,
        "top1_agreement": agree / total,
        "mean_kl": float(np.mean(kls)),
        "greedy_identical": identical,
        "greedy_total": len(golden["continuations"]),
        "llama_cpp_python": llama_cpp.__version__,
    }


def main(argv) -> int:
    for arg in argv:
        name, path = arg.split("=", 1)
        result = measure(name, path)
        (FIXTURES / name / "self_agreement.json").write_text(json.dumps(result, indent=1) + "\n")
        print(name, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
