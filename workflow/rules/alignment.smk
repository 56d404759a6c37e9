rule alignment:
    """Agreement and Spearman correlation with the survey per language, of every model and run."""
    input:
        scores=all_scores(),
        humans="results/tables/human_values.parquet",
    output:
        questions="results/tables/question_alignment.parquet",
        languages="results/tables/alignment.parquet",
    log:
        "results/logs/alignment.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        resamples=config["alignment"].get("bootstrap_resamples", 2000),
        level=config["alignment"].get("confidence_level", 0.95),
        seed=config["alignment"].get("seed", 0),
    shell:
        "valuetrace align --scores {input.scores} --humans {input.humans}"
        " --resamples {params.resamples} --confidence-level {params.level} --seed {params.seed}"
        " --out-questions {output.questions} --out-languages {output.languages} > {log} 2>&1"
