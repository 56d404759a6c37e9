"""Rule run_disk: the disk every fine-tuning run takes, in one table (valuetrace.finetune)."""

from pathlib import Path

from valuetrace import finetune, tables
from valuetrace.job import job

with job(snakemake):
    table = finetune.disk_table([Path(path) for path in snakemake.input])
    tables.write_table(table, snakemake.output[0], "run_disk")
