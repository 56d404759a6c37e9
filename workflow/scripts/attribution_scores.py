"""Rule attribution_scores: influence of every example on the target probes at one checkpoint
(valuetrace.attribution)."""

from pathlib import Path

import polars as pl

from valuetrace import attribution, attribution_summary
from valuetrace.job import job
from valuetrace.settings import Scoring, Trak

with job(snakemake):
    inputs = snakemake.input
    chosen = attribution_summary.read_targets(inputs.probes, inputs.base_scores, inputs.run_scores, snakemake.params.targets)
    attribution.score(
        Path(snakemake.input.run),
        Path(snakemake.input.features),
        Path(snakemake.input.train),
        pl.read_parquet(inputs.probes),
        chosen,
        Path(snakemake.output[0]),
        checkpoint=int(snakemake.wildcards.checkpoint),
        trak=Trak.from_params(snakemake.params.trak),
        scoring=Scoring.from_params(snakemake.params.scoring),
        base=snakemake.params.start,
    )
