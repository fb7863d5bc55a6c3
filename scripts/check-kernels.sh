#!/usr/bin/env bash
# Compiles every GPU kernel without a GPU, for both vendors:
#   - hipcc (Debian's ROCm 5.2 toolchain) for gfx90a (CDNA, wave64) and gfx1030 (RDNA, wave32);
#   - NVRTC for sm_80 and sm_90 and Debian's hipRTC for gfx90a and gfx1030, through our own RTC
#     wrapper (the gpu_ci Rust tests), which also resolve the HIP function table against
#     libamdhip64.so.5 and check the kernel cache.
# Installs what it needs (apt: hipcc libamdhip64-dev rocm-device-libs; pip: nvidia-cuda-nvrtc).
# With --no-cargo, only the hipcc part runs.
set -euo pipefail
cd "$(dirname "$0")/.."

KDIR=crates/backend/src/gpu/kernels
HIP_LIB=/usr/lib/x86_64-linux-gnu/libamdhip64.so.5

if ! command -v hipcc >/dev/null || [ ! -e "$HIP_LIB" ] || [ ! -d /usr/lib/x86_64-linux-gnu/amdgcn ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hipcc libamdhip64-dev rocm-device-libs >/dev/null
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
n=0
for target in gfx90a:64 gfx1030:32; do
  arch=${target%%:*}
  warp=${target##*:}
  for src in "$KDIR"/*.cu; do
    name=$(basename "$src" .cu)
    if ! hipcc -x hip --offload-arch="$arch" --genco -O3 -std=c++17 -DRF_WARP="$warp" -Werror \
      -I "$KDIR" -o "$out/$name-$arch.hsaco" "$src"; then
      echo "check-kernels: hipcc failed on $src for $arch (RF_WARP=$warp)" >&2
      exit 1
    fi
    n=$((n + 1))
  done
done
echo "check-kernels: hipcc compiled $n kernel files for gfx90a and gfx1030"

[ "${1:-}" = "--no-cargo" ] && exit 0

# NVRTC from its Python wheel (nvidia/cu13/lib/libnvrtc.so.13); no CUDA toolkit or GPU needed.
find_nvrtc() {
  python3 - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("nvidia")
for root in (spec.submodule_search_locations if spec else []):
    libs = sorted(pathlib.Path(root).glob("*/lib/libnvrtc.so*"))
    if libs:
        print(libs[-1])
        break
PY
}
nvrtc=$(find_nvrtc)
if [ -z "$nvrtc" ]; then
  python3 -m pip install -q nvidia-cuda-nvrtc 2>/dev/null ||
    python3 -m pip install -q --break-system-packages nvidia-cuda-nvrtc
  nvrtc=$(find_nvrtc)
fi
if [ -z "$nvrtc" ]; then
  echo "check-kernels: nvidia-cuda-nvrtc installed but libnvrtc.so not found" >&2
  exit 1
fi
export ROCMFORGE_NVRTC="$nvrtc" ROCMFORGE_REQUIRE_NVRTC=1 ROCMFORGE_REQUIRE_HIP=1
echo "check-kernels: NVRTC at $ROCMFORGE_NVRTC"
cargo test -p backend --locked --test gpu_ci
