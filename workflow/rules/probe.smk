rule arora_release:
    """Arora et al.'s published probes: downloaded (or a copy put in results/downloads/), checked, unpacked."""
    output:
        directory(ARORA_RELEASE),
    log:
        "results/logs/arora_release.log",
    benchmark:
        "results/benchmarks/arora_release.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        url=PROBES["arora"]["url"],
        sha256=PROBES["arora"]["sha256"],
    script:
        "../scripts/arora_release.py"


rule compile_probes:
    """Validate the probe files and join them with their key (answer codes, polarity per probe id)."""
    input:
        probes=PROBE_FILES,
        release=RELEASE,
        key_files=KEYS,
    output:
        "results/probes/probes.parquet",
    log:
        "results/logs/compile_probes.log",
    benchmark:
        "results/benchmarks/compile_probes.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        wvs={
            "paths": WVS_PATHS,
            "key": PROBES["key"],
            "exclusions": PROBES.get("exclusions"),
            "languages": PLAN.languages,
        },
        hofstede=(
            {
                "paths": HOFSTEDE_PATHS,
                "key": HOFSTEDE["key"],
                "exclusions": PROBES.get("exclusions"),
                "languages": list(HOFSTEDE["countries"]),
            }
            if HOFSTEDE
            else None
        ),
        format=PROBES["format"],
        skip_defective_rows=PROBES["skip_defective_rows"],
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


rule paper_subset:
    """The probes with a human value in every country and a usable probe in every language."""
    input:
        probes="results/probes/probes.parquet",
        humans="results/tables/human_values.parquet",
    output:
        "results/tables/paper_subset.parquet",
    log:
        "results/logs/paper_subset.log",
    benchmark:
        "results/benchmarks/paper_subset.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        languages=PLAN.languages,
    script:
        "../scripts/paper_subset.py"
