#!/usr/bin/env python3
"""How far llama.cpp's own q8_0 KV cache moves its logits from its f16 cache.

The anchor for crates/model/tests/kv_q8.rs: llama.cpp (flash attention on, which a quantized V
cache requires) evaluates the 8 golden prompts of a model once with `type_k = type_v = f16` and
once with q8_0, and this prints the top-1 agreement and the mean and largest KL(f16 || q8_0)
over every position, full vocabulary. Our q8_0 cache is held to the same kind of numbers.

Rerun: pip install llama-cpp-python==0.3.36 numpy;
python3 scripts/measure_kv_q8_llama.py MODEL=PATH ...  (qwen, gemma: scripts/fetch_models.py;
tiny-qwen3: the file the Rust tests cache under ~/.cache/rocmforge/models/synth/).
"""
import json
import sys
from pathlib import Path

import llama_cpp
import numpy as np

FIXTURES = Path(__file__).resolve().parent.parent / "crates/model/tests/fixtures/forward"
GGML_TYPE_F16, GGML_TYPE_Q8_0 = 1, 8


def logits(path, prompts, cache_type):
    m = llama_cpp.Llama(model_path=path, n_ctx=1024, n_batch=512, logits_all=True, verbose=False,
                        type_k=cache_type, type_v=cache_type, flash_attn=True)
    rows = []
    for ids in prompts:
        m.reset()
        m.eval(ids)
        rows.append(np.array(m.scores[:len(ids)], dtype=np.float64))
    return np.concatenate(rows)


def log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def main():
    for arg in sys.argv[1:]:
        name, path = arg.split("=", 1)
        prompts = [p["ids"] for p in json.loads((FIXTURES / name / "golden.json").read_text())["prompts"]]
        a, b = logits(path, prompts, GGML_TYPE_F16), logits(path, prompts, GGML_TYPE_Q8_0)
        la, lb = log_softmax(a), log_softmax(b)
        kl = (np.exp(la) * (la - lb)).sum(-1)
        top1 = (a.argmax(-1) == b.argmax(-1)).mean()
        print(f"{name}: llama.cpp q8_0 vs f16 KV cache over {len(a)} positions: top-1 {100 * top1:.2f}%, "
              f"KL mean {kl.mean():.2e} max {kl.max():.2e}, max |logit diff| {np.abs(a - b).max():.3f}")


if __name__ == "__main__":
    main()
