rule finetune:
    """Continued masked-LM training of one model on one run's examples; keeps checkpoints for TRAK.

    Checkpoints live in results/work/ until the run ends, so a killed job resumes from them.
    """
    input:
        train="results/data/{dataset}/{ftlang}/n{size}.parquet",
        base=model_input,
    output:
        directory("results/finetuned/{model}/{dataset}/{ftlang}/n{size}_s{seed}"),
    log:
        "results/logs/finetune/{model}/{dataset}/{ftlang}/n{size}_s{seed}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        base=model_source,
        work_dir="results/work/finetune/{model}/{dataset}/{ftlang}/n{size}_s{seed}",
        epochs=FINETUNING.get("epochs"),
        batch_size=FINETUNING.get("batch_size"),
        learning_rate=FINETUNING.get("learning_rate"),
        max_length=FINETUNING.get("max_length"),
        mlm_probability=FINETUNING.get("mlm_probability", 0.15),
        checkpoints=FINETUNING.get("checkpoints", 3),
    shell:
        "valuetrace finetune --base {params.base} --train {input.train} --out {output}"
        " --work-dir {params.work_dir} --epochs {params.epochs} --batch-size {params.batch_size}"
        " --learning-rate {params.learning_rate} --max-length {params.max_length}"
        " --mlm-probability {params.mlm_probability} --checkpoints {params.checkpoints}"
        " --seed {wildcards.seed} > {log} 2>&1"
