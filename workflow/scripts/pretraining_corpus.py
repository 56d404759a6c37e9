"""Rule pretraining_corpus: the demo's balanced pretraining text (valuetrace.corpus)."""

from pathlib import Path

import polars as pl

from valuetrace import corpus, tables
from valuetrace.job import job
from valuetrace.settings import PretrainingCorpus

with job(snakemake):
    settings = PretrainingCorpus.from_params(snakemake.params.corpus)
    text_files = [Path(path) for path in snakemake.input.demo_text]
    sentences = corpus.pretraining_corpus(pl.read_parquet(snakemake.input.probes), text_files, settings)
    tables.write_table(sentences, snakemake.output[0], "corpus")
