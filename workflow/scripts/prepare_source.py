"""Rule prepare_source: one source in one language, with ids and sampling ranks (valuetrace.sources, .data)."""

from valuetrace import data, sources, tables
from valuetrace.job import job

with job(snakemake):
    dataset, lang = snakemake.wildcards.dataset, snakemake.wildcards.lang
    frame = sources.read(snakemake.params.origin, f"datasets.{dataset} ({lang})")
    prepared = data.prepare(frame, dataset, lang, snakemake.params.seed)
    tables.write_table(prepared, snakemake.output[0], "examples")
