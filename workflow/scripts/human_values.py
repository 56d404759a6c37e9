"""Rule human_values: weighted country means mapped to [-1, 1] (valuetrace.survey)."""

from pathlib import Path

from valuetrace import probes, survey, tables
from valuetrace.job import job

with job(snakemake):
    path = Path(snakemake.params.survey)
    questions = probes.read_questions(Path(snakemake.input.questions))
    respondents = survey.read_respondents(path, questions["question_id"].to_list())
    label = survey.survey_label(path, snakemake.params.synthetic)
    humans = survey.human_values(respondents, questions, snakemake.params.countries, label, path)
    tables.write_table(humans, snakemake.output[0], "human_values")
