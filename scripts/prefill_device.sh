#!/usr/bin/env bash
# The prefill helper's device run, in one call on the GPU machine. Built here by
# scripts/prefill_carry.sh into a carry folder (default carry/gpu-prefill): release binary, test
# binaries, model skeletons. Steps (each with its own time limit; a summary table last):
#   tests  kernel tests: BLAS products, tiled attention, matmul, ops
#   synth  synthetic models: qwen05 (real 0.5B shapes), qwen7b (7B preset), gemma270m
#   bench  rocmforge bench pp512 on qwen05 and qwen7b, with and without the BLAS and the tiled
#          attention (ROCMFORGE_NO_BLAS=1, ROCMFORGE_ATTENTION=per-token), tg128 once each
#   fwd    whole-model GPU vs CPU logits
#   speed  per-projection and attention timings (ignored tests of gpu_prefill)
# Usage: bash <carry>/prefill_device.sh [steps...]   (default: all, in that order)
set -uo pipefail
C=$(cd "$(dirname "$0")" && pwd)
M=${PREFILL_MODELS:-/tmp/rf-models}
OUTDIR=${OUT:-/tmp/prefill-out}
mkdir -p "$M" "$OUTDIR"
export ROCMFORGE_REQUIRE_GPU=1 ROCMFORGE_REQUIRE_BLAS=1 RUST_BACKTRACE=1
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(tests synth bench fwd speed)
summary=()
step() { # seconds, name, command...
  local limit=$1 name=$2
  shift 2
  echo "=== $name"
  local t0=$SECONDS
  if timeout "$limit" "$@"; then r=ok; else r="FAIL($?)"; fi
  summary+=("$(printf '%-9s %-58s %4ss' "$r" "$name" $((SECONDS - t0)))")
}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader || true
for s in "${steps[@]}"; do
  case $s in
  tests)
    step 60 "gpu_prefill (BLAS products, dispatch)" "$C/gpu_prefill" --test-threads=1
    step 60 "gpu_ops (tiled + per-token attention)" "$C/gpu_ops" --test-threads=1
    step 60 "gpu_matmul (products, rows)" "$C/gpu_matmul" --test-threads=1 --skip speed
    ;;
  synth)
    [ -s "$M/qwen05.gguf" ] || step 30 "synth qwen05" "$C/rocmforge" synth --like "$C/qwen.skel.gguf" -o "$M/qwen05.gguf"
    [ -s "$M/gemma270m.gguf" ] || step 30 "synth gemma270m" "$C/rocmforge" synth --like "$C/gemma.skel.gguf" -o "$M/gemma270m.gguf"
    [ -s "$M/qwen7b.gguf" ] || step 60 "synth qwen7b" "$C/rocmforge" synth --preset qwen2.5-7b --tokenizer-from "$C/qwen.skel.gguf" -o "$M/qwen7b.gguf"
    ;;
  bench)
    for model in qwen05 qwen7b; do
      step 40 "bench $model pp512 tg128 (BLAS + tiled)" "$C/rocmforge" bench -m "$M/$model.gguf" --device gpu -p 512 -n 128 -r 3
      step 30 "bench $model pp512 no BLAS" env ROCMFORGE_NO_BLAS=1 "$C/rocmforge" bench -m "$M/$model.gguf" --device gpu -p 512 -n 0 -r 3
      step 30 "bench $model pp512 per-token attention" env ROCMFORGE_ATTENTION=per-token "$C/rocmforge" bench -m "$M/$model.gguf" --device gpu -p 512 -n 0 -r 3
      step 30 "bench $model pp512 baseline (neither)" env ROCMFORGE_NO_BLAS=1 ROCMFORGE_ATTENTION=per-token "$C/rocmforge" bench -m "$M/$model.gguf" --device gpu -p 512 -n 0 -r 3
    done
    ;;
  fwd)
    step 120 "gpu_forward (GPU vs CPU logits)" env ROCMFORGE_GPU_MODELS="$M/qwen05.gguf,$M/gemma270m.gguf,$M/qwen7b.gguf" "$C/gpu_forward" --nocapture
    ;;
  speed)
    step 90 "gpu_prefill speed (ignored tests)" "$C/gpu_prefill" --ignored --nocapture --test-threads=1
    ;;
  esac
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
