"""Rule synthetic_survey: a SYNTHETIC respondent file in the WVS-7 layout (valuetrace.survey)."""

import polars as pl

from valuetrace import key, survey, tables
from valuetrace.job import job
from valuetrace.settings import SyntheticSurvey

with job(snakemake):
    synthetic = SyntheticSurvey.from_params(snakemake.params.synthetic)
    probe_items = key.items(pl.read_parquet(snakemake.input.probes).filter(pl.col("probe_set") == "wvs"))
    respondents = survey.synthetic_respondents(
        snakemake.params.countries, probe_items, synthetic.respondents_per_country, synthetic.seed
    )
    with tables.atomic_path(snakemake.output[0]) as tmp:
        respondents.write_csv(tmp)
