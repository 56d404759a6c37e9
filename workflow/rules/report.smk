# The report: one rule per figure registered in valuetrace.plots.FIGURES and per report table
# of valuetrace.tables.TABLES, for the stages the config activates (valuetrace.plan). Each
# reads exactly the tables it shows; captions are workflow/report/figures/<name>.rst and
# workflow/report/tables/<name>.rst.
#
# They are local rules: each reads finished tables and writes one figure or CSV in a second or
# two, less than a cluster job's start-up (a SLURM job starts Snakemake again to run its rule)
# and far less than a queue wait, so on a cluster they run beside Snakemake on the submit host.

for figure in PLAN.figures():

    rule:
        name:
            f"figure_{figure.name}"
        input:
            figure.inputs,
        output:
            report(
                figure.path,
                caption=f"../report/figures/{figure.name}.rst",
                category=figure.category,
                labels=(
                    {"model": "{model}", "figure": figure.name}
                    if figure.per_model
                    else {"figure": figure.name}
                ),
            ),
        log:
            f"results/logs/figures/{figure.stem}.log",
        benchmark:
            f"results/benchmarks/figures/{figure.stem}.tsv"
        localrule: True
        conda:
            "../../envs/valuetrace.yaml"
        params:
            figure=figure.name,
        script:
            "../scripts/figure.py"


for table in PLAN.report_tables():

    rule:
        name:
            f"report_table_{table.name}"
        input:
            table.path,
        output:
            report(
                f"results/report/{table.name}.csv",
                caption=f"../report/tables/{table.name}.rst",
                category="4. Tables",
                labels={"table": table.name},
            ),
        log:
            f"results/logs/report_table/{table.name}.log",
        benchmark:
            f"results/benchmarks/report_table/{table.name}.tsv"
        localrule: True
        conda:
            "../../envs/valuetrace.yaml"
        script:
            "../scripts/report_table.py"
