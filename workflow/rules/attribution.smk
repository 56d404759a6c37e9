# TRAK attribution of each run's value shifts to its training examples: featurize every
# checkpoint in a save directory of its own, score the target probes in a separate job,
# then gather over checkpoints. Library: valuetrace.attribution, valuetrace.attribution_summary.


rule attribution_features:
    """TRAK features of a run's training examples at one of its checkpoints (0: the model its
    fine-tuning started from)."""
    input:
        run="results/finetuned/{model}/{run}",
        start=checkpoint_start_input,
        train=run_train,
    output:
        features_output("results/attribution/{model}/{run}/features/c{checkpoint}"),
    log:
        "results/logs/attribution_features/{model}/{run}/c{checkpoint}.log",
    benchmark:
        "results/benchmarks/attribution_features/{model}/{run}/c{checkpoint}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        trak=trak,
        start=start_source,
    script:
        "../scripts/attribution_features.py"


rule attribution_scores:
    """Influence of every training example on every target probe, at one checkpoint."""
    input:
        features="results/attribution/{model}/{run}/features/c{checkpoint}",
        run="results/finetuned/{model}/{run}",
        start=checkpoint_start_input,
        train=run_train,
        probes="results/probes/probes.parquet",
        base_scores=f"results/scores/{{model}}/{BASE}.parquet",
        run_scores="results/scores/{model}/{run}.parquet",
    output:
        directory("results/attribution/{model}/{run}/scores/c{checkpoint}"),
    log:
        "results/logs/attribution_scores/{model}/{run}/c{checkpoint}.log",
    benchmark:
        "results/benchmarks/attribution_scores/{model}/{run}/c{checkpoint}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        trak=trak,
        scoring=SCORING,
        targets=attribution_setting("targets"),
        start=start_source,
    script:
        "../scripts/attribution_scores.py"


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
    benchmark:
        "results/benchmarks/attribution_gather/{model}/{run}.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        targets=attribution_setting("targets"),
        top_k=attribution_setting("top_k"),
    script:
        "../scripts/attribution_gather.py"


rule attribution_tables:
    """All attributed runs in one table each, and precision on the planted questions."""
    input:
        top=PLAN.attributed("results/attribution/{model}/{run}/top.parquet"),
        groups=PLAN.attributed("results/attribution/{model}/{run}/groups.parquet"),
        checks=PLAN.attributed("results/attribution/{model}/{run}/checks.parquet"),
    output:
        top="results/tables/attribution_top.parquet",
        groups="results/tables/attribution_groups.parquet",
        checks="results/tables/attribution_checks.parquet",
        planted="results/tables/attribution_planted.parquet",
        flipped="results/tables/attribution_flipped.parquet",
    log:
        "results/logs/attribution_tables.log",
    benchmark:
        "results/benchmarks/attribution_tables.tsv"
    conda:
        "../../envs/valuetrace.yaml"
    params:
        planted=PLAN.planted,
    script:
        "../scripts/attribution_tables.py"
