"""Rule run_disk: the disk every fine-tuning run takes, in one table (valuetrace.disk)."""

from pathlib import Path

from valuetrace import disk, tables
from valuetrace.job import job

with job(snakemake):
    table = disk.disk_table([Path(path) for path in snakemake.input])
    tables.write_table(table, snakemake.output[0], "run_disk")
