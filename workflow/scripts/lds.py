"""Rule lds: every run's LDS in one table, and its mean per run and method with bootstrap intervals (valuetrace.lds)."""

from valuetrace import lds, tables
from valuetrace.job import job
from valuetrace.settings import LdsSummary

with job(snakemake):
    table = tables.read_tables(snakemake.input)
    tables.write_table(table, snakemake.output.lds, "lds")
    summary = lds.summarise(table, LdsSummary.from_params(snakemake.params.summary))
    tables.write_table(summary, snakemake.output.summary, "lds_summary")
