"""Rule human_values: the human value of every WVS probe per country (valuetrace.survey)."""

from pathlib import Path

import polars as pl

from valuetrace import key, survey, tables
from valuetrace.job import job

with job(snakemake):
    path = Path(snakemake.params.survey)
    countries = snakemake.params.countries
    probe_items = key.items(pl.read_parquet(snakemake.input.probes).filter(pl.col("probe_set") == "wvs"))
    respondents = survey.read_respondents(
        path, [item.question_id for item in probe_items], snakemake.params.columns, countries
    )
    label = survey.survey_label(path, snakemake.params.synthetic)
    humans = survey.human_values(respondents, probe_items, countries, label, path)
    tables.write_table(survey.coverage(respondents, probe_items, countries), snakemake.output.coverage, "survey_coverage")
    tables.write_table(humans, snakemake.output.humans, "human_values")
