"""Rule arora_release: Arora et al.'s probes fetched, checked and unpacked (valuetrace.arora)."""

from pathlib import Path

from valuetrace import arora
from valuetrace.job import job

with job(snakemake):
    arora.fetch(snakemake.params.url, snakemake.params.sha256, Path(snakemake.output[0]))
