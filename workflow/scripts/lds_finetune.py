"""Rule lds_finetune: a run retrained on random subsets first to last of its examples, every probe scored under each (valuetrace.lds)."""

from pathlib import Path

import polars as pl

from valuetrace import lds, tables
from valuetrace.grid import Run
from valuetrace.job import job
from valuetrace.settings import LdsSubsets, Scoring, Training

with job(snakemake):
    scores = lds.retrain_subsets(
        Run.parse(snakemake.wildcards.model, snakemake.wildcards.run),
        range(int(snakemake.wildcards.first), int(snakemake.wildcards.last) + 1),
        base=snakemake.params.base,
        train_path=Path(snakemake.input.train),
        probes=pl.read_parquet(snakemake.input.probes),
        subsets=LdsSubsets.from_params(snakemake.params.subsets),
        batches=snakemake.params.batches,
        training=Training.from_params(snakemake.params.training),
        scoring=Scoring.from_params(snakemake.params.scoring),
    )
    tables.write_table(scores, snakemake.output[0], "scores")
