# Hofstede's six dimensions (VSM 2013) from the VSM probes of every model and run, compared
# with country scores. Library: valuetrace.hofstede.


rule hofstede_synthetic_scores:
    """SYNTHETIC country scores in Hofstede's published layout, for the demo and tests."""
    output:
        "results/survey/hofstede_synthetic.csv",
    log:
        "results/logs/hofstede_synthetic_scores.log",
    benchmark:
        "results/benchmarks/hofstede_synthetic_scores.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        codes=lambda wildcards: sorted(set(HOFSTEDE["countries"].values())),
        seed=lambda wildcards: HOFSTEDE["synthetic"]["seed"],
    script:
        "../scripts/hofstede_synthetic_scores.py"


rule hofstede:
    """The six VSM 2013 indices per model, run and language, and their agreement with country scores."""
    input:
        scores=PLAN.all_scores(),
        probes="results/probes/probes.parquet",
        country_scores=hofstede_scores_input,
    output:
        indices="results/tables/hofstede_indices.parquet",
        alignment="results/tables/hofstede_alignment.parquet",
    log:
        "results/logs/hofstede.log",
    benchmark:
        "results/benchmarks/hofstede.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        countries=lambda wildcards: HOFSTEDE["countries"],
        scores_file=lambda wildcards, input: (
            input.country_scores[0] if input.country_scores else HOFSTEDE["scores"]
        ),
        synthetic=lambda wildcards: "synthetic" in HOFSTEDE,
    script:
        "../scripts/hofstede.py"
