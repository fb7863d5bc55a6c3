#!/usr/bin/env bash
# The device run behind docs/PERFORMANCE.md's "GPU decode: the int8 GEMV" numbers (one call of
# the device tool, carry ["carry/gpu-decode"], `BUDGET=190 bash carry/gpu-decode/run.sh`).
# carry/gpu-decode holds: base/{rocmforge,gpu_matmul} (the build to compare against), new/
# {rocmforge,gpu_kernels,gpu_matmul,gpu_ops,gpu_forward} (this build; release binaries from
# `cargo build --release -p rocmforge` and `cargo test --release --no-run`, stripped), and the
# skeletons qwen.skel.gguf and gemma.skel.gguf (scripts/gpu_carry.sh writes them). STEPS picks
# steps (check speed profile synth bench forward conc basespeed); logs go to $OUT.
set -uo pipefail
C=carry/gpu-decode
O=${OUT:-/tmp/out}
mkdir -p "$O"
T0=$(date +%s)
el() { echo "=== [$(($(date +%s) - T0))s] $*"; }
left() { echo $((${BUDGET:-190} - ($(date +%s) - T0))); }
export ROCMFORGE_REQUIRE_GPU=1
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,clocks.mem --format=csv,noheader
chmod +x $C/*/* 2>/dev/null
STEPS=${STEPS:-"check speed profile synth bench forward conc"}
summary=()
for step in $STEPS; do
  case $step in
  check)
    el "gpu_matmul (new kernels vs references)"
    timeout 100 $C/new/gpu_matmul --test-threads=1 --skip speed >"$O/gpu_matmul.log" 2>&1
    rc=$?; summary+=("gpu_matmul rc=$rc")
    grep -E "^test |test result|panicked" "$O/gpu_matmul.log" | cut -c1-400 | tail -12
    timeout 30 $C/new/gpu_kernels --test-threads=1 >/tmp/gpu_kernels.log 2>&1; summary+=("gpu_kernels rc=$?")
    timeout 60 $C/new/gpu_ops --test-threads=1 >/tmp/gpu_ops.log 2>&1; summary+=("gpu_ops rc=$?")
    grep -E "test result" /tmp/gpu_kernels.log /tmp/gpu_ops.log
    # Registers and spills of the int8 GEMV kernels.
    for f in ~/.cache/rocmforge/kernels/*.bin; do
      tail -c +41 "$f" >/tmp/k.cubin
      cuobjdump -res-usage /tmp/k.cubin 2>/dev/null | grep -A1 "rf_q8_gemv" | grep -v "^--"
    done >/tmp/res.txt
    paste - - </tmp/res.txt | sed -E 's/Function ([a-z0-9_]+):.*REG:([0-9]+) STACK:([0-9]+) SHARED:[0-9]+ LOCAL:([0-9]+).*/\1 reg \2 stack \3 local \4/' >/tmp/res_short.txt
    grep -E "_(q4_k|q6_k|q5_0|q8_0)$|_(q4_k|q6_k|q5_0|q8_0) " /tmp/res_short.txt | tr '\n' ';' | cut -c1-1500; echo
    awk '$5 > 0 || $7 > 0' /tmp/res_short.txt | head -5
    ;;
  speed)
    el "gemv_speed"
    timeout $(($(left) > 70 ? 70 : $(left))) $C/new/gpu_matmul --test-threads=1 --nocapture --exact gemv_speed >"$O/gemv_speed.log" 2>&1
    summary+=("gemv_speed rc=$?")
    grep -vE "^(running|test |$)" "$O/gemv_speed.log" | cut -c1-600
    ;;
  profile)
    for spec in Q4_K,18944,3584; do
      [ "$(left)" -lt 40 ] && break
      el "ncu $spec"
      GEMV_PROFILE=$spec timeout 40 ncu --clock-control none --section SpeedOfLight --section Occupancy --section WarpStateStats \
        --section LaunchStats -k regex:rf_q8_gemv --launch-skip 2 --launch-count 1 \
        $C/new/gpu_matmul --ignored --exact gemv_profile --test-threads=1 >/tmp/ncu.txt 2>&1
      cat /tmp/ncu.txt >>"$O/ncu.txt"
      grep -E "rf_q8_gemv|Duration|DRAM Throughput|Memory Throughput|Achieved Occupancy|Theoretical Occupancy|Registers Per|Block Limit (Reg|Sha)|Warp Cycles Per Issued|Issued Ipc|Dynamic Shared" /tmp/ncu.txt | tr -s ' ' | head -16
    done
    ;;
  synth)
    el "synth"
    $C/new/rocmforge synth --like $C/qwen.skel.gguf -o /tmp/q05.gguf >/dev/null 2>&1
    $C/new/rocmforge synth --like $C/gemma.skel.gguf -o /tmp/gemma.gguf >/dev/null 2>&1
    $C/new/rocmforge synth --preset tiny-llama --tokenizer-from $C/qwen.skel.gguf -o /tmp/tllama.gguf >/dev/null 2>&1
    $C/new/rocmforge synth --preset tiny-qwen3 --tokenizer-from $C/qwen.skel.gguf -o /tmp/tqwen3.gguf >/dev/null 2>&1
    $C/new/rocmforge synth --preset qwen2.5-7b --tokenizer-from $C/qwen.skel.gguf -o /tmp/q7b.gguf >/dev/null 2>&1
    ls -la /tmp/*.gguf
    ;;
  bench)
    for m in q05 q7b; do
      for b in base new; do
        [ "$(left)" -lt 25 ] && break
        el "bench $b $m"
        timeout $(($(left) > 60 ? 60 : $(left))) $C/$b/rocmforge bench -m /tmp/$m.gguf --device gpu -p 512 -n 128 -r 3 >/tmp/bench.log 2>&1
        rc=$?; cat /tmp/bench.log >>"$O/bench.log"
        summary+=("bench $b $m rc=$rc $(grep -E 'pp512|tg128' /tmp/bench.log | tr -s ' ' | sed 's/CUDA 0//' | tr '\n' ' ')")
      done
    done
    ;;
  forward)
    [ "$(left)" -lt 30 ] && continue
    el "gpu_forward"
    ROCMFORGE_GPU_MODELS=${FORWARD_MODELS:-/tmp/tllama.gguf,/tmp/tqwen3.gguf,/tmp/q05.gguf,/tmp/gemma.gguf,/tmp/q7b.gguf} \
      timeout $(($(left) - 5)) $C/new/gpu_forward --nocapture >"$O/gpu_forward.log" 2>&1
    summary+=("gpu_forward rc=$?")
    grep -E "worst|agree|test result|panicked" "$O/gpu_forward.log" | cut -c1-300 | tail -8
    ;;
  conc)
    [ "$(left)" -lt 30 ] && continue
    for b in base new; do
      el "bench $b q7b concurrency"
      timeout 40 $C/$b/rocmforge bench -m /tmp/q7b.gguf --device gpu -p 16 -n 64 -r 1 --concurrency 1,8,32 >/tmp/conc.log 2>&1
      summary+=("conc $b rc=$?")
      cat /tmp/conc.log >>"$O/bench.log"
      tail -4 /tmp/conc.log | tr -s ' ' 
    done
    ;;
  basespeed)
    [ "$(left)" -lt 20 ] && continue
    el "base speed"
    timeout $(($(left) - 3)) $C/base/gpu_matmul --test-threads=1 --nocapture --exact speed >"$O/base_speed.log" 2>&1
    summary+=("base speed rc=$?")
    grep -E "GB/s|GEMV|H100|H200" "$O/base_speed.log" | cut -c1-400
    ;;
  esac
done
el "summary"
printf '%s\n' "${summary[@]}"
