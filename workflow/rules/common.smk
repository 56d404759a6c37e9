import os
import re
import sys
from pathlib import Path

from snakemake.logging import logger

LIBRARY = Path(workflow.basedir) / "workflow"
sys.path.insert(0, str(LIBRARY))
# The rules' scripts import the library from this checkout, in whatever environment runs them
# (this virtual environment, or a rule's conda environment); jobs inherit the variable.
os.environ.update(
    PYTHONPATH=os.pathsep.join(
        filter(None, [str(LIBRARY), os.environ.get("PYTHONPATH")])
    )
)

from valuetrace import settings, sources, survey
from valuetrace.errors import InputError
from valuetrace.grid import BASE, MULTILINGUAL, Run
from valuetrace.plan import Plan
from valuetrace.probes import probe_files
from valuetrace.tables import TABLES

try:
    # Validating fills in the schema's defaults, the one place where they are written down.
    settings.validate_config(config)
    # User-supplied data files may be missing when the workflow is only planned (snakemake -n
    # of the paper grid on a laptop): each is named here and required only by the job reading it.
    for warning in settings.check_config(config, Path.cwd()):
        logger.warning(f"valuetrace: {warning}")
except InputError as error:
    # One message and exit status 1, rather than Snakemake's traceback of the Snakefile.
    logger.error(f"valuetrace: error: {error}")
    sys.exit(1)

PLAN = Plan(config)
DATASETS = PLAN.datasets
SCORING = settings.Scoring.from_config(config).params()

PROBES = config["probes"]
HOFSTEDE = config.get("hofstede")
# Arora et al.'s release, where probes.source is arora: fetched and unpacked by a rule.
ARORA_RELEASE = "results/probes/arora"
RELEASE = [ARORA_RELEASE] if PROBES["source"] == "arora" else []
WVS_PATHS = [f"{ARORA_RELEASE}/wvs" for _ in RELEASE] + settings.probe_paths(PROBES)
HOFSTEDE_PATHS = (
    (
        settings.probe_paths(HOFSTEDE, "probes")
        or [f"{ARORA_RELEASE}/hofstede" for _ in RELEASE]
    )
    if HOFSTEDE
    else []
)
# Files rather than folders are inputs: a folder's time stamp does not change when a file
# in it is edited, and an edited probe or demo text must rerun what was built from it.
PROBE_FILES = [
    str(path)
    for paths, languages in (
        (settings.probe_paths(PROBES), PLAN.languages),
        (
            settings.probe_paths(HOFSTEDE or {}, "probes"),
            list((HOFSTEDE or {}).get("countries", {})),
        ),
    )
    if paths
    for path in probe_files(paths, languages)
]
KEYS = [PROBES["key"], *[PROBES[key] for key in ("exclusions",) if PROBES.get(key)]]
KEYS += [HOFSTEDE["key"]] if HOFSTEDE else []
DEMO_TEXT = (config.get("pretraining_corpus") or {}).get("demo_text")
DEMO_TEXT_FILES = [
    path
    for lang in PLAN.demo_text_languages
    if DEMO_TEXT and Path(path := f"{DEMO_TEXT}/{lang}.yaml").exists()
]


def alternatives(names):
    # A pattern that matches nothing keeps rules of an unused stage from matching any file.
    return "|".join(re.escape(name) for name in names) or "(?!)"


wildcard_constraints:
    model=alternatives(PLAN.models),
    dataset=alternatives(DATASETS),
    lang=alternatives(PLAN.languages),
    ftlang=alternatives([*PLAN.languages, MULTILINGUAL]),
    size=r"\d+",
    seed=r"\d+",
    run=rf"{BASE}|[^/]+/[^/]+/n\d+_s\d+",
    checkpoint=r"\d+",
    target=r"\d+",
    draw=r"\d+",
    first=r"\d+",
    last=r"\d+",


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


def model_build(wildcards):
    return settings.ModelBuild.from_config(config, wildcards.model).params()


def survey_file():
    if "synthetic" in config["survey"]:
        return "results/survey/wvs7_synthetic.csv"
    return config["survey"]["path"]


def survey_columns():
    # The synthetic file is written in the WVS-7 layout; a user's file may name them otherwise.
    if "synthetic" in config["survey"]:
        return {"country": survey.COUNTRY, "weight": survey.WEIGHT}
    return config["survey"]["columns"]


