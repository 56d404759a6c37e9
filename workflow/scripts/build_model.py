"""Rule build_model: a tokenizer trained and a tiny masked LM pretrained here (valuetrace.models)."""

from pathlib import Path

import polars as pl

from valuetrace import models
from valuetrace.job import job
from valuetrace.settings import ModelBuild

with job(snakemake):
    corpus = pl.read_parquet(snakemake.input.corpus)
    spans = [None if start is None else (start, end) for start, end in corpus.select("option_start", "option_end").iter_rows()]
    models.build_model(corpus["text"].to_list(), Path(snakemake.output[0]), ModelBuild.from_params(snakemake.params.build), spans)
