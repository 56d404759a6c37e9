"""Rule hofstede: VSM 2013 indices of every model and run against country scores (valuetrace.hofstede)."""

from pathlib import Path

import polars as pl

from valuetrace import hofstede, tables
from valuetrace.job import job

with job(snakemake):
    path = Path(snakemake.params.scores_file)
    means = hofstede.item_means(tables.read_tables(snakemake.input.scores), pl.read_parquet(snakemake.input.probes))
    label = f"SYNTHETIC Hofstede scores ({path.name}), not real data" if snakemake.params.synthetic else f"Hofstede ({path.name})"
    indices, agreement = hofstede.compare(
        hofstede.indices(means), hofstede.read_country_scores(path), snakemake.params.countries, label
    )
    tables.write_table(indices, snakemake.output.indices, "hofstede_indices")
    tables.write_table(agreement, snakemake.output.alignment, "hofstede_alignment")
