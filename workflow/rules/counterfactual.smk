# Counterfactual check of attribution: retrain a run without a probe's top-k attributed
# examples, and without k random ones. Library: valuetrace.counterfactual.


rule counterfactual_finetune:
    """Retrain a run without a target probe's top-k examples and without k random ones (each draw
    of them), and score the probe again after each retraining."""
    input:
        train=run_train,
        top="results/attribution/{model}/{run}/top.parquet",
        probes="results/probes/probes.parquet",
        base_scores=f"results/scores/{{model}}/{BASE}.parquet",
        base=start_input,
    output:
        "results/counterfactual/{model}/{run}/t{target}.parquet",
    log:
        "results/logs/counterfactual/{model}/{run}/t{target}.log",
    benchmark:
        "results/benchmarks/counterfactual/{model}/{run}/t{target}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        base=start_source,
        counterfactual=counterfactual,
        batches=attribution_setting("retraining_batches"),
        training=training,
        scoring=SCORING,
    script:
        "../scripts/counterfactual_finetune.py"


rule counterfactual:
    """All retraining results in one table."""
    input:
        PLAN.counterfactual_targets(),
    output:
        "results/tables/counterfactual.parquet",
    log:
        "results/logs/counterfactual.log",
    benchmark:
        "results/benchmarks/counterfactual.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    script:
        "../scripts/counterfactual.py"
