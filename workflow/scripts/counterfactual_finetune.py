"""Rule counterfactual_finetune: a run retrained without a target's top-k and without random examples (valuetrace.counterfactual)."""

from pathlib import Path

import polars as pl

from valuetrace import counterfactual, tables
from valuetrace.grid import Run
from valuetrace.job import job
from valuetrace.settings import Counterfactual, Scoring, Training

with job(snakemake):
    rows = counterfactual.retrain_target(
        Run.parse(snakemake.wildcards.model, snakemake.wildcards.run),
        base=snakemake.params.base,
        train_path=Path(snakemake.input.train),
        top=pl.read_parquet(snakemake.input.top),
        probes=pl.read_parquet(snakemake.input.probes),
        base_scores=pl.read_parquet(snakemake.input.base_scores),
        target=int(snakemake.wildcards.target),
        counterfactual=Counterfactual.from_params(snakemake.params.counterfactual),
        batches=snakemake.params.batches,
        training=Training.from_params(snakemake.params.training),
        scoring=Scoring.from_params(snakemake.params.scoring),
    )
    tables.write_table(rows, snakemake.output[0], "counterfactual")
