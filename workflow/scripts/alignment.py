"""Rule alignment: agreement and Spearman correlation with human values (valuetrace.alignment)."""

import polars as pl

from valuetrace import alignment, tables
from valuetrace.job import job
from valuetrace.settings import Alignment

with job(snakemake):
    per_question, per_language = alignment.align(
        tables.read_tables(snakemake.input.scores),
        pl.read_parquet(snakemake.input.humans),
        Alignment.from_params(snakemake.params.alignment),
    )
    tables.write_table(per_question, snakemake.output.questions, "question_alignment")
    tables.write_table(per_language, snakemake.output.languages, "alignment")
