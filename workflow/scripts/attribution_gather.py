"""Rule attribution_gather: one run's influence averaged over checkpoints (valuetrace.attribution_summary)."""

from pathlib import Path

from valuetrace import attribution_summary, tables
from valuetrace.grid import Run
from valuetrace.job import job

with job(snakemake):
    inputs = snakemake.input
    chosen = attribution_summary.read_targets(inputs.probes, inputs.base_scores, inputs.run_scores, snakemake.params.targets)
    top, groups, checks = attribution_summary.gather(
        Run.parse(snakemake.wildcards.model, snakemake.wildcards.run),
        [Path(directory) for directory in snakemake.input.scores],
        Path(snakemake.input.train),
        chosen,
        top_k=snakemake.params.top_k,
    )
    tables.write_table(top, snakemake.output.top, "attribution_top")
    tables.write_table(groups, snakemake.output.groups, "attribution_groups")
    tables.write_table(checks, snakemake.output.checks, "attribution_checks")
