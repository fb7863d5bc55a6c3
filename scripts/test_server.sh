#!/usr/bin/env bash
# End-to-end tests of `rocmforge serve`: the release binary serving the real Qwen model on the
# CPU, driven by the official `openai` Python client, plus the chat page in headless Chromium.
# Installs what it needs (pip packages, Debian's chromium), builds the binary, fetches the model.
# The screenshot and server logs land in target/test-artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(openai pytest jsonschema playwright httpx)
python3 -m pip install -q --disable-pip-version-check "${pkgs[@]}" ||
  python3 -m pip install -q --disable-pip-version-check --break-system-packages "${pkgs[@]}"
if ! command -v chromium >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cargo build --release --locked -p rocmforge
target_dir="${CARGO_TARGET_DIR:-target}"
export ROCMFORGE_BIN="$target_dir/release/rocmforge"
ROCMFORGE_QWEN="$(python3 scripts/fetch_models.py qwen)"
export ROCMFORGE_QWEN
export CHROMIUM="$(command -v chromium)"

mkdir -p target/test-artifacts
start=$(date +%s)
python3 -m pytest tests/server -q -p no:cacheprovider --durations=10 "$@"
echo "server suite: $(( $(date +%s) - start )) s"
