"""Rule generate_source: a demo fine-tuning source in one language (valuetrace.corpus)."""

from pathlib import Path

import polars as pl

from valuetrace import corpus, tables
from valuetrace.job import job

with job(snakemake):
    source = corpus.generated_source(
        pl.read_parquet(snakemake.input.probes),
        Path(snakemake.input.text),
        snakemake.wildcards.lang,
        sentences=snakemake.params.sentences,
        planted_questions=snakemake.params.planted_questions,
        planted_fraction=snakemake.params.planted_fraction,
        planting=snakemake.params.planting,
        seed=snakemake.params.seed,
    )
    with tables.atomic_path(snakemake.output[0]) as tmp:
        source.write_parquet(tmp)
