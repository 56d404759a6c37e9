#!/usr/bin/env bash
# Rewrites envs/requirements.lock and the pip section of envs/valuetrace.yaml from a fresh
# install of pyproject.toml with its test extra (run after changing a dependency there).
# tests/test_envs.py checks that the two files and pyproject.toml agree.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
torch_spec=$(sed -n 's/^torch_spec=\${TORCH_SPEC:-\(.*\)}$/\1/p' envs/install.sh)
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT

"$python" -m venv "$fresh"
"$fresh/bin/python" -m pip install --quiet --upgrade pip
"$fresh/bin/python" -m pip install --quiet "$torch_spec"
"$fresh/bin/python" -m pip install --quiet "$torch_spec" ".[test]"
"$fresh/bin/python" -m pip freeze --exclude torch --exclude valuetrace > "$fresh/freeze.txt"

{
    echo "# Every package of the valuetrace stack, pinned: pip freeze of a fresh install of pyproject.toml"
    echo "# (torch excluded: envs/install.sh installs the build that suits the machine)."
    echo "# Regenerate with envs/update-lock.sh."
    cat "$fresh/freeze.txt"
} > envs/requirements.lock

"$fresh/bin/python" - "$torch_spec" "$fresh/freeze.txt" <<'PYTHON'
import re
import sys
from pathlib import Path

torch_spec, freeze = sys.argv[1], Path(sys.argv[2]).read_text().split()
path = Path("envs/valuetrace.yaml")
head = re.split(r"(?m)^  - pip:\n", path.read_text())[0]
pins = "".join(f"      - {pin}\n" for pin in [torch_spec, *freeze])
path.write_text(f"{head}  - pip:\n{pins}")
PYTHON
echo "envs/requirements.lock and envs/valuetrace.yaml rewritten ($(wc -l < "$fresh/freeze.txt") packages plus torch)"
