rule alignment:
    """Agreement and Spearman correlation with the survey per language, of every model and run."""
    input:
        scores=PLAN.all_scores(),
        humans="results/tables/human_values.parquet",
        subset=paper_subset(),
    output:
        probes="results/tables/probe_alignment.parquet",
        languages="results/tables/alignment.parquet",
    log:
        "results/logs/alignment.log",
    benchmark:
        "results/benchmarks/alignment.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        alignment=settings.Alignment.from_config(config).params(),
    script:
        "../scripts/alignment.py"
