"""Running a rule's script (``workflow/scripts/<name>.py``) in the test process, without Snakemake.

A script sees the ``snakemake`` object Snakemake would give it: named and positional inputs,
outputs and params, wildcards and a log file. Tests build one with :func:`run_script` and get
back the exit status and the log.
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from snakemake.iocontainers import Namedlist

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "workflow" / "scripts"


def namedlist(positional=(), **named) -> Namedlist:
    """A Snakemake Namedlist: ``positional`` items, then each named item (a list is spread out
    and named as a whole, as Snakemake does with a named input that is a list)."""
    items = Namedlist(toclone=[str(item) if isinstance(item, Path) else item for item in positional])
    for name, value in named.items():
        start = len(items)
        if isinstance(value, (list, tuple)):
            items.extend(str(v) if isinstance(v, Path) else v for v in value)
            items._set_name(name, start, len(items))
        else:
            items.append(str(value) if isinstance(value, Path) else value)
            items._set_name(name, start)
    return items


@dataclass
class ScriptRun:
    status: int
    log: str


def run_script(name: str, log: Path, *, input=(), output=(), params=None, wildcards=None) -> ScriptRun:
    """Run ``workflow/scripts/<name>.py``; ``input``/``output``: a list, or a dict of named items."""

    def files(value):
        return namedlist(**value) if isinstance(value, dict) else namedlist(value)

    snakemake = SimpleNamespace(
        input=files(input),
        output=files(output),
        params=namedlist(**(params or {})),
        wildcards=namedlist(**(wildcards or {})),
        log=namedlist([str(log)]),
        rule=name,
    )
    try:
        runpy.run_path(str(SCRIPTS / f"{name}.py"), init_globals={"snakemake": snakemake}, run_name="__main__")
        status = 0
    except SystemExit as exit:
        status = exit.code
    return ScriptRun(status, Path(log).read_text())
