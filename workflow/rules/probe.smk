rule compile_probes:
    """Validate the probe files and join them with the question metadata (scale, polarity)."""
    input:
        probes=PROBE_FILES,
        questions=config["probes"]["questions"],
    output:
        "results/probes/probes.parquet",
    log:
        "results/logs/compile_probes.log",
    benchmark:
        "results/benchmarks/compile_probes.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        # The folder (or file) holding all probe files.
        path=lambda wildcards, input: os.path.commonpath(input.probes),
        languages=PLAN.languages,
        format=config["probes"]["format"],
        skip_defective_rows=config["probes"]["skip_defective_rows"],
    script:
        "../scripts/compile_probes.py"


rule score_probes:
    """Value score log P(A) - log P(B) of every probe under one model, base or fine-tuned."""
    input:
        probes="results/probes/probes.parquet",
        model=model_input,
    output:
        "results/scores/{model}/{run}.parquet",
    log:
        "results/logs/score_probes/{model}/{run}.log",
    benchmark:
        "results/benchmarks/score_probes/{model}/{run}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        source=model_source,
        scoring=SCORING,
    script:
        "../scripts/score_probes.py"