def survey_input():
    # A user's WVS file is an input while it exists: a missing one fails its job, not the plan.
    path = survey_file()
    return [path] if "synthetic" in config["survey"] or Path(path).exists() else []


def hofstede_scores_input(wildcards):
    # The user's scores file is an input while it exists: a missing one fails its job, not the plan.
    if "synthetic" in HOFSTEDE:
        return ["results/survey/hofstede_synthetic.csv"]
    return [HOFSTEDE["scores"]] if Path(HOFSTEDE["scores"]).exists() else []


def paper_subset():
    # Alignment and shifts read the subset only when the config asks for it.
    return ["results/tables/paper_subset.parquet"] if PROBES["paper_subset"] else []


def survey_path(wildcards, input):
    # The input when there is one; else the configured path, so that the job fails naming it.
    return input.survey[0] if input.survey else survey_file()


def run_train(wildcards):
    """The training examples of fine-tuning run ``wildcards.run``."""
    run = Run.parse(wildcards.model, wildcards.run)
    return f"results/data/{run.dataset}/{run.finetune_lang}/n{run.size}.parquet"


def training(wildcards):
    """Fine-tuning settings of a run, shared by the run and its counterfactuals."""
    seed = wildcards.get("seed") or Run.parse(wildcards.model, wildcards.run).seed
    return settings.Training.from_config(config, seed).params()


# The attribution settings are read only when a job of the stage is planned, so they exist.


def trak(wildcards):
    return settings.Trak.from_config(config).params()


def features_output(path):
    """A checkpoint's TRAK features. The exact kernel's are the gradients themselves (gigabytes
    for the tiny Llama, and made again in seconds), so they are deleted once scored; projected
    ones are small and may have cost GPU hours, so they are kept."""
    exact = config.get("attribution", {}).get("projection") == "none"
    return temp(directory(path)) if exact else directory(path)


def attribution_setting(key):
    return lambda wildcards: config["attribution"][key]


def counterfactual(wildcards):
    return settings.Counterfactual.from_config(config).params()


def lds_subsets(wildcards):
    return settings.LdsSubsets.from_config(config).params()


def lds_subset_scores(wildcards):
    return PLAN.lds_subsets(wildcards.model, wildcards.run)


def lds_summary(wildcards):
    return settings.LdsSummary.from_config(config).params()


def lds_setting(key):
    return lambda wildcards: config["attribution"]["lds"][key]


def attribution_checkpoints(wildcards):
    return [
        f"results/attribution/{wildcards.model}/{wildcards.run}/scores/c{checkpoint}"
        for checkpoint in settings.Trak.from_config(config).checkpoint_ids()
    ]


def start_source(wildcards):
    """The model a run's fine-tuning started from: what its retrainings start from too, and its
    checkpoint 0 for attribution (valuetrace.attribution)."""
    return base_source(wildcards.model)


def start_input(wildcards):
    return base_input(wildcards.model)


def checkpoint_start_input(wildcards):
    """The starting model is an input of a run's checkpoint 0 only."""
    return start_input(wildcards) if int(wildcards.checkpoint) == 0 else []


def dataset_languages(wildcards):
    return PLAN.run_languages(wildcards.dataset, wildcards.ftlang)


def generate_setting(key):
    return lambda wildcards: DATASETS[wildcards.dataset]["generate"][key]


def source_origin(wildcards):
    return sources.origin(
        wildcards.dataset, DATASETS[wildcards.dataset], wildcards.lang
    )


def source_inputs(wildcards):
    return sources.inputs(
        wildcards.dataset, DATASETS[wildcards.dataset], wildcards.lang
    )


def source_sentences(wildcards):
    sentences = settings.Sentences.from_config(config, wildcards.dataset)
    return sentences.params() if sentences else None


def subsample_input(wildcards):
    """A run's examples come from each language's table, or from a parallel source's aligned one."""
    if DATASETS[wildcards.dataset]["parallel"]:
        return f"results/data/{wildcards.dataset}/parallel.parquet"
    return expand(
        "results/data/{dataset}/{lang}.parquet",
        dataset=wildcards.dataset,
        lang=dataset_languages(wildcards),
    )
