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
        training=lambda wildcards: finetune_options(wildcards.seed),
    shell:
        "valuetrace finetune --base {params.base} --train {input.train} --out {output}"
        " --work-dir {params.work_dir} {params.training} > {log} 2>&1"
