rule alignment:
    """Agreement and Spearman correlation of every model with the survey, per language."""
    input:
        scores=expand("results/scores/{model}.parquet", model=MODELS),
        humans="results/tables/human_values.parquet",
    output:
        questions="results/tables/question_alignment.parquet",
        languages="results/tables/alignment.parquet",
    params:
        resamples=config["alignment"].get("bootstrap_resamples", 2000),
        level=config["alignment"].get("confidence_level", 0.95),
        seed=config["alignment"].get("seed", 0),
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/alignment.log",
    shell:
        "{VALUETRACE} align --scores {input.scores} --humans {input.humans}"
        " --resamples {params.resamples} --confidence-level {params.level} --seed {params.seed}"
        " --out-questions {output.questions} --out-languages {output.languages} > {log} 2>&1"
