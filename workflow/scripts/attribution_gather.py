"""Rule attribution_gather: one run's influence averaged over checkpoints (valuetrace.attribution_summary)."""

from pathlib import Path

import polars as pl

from valuetrace import attribution_summary, tables
from valuetrace.grid import Run
from valuetrace.job import job

with job(snakemake):
    chosen = attribution_summary.targets(
        pl.read_parquet(snakemake.input.probes),
        pl.read_parquet(snakemake.input.base_scores),
        pl.read_parquet(snakemake.input.run_scores),
        snakemake.params.targets,
    )
    top, groups, checks = attribution_summary.gather(
        Run.parse(snakemake.wildcards.model, snakemake.wildcards.run),
        [Path(directory) for directory in snakemake.input.scores],
        Path(snakemake.input.train),
        chosen,
        top_k=snakemake.params.top_k,
    )
    tables.write_table(top, snakemake.output.top, "attribution_top")
    tables.write_table(groups, snakemake.output.groups, "attribution_groups")
    tables.write_table(checks, snakemake.output.checks, "attribution_checks")
