rule pretraining_corpus:
    """Balanced demo pretraining text generated from the probes: every probe filled with A and with B."""
    input:
        probes="results/probes/probes.parquet",
    output:
        "results/data/pretraining_corpus.parquet",
    params:
        sentences_per_option=config.get("pretraining_corpus", {}).get("sentences_per_option"),
        seed=config.get("pretraining_corpus", {}).get("seed"),
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/pretraining_corpus.log",
    shell:
        "{VALUETRACE} corpus pretraining --probes {input.probes}"
        " --sentences-per-option {params.sentences_per_option} --seed {params.seed}"
        " --out {output} > {log} 2>&1"


rule build_model:
    """Train a tokenizer and pretrain a tiny masked LM for the demo; saved with save_pretrained."""
    input:
        corpus="results/data/pretraining_corpus.parquet",
    output:
        directory("results/models/{model}"),
    params:
        build=build_params,
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/build_model/{model}.log",
    shell:
        "{VALUETRACE} model build --corpus {input.corpus} --out {output}"
        " --architecture {params.build[architecture]} --vocab-size {params.build[vocab_size]}"
        " --hidden-size {params.build[hidden_size]} --layers {params.build[layers]}"
        " --heads {params.build[heads]} --intermediate-size {params.build[intermediate_size]}"
        " --max-length {params.build[max_length]} --steps {params.build[steps]}"
        " --batch-size {params.build[batch_size]} --learning-rate {params.build[learning_rate]}"
        " --seed {params.build[seed]} > {log} 2>&1"
