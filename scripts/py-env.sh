#!/usr/bin/env bash
# Create or repair the Python environment for the collector (.venv at the repo root).
# Idempotent: when .venv already imports everything and has speclab_collect installed from this
# checkout, it only checks and exits.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
# Fail fast where the package index is unreachable instead of retrying for minutes.
export PIP_RETRIES=0 PIP_TIMEOUT=3
export PIP_DISABLE_PIP_VERSION_CHECK=1

# ruff: the formatter npm test checks the collector with (pinned like the npm tools).
RUFF=ruff==0.16.9

deps_ok() {
  [ -x "$PY" ] && "$PY" -c 'import torch, transformers, pyarrow, numpy, pytest' >/dev/null 2>&1 && [ "$("$VENV/bin/ruff" --version 2>/dev/null)" = "ruff ${RUFF#ruff==}" ]
}

# Everything imports, and speclab_collect is installed editable from *this* checkout (not a stale copy or
# another clone) with its console script. One interpreter start: importing torch dominates the no-op time.
all_ok() {
  [ -x "$PY" ] && [ -x "$VENV/bin/speclab-collect" ] && "$PY" - "$ROOT/collector" >/dev/null 2>&1 <<'PY'
import os, sys
import torch, transformers, pyarrow, numpy, pytest, speclab_collect, ruff
want = os.path.realpath(sys.argv[1]) + os.sep
sys.exit(0 if os.path.realpath(speclab_collect.__file__).startswith(want) else 1)
PY
}

# Optional extras: `datasets` (the ten reference datasets by name) and `accelerate` (device_map / CPU offload).
# Without them the collector says what is missing when asked for those features, and their tests skip.
optional_ok() {
  "$PY" -c 'import datasets, accelerate' >/dev/null 2>&1
}

if all_ok && optional_ok; then
  exit 0
fi

if [ ! -x "$PY" ]; then
  echo "py-env: creating $VENV" >&2
  "${PYTHON:-python3}" -m venv "$VENV"
fi

if ! deps_ok; then
  echo "py-env: installing torch, transformers, pyarrow, numpy, pytest, $RUFF" >&2
  "$PY" -m pip install --upgrade setuptools torch transformers pyarrow numpy pytest "$RUFF"
fi

if ! optional_ok; then
  echo "py-env: installing optional datasets, accelerate" >&2
  "$PY" -m pip install datasets accelerate ||
    echo "py-env: could not install datasets/accelerate: hub datasets and offload are unavailable (their tests skip)" >&2
fi

if ! all_ok; then
  echo "py-env: installing collector (editable)" >&2
  # No build isolation: the build backend (setuptools) is already in the venv, so this works offline.
  "$PY" -m pip install --no-build-isolation -e "$ROOT/collector"
fi

all_ok || { echo "py-env: $VENV is still incomplete" >&2; exit 1; }
