import os
import re
import shlex
import sys
from pathlib import Path

from snakemake.logging import logger
from snakemake.settings.types import DeploymentMethod
from snakemake.utils import validate

LIBRARY = Path(workflow.basedir) / "workflow"
sys.path.insert(0, str(LIBRARY))

from valuetrace.grid import BASE, MULTILINGUAL, runs
from valuetrace.probes import probe_files
from valuetrace.settings import check_config, corpus_file

# Jobs call the library's command line, `valuetrace`, defined in every job's shell as a
# function running the interpreter that runs Snakemake, so a virtual environment works
# without activating it. Under --software-deployment-method conda, each rule's environment
# (envs/valuetrace.yaml) brings python and the stack; the library always comes from this
# checkout. (Braces are doubled for Snakemake's formatting of the prefix.)
if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method:
    PYTHON = "python"
else:
    PYTHON = sys.executable
shell.prefix(
    f"export PYTHONPATH={LIBRARY}${{{{PYTHONPATH:+:$PYTHONPATH}}}}; "
    f'valuetrace() {{{{ "{PYTHON}" -m valuetrace "$@"; }}}}; '
)

validate(config, "../schemas/config.schema.yaml")
# User-supplied data files may be missing when the workflow is only planned (snakemake -n
# of the paper grid on a laptop): each is named here and required only by the job reading it.
for warning in check_config(config, Path.cwd()):
    logger.warning(f"valuetrace: {warning}")

MODELS = list(config["models"])
LANGUAGES = config["languages"]
DATASETS = config.get("datasets") or {}
FINETUNING = config.get("finetuning") or {}
PRETRAINING = config.get("pretraining_corpus") or {}
RUNS = runs(config)

# Files rather than folders are inputs: a folder's time stamp does not change when a file
# in it is edited, and an edited probe or demo text must rerun what was built from it.
PROBE_FILES = [str(path) for path in probe_files(Path(config["probes"]["path"]))]
DEMO_TEXT_FILES = [
    path
    for lang in LANGUAGES
    if "demo_text" in PRETRAINING
    and Path(path := f"{PRETRAINING['demo_text']}/{lang}.yaml").exists()
]


# Tables shown in the report as CSV; each is also a parquet file with a schema.
REPORT_TABLES = {
    "alignment": "results/tables/alignment.parquet",
    "question_alignment": "results/tables/question_alignment.parquet",
    "human_values": "results/tables/human_values.parquet",
    "probes": "results/probes/probes.parquet",
}
SHIFT_TABLES = ["shifts", "run_shifts", "cross_language", "distinctiveness", "planted"]
if RUNS:
    REPORT_TABLES.update(
        {name: f"results/tables/{name}.parquet" for name in SHIFT_TABLES}
    )
SHIFT_FIGURES = ["cross_language", "flip_rates", "alignment_change", "distinctiveness"]
if any(spec.get("planted_questions") for spec in DATASETS.values()):
    SHIFT_FIGURES.append("planted")
SHIFT_TARGETS = [f"results/figures/{name}.png" for name in SHIFT_FIGURES]


def alternatives(names):
    # A pattern that matches nothing keeps rules of an unused stage from matching any file.
    return "|".join(re.escape(name) for name in names) or "(?!)"


wildcard_constraints:
    model=alternatives(MODELS),
    table=alternatives(REPORT_TABLES),
    dataset=alternatives(DATASETS),
    lang=alternatives(LANGUAGES),
    ftlang=alternatives([*LANGUAGES, MULTILINGUAL]),
    size=r"\d+",
    seed=r"\d+",
    run=rf"{BASE}|[^/]+/[^/]+/n\d+_s\d+",


def built_model(name):
    return "build" in config["models"][name]


def model_source(wildcards):
    """Where a model is loaded from: a fine-tuned run, our build, a local directory or a hub name."""
    if wildcards.get("run", BASE) != BASE:
        return f"results/finetuned/{wildcards.model}/{wildcards.run}/model"
    if built_model(wildcards.model):
        return f"results/models/{wildcards.model}"
    return config["models"][wildcards.model]["source"]


def model_input(wildcards):
    # A local directory is an input (edits to it rerun scoring); a hub name is not a file.
    if wildcards.get("run", BASE) != BASE:
        return [f"results/finetuned/{wildcards.model}/{wildcards.run}"]
    source = model_source(wildcards)
    return [source] if built_model(wildcards.model) or Path(source).is_dir() else []


def build_params(wildcards):
    return config["models"][wildcards.model]["build"]


def survey_file():
    if "synthetic" in config["survey"]:
        return "results/survey/wvs7_synthetic.csv"
    return config["survey"]["path"]


def existing(path):
    """A user's data file as an input while it exists: a missing one fails its job, not the plan."""
    return [path] if Path(path).exists() else []


def survey_input():
    if "synthetic" in config["survey"]:
        return [survey_file()]
    return existing(survey_file())


def survey_argument(wildcards, input):
    # The input when there is one; else the configured path, so that the job fails naming it.
    return input.survey or survey_file()


def country_pairs():
    return [f"{lang}={config['countries'][lang]}" for lang in LANGUAGES]


def scores_of(model):
    return [f"results/scores/{model}/{BASE}.parquet"] + [
        f"results/scores/{model}/{run.name}.parquet"
        for run in RUNS
        if run.model == model
    ]


def all_scores():
    return [path for model in MODELS for path in scores_of(model)]


def dataset_languages(wildcards):
    if wildcards.ftlang == MULTILINGUAL:
        return DATASETS[wildcards.dataset]["languages"]
    return [wildcards.ftlang]


def prepare_origin(wildcards):
    """Command-line arguments naming where one source's text in one language comes from."""
    spec = DATASETS[wildcards.dataset]
    text_column = spec.get("text_column", "text").replace("{lang}", wildcards.lang)
    arguments = ["--text-column", text_column]
    if spec.get("id_column"):
        arguments += ["--id-column", spec["id_column"]]
    if "generate" in spec:
        arguments += [
            "--file",
            f"results/generated/{wildcards.dataset}/{wildcards.lang}.parquet",
        ]
    elif "files" in spec:
        arguments += ["--file", corpus_file(spec, wildcards.lang)]
    else:
        hub = spec["hub"]
        arguments += ["--hub", hub["name"], "--split", hub.get("split", "train")]
        if hub.get("config"):
            arguments += [
                "--hub-config",
                hub["config"].replace("{lang}", wildcards.lang),
            ]
    return " ".join(shlex.quote(argument) for argument in arguments)


def prepare_input(wildcards):
    spec = DATASETS[wildcards.dataset]
    if "generate" in spec:
        return [f"results/generated/{wildcards.dataset}/{wildcards.lang}.parquet"]
    if "files" in spec:
        return existing(corpus_file(spec, wildcards.lang))
    return []


def planted_arguments():
    return [
        f"{name}={','.join(spec['planted_questions'])}"
        for name, spec in DATASETS.items()
        if spec.get("planted_questions")
    ]


def all_targets():
    return [
        "results/tables/alignment.parquet",
        *expand("results/report/{table}.csv", table=REPORT_TABLES),
        "results/figures/alignment.png",
        "results/figures/human_values.png",
        *expand("results/figures/scores_{model}.png", model=MODELS),
        *(SHIFT_TARGETS if RUNS else []),
    ]
