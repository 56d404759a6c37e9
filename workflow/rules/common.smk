import re
import sys
from pathlib import Path

from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

LIBRARY = Path(workflow.basedir) / "workflow"
sys.path.insert(0, str(LIBRARY))

from valuetrace.settings import check_config

# Jobs call the library's command line with the interpreter that runs Snakemake, so a
# virtual environment works without activating it. Under --software-deployment-method
# conda, each rule's environment (envs/valuetrace.yaml) brings python and the stack;
# the library itself always comes from this checkout.
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    VALUETRACE = "python -m valuetrace"
else:
    VALUETRACE = f"{sys.executable} -m valuetrace"
# (Braces doubled twice: once for this f-string, once for Snakemake's formatting of the prefix.)
shell.prefix(f"export PYTHONPATH={LIBRARY}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; ")

validate(config, "../schemas/config.schema.yaml")
check_config(config, Path.cwd())

MODELS = list(config["models"])
LANGUAGES = config["languages"]


# Tables shown in the report as CSV; each is also a parquet file with a schema.
REPORT_TABLES = {
    "alignment": "results/tables/alignment.parquet",
    "question_alignment": "results/tables/question_alignment.parquet",
    "human_values": "results/tables/human_values.parquet",
    "probes": "results/probes/probes.parquet",
}


wildcard_constraints:
    model="|".join(re.escape(name) for name in MODELS),
    table="|".join(REPORT_TABLES),


def built_model(name):
    return "build" in config["models"][name]


def model_source(wildcards):
    """Where the scoring step loads the model from: our build, a local directory or a hub name."""
    if built_model(wildcards.model):
        return f"results/models/{wildcards.model}"
    return config["models"][wildcards.model]["source"]


def model_input(wildcards):
    # A local directory is an input (edits to it rerun scoring); a hub name is not a file.
    source = model_source(wildcards)
    return [source] if built_model(wildcards.model) or Path(source).is_dir() else []


def build_params(wildcards):
    return config["models"][wildcards.model]["build"]


def survey_file():
    if "synthetic" in config["survey"]:
        return "results/survey/wvs7_synthetic.csv"
    return config["survey"]["path"]


def country_pairs():
    return [f"{lang}={config['countries'][lang]}" for lang in LANGUAGES]


def all_targets():
    return [
        "results/tables/alignment.parquet",
        *expand("results/report/{table}.csv", table=REPORT_TABLES),
        "results/figures/alignment.png",
        "results/figures/human_values.png",
        *expand("results/figures/scores_{model}.png", model=MODELS),
    ]

