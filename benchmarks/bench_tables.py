"""Benchmark: checking a result table against its schema, per distinct column value vs Snakemake's validate.

``tables.check_table`` validates each column's distinct values with jsonschema; the baseline,
in the same process, is Snakemake's ``validate`` on the same frame, which checks row by row
and builds a polars Series for every cell. Both check a shifts-like table of 5,000 rows
(the paper grid's shift table has about 2 million). Prints the ratio of wall times; run:

    .venv/bin/python benchmarks/bench_tables.py
"""

from __future__ import annotations

import time

import numpy as np
import polars as pl
from snakemake.utils import validate

from valuetrace import tables

ROWS = 5000


def planted_like(rows: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "model": "xlmr-base", "dataset": "wiki", "finetune_lang": rng.choice(["de", "ko", "tr"], rows),
            "size": 2000, "seed": rng.integers(0, 3, rows), "probe_lang": rng.choice(["de", "ko", "tr"], rows),
            "probe_id": [f"Q{i % 254}" for i in range(rows)], "question_id": [f"Q{i % 254}" for i in range(rows)],
            "delta_score": rng.normal(size=rows), "max_abs_delta_other": rng.uniform(0, 3, rows),
            "max_abs_delta_same_options": rng.uniform(0, 3, rows), "n_same_options": rng.integers(0, 8, rows),
            "in_language": rng.random(rows) < 0.5, "towards_a_beyond_others": rng.random(rows) < 0.1,
            "beyond_same_options": rng.random(rows) < 0.1, "beyond_control": rng.normal(size=rows),
            "max_abs_beyond_control_other": rng.uniform(0, 3, rows), "max_abs_beyond_control_same_options": rng.uniform(0, 3, rows),
            "beyond_others_over_control": rng.random(rows) < 0.1, "beyond_same_options_over_control": rng.random(rows) < 0.1,
        }  # fmt: skip
    )


def timed(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    frame = planted_like(ROWS)
    ours = timed(lambda: tables.check_table(frame, "planted"))
    snakemake = timed(lambda: validate(frame, str(tables.schema_path("planted")), set_default=False))
    print(f"{ROWS} rows: check_table {ours:.3f} s, snakemake validate {snakemake:.3f} s, {snakemake / ours:.0f}x faster")


if __name__ == "__main__":
    main()
