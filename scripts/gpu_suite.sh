#!/usr/bin/env bash
# The whole GPU suite, in one call on the GPU machine (built here by scripts/gpu_carry.sh):
# kernel tests against the scalar references, synthetic models with the shapes and types of the
# real test models and of the 7B/8B presets, whole-model logits GPU vs CPU, then `run` and
# `bench` on the GPU. Prints a summary last.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=carry/gpu
m=${GPU_SUITE_MODELS:-/tmp/rf-models}
mkdir -p "$m"
export ROCMFORGE_REQUIRE_GPU=1 ROCMFORGE_REQUIRE_BLAS=1
summary=()
step() { # name, command...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then summary+=("ok    $name"); else summary+=("FAIL  $name"); fi
}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
for t in gpu_kernels gpu_matmul gpu_fused gpu_ops gpu_prefill gpu_argmax; do
  step "$t" "$bin/$t" --test-threads=1
done
synth() { [ -s "$m/$1.gguf" ] || "$bin/rocmforge" synth "${@:2}" -o "$m/$1.gguf"; }
step "synthetic models" bash -c "
  $(declare -f synth); bin=$bin; m=$m
  synth qwen05 --like $bin/qwen.skel.gguf &&
  synth gemma270m --like $bin/gemma.skel.gguf &&
  synth tiny-llama --preset tiny-llama --tokenizer-from $bin/qwen.skel.gguf &&
  synth tiny-qwen3 --preset tiny-qwen3 --tokenizer-from $bin/qwen.skel.gguf &&
  synth qwen7b --preset qwen2.5-7b --tokenizer-from $bin/qwen.skel.gguf &&
  synth llama8b --preset llama3-8b"
models="$m/tiny-llama.gguf,$m/tiny-qwen3.gguf,$m/qwen05.gguf,$m/gemma270m.gguf,$m/qwen7b.gguf,$m/llama8b.gguf"
step "gpu_forward (GPU vs CPU logits)" env ROCMFORGE_GPU_MODELS="$models" "$bin/gpu_forward" --nocapture
# Issue 7's load point: the 7B file (in page cache, kernels cached) ready to generate, and the
# first token of a 511-token prompt ("load:" and "prompt:" lines).
python3 -c "print(' '.join(['hello'] * 511), end='')" >"$m/p512.txt"
step "load + 511-token prompt (qwen7b)" "$bin/rocmforge" run -m "$m/qwen7b.gguf" --device gpu --raw -n 1 \
  --verbose -f "$m/p512.txt"
# One test at a time: a test that frees a model's memory (a device-wide synchronization) while
# another thread captures a decode graph invalidates that capture (seen once, session 5).
step "gpu_engine (16 concurrent vs alone)" env ROCMFORGE_GPU_MODELS="$m/qwen05.gguf" "$bin/gpu_engine" --nocapture \
  --test-threads=1
step "run --device gpu" "$bin/rocmforge" run -m "$m/qwen05.gguf" --device gpu --raw -n 16 --verbose "Hello"
step "chat --device gpu (piped, 3 turns)" bash -c \
  "printf 'Hi\nWhat is 2+2?\nThanks\n/exit\n' | $bin/rocmforge chat -m $m/gemma270m.gguf --device gpu -n 8"
for model in qwen05 qwen7b; do
  step "bench $model" "$bin/rocmforge" bench -m "$m/$model.gguf" --device gpu -p 512 -n 128 -r 3
  step "bench $model --concurrency" "$bin/rocmforge" bench -m "$m/$model.gguf" --device gpu \
    --concurrency 1,8,32,64 -p 128 -n 128 -r 3 --verbose
done
step "bench qwen05 --kv-cache-type q8_0" "$bin/rocmforge" bench -m "$m/qwen05.gguf" --device gpu -p 512 -n 128 -r 3 \
  --kv-cache-type q8_0
step "bench qwen05 --kv-cache-type q8_0 --concurrency" "$bin/rocmforge" bench -m "$m/qwen05.gguf" --device gpu \
  --kv-cache-type q8_0 --concurrency 1,8,32,64 -p 128 -n 128 -r 3 --verbose
echo "=== summary"
printf '%s\n' "${summary[@]}"
! printf '%s\n' "${summary[@]}" | grep -q '^FAIL'
