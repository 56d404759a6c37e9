rule synthetic_survey:
    """A SYNTHETIC respondent file in the WVS-7 layout, for the demo and tests (not real data)."""
    input:
        probes="results/probes/probes.parquet",
    output:
        "results/survey/wvs7_synthetic.csv",
    log:
        "results/logs/synthetic_survey.log",
    benchmark:
        "results/benchmarks/synthetic_survey.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        countries=sorted({config["countries"][lang] for lang in PLAN.languages}),
        synthetic=lambda wildcards: settings.SyntheticSurvey.from_config(
            config
        ).params(),
    script:
        "../scripts/synthetic_survey.py"


rule human_values:
    """Human value of every WVS probe per language's country, in [-1, 1] towards option A."""
    input:
        survey=survey_input(),
        probes="results/probes/probes.parquet",
    output:
        humans="results/tables/human_values.parquet",
        coverage="results/tables/survey_coverage.parquet",
    log:
        "results/logs/human_values.log",
    benchmark:
        "results/benchmarks/human_values.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        survey=survey_path,
        columns=survey_columns(),
        countries={lang: config["countries"][lang] for lang in PLAN.languages},
        synthetic="synthetic" in config["survey"],
    script:
        "../scripts/human_values.py"
