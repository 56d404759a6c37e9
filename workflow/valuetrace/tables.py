"""The tables the rules exchange: where each lives, its schema, and writing it atomically.

A table is a long-format parquet file whose columns are described by a JSON schema in
``workflow/schemas/tables/`` (the same kind of file as the config schema), one row a record. :data:`TABLES` names the result tables that
figures and the report read; each schema's description names the rule that writes it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas" / "tables"


@dataclass(frozen=True)
class Table:
    """A result table: its file (``{model}`` is expanded per model), schema and the stage
    whose results it holds (see ``valuetrace.plan``); ``report``: shown in the report as CSV,
    with the caption ``workflow/report/tables/<name>.rst``."""

    name: str
    path: str
    stage: str
    schema: str
    report: bool = True


TABLES = {
    table.name: table
    for table in (
        Table("probes", "results/probes/probes.parquet", "probes", "probes"),
        Table("base_scores", "results/scores/{model}/base.parquet", "probes", "scores", report=False),
        Table("human_values", "results/tables/human_values.parquet", "probes", "human_values"),
        Table("survey_coverage", "results/tables/survey_coverage.parquet", "probes", "survey_coverage"),
        Table("alignment", "results/tables/alignment.parquet", "probes", "alignment"),
        Table("probe_alignment", "results/tables/probe_alignment.parquet", "probes", "probe_alignment"),
        Table("paper_subset", "results/tables/paper_subset.parquet", "probes", "paper_subset"),
        Table("parallel_items", "results/tables/parallel_items.parquet", "parallel", "parallel_items"),
        Table("run_disk", "results/tables/run_disk.parquet", "runs", "run_disk"),
        Table("shifts", "results/tables/shifts.parquet", "runs", "shifts"),
        Table("run_shifts", "results/tables/run_shifts.parquet", "runs", "run_shifts"),
        Table("cross_language", "results/tables/cross_language.parquet", "runs", "cross_language"),
        Table("distinctiveness", "results/tables/distinctiveness.parquet", "runs", "distinctiveness"),
        Table("planted", "results/tables/planted.parquet", "runs", "planted"),
        Table("shift_tests", "results/tables/shift_tests.parquet", "runs", "shift_tests"),
        Table("magnitude_model", "results/tables/magnitude_model.parquet", "runs", "magnitude_model"),
        Table("multilingual_comparison", "results/tables/multilingual_comparison.parquet", "multilingual", "multilingual_comparison"),
        Table("attribution_top", "results/tables/attribution_top.parquet", "attribution", "attribution_top", report=False),
        Table("attribution_groups", "results/tables/attribution_groups.parquet", "attribution", "attribution_groups", report=False),
        Table("attribution_checks", "results/tables/attribution_checks.parquet", "attribution", "attribution_checks"),
        Table("attribution_planted", "results/tables/attribution_planted.parquet", "attribution", "attribution_planted"),
        # The full top table is large; the report carries the top examples of flipped probes.
        Table("attribution_flipped", "results/tables/attribution_flipped.parquet", "attribution", "attribution_top"),
        Table("counterfactual", "results/tables/counterfactual.parquet", "counterfactual", "counterfactual"),
        Table("lds", "results/tables/lds.parquet", "lds", "lds"),
        Table("lds_summary", "results/tables/lds_summary.parquet", "lds", "lds_summary"),
        Table("hofstede_indices", "results/tables/hofstede_indices.parquet", "hofstede", "hofstede_indices"),
        Table("hofstede_alignment", "results/tables/hofstede_alignment.parquet", "hofstede", "hofstede_alignment"),
    )
}


def schema_path(name: str) -> Path:
    return SCHEMA_DIR / f"{name}.schema.yaml"


def column_values(name: str, column: str) -> list:
    """The values a column of table ``name`` may take (its schema's ``enum``), in their order there."""
    return yaml.safe_load(schema_path(name).read_text())["properties"][column]["enum"]


# The top-level keywords of a table schema that check_table evaluates (or that describe only).
COLUMN_WISE_KEYWORDS = {"$schema", "description", "type", "properties", "required", "additionalProperties"}


def check_table(frame: pl.DataFrame, name: str) -> None:
    """Raise ValueError if ``frame`` does not match the schema of table ``name``.

    Every required column must exist, and every distinct non-null value of a column must match
    the column's schema (a null cell counts as absent, as in a record without the key). The
    table schemas describe each column on its own, so this equals validating every row, done
    once per distinct value with jsonschema: Snakemake's ``validate`` builds a polars Series for
    every cell (minutes for a large table) and, as it drops nulls first, rejects a null in a
    required nullable column.
    """
    schema_file = schema_path(name)
    schema = yaml.safe_load(schema_file.read_text())
    # Checking columns one by one is exact only for schemas without constraints across columns.
    across = set(schema) - COLUMN_WISE_KEYWORDS
    if across:
        raise ValueError(f"{schema_file}: {sorted(across)} would constrain rows across columns, which check_table does not evaluate")
    missing = [column for column in schema.get("required", []) if column not in frame.columns]
    if missing:
        raise ValueError(f"table {name!r} lacks columns {missing} required by {schema_file}")
    properties = schema.get("properties", {})
    for column in frame.columns:
        column_schema = properties.get(column, schema.get("additionalProperties", True))
        if column_schema is False:
            raise ValueError(f"table {name!r} has column {column!r}, which {schema_file} does not allow")
        validator = Draft202012Validator(column_schema)
        for value in frame[column].drop_nulls().unique(maintain_order=True).to_list():
            error = best_match(validator.iter_errors(value))
            if error is not None:
                raise ValueError(f"table {name!r} does not match {schema_file}: column {column}, value {value!r}: {error.message}")


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


def read_tables(paths, how: str = "vertical") -> pl.DataFrame:
    """Several parquet tables of one kind as one (``how``: polars' concat strategy)."""
    return pl.concat([pl.read_parquet(path) for path in paths], how=how)


def write_csv(table: str | os.PathLike, out: str | os.PathLike) -> None:
    """A CSV copy of a parquet table, for reading in the report."""
    with atomic_path(out) as tmp:
        pl.read_parquet(table).write_csv(tmp)
