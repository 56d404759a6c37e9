rule pretraining_corpus:
    """Balanced demo pretraining text: every probe filled with A and with B, plus demo text."""
    input:
        probes="results/probes/probes.parquet",
        demo_text=DEMO_TEXT_FILES,
    output:
        "results/data/pretraining_corpus.parquet",
    log:
        "results/logs/pretraining_corpus.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        sentences_per_option=PRETRAINING.get("sentences_per_option"),
        demo_text=(
            f"--text {PRETRAINING['demo_text']} --demo-text-per-language"
            f" {PRETRAINING.get('demo_text_per_language', 0)}"
            if "demo_text" in PRETRAINING
            else ""
        ),
        seed=PRETRAINING.get("seed"),
    shell:
        "valuetrace corpus pretraining --probes {input.probes}"
        " --sentences-per-option {params.sentences_per_option} {params.demo_text} --seed {params.seed}"
        " --out {output} > {log} 2>&1"


rule build_model:
    """Train a tokenizer and pretrain a tiny masked LM for the demo; saved with save_pretrained."""
    input:
        corpus="results/data/pretraining_corpus.parquet",
    output:
        directory("results/models/{model}"),
    log:
        "results/logs/build_model/{model}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        build=build_params,
    shell:
        "valuetrace model build --corpus {input.corpus} --out {output}"
        " --architecture {params.build[architecture]} --vocab-size {params.build[vocab_size]}"
        " --hidden-size {params.build[hidden_size]} --layers {params.build[layers]}"
        " --heads {params.build[heads]} --intermediate-size {params.build[intermediate_size]}"
        " --max-length {params.build[max_length]} --steps {params.build[steps]}"
        " --batch-size {params.build[batch_size]} --learning-rate {params.build[learning_rate]}"
        " --seed {params.build[seed]} > {log} 2>&1"
