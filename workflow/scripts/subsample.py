"""Rule subsample: the training examples of a run (valuetrace.data)."""

import polars as pl

from valuetrace import data, tables
from valuetrace.job import job

with job(snakemake):
    prepared = [pl.read_parquet(path) for path in snakemake.input]
    sample = data.subsample(
        prepared,
        int(snakemake.wildcards.size),
        snakemake.params.seed,
        f"datasets.{snakemake.wildcards.dataset}",
        parallel=snakemake.params.parallel,
    )
    tables.write_table(sample, snakemake.output[0], "examples")
