"""``config/README.md``, generated from the config schema so that the two cannot drift.

    python -m valuetrace.config_doc            # rewrite config/README.md
    python -m valuetrace.config_doc --check    # exit 1 if it differs from the schema

Every key of ``workflow/schemas/config.schema.yaml`` gets a row: its dotted name (``<name>``
stands for a name you choose, such as a model's or a dataset's), its type, its default and its
description. The test suite runs the check.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from valuetrace.settings import schema

README = Path(__file__).resolve().parents[2] / "config" / "README.md"

INTRO = """\
# Configuration

A config says *what* to compute; where jobs run (cores, GPUs, partitions) lives in `profiles/`.
`config/config.yaml` is the embedded demo and the default; `config/paper.yaml` is the paper-scale
grid; run another with `snakemake --configfile my.yaml` (it replaces the demo config rather than
being merged into it).

Before any job runs, a config is validated against `workflow/schemas/config.schema.yaml`, which
also fills in the defaults below (the one place where they are written down), and its keys are
checked against each other and the disk (`valuetrace.settings.check_config`). A wrong key or value
stops the run with a message naming it.

This file is generated from the schema by `python -m valuetrace.config_doc`; do not edit it by hand
(the test suite fails when it differs). `<name>` stands for a name you choose.
"""


def _type(node: dict) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{value}`" for value in node["enum"])
    if "oneOf" in node and "type" not in node:
        return " or ".join(_type(option) for option in node["oneOf"])
    kind = node.get("type", "object")
    if kind == "array":
        return f"list of {_type(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict) and "properties" not in node:
        return f"mapping to {_type(node['additionalProperties'])}"
    return kind


def _rows(node: dict, prefix: str) -> list[tuple[str, str, str, str]]:
    rows = []
    required = set(node.get("required", []))
    for key, child in node.get("properties", {}).items():
        name = f"{prefix}{key}"
        default = f"`{json.dumps(child['default'])}`" if "default" in child else ""
        kind = _type(child) + (" (required)" if key in required else "")
        # A description's own | would end its table cell.
        rows.append((f"`{name}`", kind, default, child.get("description", "").replace("|", "\\|")))
        rows += _rows(child, f"{name}.")
        entries = child.get("additionalProperties")
        if isinstance(entries, dict) and "properties" in entries:
            rows += _rows(entries, f"{name}.<name>.")
    return rows


def _alternatives(node: dict, prefix: str) -> list[str]:
    """Sentences about keys of which exactly one must be set."""
    notes = []
    options = [option["required"][0] for option in node.get("oneOf", []) if "required" in option]
    if options:
        notes.append(f"- `{prefix.rstrip('.')}`: exactly one of " + ", ".join(f"`{option}`" for option in options))
    for key, child in node.get("properties", {}).items():
        notes += _alternatives(child, f"{prefix}{key}.")
        entries = child.get("additionalProperties")
        if isinstance(entries, dict) and "properties" in entries:
            notes += _alternatives(entries, f"{prefix}{key}.<name>.")
    return notes


def markdown(config_schema: dict) -> str:
    lines = [INTRO, "| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| {' | '.join(row)} |" for row in _rows(config_schema, "")]
    alternatives = _alternatives(config_schema, "")
    if alternatives:
        lines += ["", "Keys that exclude each other:", "", *alternatives]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if config/README.md is stale")
    args = parser.parse_args(argv)
    text = markdown(schema())
    if args.check:
        if README.read_text(encoding="utf-8") != text:
            print(f"{README} differs from the config schema: run python -m valuetrace.config_doc", file=sys.stderr)
            return 1
        return 0
    README.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
