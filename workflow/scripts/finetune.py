"""Rule finetune: continued masked-LM training of one run (valuetrace.finetune)."""

from pathlib import Path

from valuetrace import finetune
from valuetrace.job import job
from valuetrace.settings import Training

with job(snakemake):
    finetune.finetune(
        snakemake.params.base,
        Path(snakemake.input.train),
        Path(snakemake.output[0]),
        Path(snakemake.params.work_dir),
        Training.from_params(snakemake.params.training),
    )
