#!/usr/bin/env bash
# The prefill measurements' device run, in one call on the GPU machine. Built here by
# `scripts/gpu_carry.sh` into carry/gpu (release binary, test binaries, model skeletons); run
# there as `bash scripts/prefill_device.sh` with carry ["carry/gpu"] (CARRY overrides the folder). Steps (each with its own time limit; a summary table last):
#   tests  kernel tests: BLAS products, tiled and per-token attention (gpu_prefill, gpu_ops)
#   matmul the matmul kernel tests (gpu_matmul, without its speed report)
#   synth  synthetic models: qwen05 (real 0.5B shapes), qwen7b (7B preset), gemma270m
#   bench  rocmforge bench pp512 on qwen05 and qwen7b: default, other attention kernels
#          (ROCMFORGE_ATTENTION), the baseline without BLAS and tiles (ROCMFORGE_NO_BLAS=1);
#          tg128 and pp128/pp2048 with the defaults
#   fwd    whole-model GPU vs CPU logits
#   speed  per-projection and attention timings (ignored tests of gpu_prefill)
#   prof   Nsight Compute per-kernel durations of one pp512 bench (warm-up + 1) per model, into
#          $OUT/ncu-<model>.txt
# Usage: bash scripts/prefill_device.sh [steps...]   (default: all, in that order)
set -uo pipefail
C=${CARRY:-carry/gpu}
M=${PREFILL_MODELS:-/tmp/rf-models}
OUTDIR=${OUT:-/tmp/prefill-out}
mkdir -p "$M" "$OUTDIR"
export ROCMFORGE_REQUIRE_GPU=1 ROCMFORGE_REQUIRE_BLAS=1 RUST_BACKTRACE=1
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(tests matmul synth bench fwd speed)
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
    ;;
  matmul)
    step 90 "gpu_matmul (products, rows)" "$C/gpu_matmul" --test-threads=1 --skip speed
    ;;
  synth)
    [ -s "$M/qwen05.gguf" ] || step 30 "synth qwen05" "$C/rocmforge" synth --like "$C/qwen.skel.gguf" -o "$M/qwen05.gguf"
    [ -s "$M/gemma270m.gguf" ] || step 30 "synth gemma270m" "$C/rocmforge" synth --like "$C/gemma.skel.gguf" -o "$M/gemma270m.gguf"
    [ -s "$M/qwen7b.gguf" ] || step 60 "synth qwen7b" "$C/rocmforge" synth --preset qwen2.5-7b --tokenizer-from "$C/qwen.skel.gguf" -o "$M/qwen7b.gguf"
    ;;
  bench)
    for model in qwen05 qwen7b; do
      b=("$C/rocmforge" bench -m "$M/$model.gguf" --device gpu -n 0 -r 3)
      step 40 "bench $model pp512 tg128 (default: BLAS, best attention)" "$C/rocmforge" bench -m "$M/$model.gguf" --device gpu -p 512 -n 128 -r 3
      step 30 "bench $model pp512 FFMA tiled attention" env ROCMFORGE_ATTENTION=tiled "${b[@]}" -p 512
      step 30 "bench $model pp512 per-token attention" env ROCMFORGE_ATTENTION=per-token "${b[@]}" -p 512
      step 30 "bench $model pp512 baseline (no BLAS, per-token)" env ROCMFORGE_NO_BLAS=1 ROCMFORGE_ATTENTION=per-token "${b[@]}" -p 512
      step 30 "bench $model pp128,pp2048 (default)" "${b[@]}" -p 128,2048
    done
    ;;
  fwd)
    step 120 "gpu_forward (GPU vs CPU logits)" env ROCMFORGE_GPU_MODELS="$M/qwen05.gguf,$M/gemma270m.gguf,$M/qwen7b.gguf" "$C/gpu_forward" --nocapture
    ;;
  speed)
    step 90 "gpu_prefill speed (ignored tests)" "$C/gpu_prefill" --ignored --nocapture --test-threads=1
    ;;
  prof)
    for model in qwen05 qwen7b; do
      step 60 "ncu $model pp512" bash -c "ncu --clock-control none --metrics gpu__time_duration.sum --print-summary per-kernel \
        '$C/rocmforge' bench -m '$M/$model.gguf' --device gpu -p 512 -n 0 -r 1 > '$OUTDIR/ncu-$model.txt' 2>&1"
    done
    ;;
  esac
done
echo "=== summary"
printf '%s\n' "${summary[@]}"
