"""Rule shifts: value shifts of every run against its base model (valuetrace.shifts), their tests
against seed noise and the control source (valuetrace.significance), the paper's claims
(valuetrace.claims)."""

import polars as pl

from valuetrace import alignment, claims, shifts, significance, tables
from valuetrace.job import job
from valuetrace.settings import Alignment, Significance

with job(snakemake):
    params = snakemake.params
    testing = Significance.from_params(params.significance)
    subset = pl.read_parquet(snakemake.input.subset[0]) if snakemake.input.subset else None
    scores = alignment.survey_scores(tables.read_tables(snakemake.input.scores), subset)
    per_probe = shifts.probe_shifts(scores, pl.read_parquet(snakemake.input.humans))
    changes = alignment.alignment_change(pl.read_parquet(snakemake.input.probe_alignment), Alignment.from_params(params.alignment))
    per_run = shifts.run_shifts(per_probe, changes)
    tests = significance.shift_tests(per_probe, params.control, params.planted, testing)
    profiles = shifts.distinctiveness(scores)
    tables.write_table(significance.annotate_shifts(per_probe, tests, params.control), snakemake.output.shifts, "shifts")
    tables.write_table(per_run, snakemake.output.runs, "run_shifts")
    tables.write_table(shifts.cross_language(per_run), snakemake.output.cross, "cross_language")
    tables.write_table(profiles, snakemake.output.distinctiveness, "distinctiveness")
    tables.write_table(shifts.planted(per_probe, params.planted, pl.read_parquet(snakemake.input.probes), params.control), snakemake.output.planted, "planted")
    tables.write_table(tests, snakemake.output.tests, "shift_tests")
    tables.write_table(claims.magnitude_model(per_run), snakemake.output.magnitude, "magnitude_model")
    multilingual = claims.multilingual_comparison(per_run, profiles, testing)
    tables.write_table(multilingual, snakemake.output.multilingual, "multilingual_comparison")
