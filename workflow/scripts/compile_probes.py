"""Rule compile_probes: the probe table (valuetrace.probes)."""

from pathlib import Path

from valuetrace import probes, tables
from valuetrace.job import job

with job(snakemake):
    table, _ = probes.compile_probes(
        Path(snakemake.params.path),
        Path(snakemake.input.questions),
        snakemake.params.languages,
        snakemake.params.format,
        snakemake.params.skip_defective_rows,
    )
    tables.write_table(table, snakemake.output[0], "probes")
