#!/usr/bin/env python3
"""Write the forward-pass goldens in crates/model/tests/fixtures/forward/<model>/ from llama.cpp.

For each model (qwen, gemma: the real test models of scripts/fetch_models.py; tiny-llama,
tiny-qwen3: synthetic models written by `rocmforge synth`) this writes two files:

  golden.json  source (fetch name, or synth arguments with the vocab and model sha256),
               llama.cpp settings, add_bos / bos / eos / eog ids, n_vocab, top_k; "prompts":
               name, text, ids of the 8 logits prompts; "continuations": name, text,
               prompt_ids, generated (llama.cpp's greedy ids), stopped_at_eog, top2_gaps (the
               chosen logit minus the runner-up's at each step: near ties show where rounding
               may decide), completion (detokenised, for reading)
  logits.bin   for every position of every logits prompt: the top-K token ids and logits of
               llama.cpp's next-token row and the log-sum-exp of the whole row

and crates/model/tests/golden/mod.rs reads them (crates/model/tests/golden_harness.rs tests it).

Rerun (from the repository root; a fixed set of prompts, greedy decoding and a fixed thread
count, so an unchanged run on the same kind of CPU rewrites identical files):
    pip install llama-cpp-python==0.3.36 numpy
    CARGO_TARGET_DIR=target cargo build --release -p rocmforge
    python3 scripts/gen_forward_goldens.py [--rocmforge target/release/rocmforge] [MODEL ...]

logits.bin format (all little-endian, no padding):
    magic      8 bytes  b"RFFWDLG1"
    version    u32      1
    k          u32      tokens kept per position (TOP_K below)
    n_vocab    u32      length of a full logits row
    n_prompts  u32      number of logits prompts, in golden.json's "prompts" order
    then for each prompt:
      n_pos    u32      number of positions (= the prompt's token count in golden.json)
      then for each position p (the row predicting token p+1 from tokens 0..=p):
        lse    f64      log(sum(exp(row))) of the full f32 row, computed in float64
        ids    k x u32  token ids by decreasing logit (ties: lower id first)
        logits k x f32  their logits, exactly as llama.cpp returned them
So p(id) = exp(logit - lse) is exact for the stored tokens, and the mass outside the top-K is
1 - sum of those.

llama.cpp settings (also recorded in golden.json): CPU build of llama-cpp-python, n_threads =
n_threads_batch = 2, n_ctx = n_batch = n_ubatch = 1024 (every prompt is one batch and one
micro-batch), logits_all, flash attention off, default (f16) K and V cache, no KV overrides.
Tokenisation is llm.tokenize(text, add_bos=<the model's default, llama_vocab_get_add_bos>,
special=True). Greedy continuations: the prompt is evaluated as one batch, then each generated
token alone (as llama.cpp's own generation does); the next token is the argmax of the last row
(ties: lower id), no sampler, no penalties; generation stops after MAX_NEW tokens or after the
first end-of-generation token (llama_vocab_is_eog), which is recorded and included.
"""

import argparse
import json
import os
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

import llama_cpp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch_models import sha256_of  # noqa: E402  (one checksum routine for both scripts)

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "crates/model/tests/fixtures/forward"
MODELS = ["qwen", "gemma", "tiny-llama", "tiny-qwen3"]
TOP_K = 64
MAX_NEW = 64
N_CTX = 1024
N_THREADS = 2
MAGIC = b"RFFWDLG1"
VERSION = 1
# Synthetic models: `rocmforge synth --preset NAME --tokenizer-from <vocab of qwen> --seed SEED`.
SYNTH_SEED = 1
SYNTH_SCALE = 1.0

# ---------------------------------------------------------------------------------------------
# Prompts. Logits prompts are long (64+ tokens for every tokenizer); the chat one is rendered in
# the model family's own turn format (ChatML for Qwen and the synthetic models, which carry
# Qwen's tokenizer; Gemma's turn markers for Gemma).

PROSE = (
    "The lighthouse stood at the edge of the world, or so the children of the village believed. "
    "Every evening the keeper climbed the hundred and twelve steps, trimmed the wick, polished the "
    "great lens until it shone like a second moon, and wrote a single line in his logbook: the "
    "weather, the ships he had seen, and sometimes a thought that had no business in an official "
    "record. When he died, the logbooks were found stacked to the ceiling of the lamp room, forty "
    "years of wind and water and quiet, and the last entry read simply: calm sea, no ships, the "
    "light is enough."
)

