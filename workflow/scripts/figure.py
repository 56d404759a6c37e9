"""Rules figure_<name>: one report figure drawn from its tables (valuetrace.plots.FIGURES)."""

import polars as pl

from valuetrace import plots
from valuetrace.job import job

with job(snakemake):
    plots.render(snakemake.params.figure, [pl.read_parquet(path) for path in snakemake.input], snakemake.output[0])
