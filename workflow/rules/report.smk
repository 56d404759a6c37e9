rule plot_alignment:
    input:
        "results/tables/alignment.parquet",
    output:
        report(
            "results/figures/alignment.png",
            caption="../report/alignment.rst",
            category="1. Alignment with the survey",
        ),
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/plot_alignment.log",
    shell:
        "{VALUETRACE} plot alignment --table {input} --out {output} > {log} 2>&1"


rule plot_scores:
    input:
        "results/scores/{model}.parquet",
    output:
        report(
            "results/figures/scores_{model}.png",
            caption="../report/scores.rst",
            category="2. Value profiles",
            labels={"model": "{model}", "figure": "value scores"},
        ),
    params:
        title="Value scores of {model}: log P(A) - log P(B) (positive = option A)",
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/plot_scores/{model}.log",
    shell:
        "{VALUETRACE} plot heatmap --table {input} --value score --title '{params.title}'"
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
    params:
        title=(
            "Human values (SYNTHETIC stand-in data)"
            if "synthetic" in config["survey"]
            else "Human values (WVS-7)"
        ),
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/plot_human_values.log",
    shell:
        "{VALUETRACE} plot heatmap --table {input} --value human_score --title '{params.title}'"
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
    conda:
        "../../envs/valuetrace.yaml"
    log:
        "results/logs/report_table/{table}.log",
    shell:
        "{VALUETRACE} table csv {input} {output} > {log} 2>&1"
