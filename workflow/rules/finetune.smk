rule finetune:
    """Continued masked-LM training of one model on one run's examples, in finetuning.precision;
    keeps checkpoints (weights only) for TRAK.

    Checkpoints live in results/work/ until the run ends, so a killed job resumes from the newest
    (the only one that keeps its optimiser state); disk.json records their bytes.
    """
    input:
        train="results/data/{dataset}/{ftlang}/n{size}.parquet",
        base=model_input,
    output:
        directory("results/finetuned/{model}/{dataset}/{ftlang}/n{size}_s{seed}"),
    log:
        "results/logs/finetune/{model}/{dataset}/{ftlang}/n{size}_s{seed}.log",
    benchmark:
        "results/benchmarks/finetune/{model}/{dataset}/{ftlang}/n{size}_s{seed}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        base=model_source,
        work_dir="results/work/finetune/{model}/{dataset}/{ftlang}/n{size}_s{seed}",
        training=training,
    script:
        "../scripts/finetune.py"


rule run_disk:
    """The disk every run's checkpoints and model take, as written and as kept, in one table."""
    input:
        PLAN.finetuned(),
    output:
        "results/tables/run_disk.parquet",
    log:
        "results/logs/run_disk.log",
    benchmark:
        "results/benchmarks/run_disk.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    script:
        "../scripts/run_disk.py"
