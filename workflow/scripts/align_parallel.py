"""Rule align_parallel: a parallel source cut to the ids all its languages have (valuetrace.parallel)."""

import polars as pl

from valuetrace import parallel, tables
from valuetrace.job import job

with job(snakemake):
    aligned, counts = parallel.align([pl.read_parquet(path) for path in snakemake.input], snakemake.wildcards.dataset)
    tables.check_table(aligned, "examples")  # both checked before either is written
    tables.write_table(counts, snakemake.output.counts, "parallel_items")
    tables.write_table(aligned, snakemake.output.data, "examples")
