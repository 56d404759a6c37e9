"""Rule subsample: the training examples of a run (valuetrace.data)."""

import polars as pl

from valuetrace import data, tables
from valuetrace.job import job

with job(snakemake):
    # One table per language, or a parallel source's aligned table of all its languages.
    examples = tables.read_tables(snakemake.input, how="diagonal_relaxed")
    prepared = [examples.filter(pl.col("lang") == lang) for lang in snakemake.params.languages]
    sample = data.subsample(
        prepared, int(snakemake.wildcards.size), snakemake.params.seed, f"datasets.{snakemake.wildcards.dataset}"
    )
    tables.write_table(sample, snakemake.output[0], "examples")
