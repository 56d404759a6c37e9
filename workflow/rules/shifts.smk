rule shifts:
    """Value shifts of every fine-tuning run against its base model: per question, per language,
    across languages, distinctiveness of language profiles, and the planted questions.
    """
    input:
        scores=PLAN.all_scores(),
        humans="results/tables/human_values.parquet",
        alignment="results/tables/alignment.parquet",
        probes="results/probes/probes.parquet",
        subset=paper_subset(),
    output:
        shifts="results/tables/shifts.parquet",
        runs="results/tables/run_shifts.parquet",
        cross="results/tables/cross_language.parquet",
        distinctiveness="results/tables/distinctiveness.parquet",
        planted="results/tables/planted.parquet",
    log:
        "results/logs/shifts.log",
    benchmark:
        "results/benchmarks/shifts.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        planted=PLAN.planted,
    script:
        "../scripts/shifts.py"
