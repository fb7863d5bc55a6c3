#!/usr/bin/env bash
# Builds what scripts/prefill_device.sh runs into a carry folder (argument; default
# carry/gpu-prefill): the release binary, the GPU test binaries (stripped), the model
# skeletons and the device script itself. CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-carry/gpu-prefill}
rm -rf "$out" && mkdir -p "$out"
target=${CARGO_TARGET_DIR:-target}
cargo build --release -p rocmforge
cp "$target/release/rocmforge" "$out/"
for t in "backend gpu_matmul" "backend gpu_ops" "backend gpu_prefill" "model gpu_forward"; do
  set -- $t
  exe=$(cargo test --release -p "$1" --test "$2" --no-run --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("reason")=="compiler-artifact" and m.get("executable") and m["target"]["name"]==sys.argv[1]: print(m["executable"])' "$2")
  cp "$exe" "$out/$2"
done
strip "$out"/*
models=${ROCMFORGE_MODELS:-$HOME/.cache/rocmforge/models}
"$out/rocmforge" synth --like "$models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" --skeleton -o "$out/qwen.skel.gguf"
"$out/rocmforge" synth --like "$models/gemma-3-270m-q4_k_m.gguf" --skeleton -o "$out/gemma.skel.gguf"
cp scripts/prefill_device.sh "$out/"
du -sh "$out"