CODE = '''import heapq
from collections import defaultdict


def dijkstra(graph: dict[str, list[tuple[str, float]]], source: str) -> dict[str, float]:
    """Shortest distances from `source` to every reachable node."""
    dist = defaultdict(lambda: float("inf"))
    dist[source] = 0.0
    queue = [(0.0, source)]
    while queue:
        d, node = heapq.heappop(queue)
        if d > dist[node]:
            continue
        for neighbour, weight in graph.get(node, []):
            candidate = d + weight
            if candidate < dist[neighbour]:
                dist[neighbour] = candidate
                heapq.heappush(queue, (candidate, neighbour))
    return dict(dist)
'''

CHAT_SYSTEM = "You are a concise assistant who answers questions about cooking."
CHAT_USER = (
    "I have two eggs, half a cup of flour, some milk, a pinch of salt and a little butter. "
    "What can I make for breakfast in under fifteen minutes? Please give me the steps as a short "
    "numbered list and tell me which pan to use."
)

LIST = (
    "Inventory report, week 37:\n"
    "1. Bolts M6x20: 1,250 units (reorder at 500)\n"
    "2. Nuts M6: 3,400 units\n"
    "3. Washers 6.4 mm: 2,975 units\n"
    "4. Hinges, stainless: 48 units (reorder at 60)\n"
    "5. Cable ties 200 mm: 10,000 units\n"
    "Total value: $4,318.75; change since week 36: -2.4%.\n"
    "Primes below 60: 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59.\n"
    "Powers of two: 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096."
)

MULTILINGUAL = (
    "Le petit prince s'assit sur une pierre et leva les yeux vers le ciel. "
    "Die Sterne sind schön, wegen einer Blume, die man nicht sieht. "
    "El viajero caminó durante tres días por el desierto sin encontrar agua. "
    "Il treno per Milano parte alle otto e un quarto dal binario sei. "
    "Москва — столица России, а Санкт-Петербург называют северной столицей. "
    "Η γλώσσα μου είναι η ελληνική και η θάλασσα είναι μπλε."
)

CJK = (
    "春天来了，公园里的花都开了，孩子们在草地上放风筝，老人们坐在长椅上聊天。"
    "今日は朝から雨が降っていたので、図書館で本を読んで一日を過ごしました。"
    "한국어는 세종대왕이 만든 한글로 씁니다. 서울은 한국의 수도입니다。"
    "机器学习是人工智能的一个分支，它让计算机能够从数据中学习规律。"
)

JSON_DOC = """{
  "id": "order-20931",
  "customer": {"name": "Ada Lovelace", "email": "ada@example.org", "vip": true},
  "items": [
    {"sku": "KB-101", "title": "Mechanical keyboard", "qty": 1, "price": 89.90},
    {"sku": "MS-220", "title": "Wireless mouse", "qty": 2, "price": 24.50},
    {"sku": "CB-005", "title": "USB-C cable, 2 m", "qty": 3, "price": 7.99}
  ],
  "shipping": {"method": "express", "address": "12 Analytical Row, London"},
  "notes": null
}"""

SCIENCE = (
    "In thermodynamics, the entropy S of an isolated system never decreases. For an ideal gas "
    "expanding isothermally from volume V1 to V2, the change in entropy is dS = n R ln(V2 / V1), "
    "where n is the amount of substance and R = 8.314 J/(mol K) is the gas constant. The Gibbs "
    "free energy, G = H - T S, tells us whether a reaction at constant temperature and pressure "
    "is spontaneous: it is when dG < 0. Equilibrium corresponds to the minimum of G."
)

# Short raw prompts for the greedy continuations (the long ones except the chat one come too).
SHORT = [
    ("capital", "The capital of France is"),
    ("fib", "def fibonacci(n):\n"),
    ("count", "1, 2, 3, 4, 5,"),
    ("story", "Once upon a time, in a small village by the sea,"),
    ("numpy", "import numpy as np\n\n# Compute the mean of each column\n"),
    ("fox", "The quick brown fox"),
    ("german", "Der schnellste Weg von Berlin nach München ist"),
    ("japanese", "日本の首都は"),
    ("sql", "SELECT name, age FROM users WHERE"),
    ("html", "<!DOCTYPE html>\n<html>\n<head>\n"),
    ("qa", "Q: What is 12 times 12?\nA:"),
    ("rust", "fn main() {\n    let v: Vec<i32> ="),
    ("laws", "The three laws of thermodynamics are"),
]


