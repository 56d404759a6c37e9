# Counterfactual check of attribution: retrain a run without a probe's top-k attributed
# examples, and without k random ones. Library: workflow/valuetrace/counterfactual.py.


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
    conda:
        "../../envs/valuetrace.yaml"
    params:
        base=lambda wildcards: base_source(wildcards.model),
        k=counterfactual_setting("k"),
        seed=counterfactual_setting("seed"),
        method=config["scoring"]["method"],
        probe_max_length=config["scoring"]["max_length"],
        training=lambda wildcards: finetune_options(
            Run.parse(wildcards.model, wildcards.run).seed
        ),
    shell:
        "valuetrace counterfactual retrain --model {wildcards.model} --run {wildcards.run}"
        " --base {params.base} --train {input.train} --top {input.top} --probes {input.probes}"
        " --base-scores {input.base_scores} --target {wildcards.target} --removal {wildcards.removal}"
        " --draw {wildcards.draw} --k {params.k} --removal-seed {params.seed} --method {params.method}"
        " --probe-max-length {params.probe_max_length} {params.training} --out {output} > {log} 2>&1"


rule counterfactual:
    """All retraining results in one table."""
    input:
        counterfactual_rows(),
    output:
        "results/tables/counterfactual.parquet",
    log:
        "results/logs/counterfactual.log",
    conda:
        "../../envs/valuetrace.yaml"
    shell:
        "valuetrace counterfactual gather --rows {input} --out {output} > {log} 2>&1"
