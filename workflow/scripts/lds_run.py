"""Rule lds_run: the LDS of TRAK and the baselines for one run's target probes (valuetrace.lds)."""

from pathlib import Path

import polars as pl
from transformers import AutoTokenizer

from valuetrace import attribution_summary, lds, tables
from valuetrace.grid import Run
from valuetrace.job import job
from valuetrace.settings import LdsSubsets

with job(snakemake):
    inputs = snakemake.input
    chosen = attribution_summary.read_targets(inputs.probes, inputs.base_scores, inputs.run_scores, snakemake.params.targets)
    influence, _ = attribution_summary.mean_influence([Path(directory) for directory in inputs.scores], chosen)
    table = lds.run_lds(
        Run.parse(snakemake.wildcards.model, snakemake.wildcards.run),
        influence=influence,
        chosen=chosen,
        train=pl.read_parquet(inputs.train),
        retrained=pl.concat([pl.read_parquet(path) for path in inputs.retrained]),
        tokenizer=AutoTokenizer.from_pretrained(Path(inputs.run) / "model"),
        which=snakemake.params.lds_targets,
        subsets=LdsSubsets.from_params(snakemake.params.subsets),
        max_length=snakemake.params.max_length,
    )
    tables.write_table(table, snakemake.output[0], "lds")
