#!/usr/bin/env python3
"""Dump llama.cpp's intermediate f32 tensors of one forward pass, for op-by-op parity checks.

llama.cpp (llama-cpp-python, CPU build, the goldens' settings: one batch, 2 threads, flash
attention off) evaluates logits prompt INDEX of crates/model/tests/fixtures/forward/<model>/
golden.json; every f32 tensor of the graph whose name contains FILTER (default "-0": layer 0)
is written raw (little-endian f32, ggml's ne0-fastest order) to OUT_DIR/<name>.f32, a tensor
seen twice in a graph as <name>#1, ... in graph order. With UBATCH 1 llama.cpp evaluates one
token per graph (its decode arithmetic) and each file holds the graphs' tensors one after the
other, so the files have the same layout as with the whole prompt in one batch.
`cargo run --release -p backend --example llama_parity -- MODEL OUT_DIR` compares our CPU ops
with them.

    python3 scripts/dump_llama_tensors.py MODEL.gguf qwen 0 /tmp/q0 [FILTER [UBATCH [N_TOKENS]]]
"""
import ctypes
import json
import sys
from pathlib import Path

import numpy as np
import llama_cpp
import llama_cpp.llama_cpp as low

ROOT = Path(__file__).resolve().parent.parent
GGML_F32 = 0


class GgmlTensor(ctypes.Structure):
    """struct ggml_tensor of the vendored ggml.h (GGML_MAX_DIMS 4, GGML_MAX_SRC 10)."""
    _fields_ = [("type", ctypes.c_int), ("buffer", ctypes.c_void_p), ("ne", ctypes.c_int64 * 4),
                ("nb", ctypes.c_size_t * 4), ("op", ctypes.c_int), ("op_params", ctypes.c_int32 * 16),
                ("flags", ctypes.c_int32), ("src", ctypes.c_void_p * 10), ("view_src", ctypes.c_void_p),
                ("view_offs", ctypes.c_size_t), ("data", ctypes.c_void_p), ("name", ctypes.c_char * 64),
                ("extra", ctypes.c_void_p), ("padding", ctypes.c_char * 8)]


def main():
    model, name, index, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    filt = sys.argv[5] if len(sys.argv) > 5 else "-0"
    ubatch = int(sys.argv[6]) if len(sys.argv) > 6 else 1024
    golden = json.loads((ROOT / f"crates/model/tests/fixtures/forward/{name}/golden.json").read_text())
    ids = golden["prompts"][index]["ids"]
    if len(sys.argv) > 7:
        ids = ids[:int(sys.argv[7])]
    out.mkdir(parents=True, exist_ok=True)
    graph = []  # (name, data) of the graph being evaluated, in order
    files = {}  # file key -> data of every graph

    def observe(ptr, ask, _user):
        t = GgmlTensor.from_address(ptr)
        tname = t.name.decode()
        if ask or t.type != GGML_F32 or not t.data or (filt not in tname and not tname.startswith("result")):
            return True
        ne, nb = list(t.ne), list(t.nb)
        if nb[0] != 4 or any(nb[i + 1] != nb[i] * ne[i] for i in range(3)):
            return True  # a strided view: its data is some other tensor's
        count = ne[0] * ne[1] * ne[2] * ne[3]
        graph.append((tname, bytes((ctypes.c_char * (4 * count)).from_address(t.data))))
        if tname == "result_output":  # the last node of every graph
            flush()
        return True

    def flush():
        seen = {}
        for tname, data in graph:
            key = tname if tname not in seen else f"{tname}#{seen[tname]}"
            seen[tname] = seen.get(tname, 0) + 1
            files[key] = files.get(key, b"") + data
        graph.clear()

    callback = low.ggml_backend_sched_eval_callback(observe)
    defaults = low.llama_context_default_params

    def with_callback():
        p = defaults()
        p.cb_eval = callback
        return p

    low.llama_context_default_params = with_callback
    llm = llama_cpp.Llama(model_path=model, n_ctx=1024, n_batch=ubatch, n_ubatch=ubatch, n_threads=2,
                          n_threads_batch=2, logits_all=True, flash_attn=False, verbose=False)
    llm.eval(ids)
    flush()
    for key, data in files.items():
        (out / (key.replace(" ", "_").replace("(", "").replace(")", "") + ".f32")).write_bytes(data)
    np.array(llm.scores[:len(ids)], dtype=np.float32).tofile(out / "logits.f32")
    print(f"{len(ids)} tokens; {len(files)} tensors in {out}")


if __name__ == "__main__":
    main()
