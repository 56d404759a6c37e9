"""Rule prepare_source: one source in one language, with ids and sampling ranks (valuetrace.sources,
.segment, .data)."""

from valuetrace import data, segment, sources, tables
from valuetrace.job import job
from valuetrace.settings import Sentences

with job(snakemake):
    dataset, lang = snakemake.wildcards.dataset, snakemake.wildcards.lang
    where = f"datasets.{dataset} ({lang})"
    frame = sources.read(snakemake.params.origin, where)
    if snakemake.params.sentences is not None:
        sentences = Sentences.from_params(snakemake.params.sentences)
        frame = segment.sentences(frame, lang, sentences.min_chars, sentences.max_chars, where)
    prepared = data.prepare(frame, dataset, lang, snakemake.params.seed)
    tables.write_table(prepared, snakemake.output[0], "examples")
