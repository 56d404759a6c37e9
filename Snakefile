# valuetrace: which cultural values a multilingual masked LM encodes per language.
# Stages live in workflow/rules/*.smk; their logic in the valuetrace library (workflow/valuetrace).

from snakemake.utils import min_version

min_version("9.0")


# The demo config is the default; `--configfile other.yaml` replaces it rather than being
# merged into it, so a grid from another config never inherits the demo's models.
if not config:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/probe.smk"
include: "workflow/rules/survey.smk"
include: "workflow/rules/alignment.smk"
include: "workflow/rules/finetune.smk"
include: "workflow/rules/shifts.smk"
include: "workflow/rules/attribution.smk"
include: "workflow/rules/counterfactual.smk"
include: "workflow/rules/lds.smk"
include: "workflow/rules/hofstede.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        PLAN.targets(),
