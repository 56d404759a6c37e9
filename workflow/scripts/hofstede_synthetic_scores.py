"""Rule hofstede_synthetic_scores: SYNTHETIC Hofstede country scores (valuetrace.hofstede)."""

from valuetrace import hofstede, tables
from valuetrace.job import job

with job(snakemake):
    scores = hofstede.synthetic_country_scores(snakemake.params.codes, snakemake.params.seed)
    with tables.atomic_path(snakemake.output[0]) as tmp:
        scores.write_csv(tmp, separator=";")
