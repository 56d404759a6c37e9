"""Rule attribution_features: TRAK features of a run's examples at one checkpoint (valuetrace.attribution)."""

from pathlib import Path

from valuetrace import attribution
from valuetrace.job import job
from valuetrace.settings import Trak

with job(snakemake):
    attribution.featurize(
        Path(snakemake.input.run),
        Path(snakemake.input.train),
        Path(snakemake.output[0]),
        checkpoint=int(snakemake.wildcards.checkpoint),
        settings=Trak.from_params(snakemake.params.trak),
        base=snakemake.params.start,
    )
