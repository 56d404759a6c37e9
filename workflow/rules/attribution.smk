# TRAK attribution of each run's value shifts to its training examples: featurize every
# checkpoint in a save directory of its own, score the target probes in a separate job,
# then gather over checkpoints. Library: workflow/valuetrace/attribution.py.


rule attribution_features:
    """TRAK features of a run's training examples at one of its checkpoints."""
    input:
        run="results/finetuned/{model}/{run}",
        train=run_train,
    output:
        directory("results/attribution/{model}/{run}/features/c{checkpoint}"),
    log:
        "results/logs/attribution_features/{model}/{run}/c{checkpoint}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        trak=trak_options,
    shell:
        "valuetrace attribution featurize --run-dir {input.run} --train {input.train}"
        " --checkpoint {wildcards.checkpoint} {params.trak} --out {output} > {log} 2>&1"


rule attribution_scores:
    """Influence of every training example on every target probe, at one checkpoint."""
    input:
        features="results/attribution/{model}/{run}/features/c{checkpoint}",
        run="results/finetuned/{model}/{run}",
        train=run_train,
        probes="results/probes/probes.parquet",
        base_scores=f"results/scores/{{model}}/{BASE}.parquet",
        run_scores="results/scores/{model}/{run}.parquet",
    output:
        directory("results/attribution/{model}/{run}/scores/c{checkpoint}"),
    log:
        "results/logs/attribution_scores/{model}/{run}/c{checkpoint}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        trak=trak_options,
        targets=attribution_setting("targets"),
        method=config["scoring"]["method"],
    shell:
        "valuetrace attribution score --run-dir {input.run} --train {input.train}"
        " --features {input.features} --probes {input.probes} --base-scores {input.base_scores}"
        " --run-scores {input.run_scores} --targets {params.targets} --method {params.method}"
        " --checkpoint {wildcards.checkpoint} {params.trak} --out {output} > {log} 2>&1"


rule attribution_gather:
    """One run's influence averaged over checkpoints: top examples, sums per language and source."""
    input:
        scores=attribution_checkpoints,
        train=run_train,
        probes="results/probes/probes.parquet",
        base_scores=f"results/scores/{{model}}/{BASE}.parquet",
        run_scores="results/scores/{model}/{run}.parquet",
    output:
        top="results/attribution/{model}/{run}/top.parquet",
        groups="results/attribution/{model}/{run}/groups.parquet",
        checks="results/attribution/{model}/{run}/checks.parquet",
    log:
        "results/logs/attribution_gather/{model}/{run}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        targets=attribution_setting("targets"),
        top_k=attribution_setting("top_k"),
    shell:
        "valuetrace attribution gather --model {wildcards.model} --run {wildcards.run}"
        " --train {input.train} --probes {input.probes} --base-scores {input.base_scores}"
        " --run-scores {input.run_scores} --targets {params.targets} --scores {input.scores}"
        " --top-k {params.top_k} --out-top {output.top} --out-groups {output.groups}"
        " --out-checks {output.checks} > {log} 2>&1"


rule attribution_tables:
    """All attributed runs in one table each, and precision on the planted questions."""
    input:
        top=attributed("results/attribution/{model}/{run}/top.parquet"),
        groups=attributed("results/attribution/{model}/{run}/groups.parquet"),
        checks=attributed("results/attribution/{model}/{run}/checks.parquet"),
    output:
        top="results/tables/attribution_top.parquet",
        groups="results/tables/attribution_groups.parquet",
        checks="results/tables/attribution_checks.parquet",
        planted="results/tables/attribution_planted.parquet",
        flipped="results/tables/attribution_flipped.parquet",
    log:
        "results/logs/attribution_tables.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        planted=planted_arguments(),
    shell:
        "valuetrace attribution tables --top {input.top} --groups {input.groups}"
        " --checks {input.checks} --planted {params.planted} --out-top {output.top}"
        " --out-groups {output.groups} --out-checks {output.checks}"
        " --out-planted {output.planted} --out-flipped {output.flipped} > {log} 2>&1"
