# Counterfactual check of attribution: retrain a run without a probe's top-k attributed
# examples, and without k random ones. Library: valuetrace.counterfactual.


rule counterfactual_finetune:
    """Retrain a run without some examples and score its target probe again."""
    input:
        train=run_train,
        top="results/attribution/{model}/{run}/top.parquet",
        probes="results/probes/probes.parquet",
        base_scores=f"results/scores/{{model}}/{BASE}.parquet",
        base=lambda wildcards: base_input(wildcards.model),
    output:
        "results/counterfactual/{model}/{run}/t{target}_{removal}{draw}.parquet",
    log:
        "results/logs/counterfactual/{model}/{run}/t{target}_{removal}{draw}.log",
    benchmark:
        "results/benchmarks/counterfactual/{model}/{run}/t{target}_{removal}{draw}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        base=lambda wildcards: base_source(wildcards.model),
        counterfactual=counterfactual,
        training=training,
        scoring=SCORING,
    script:
        "../scripts/counterfactual_finetune.py"


rule counterfactual:
    """All retraining results in one table."""
    input:
        PLAN.counterfactual_rows(),
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
