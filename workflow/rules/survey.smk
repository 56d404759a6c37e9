rule synthetic_survey:
    """A SYNTHETIC respondent file in the WVS-7 layout, for the demo and tests (not real data)."""
    input:
        questions=config["probes"]["questions"],
    output:
        "results/survey/wvs7_synthetic.csv",
    log:
        "results/logs/synthetic_survey.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        countries=sorted({config["countries"][lang] for lang in LANGUAGES}),
        respondents=config["survey"].get("synthetic", {}).get("respondents_per_country"),
        seed=config["survey"].get("synthetic", {}).get("seed"),
    shell:
        "valuetrace survey synthetic --questions {input.questions} --countries {params.countries}"
        " --respondents {params.respondents} --seed {params.seed} --out {output} > {log} 2>&1"


rule human_values:
    """Weighted country means per question, mapped to [-1, 1] towards option A."""
    input:
        survey=survey_input(),
        questions=config["probes"]["questions"],
    output:
        "results/tables/human_values.parquet",
    log:
        "results/logs/human_values.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        survey=survey_argument,
        countries=country_pairs(),
        synthetic="--synthetic" if "synthetic" in config["survey"] else "",
    shell:
        "valuetrace survey humans --survey {params.survey} --questions {input.questions}"
        " --countries {params.countries} {params.synthetic} --out {output} > {log} 2>&1"
