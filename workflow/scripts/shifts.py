"""Rule shifts: value shifts of every run against its base model (valuetrace.shifts)."""

import polars as pl

from valuetrace import alignment, shifts, tables
from valuetrace.job import job

with job(snakemake):
    subset = pl.read_parquet(snakemake.input.subset[0]) if snakemake.input.subset else None
    scores = alignment.survey_scores(tables.read_tables(snakemake.input.scores), subset)
    per_probe = shifts.probe_shifts(scores, pl.read_parquet(snakemake.input.humans))
    per_run = shifts.run_shifts(per_probe, pl.read_parquet(snakemake.input.alignment))
    tables.write_table(per_probe, snakemake.output.shifts, "shifts")
    tables.write_table(per_run, snakemake.output.runs, "run_shifts")
    tables.write_table(shifts.cross_language(per_run), snakemake.output.cross, "cross_language")
    tables.write_table(shifts.distinctiveness(scores), snakemake.output.distinctiveness, "distinctiveness")
    tables.write_table(shifts.planted(per_probe, snakemake.params.planted, pl.read_parquet(snakemake.input.probes)), snakemake.output.planted, "planted")
