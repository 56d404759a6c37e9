"""Rule lds_finetune: a run retrained on one random subset of its examples, every probe scored (valuetrace.lds)."""

from pathlib import Path

import polars as pl

from valuetrace import lds, tables
from valuetrace.grid import Run
from valuetrace.job import job
from valuetrace.settings import LdsSubsets, Scoring, Training

with job(snakemake):
    scores = lds.retrain_subset(
        Run.parse(snakemake.wildcards.model, snakemake.wildcards.run),
        int(snakemake.wildcards.subset),
        base=snakemake.params.base,
        train_path=Path(snakemake.input.train),
        probes=pl.read_parquet(snakemake.input.probes),
        subsets=LdsSubsets.from_params(snakemake.params.subsets),
        batches=snakemake.params.batches,
        training=Training.from_params(snakemake.params.training),
        scoring=Scoring.from_params(snakemake.params.scoring),
    )
    tables.write_table(scores, snakemake.output[0], "scores")
