"""Rule counterfactual: every retraining result in one table."""

from valuetrace import tables
from valuetrace.job import job

with job(snakemake):
    tables.write_table(tables.read_tables(snakemake.input), snakemake.output[0], "counterfactual")