def chat_text(family: str) -> str:
    if family == "gemma":
        return (
            f"<start_of_turn>user\n{CHAT_SYSTEM}\n\n{CHAT_USER}<end_of_turn>\n"
            "<start_of_turn>model\n"
        )
    return (
        f"<|im_start|>system\n{CHAT_SYSTEM}<|im_end|>\n"
        f"<|im_start|>user\n{CHAT_USER}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def logits_prompts(family: str) -> list:
    return [
        ("prose", PROSE),
        ("code", CODE),
        ("chat", chat_text(family)),
        ("list", LIST),
        ("multilingual", MULTILINGUAL),
        ("cjk", CJK),
        ("json", JSON_DOC),
        ("science", SCIENCE),
    ]


def continuation_prompts(family: str) -> list:
    long = [(n, t) for n, t in logits_prompts(family) if n != "chat"]
    return long + SHORT


# ---------------------------------------------------------------------------------------------


def fetch(name: str) -> Path:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts/fetch_models.py"), name],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])


def find_rocmforge(arg) -> Path:
    if arg:
        return Path(arg)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    exe = target / "release/rocmforge"
    if not exe.is_file():
        raise SystemExit(f"{exe} not found: build it with `cargo build --release -p rocmforge`")
    return exe


def model_source(name: str, work: Path, rocmforge_arg) -> tuple:
    """(path of the GGUF file, the "source" record for golden.json)."""
    if name in ("qwen", "gemma"):
        path = fetch(name)
        return path, {"kind": "fetch", "name": name, "file": path.name, "sha256": sha256_of(path)}
    exe = find_rocmforge(rocmforge_arg)
    qwen = fetch("qwen")
    vocab = work / "qwen-vocab.gguf"
    out = work / f"{name}.gguf"
    cmds = [
        ["synth", "--like", "QWEN.gguf", "--vocab-only", "-o", "qwen-vocab.gguf"],
        ["synth", "--preset", name, "--tokenizer-from", "qwen-vocab.gguf",
         "--seed", str(SYNTH_SEED), "--scale", str(SYNTH_SCALE), "-o", f"{name}.gguf"],
    ]
    subst = {"QWEN.gguf": str(qwen), "qwen-vocab.gguf": str(vocab), f"{name}.gguf": str(out)}
    for c in cmds:
        subprocess.run([str(exe)] + [subst.get(a, a) for a in c], check=True,
                       stderr=subprocess.DEVNULL)
    return out, {
        "kind": "synth",
        "preset": name,
        "seed": SYNTH_SEED,
        "scale": SYNTH_SCALE,
        "tokenizer_from": "qwen",
        "commands": ["rocmforge " + " ".join(c) for c in cmds],
        "vocab_sha256": sha256_of(vocab),
        "sha256": sha256_of(out),
    }


def top_k(row: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k largest logits, by decreasing logit, ties by increasing id."""
    cand = np.argpartition(-row, k)[: k + 1]
    # Include everything tied with the k-th value so the tie-break by id is global.
    kth = np.sort(row[cand])[::-1][k - 1]
    cand = np.nonzero(row >= kth)[0]
    order = np.lexsort((cand, -row[cand].astype(np.float64)))
    return cand[order][:k]


def lse(row: np.ndarray) -> float:
    r = row.astype(np.float64)
    m = r.max()
    return float(m + np.log(np.exp(r - m).sum()))


def argmax(row: np.ndarray) -> int:
    return int(np.argmax(row))  # first maximum: lowest id among ties


def run_model(name: str, path: Path, source: dict) -> tuple:
    family = "gemma" if name == "gemma" else "qwen"
    llm = llama_cpp.Llama(
        str(path),
        n_ctx=N_CTX,
        n_batch=N_CTX,
        n_ubatch=N_CTX,
        n_threads=N_THREADS,
        n_threads_batch=N_THREADS,
        logits_all=True,
        flash_attn=False,
        seed=0,
        verbose=False,
    )
    add_bos = bool(llm._model.add_bos_token())
    n_vocab = llm.n_vocab()
    vocab = llama_cpp.llama_model_get_vocab(llm._model.model)
    eog = [i for i in range(n_vocab) if llama_cpp.llama_vocab_is_eog(vocab, i)]
    eog_set = set(eog)

    def tok(text):
        return llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    blob = bytearray(MAGIC + struct.pack("<IIII", VERSION, TOP_K, n_vocab, 0))
    prompts = []
    for pname, text in logits_prompts(family):
        ids = tok(text)
        assert 64 <= len(ids) <= N_CTX - MAX_NEW, (name, pname, len(ids))
        llm.reset()
        llm.eval(ids)
        rows = llm.scores[: len(ids)]
        assert rows.shape == (len(ids), n_vocab) and np.isfinite(rows).all()
        blob += struct.pack("<I", len(ids))
        for row in rows:
            top = top_k(row, TOP_K)
            blob += struct.pack("<d", lse(row))
            blob += top.astype("<u4").tobytes()
            blob += row[top].astype("<f4").tobytes()
        prompts.append({"name": pname, "text": text, "ids": ids})
        print(f"  {name}/{pname}: {len(ids)} tokens", file=sys.stderr)
    struct.pack_into("<I", blob, len(MAGIC) + 12, len(prompts))

    conts = []
    for pname, text in continuation_prompts(family):
        ids = tok(text)
        llm.reset()
        llm.eval(ids)
        gen, gaps = [], []
        stopped = False
        while len(gen) < MAX_NEW:
            row = llm.scores[llm.n_tokens - 1]
            t = argmax(row)
            gaps.append(float(row[t]) - float(np.partition(row, -2)[-2]))
            gen.append(t)
            if t in eog_set:
                stopped = True
                break
            llm.eval([t])
        conts.append({
            "name": pname,
            "text": text,
            "prompt_ids": ids,
            "generated": gen,
            "stopped_at_eog": stopped,
            # Logit of the chosen token minus the runner-up's, at each step: where a forward
            # pass diverges at a step with a tiny gap, that is rounding, not a bug.
            "top2_gaps": [round(g, 4) for g in gaps],
            "completion": llm.detokenize(gen, special=True).decode("utf-8", "replace"),
        })
        print(f"  {name}/{pname}: +{len(gen)}{' (eog)' if stopped else ''}", file=sys.stderr)

    meta = {
        "format_version": VERSION,
        "model": name,
        "source": source,
        "llama_cpp": {
            "package": f"llama-cpp-python {llama_cpp.__version__} (CPU build)",
            "system_info": llama_cpp.llama_print_system_info().decode().strip(" |"),
            "n_threads": N_THREADS,
            "n_threads_batch": N_THREADS,
            "n_ctx": N_CTX,
            "n_batch": N_CTX,
            "n_ubatch": N_CTX,
            "logits_all": True,
            "flash_attn": False,
            "kv_cache_type": "f16 (default)",
            "tokenize": f"llm.tokenize(text, add_bos={add_bos}, special=True)",
            "greedy": "argmax of llama.cpp's f32 row (lowest id on ties), no sampler chain, "
                      "no penalties; prompt as one batch, then one token per decode",
        },
        "add_bos": add_bos,
        "bos_id": llm.token_bos(),
        "eos_id": llm.token_eos(),
        "eog_ids": eog,
        "n_vocab": n_vocab,
        "top_k": TOP_K,
        "logits_file": "logits.bin",
        "prompts": prompts,
        "max_new_tokens": MAX_NEW,
        "continuations": conts,
    }
    return meta, bytes(blob)


def to_json(obj, indent=0) -> str:
    """JSON with lists of numbers on one line, everything else indented."""
    pad = "  " * indent
    if isinstance(obj, dict):
        items = [f'{pad}  {json.dumps(k)}: {to_json(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(obj, list) and obj and not all(isinstance(x, (int, float)) for x in obj):
        items = [f"{pad}  {to_json(v, indent + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + f"\n{pad}]"
    return json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))


_QUIET = llama_cpp.llama_log_callback(lambda *a: None)  # kept alive for the C side


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=MODELS, help=f"any of {MODELS}")
    ap.add_argument("--rocmforge", help="the rocmforge binary (for the synthetic models)")
    ap.add_argument("--out", default=str(OUT_DIR), help="output directory")
    args = ap.parse_args()
    for m in args.models:
        if m not in MODELS:
            raise SystemExit(f"unknown model {m}; known: {MODELS}")
    llama_cpp.llama_log_set(_QUIET, None)
    with tempfile.TemporaryDirectory(prefix="rocmforge-goldens-") as work:
        for m in args.models:
            path, source = model_source(m, Path(work), args.rocmforge)
            print(f"{m}: {path}", file=sys.stderr)
            meta, blob = run_model(m, path, source)
            out = Path(args.out) / m
            out.mkdir(parents=True, exist_ok=True)
            (out / "golden.json").write_text(to_json(meta) + "\n", encoding="utf-8")
            (out / "logits.bin").write_bytes(blob)
            print(f"{m}: wrote {out} (logits.bin {len(blob)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
