#!/usr/bin/env bash
# Set up a development environment in .venv: Python 3.10+, PyTorch, snakesim and its
# dev tools. Idempotent and quick when nothing changed (a stamp records what was
# installed). Environment:
#   PYTHON          interpreter to create the venv with (default: python3)
#   SNAKESIM_TORCH  the PyTorch requirement to install first (default: torch==2.13.0,
#                   which is the CPU build on machines that carry it locally; set e.g.
#                   SNAKESIM_TORCH=torch to take your platform's default build)
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
torch_req=${SNAKESIM_TORCH:-torch==2.13.0}
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "snakesim needs Python 3.10 or newer ($python is $("$python" --version 2>&1))" >&2
  exit 1
}
[ -x .venv/bin/python ] || "$python" -m venv .venv

stamp=.venv/.snakesim-setup
want="$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1) $torch_req"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
# Install PyTorch on its own first, so that the project's torch range is already met
# and pip does not pick a different (e.g. multi-GB CUDA) build for it.
if ! .venv/bin/python -c 'import torch' 2>/dev/null; then
  echo "installing $torch_req ..." >&2
  .venv/bin/python -m pip install --quiet "$torch_req"
fi
echo "installing snakesim and its dev tools into .venv ..." >&2
.venv/bin/python -m pip install --quiet -e ".[dev]"
echo "$want" > "$stamp"
