"""Rule synthetic_survey: a SYNTHETIC respondent file in the WVS-7 layout (valuetrace.survey)."""

from pathlib import Path

from valuetrace import probes, survey, tables
from valuetrace.job import job
from valuetrace.settings import SyntheticSurvey

with job(snakemake):
    synthetic = SyntheticSurvey.from_params(snakemake.params.synthetic)
    questions = probes.read_questions(Path(snakemake.input.questions))
    respondents = survey.synthetic_respondents(
        snakemake.params.countries, questions, synthetic.respondents_per_country, synthetic.seed
    )
    with tables.atomic_path(snakemake.output[0]) as tmp:
        respondents.write_csv(tmp)
