#!/usr/bin/env bash
# Set up KD-GAT on a fresh machine: a virtual environment in .venv with the CPU build of torch
# installed first (so no CUDA wheels are pulled), the project with its test extras, and Debian's
# headless Chromium for the kedro-viz test (when running as root with apt; skipped otherwise).
#
# KD_GAT_TORCH_INDEX (optional): the package index to take torch from, e.g. PyTorch's CPU-only
# wheel index. Leave it unset where pip's default index serves the CPU build (as here); set it
# where the default index serves the CUDA build (the check below then fails). See README.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
if [ -n "${KD_GAT_TORCH_INDEX:-}" ]; then
  .venv/bin/pip install --quiet --index-url "$KD_GAT_TORCH_INDEX" torch==2.13.0
else
  .venv/bin/pip install --quiet torch==2.13.0
fi
.venv/bin/pip install --quiet -e ".[test]"
if .venv/bin/pip list 2>/dev/null | grep -i nvidia; then
  cat >&2 <<'MSG'
setup: CUDA wheels were installed (listed above); KD-GAT's CPU set-up needs the CPU build of
torch 2.13.0. pip's default index served the CUDA build here. Start again with the CPU index:
  rm -rf .venv && KD_GAT_TORCH_INDEX=<PyTorch's CPU wheel index URL> bash scripts/setup.sh
(for a GPU machine, see docs/gpu.md instead).
MSG
  exit 1
fi
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "setup: done ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
