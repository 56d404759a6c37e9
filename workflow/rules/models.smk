rule pretraining_corpus:
    """Balanced demo pretraining text: every probe filled with A and with B, plus demo text."""
    input:
        probes="results/probes/probes.parquet",
        demo_text=DEMO_TEXT_FILES,
    output:
        "results/data/pretraining_corpus.parquet",
    log:
        "results/logs/pretraining_corpus.log",
    benchmark:
        "results/benchmarks/pretraining_corpus.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        corpus=lambda wildcards: settings.PretrainingCorpus.from_config(config).params(),
    script:
        "../scripts/pretraining_corpus.py"


rule build_model:
    """Train a tokenizer and pretrain a tiny masked LM for the demo; saved with save_pretrained."""
    input:
        corpus="results/data/pretraining_corpus.parquet",
    output:
        directory("results/models/{model}"),
    log:
        "results/logs/build_model/{model}.log",
    benchmark:
        "results/benchmarks/build_model/{model}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        build=model_build,
    script:
        "../scripts/build_model.py"
