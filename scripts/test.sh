#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what it needs, fetches the real test models
# (cached under $ROCMFORGE_MODELS or ~/.cache/rocmforge/models), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v python3 >/dev/null || need_apt+=(python3 python3-pip)
command -v cc >/dev/null || need_apt+=(build-essential)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
fi
python3 -m pip --version >/dev/null 2>&1 || python3 -m ensurepip --upgrade

# Real models for the golden and end-to-end tests (idempotent: checksummed cache).
python3 scripts/fetch_models.py all >/dev/null

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
scripts/check-kernels.sh  # GPU kernels for both vendors, without a GPU (hipcc, NVRTC, hipRTC)
cargo test --workspace --locked
scripts/test_server.sh  # rocmforge serve end to end: openai client, 64 streams, SIGTERM, chat page
