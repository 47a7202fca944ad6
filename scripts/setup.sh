#!/usr/bin/env bash
# Set up KD-GAT on a fresh machine: a virtual environment in .venv with the CPU build of torch
# installed first (so no CUDA wheels are pulled), the project with its test extras, and Debian's
# headless Chromium for the kedro-viz test (when running as root with apt; skipped otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/pip install --quiet torch==2.13.0
.venv/bin/pip install --quiet -e ".[test]"
if .venv/bin/pip list 2>/dev/null | grep -i nvidia; then
  echo "setup: CUDA wheels were installed; torch must stay the CPU build 2.13.0" >&2
  exit 1
fi
if ! command -v chromium >/dev/null && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
echo "setup: done ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
