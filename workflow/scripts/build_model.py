"""Rule build_model: a tokenizer trained and a tiny masked LM pretrained here (valuetrace.models)."""

from pathlib import Path

from valuetrace import corpus, models
from valuetrace.job import job
from valuetrace.settings import ModelBuild

with job(snakemake):
    settings = ModelBuild.from_params(snakemake.params.build)
    texts, spans = corpus.read_pretraining_corpus(Path(snakemake.input.corpus), option_spans=settings.mask_options)
    models.build_model(texts, Path(snakemake.output[0]), settings, spans)
