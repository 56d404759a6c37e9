"""Rule shifts: value shifts of every run against its base model (valuetrace.shifts)."""

import polars as pl

from valuetrace import alignment, shifts, tables
from valuetrace.job import job

with job(snakemake):
    question_scores = alignment.question_scores(tables.read_tables(snakemake.input.scores))
    per_question = shifts.question_shifts(question_scores, pl.read_parquet(snakemake.input.humans))
    per_run = shifts.run_shifts(per_question, pl.read_parquet(snakemake.input.alignment))
    tables.write_table(per_question, snakemake.output.shifts, "shifts")
    tables.write_table(per_run, snakemake.output.runs, "run_shifts")
    tables.write_table(shifts.cross_language(per_run), snakemake.output.cross, "cross_language")
    tables.write_table(shifts.distinctiveness(question_scores), snakemake.output.distinctiveness, "distinctiveness")
    tables.write_table(shifts.planted(per_question, snakemake.params.planted), snakemake.output.planted, "planted")
