rule compile_probes:
    """Validate the probe files and join them with the question metadata (scale, polarity)."""
    input:
        probes=config["probes"]["path"],
        questions=config["probes"]["questions"],
    output:
        "results/probes/probes.parquet",
    params:
        languages=LANGUAGES,
        format=config["probes"].get("format", "valuetrace"),
        skip=(
            "--skip-defective-rows"
            if config["probes"].get("skip_defective_rows", False)
            else ""
        ),
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/compile_probes.log",
    shell:
        "{VALUETRACE} probes compile --probes {input.probes} --questions {input.questions}"
        " --languages {params.languages} --format {params.format} {params.skip}"
        " --out {output} > {log} 2>&1"


rule score_probes:
    """Value score log P(A) - log P(B) of every probe under one model."""
    input:
        probes="results/probes/probes.parquet",
        model=model_input,
    output:
        "results/scores/{model}.parquet",
    params:
        source=model_source,
        method=config["scoring"]["method"],
        batch_size=config["scoring"].get("batch_size", 64),
        max_length=config["scoring"].get("max_length", 128),
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/score_probes/{model}.log",
    shell:
        "{VALUETRACE} score --model {params.source} --model-name {wildcards.model}"
        " --probes {input.probes} --method {params.method} --batch-size {params.batch_size}"
        " --max-length {params.max_length} --out {output} > {log} 2>&1"
