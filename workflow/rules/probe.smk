rule compile_probes:
    """Validate the probe files and join them with the question metadata (scale, polarity)."""
    input:
        probes=PROBE_FILES,
        questions=config["probes"]["questions"],
    output:
        "results/probes/probes.parquet",
    log:
        "results/logs/compile_probes.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        # The folder (or file) holding all probe files, for the command line.
        path=lambda wildcards, input: os.path.commonpath(input.probes),
        languages=LANGUAGES,
        format=config["probes"].get("format", "valuetrace"),
        skip=(
            "--skip-defective-rows"
            if config["probes"].get("skip_defective_rows", False)
            else ""
        ),
    shell:
        "valuetrace probes compile --probes {params.path} --questions {input.questions}"
        " --languages {params.languages} --format {params.format} {params.skip}"
        " --out {output} > {log} 2>&1"


rule score_probes:
    """Value score log P(A) - log P(B) of every probe under one model, base or fine-tuned."""
    input:
        probes="results/probes/probes.parquet",
        model=model_input,
    output:
        "results/scores/{model}/{run}.parquet",
    log:
        "results/logs/score_probes/{model}/{run}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        source=model_source,
        method=config["scoring"]["method"],
        batch_size=config["scoring"].get("batch_size", 64),
        max_length=config["scoring"].get("max_length", 128),
    shell:
        "valuetrace score --model {params.source} --model-name {wildcards.model}"
        " --run {wildcards.run}"
        " --probes {input.probes} --method {params.method} --batch-size {params.batch_size}"
        " --max-length {params.max_length} --out {output} > {log} 2>&1"
