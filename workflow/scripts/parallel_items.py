"""Rule parallel_items: the item counts of every parallel source in one table (valuetrace.parallel)."""

from valuetrace import tables
from valuetrace.job import job

with job(snakemake):
    tables.write_table(tables.read_tables(snakemake.input), snakemake.output[0], "parallel_items")
