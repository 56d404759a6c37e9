rule generate_source:
    """A demo fine-tuning source generated here: neutral sentences, some planting option A."""
    input:
        probes="results/probes/probes.parquet",
        text=lambda wildcards: f"{DATASETS[wildcards.dataset]['generate']['text']}/{wildcards.lang}.yaml",
    output:
        "results/generated/{dataset}/{lang}.parquet",
    log:
        "results/logs/generate_source/{dataset}/{lang}.log",
    benchmark:
        "results/benchmarks/generate_source/{dataset}/{lang}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        sentences=generate_setting("sentences"),
        planted_questions=lambda wildcards: PLAN.planted.get(wildcards.dataset, []),
        planted_fraction=generate_setting("planted_fraction"),
        planting=generate_setting("planting"),
        seed=generate_setting("seed"),
    script:
        "../scripts/generate_source.py"


rule prepare_source:
    """One source in one language: stable example ids, metadata, deterministic sampling order."""
    input:
        source_inputs,
    output:
        "results/data/{dataset}/{lang}.parquet",
    log:
        "results/logs/prepare_source/{dataset}/{lang}.log",
    benchmark:
        "results/benchmarks/prepare_source/{dataset}/{lang}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        origin=source_origin,
        sentences=source_sentences,
        seed=lambda wildcards: config["finetuning"]["subsample_seed"],
    script:
        "../scripts/prepare_source.py"


rule align_parallel:
    """A parallel source: every language cut to the item ids that all its languages have."""
    input:
        lambda wildcards: expand(
            "results/data/{dataset}/{lang}.parquet",
            dataset=wildcards.dataset,
            lang=DATASETS[wildcards.dataset]["languages"],
        ),
    output:
        data="results/data/{dataset}/parallel.parquet",
        counts="results/tables/parallel/{dataset}.parquet",
    log:
        "results/logs/align_parallel/{dataset}.log",
    benchmark:
        "results/benchmarks/align_parallel/{dataset}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    script:
        "../scripts/align_parallel.py"


rule parallel_items:
    """Per parallel source and language: the items read, those in every language, those dropped."""
    input:
        PLAN.parallel_counts(),
    output:
        "results/tables/parallel_items.parquet",
    log:
        "results/logs/parallel_items.log",
    benchmark:
        "results/benchmarks/parallel_items.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    script:
        "../scripts/parallel_items.py"


rule subsample:
    """The training examples of a run: the first SIZE of each language, mixed for multilingual runs."""
    input:
        subsample_input,
    output:
        "results/data/{dataset}/{ftlang}/n{size}.parquet",
    log:
        "results/logs/subsample/{dataset}/{ftlang}/n{size}.log",
    benchmark:
        "results/benchmarks/subsample/{dataset}/{ftlang}/n{size}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        seed=lambda wildcards: config["finetuning"]["subsample_seed"],
        languages=dataset_languages,
    script:
        "../scripts/subsample.py"
