#!/usr/bin/env bash
# Builds everything the GPU suite runs on the GPU machine (which has no Rust toolchain) into
# carry/gpu/: the release binary, the GPU test binaries, and skeletons (metadata + tensor
# table, no data) of the real test models, from which the suite writes synthetic models with
# their exact shapes and types. Then: device run with carry ["carry/gpu"] and
# `bash scripts/gpu_suite.sh` (or scripts/prefill_device.sh). Usage: gpu_carry.sh [OUT_DIR]
# (default carry/gpu); CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-carry/gpu}
target=${CARGO_TARGET_DIR:-target}
rm -rf "$out" && mkdir -p "$out"
cargo build --release -p rocmforge
cp "$target/release/rocmforge" "$out/"
for t in "backend gpu_kernels" "backend gpu_matmul" "backend gpu_fused" "backend gpu_ops" "backend gpu_prefill" "backend gpu_argmax" "model gpu_forward" \
  "engine gpu_engine"; do
  set -- $t
  exe=$(cargo test --release -p "$1" --test "$2" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]==sys.argv[1]: print(m["executable"])' "$2")
  cp "$exe" "$out/$2"
done
strip "$out"/*
python3 scripts/fetch_models.py all >/dev/null
models=${ROCMFORGE_MODELS:-$HOME/.cache/rocmforge/models}
"$out/rocmforge" synth --like "$models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" --skeleton -o "$out/qwen.skel.gguf"
"$out/rocmforge" synth --like "$models/gemma-3-270m-q4_k_m.gguf" --skeleton -o "$out/gemma.skel.gguf"
du -sh "$out"
