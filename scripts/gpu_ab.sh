#!/usr/bin/env bash
# A/B of run-time switches on the GPU machine (built here by scripts/gpu_carry.sh): writes the
# synthetic Qwen 0.5B and 7B models if missing, then benches decode (tg128) and 64-stream
# decode of each without and with each variant (one argument each: VAR=VALUE, or several
# separated by spaces), alternating, in one call.
# Usage: bash scripts/gpu_ab.sh VAR=VALUE [VAR=VALUE ...]  e.g. ROCMFORGE_NO_FUSION=1
# A variant's AB_BIN=DIR runs DIR/rocmforge instead of carry/gpu's.
# AB_BENCHES: which benches, "tg conc" (default) or either alone; AB_ROUNDS: rounds (2).
set -uo pipefail
cd "$(dirname "$0")/.."
bin=carry/gpu
m=${GPU_SUITE_MODELS:-/tmp/rf-models}
mkdir -p "$m"
export ROCMFORGE_REQUIRE_GPU=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
[ -s "$m/qwen05.gguf" ] || "$bin/rocmforge" synth --like "$bin/qwen.skel.gguf" -o "$m/qwen05.gguf"
[ -s "$m/qwen7b.gguf" ] || "$bin/rocmforge" synth --preset qwen2.5-7b --tokenizer-from "$bin/qwen.skel.gguf" -o "$m/qwen7b.gguf"
# The first load compiles every kernel (kernel cache empty on a fresh machine): keep it out.
"$bin/rocmforge" run -m "$m/qwen05.gguf" --device gpu --raw -n 4 "Hi" >/dev/null
for round in $(seq "${AB_ROUNDS:-2}"); do
  for model in qwen05 qwen7b; do
    for env in "" "$@"; do
      echo "=== round $round $model ${env:-base}"
      b=$bin
      for kv in $env; do [[ $kv == AB_BIN=* ]] && b=${kv#AB_BIN=}; done
      if [[ " ${AB_BENCHES:-tg conc} " == *" tg "* ]]; then
        env $env "$b/rocmforge" bench -m "$m/$model.gguf" --device gpu -p 0 -n 128 -r 3 2>&1 | grep -E "tg|error"
      fi
      if [[ " ${AB_BENCHES:-tg conc} " == *" conc "* ]]; then
        env $env "$b/rocmforge" bench -m "$m/$model.gguf" --device gpu --concurrency 64 -p 128 -n 128 -r 1 2>&1 |
          grep -E "^ *CUDA|error" || true
      fi
    done
  done
done
