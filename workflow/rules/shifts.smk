rule shifts:
    """Value shifts of every fine-tuning run against its base model: per question, per language,
    across languages, distinctiveness of language profiles, and the planted questions; tests of
    the shifts against seed noise and the control source; the paper's claims as tests.
    """
    input:
        scores=PLAN.all_scores(),
        humans="results/tables/human_values.parquet",
        probe_alignment="results/tables/probe_alignment.parquet",
        probes="results/probes/probes.parquet",
        subset=paper_subset(),
    output:
        shifts="results/tables/shifts.parquet",
        runs="results/tables/run_shifts.parquet",
        cross="results/tables/cross_language.parquet",
        distinctiveness="results/tables/distinctiveness.parquet",
        planted="results/tables/planted.parquet",
        tests="results/tables/shift_tests.parquet",
        magnitude="results/tables/magnitude_model.parquet",
        multilingual="results/tables/multilingual_comparison.parquet",
    log:
        "results/logs/shifts.log",
    benchmark:
        "results/benchmarks/shifts.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        planted=PLAN.planted,
        control=PLAN.control,
        alignment=settings.Alignment.from_config(config).params(),
        significance=settings.Significance.from_config(config).params(),
    script:
        "../scripts/shifts.py"
