"""Writing the tables the rules exchange: validated against their schema, written atomically.

A table is a long-format parquet file whose columns are described by a JSON schema in
``workflow/schemas/tables/``. Validation uses Snakemake's own ``validate`` so the schemas
are the same kind of file as the config schema.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import yaml
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "tables"


def schema_path(name: str) -> Path:
    return SCHEMA_DIR / f"{name}.schema.yaml"


def check_table(frame: pl.DataFrame, name: str) -> None:
    """Raise ValueError if ``frame`` does not match the schema of table ``name``."""
    schema = schema_path(name)
    # Row-wise validation says nothing about an empty frame, so columns are checked first.
    required = yaml.safe_load(schema.read_text()).get("required", [])
    missing = [column for column in required if column not in frame.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks columns {missing} required by {schema}")
    try:
        validate(frame, str(schema), set_default=False)
    except WorkflowError as error:
        raise ValueError(f"table {name!r} does not match {schema}: {error}") from error


def atomic_path(path: str | os.PathLike) -> "_AtomicPath":
    """A temporary sibling of ``path`` that replaces it only when the block succeeds."""
    return _AtomicPath(Path(path))


class _AtomicPath:
    # A failed step must leave no half-written output behind, and a rename within one
    # directory is atomic on POSIX file systems.
    def __init__(self, target: Path):
        self.target = target

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(
            prefix=f".{self.target.name}.", suffix=".tmp", dir=self.target.parent
        )
        os.close(handle)
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            os.replace(self.tmp, self.target)
        else:
            self.tmp.unlink(missing_ok=True)


@contextmanager
def atomic_directory(path: str | os.PathLike):
    """A fresh sibling directory that replaces ``path`` only when the block succeeds.

    Directory outputs (models, fine-tuned runs) appear under their final name only once
    complete; on failure the partial directory is removed and an older ``path`` is kept.
    """
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def write_table(frame: pl.DataFrame, path: str | os.PathLike, name: str) -> None:
    """Validate ``frame`` against table schema ``name`` and write it as parquet."""
    check_table(frame, name)
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp)
