"""Rule build_model: a tokenizer trained and a tiny masked LM pretrained here (valuetrace.models)."""

from pathlib import Path

import polars as pl

from valuetrace import models
from valuetrace.job import job
from valuetrace.settings import ModelBuild

with job(snakemake):
    texts = pl.read_parquet(snakemake.input.corpus)["text"].to_list()
    models.build_model(texts, Path(snakemake.output[0]), ModelBuild.from_params(snakemake.params.build))
