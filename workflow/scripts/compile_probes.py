"""Rule compile_probes: the probe table of every probe set, joined with its key (valuetrace.probes)."""

from pathlib import Path

import polars as pl

from valuetrace import key, probes, tables
from valuetrace.job import job

with job(snakemake):
    compiled = []
    for probe_set in probes.PROBE_SETS:
        spec = snakemake.params[probe_set]
        if spec is None:
            continue
        table, _ = probes.compile_probes(
            spec["paths"],
            Path(spec["key"]),
            spec["languages"],
            snakemake.params.format,
            snakemake.params.skip_defective_rows,
            probe_set=probe_set,
            exclusions=key.read_exclusions(Path(spec["exclusions"])) if spec["exclusions"] else None,
        )
        compiled.append(table)
    tables.write_table(pl.concat(compiled), snakemake.output[0], "probes")
