"""Rule score_probes: value scores of every probe under one model (valuetrace.scoring)."""

import polars as pl

from valuetrace import scoring, tables
from valuetrace.job import job
from valuetrace.settings import Scoring

with job(snakemake):
    scores = scoring.score_model(
        snakemake.params.source,
        pl.read_parquet(snakemake.input.probes),
        Scoring.from_params(snakemake.params.scoring),
        model_name=snakemake.wildcards.model,
        run=snakemake.wildcards.run,
    )
    tables.write_table(scores, snakemake.output[0], "scores")
