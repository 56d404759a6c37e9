#!/usr/bin/env bash
# Creates .venv/ with valuetrace and the pinned stack (envs/requirements.lock).
#
# torch is installed on its own line because the right build depends on the machine:
# the default, torch==2.13.0, is the CPU build on machines that carry it locally and the
# CUDA build from PyPI elsewhere on Linux. Override with TORCH_SPEC, e.g.
#   TORCH_SPEC="torch==2.13.0" bash envs/install.sh
# and see README.md ("Software environment") for GPU clusters.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
torch_spec=${TORCH_SPEC:-torch==2.13.0}

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
# torch first and pinned: anything that pulls an unpinned torch later finds it satisfied.
.venv/bin/python -m pip install --quiet "$torch_spec"
.venv/bin/python -m pip install --quiet "$torch_spec" -r envs/requirements.lock -e ".[test]"
echo "valuetrace installed in $(pwd)/.venv"
