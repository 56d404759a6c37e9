"""Rule paper_subset: the probes of the paper's comparison, reconstructed (valuetrace.alignment)."""

import polars as pl

from valuetrace import alignment, tables
from valuetrace.job import job

with job(snakemake):
    subset = alignment.paper_subset(
        pl.read_parquet(snakemake.input.probes), pl.read_parquet(snakemake.input.humans), snakemake.params.languages
    )
    tables.write_table(subset, snakemake.output[0], "paper_subset")
