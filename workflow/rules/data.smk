rule generate_source:
    """A demo fine-tuning source generated here: neutral sentences, some planting option A."""
    input:
        probes="results/probes/probes.parquet",
        text=lambda wildcards: f"{DATASETS[wildcards.dataset]['generate']['text']}/{wildcards.lang}.yaml",
    output:
        "results/generated/{dataset}/{lang}.parquet",
    log:
        "results/logs/generate_source/{dataset}/{lang}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        sentences=lambda wildcards: DATASETS[wildcards.dataset]["generate"]["sentences"],
        planted=lambda wildcards: DATASETS[wildcards.dataset].get(
            "planted_questions", []
        ),
        fraction=lambda wildcards: DATASETS[wildcards.dataset]["generate"].get(
            "planted_fraction", 0
        ),
        seed=lambda wildcards: DATASETS[wildcards.dataset]["generate"]["seed"],
    shell:
        "valuetrace data generate --probes {input.probes} --text {input.text} --lang {wildcards.lang}"
        " --sentences {params.sentences} --planted-questions {params.planted}"
        " --planted-fraction {params.fraction} --seed {params.seed} --out {output} > {log} 2>&1"


rule prepare_source:
    """One source in one language: stable example ids, metadata, deterministic sampling order."""
    input:
        prepare_input,
    output:
        "results/data/{dataset}/{lang}.parquet",
    log:
        "results/logs/prepare_source/{dataset}/{lang}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        origin=prepare_origin,
        seed=FINETUNING.get("subsample_seed", 0),
    shell:
        "valuetrace data prepare --source {wildcards.dataset} --lang {wildcards.lang}"
        " {params.origin} --seed {params.seed} --out {output} > {log} 2>&1"


rule subsample:
    """The training examples of a run: the first SIZE of each language, mixed for multilingual runs."""
    input:
        lambda wildcards: expand(
            "results/data/{dataset}/{lang}.parquet",
            dataset=wildcards.dataset,
            lang=dataset_languages(wildcards),
        ),
    output:
        "results/data/{dataset}/{ftlang}/n{size}.parquet",
    log:
        "results/logs/subsample/{dataset}/{ftlang}/n{size}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        seed=FINETUNING.get("subsample_seed", 0),
        parallel=lambda wildcards: (
            "--parallel" if DATASETS[wildcards.dataset].get("parallel") else ""
        ),
    shell:
        "valuetrace data subsample --prepared {input} --size {wildcards.size} --seed {params.seed}"
        " {params.parallel} --where datasets.{wildcards.dataset} --out {output} > {log} 2>&1"
