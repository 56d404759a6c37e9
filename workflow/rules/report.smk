rule plot_alignment:
    input:
        "results/tables/alignment.parquet",
    output:
        report(
            "results/figures/alignment.png",
            caption="../report/alignment.rst",
            category="1. Alignment with the survey",
        ),
    log:
        "results/logs/plot_alignment.log",
    conda:
        "../../envs/valuetrace.yaml"
    shell:
        "valuetrace plot alignment --table {input} --out {output} > {log} 2>&1"


rule plot_scores:
    input:
        "results/scores/{model}/base.parquet",
    output:
        report(
            "results/figures/scores_{model}.png",
            caption="../report/scores.rst",
            category="2. Value profiles",
            labels={"model": "{model}", "figure": "value scores"},
        ),
    log:
        "results/logs/plot_scores/{model}.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        title="Value scores of {model}: log P(A) - log P(B) (positive = option A)",
    shell:
        "valuetrace plot heatmap --table {input} --value score --title '{params.title}'"
        " --out {output} > {log} 2>&1"


rule plot_human_values:
    input:
        "results/tables/human_values.parquet",
    output:
        report(
            "results/figures/human_values.png",
            caption="../report/human_values.rst",
            category="3. Survey",
        ),
    log:
        "results/logs/plot_human_values.log",
    conda:
        "../../envs/valuetrace.yaml"
    params:
        title=(
            "Human values (SYNTHETIC stand-in data)"
            if "synthetic" in config["survey"]
            else "Human values (WVS-7)"
        ),
    shell:
        "valuetrace plot heatmap --table {input} --value human_score --title '{params.title}'"
        " --out {output} > {log} 2>&1"


rule report_table:
    """A CSV copy of a result table for reading in the report."""
    input:
        lambda wildcards: REPORT_TABLES[wildcards.table],
    output:
        report(
            "results/report/{table}.csv",
            caption="../report/tables.rst",
            category="4. Tables",
            labels={"table": "{table}"},
        ),
    log:
        "results/logs/report_table/{table}.log",
    conda:
        "../../envs/valuetrace.yaml"
    shell:
        "valuetrace table csv {input} {output} > {log} 2>&1"


SHIFT_FIGURE_TABLES = {
    "cross_language": "results/tables/cross_language.parquet",
    "flip_rates": "results/tables/run_shifts.parquet",
    "alignment_change": "results/tables/run_shifts.parquet",
    "distinctiveness": "results/tables/distinctiveness.parquet",
    "planted": "results/tables/shifts.parquet",
}


rule plot_shifts:
    input:
        table=lambda wildcards: SHIFT_FIGURE_TABLES[wildcards.figure],
        planted="results/tables/planted.parquet",
    output:
        report(
            "results/figures/{figure}.png",
            caption="../report/shifts.rst",
            category="5. Value shifts",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/plot_shifts/{figure}.log",
    wildcard_constraints:
        figure=alternatives(SHIFT_FIGURES),
    conda:
        "../../envs/valuetrace.yaml"
    shell:
        "valuetrace plot shifts {wildcards.figure} --table {input.table} --planted {input.planted}"
        " --out {output} > {log} 2>&1"


ATTRIBUTION_FIGURE_TABLES = {
    "attribution_languages": "results/tables/attribution_groups.parquet",
    "attribution_sources": "results/tables/attribution_groups.parquet",
    "attribution_planted": "results/tables/attribution_planted.parquet",
    "counterfactual": "results/tables/counterfactual.parquet",
}


rule plot_attribution:
    input:
        table=lambda wildcards: ATTRIBUTION_FIGURE_TABLES[wildcards.figure],
        checks="results/tables/attribution_checks.parquet",
    output:
        report(
            "results/figures/{figure}.png",
            caption="../report/attribution.rst",
            category="6. Attribution",
            labels={"figure": "{figure}"},
        ),
    log:
        "results/logs/plot_attribution/{figure}.log",
    wildcard_constraints:
        figure=alternatives(ATTRIBUTION_FIGURES),
    conda:
        "../../envs/valuetrace.yaml"
    shell:
        "valuetrace plot attribution {wildcards.figure} --table {input.table}"
        " --checks {input.checks} --out {output} > {log} 2>&1"
