"""Rules report_table_<name>: a CSV copy of a result table for the report."""

from valuetrace import tables
from valuetrace.job import job

with job(snakemake):
    tables.write_csv(snakemake.input[0], snakemake.output[0])
