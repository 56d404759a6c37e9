"""Rule attribution_tables: every attributed run's tables joined, precision on planted questions
(valuetrace.attribution_summary)."""

from valuetrace import attribution_summary as summary
from valuetrace import tables
from valuetrace.job import job

with job(snakemake):
    top = tables.read_tables(snakemake.input.top, how="diagonal_relaxed")
    groups = tables.read_tables(snakemake.input.groups)
    tables.write_table(top, snakemake.output.top, "attribution_top")
    tables.write_table(groups, snakemake.output.groups, "attribution_groups")
    tables.write_table(tables.read_tables(snakemake.input.checks), snakemake.output.checks, "attribution_checks")
    precision = summary.planted_precision(top, groups, snakemake.params.planted, summary.PRECISION_AT)
    tables.write_table(precision, snakemake.output.planted, "attribution_planted")
    tables.write_table(summary.flipped_top(top, summary.FLIPPED_SHOWN), snakemake.output.flipped, "attribution_top")
