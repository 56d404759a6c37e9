# The linear datamodeling score (LDS) of attribution: retrain a run on random subsets of its
# examples (attribution.lds.subsets_per_job retrainings to a job), and check how well TRAK and
# two baselines predict the retrained probe scores. Library: valuetrace.lds,
# valuetrace.baselines, valuetrace.retraining.


rule lds_finetune:
    """Retrain a run on random subsets {first} to {last} of its examples, each on its own, and
    score every probe under each."""
    input:
        train=run_train,
        probes="results/probes/probes.parquet",
        base=start_input,
    output:
        "results/lds/{model}/{run}/subsets{first}-{last}.parquet",
    log:
        "results/logs/lds_finetune/{model}/{run}/subsets{first}-{last}.log",
    benchmark:
        "results/benchmarks/lds_finetune/{model}/{run}/subsets{first}-{last}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        base=start_source,
        subsets=lds_subsets,
        batches=attribution_setting("retraining_batches"),
        training=training,
        scoring=SCORING,
    script:
        "../scripts/lds_finetune.py"


rule lds_run:
    """One run's LDS per target probe, for TRAK and the baselines."""
    input:
        scores=attribution_checkpoints,
        retrained=lds_subset_scores,
        run="results/finetuned/{model}/{run}",
        train=run_train,
        probes="results/probes/probes.parquet",
        base_scores=f"results/scores/{{model}}/{BASE}.parquet",
        run_scores="results/scores/{model}/{run}.parquet",
    output:
        "results/lds/{model}/{run}/lds.parquet",
    log:
        "results/logs/lds_run/{model}/{run}.log",
    benchmark:
        "results/benchmarks/lds_run/{model}/{run}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        targets=attribution_setting("targets"),
        lds_targets=lds_setting("targets"),
        subsets=lds_subsets,
        # baselines read each example as fine-tuning does: its first max_length tokens
        max_length=lambda wildcards: config["finetuning"]["max_length"],
    script:
        "../scripts/lds_run.py"


rule lds:
    """Every run's LDS in one table, and the mean per run and method with bootstrap intervals."""
    input:
        PLAN.lds_tables(),
    output:
        lds="results/tables/lds.parquet",
        summary="results/tables/lds_summary.parquet",
    log:
        "results/logs/lds.log",
    benchmark:
        "results/benchmarks/lds.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        summary=lds_summary,
    script:
        "../scripts/lds.py"
