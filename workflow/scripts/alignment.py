"""Rule alignment: agreement and Spearman correlation with human values (valuetrace.alignment)."""

import polars as pl

from valuetrace import alignment, tables
from valuetrace.job import job
from valuetrace.settings import Alignment

with job(snakemake):
    per_probe, per_language = alignment.align(
        tables.read_tables(snakemake.input.scores),
        pl.read_parquet(snakemake.input.humans),
        Alignment.from_params(snakemake.params.alignment),
        subset=pl.read_parquet(snakemake.input.subset[0]) if snakemake.input.subset else None,
    )
    tables.write_table(per_probe, snakemake.output.probes, "probe_alignment")
    tables.write_table(per_language, snakemake.output.languages, "alignment")
