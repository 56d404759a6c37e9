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

from valuetrace.grid import BASE, MULTILINGUAL, Run, runs, select
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
ATTRIBUTION = config.get("attribution")
ATTRIBUTED_RUNS = select(RUNS, ATTRIBUTION) if ATTRIBUTION is not None else []
COUNTERFACTUAL = (ATTRIBUTION or {}).get("counterfactual")
COUNTERFACTUAL_RUNS = (
    select(ATTRIBUTED_RUNS, COUNTERFACTUAL) if COUNTERFACTUAL is not None else []
)

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
ATTRIBUTION_FIGURES = [
    "attribution_languages",
    "attribution_sources",
    "attribution_planted",
]
if COUNTERFACTUAL_RUNS:
    ATTRIBUTION_FIGURES.append("counterfactual")
ATTRIBUTION_TARGETS = [f"results/figures/{name}.png" for name in ATTRIBUTION_FIGURES]
if ATTRIBUTED_RUNS:
    # The full top table is large; the report carries the top examples of flipped probes.
    REPORT_TABLES.update(
        {
            "attribution_planted": "results/tables/attribution_planted.parquet",
            "attribution_checks": "results/tables/attribution_checks.parquet",
            "attribution_flipped": "results/tables/attribution_flipped.parquet",
        }
    )
if COUNTERFACTUAL_RUNS:
    REPORT_TABLES["counterfactual"] = "results/tables/counterfactual.parquet"


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
    checkpoint=r"\d+",
    target=r"\d+",
    removal="top|random",
    draw=r"\d+",


def built_model(name):
    return "build" in config["models"][name]


def base_source(model):
    """Where a base model is loaded from: our build, a local directory or a hub name."""
    if built_model(model):
        return f"results/models/{model}"
    return config["models"][model]["source"]


def base_input(model):
    # A local directory is an input (edits to it rerun scoring); a hub name is not a file.
    source = base_source(model)
    return [source] if built_model(model) or Path(source).is_dir() else []


def model_source(wildcards):
    """The model of a scoring job: a fine-tuned run, or the base model."""
    if wildcards.get("run", BASE) != BASE:
        return f"results/finetuned/{wildcards.model}/{wildcards.run}/model"
    return base_source(wildcards.model)


def model_input(wildcards):
    if wildcards.get("run", BASE) != BASE:
        return [f"results/finetuned/{wildcards.model}/{wildcards.run}"]
    return base_input(wildcards.model)


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


def run_train(wildcards):
    """The training examples of fine-tuning run ``wildcards.run``."""
    run = Run.parse(wildcards.model, wildcards.run)
    return f"results/data/{run.dataset}/{run.finetune_lang}/n{run.size}.parquet"


def finetune_options(seed):
    """Command-line options of a fine-tuning run, shared by the run and its counterfactuals."""
    return (
        f"--epochs {FINETUNING['epochs']} --batch-size {FINETUNING['batch_size']}"
        f" --learning-rate {FINETUNING['learning_rate']} --max-length {FINETUNING['max_length']}"
        f" --mlm-probability {FINETUNING['mlm_probability']}"
        f" --checkpoints {FINETUNING['checkpoints']} --seed {seed}"
    )


# The attribution settings below are read when a job of the stage is planned, so they exist;
# the schema (validated above) fills in the defaults of the keys a config leaves out.


def trak_options(wildcards):
    """Command-line options that fix the TRAK features and scores."""
    options = [
        f"--checkpoints {ATTRIBUTION['checkpoints']}",
        f"--proj-dim {ATTRIBUTION['proj_dim']}",
        f"--lambda-reg {ATTRIBUTION['lambda_reg']}",
        # Without mask_copies the library derives them from the masking rate of fine-tuning.
        f"--mlm-probability {FINETUNING['mlm_probability']}",
        f"--batch-size {ATTRIBUTION['batch_size']}",
        f"--max-length {FINETUNING['max_length']}",
        f"--probe-max-length {config['scoring']['max_length']}",
        f"--projector-seed {ATTRIBUTION['projector_seed']}",
    ]
    if "mask_copies" in ATTRIBUTION:
        options.append(f"--mask-copies {ATTRIBUTION['mask_copies']}")
    for key in ("include_parameters", "exclude_parameters"):
        if ATTRIBUTION[key]:
            patterns = " ".join(shlex.quote(p) for p in ATTRIBUTION[key])
            options.append(f"--{key.replace('_', '-')} {patterns}")
    return " ".join(options)


def attribution_setting(key):
    return lambda wildcards: ATTRIBUTION[key]


def counterfactual_setting(key):
    return lambda wildcards: COUNTERFACTUAL[key]


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
        *(ATTRIBUTION_TARGETS if ATTRIBUTED_RUNS else []),
    ]


def attribution_checkpoints(wildcards):
    used = ATTRIBUTION["checkpoints"]
    return [
        f"results/attribution/{wildcards.model}/{wildcards.run}/scores/c{checkpoint}"
        for checkpoint in range(1, used + 1)
    ]


def attributed(pattern):
    return [pattern.format(model=run.model, run=run.name) for run in ATTRIBUTED_RUNS]


def counterfactual_rows():
    # The top-k removal is one retraining; random removals are drawn several times because
    # retraining itself moves a score a little.
    if not COUNTERFACTUAL_RUNS:
        return []
    draws = {"top": 1, "random": COUNTERFACTUAL["random_draws"]}
    return [
        f"results/counterfactual/{run.model}/{run.name}/t{target}_{removal}{draw}.parquet"
        for run in COUNTERFACTUAL_RUNS
        for target in range(1, COUNTERFACTUAL["targets_per_run"] + 1)
        for removal, count in draws.items()
        for draw in range(count)
    ]
