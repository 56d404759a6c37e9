"""The workflow config: validated against its schema, checked across keys, read into typed settings.

One home per default: ``workflow/schemas/config.schema.yaml``. :func:`validate_config` validates
a config with Snakemake's ``validate``, which also fills in every default the schema declares;
the settings classes below are read from a validated config and declare no defaults of their
own. The command line asks :func:`schema_default` for the defaults of its options.

Rules hand each job its settings through ``params:`` as plain dicts (:meth:`Settings.params`),
because Snakemake compares only built-in values between runs to decide what to rerun; the job
turns them back into the settings class (:meth:`Settings.from_params`).

:func:`check_config` checks what a JSON schema cannot express: keys that refer to each other or
to the disk. Data files that the user supplies (the WVS file, local corpora) need not exist when
the workflow is planned: a paper-scale grid can be planned (``snakemake -n``) on a machine
without the data. Each missing one is reported as a warning, and the job that reads it fails
with a message naming it if it is still missing when the job runs. Files that ship with the
workflow (probes, question metadata, demo text) must exist.
"""

from __future__ import annotations

import dataclasses
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import yaml

from valuetrace.errors import InputError

SCHEMA = Path(__file__).resolve().parent.parent / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def schema() -> dict:
    return yaml.safe_load(SCHEMA.read_text())


def _schema_node(*keys: str) -> dict:
    node = schema()
    for key in keys:
        node = node["properties"][key]
    return node


def schema_default(*keys: str) -> Any:
    """The default the config schema declares for ``keys`` (e.g. ``"scoring", "batch_size"``)."""
    return _schema_node(*keys)["default"]


def schema_choices(*keys: str) -> tuple:
    """The values the config schema allows for the enum at ``keys``, in its order."""
    return tuple(_schema_node(*keys)["enum"])


def read_config(path: Path) -> dict:
    """A config file as a dict; a YAML syntax error names the file, line and column."""
    if not path.exists():
        raise InputError(f"{path}: no such config file")
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(error, "problem", None) or str(error)
        raise InputError(f"{where}: not valid YAML ({problem}); check the indentation (spaces, not tabs) and quotes") from None
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error})") from None
    if not isinstance(config, dict):
        raise InputError(f"{path}: a config is a mapping of keys (languages:, models:, ...), found {type(config).__name__}")
    return config


def validate_config(config: dict) -> dict:
    """Validate ``config`` against the schema and fill in its defaults (in place); returns it.

    A config that breaks the schema is an InputError naming the key and what is wrong, instead of
    Snakemake's message, which prints the whole schema section after it.
    """
    import jsonschema
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(SCHEMA))
    except WorkflowError as error:
        # Snakemake raises its error while handling jsonschema's, which says what is wrong.
        if not isinstance(error.__context__, jsonschema.ValidationError):
            raise
        raise InputError(schema_error(error.__context__)) from None
    return config


def schema_error(error) -> str:
    """One line for a jsonschema ValidationError: the config key and what is wrong with it."""
    error = _deepest(error)
    key = ".".join(str(part) for part in error.absolute_path)
    where = f"config key {key!r}" if key else "the config"
    if error.validator == "additionalProperties":
        allowed = ", ".join(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        keys = f"key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
        return f"{where}: unknown {keys} (allowed: {allowed}; see config/README.md)"
    if error.validator == "oneOf" and all("required" in option for option in error.validator_value):
        choices = ", ".join(option["required"][0] for option in error.validator_value)
        return f"{where}: set exactly one of {choices}"
    if error.validator == "required":
        return f"{where}: {error.message} (see config/README.md)"
    if error.validator in {"oneOf", "anyOf"}:
        return f"{where}: {error.instance!r} is not what it takes ({error.schema['description']})"
    return f"{where}: {error.message}"


def _deepest(error):
    """The most specific of the errors behind a oneOf/anyOf failure, when one branch nearly fits
    (the error is inside the value); else the failure itself, which the description explains."""
    from jsonschema.exceptions import best_match

    if error.context and error.validator in {"oneOf", "anyOf"} and not all(
        "required" in option for option in error.validator_value
    ):
        best = best_match(error.context)
        if len(best.absolute_path) > len(error.absolute_path) or "description" not in error.schema:
            return _deepest(best)
    return error


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base of the settings classes: a frozen record of the config keys one step depends on.

    A class read from one section of the config names it in ``SECTION`` (its keys from the top).
    """

    SECTION: ClassVar[tuple[str, ...]] = ()

    def params(self) -> dict:
        """The settings as built-in values, for a rule's ``params:``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_params(cls, values: dict):
        return cls(**values)

    @classmethod
    def from_config(cls, config: dict):
        section = config
        for key in cls.SECTION:
            section = section[key]
        return cls._pick(section)

    @classmethod
    def _pick(cls, section: dict, **derived):
        """The fields of ``cls`` read from a validated config ``section``, plus ``derived`` ones."""
        names = [field.name for field in dataclasses.fields(cls)]
        values = {name: section[name] for name in names if name not in derived}
        values = {name: tuple(value) if isinstance(value, list) else value for name, value in values.items()}
        return cls(**values, **derived)


@dataclasses.dataclass(frozen=True)
class ModelBuild(Settings):
    """A tiny masked or causal LM built and pretrained here (``models.<name>.build``)."""

    architecture: str
    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    intermediate_size: int
    max_length: int
    steps: int
    batch_size: int
    learning_rate: float
    mask_options: bool
    output_layer: str
    seed: int

    @classmethod
    def from_config(cls, config: dict, model: str) -> "ModelBuild":
        return cls._pick(config["models"][model]["build"])


@dataclasses.dataclass(frozen=True)
class PretrainingCorpus(Settings):
    """The demo's generated pretraining text (``pretraining_corpus``)."""

    SECTION = ("pretraining_corpus",)

    sentences_per_option: int
    demo_text_per_language: int
    value_spread: float
    seed: int


def precision(config: dict) -> str:
    """``finetuning.precision``: the numeric precision of training and of scoring every model
    (its schema default where the config fine-tunes nothing)."""
    finetuning = config.get("finetuning")
    return finetuning["precision"] if finetuning else schema_default("finetuning", "precision")


@dataclasses.dataclass(frozen=True)
class Scoring(Settings):
    """How probes are scored (``scoring``), in the precision of ``finetuning.precision``."""

    method: str
    normalisation: str
    batch_size: int
    max_length: int
    calibration: str
    precision: str

    @classmethod
    def from_config(cls, config: dict) -> "Scoring":
        return cls._pick(config["scoring"], precision=precision(config))


@dataclasses.dataclass(frozen=True)
class SyntheticSurvey(Settings):
    """The synthetic stand-in for the WVS-7 file (``survey.synthetic``)."""

    SECTION = ("survey", "synthetic")

    respondents_per_country: int
    seed: int


@dataclasses.dataclass(frozen=True)
class Alignment(Settings):
    """Bootstrap intervals of agreement and correlation (``alignment``)."""

    SECTION = ("alignment",)

    bootstrap_resamples: int
    confidence_level: float
    seed: int


@dataclasses.dataclass(frozen=True)
class Significance(Settings):
    """Tests of the shifts against seed noise and the control source (``significance``)."""

    SECTION = ("significance",)

    resamples: int
    fdr: float
    confidence_level: float
    seed: int


@dataclasses.dataclass(frozen=True)
class Training(Settings):
    """Continued training of one run (``finetuning``), with the run's seed."""

    epochs: int
    batch_size: int
    learning_rate: float
    max_length: int
    mlm_probability: float
    checkpoints: int
    precision: str
    seed: int

    @classmethod
    def from_config(cls, config: dict, seed: int) -> "Training":
        return cls._pick(config["finetuning"], seed=int(seed))


def default_mask_copies(mlm_probability: float) -> int:
    """Masked copies of a training example when ``attribution.mask_copies`` is not set:
    as many as it takes to mask every token once at fine-tuning's masking rate."""
    return math.ceil(1 / mlm_probability)


@dataclasses.dataclass(frozen=True)
class Trak(Settings):
    """What fixes a run's TRAK features (``attribution``, with fine-tuning's sequence length)."""

    base_model: bool
    checkpoints: int
    projection: str
    proj_dim: int
    lambda_reg: float
    include_parameters: tuple[str, ...]
    exclude_parameters: tuple[str, ...]
    gradient_scaling: str
    mask_copies: int
    batch_size: int
    max_length: int
    projector_seed: int

    @classmethod
    def from_config(cls, config: dict) -> "Trak":
        attribution, finetuning = config["attribution"], config["finetuning"]
        return cls._pick(
            attribution,
            mask_copies=attribution.get("mask_copies") or default_mask_copies(finetuning["mlm_probability"]),
            max_length=finetuning["max_length"],
        )

    def checkpoint_ids(self) -> list[int]:
        """The checkpoints a run is attributed at: 0 (the model fine-tuning started from) if
        ``base_model``, then 1 to ``checkpoints``, the last saved ones (valuetrace.attribution)."""
        return ([0] if self.base_model else []) + list(range(1, self.checkpoints + 1))


@dataclasses.dataclass(frozen=True)
class Sentences(Settings):
    """Which sentences of a ``unit: sentence`` source are kept (``datasets.<name>.sentences``)."""

    min_chars: int
    max_chars: int

    @classmethod
    def from_config(cls, config: dict, dataset: str) -> "Sentences | None":
        """The settings of a source split into sentences; None for one whose unit is the document."""
        spec = config["datasets"][dataset]
        return cls._pick(spec["sentences"]) if spec["unit"] == "sentence" else None


@dataclasses.dataclass(frozen=True)
class Counterfactual(Settings):
    """Retraining without attributed examples (``attribution.counterfactual``)."""

    SECTION = ("attribution", "counterfactual")

    k: int
    random_draws: int
    seed: int
    planted_removals: bool
    targets: str

    def removals(self, planted: tuple[str, ...] = ()) -> list[tuple[str, int]]:
        """(removal, draw) of each retraining of a target: its top-k once, k random examples
        ``random_draws`` times (one draw may happen to remove some of its causes), then once each the
        ``planted`` removals that apply to it (``valuetrace.counterfactual.planted_removals``)."""
        drawn = [("top", 0), *(("random", draw) for draw in range(self.random_draws))]
        return drawn + [(removal, 0) for removal in planted] if self.planted_removals else drawn


@dataclasses.dataclass(frozen=True)
class LdsSubsets(Settings):
    """The random subsets of a run that the linear datamodeling score retrains on (``attribution.lds``)."""

    SECTION = ("attribution", "lds")

    alpha: float
    seed: int

    def size(self, n_examples: int) -> int:
        """Examples in each subset of a run of ``n_examples``."""
        return round(self.alpha * n_examples)


@dataclasses.dataclass(frozen=True)
class LdsSummary(Settings):
    """Bootstrap intervals of the mean LDS over targets (``attribution.lds``)."""

    SECTION = ("attribution", "lds")

    bootstrap_resamples: int
    confidence_level: float
    seed: int


def probe_paths(section: dict, key: str = "path") -> list[str]:
    """The probe files and folders a config section names (one path or a list)."""
    paths = section.get(key) or []
    return [paths] if isinstance(paths, str) else list(paths)


def check_config(config: dict, base: Path) -> list[str]:
    """Raise InputError naming the first key of a validated config that contradicts another or the disk.

    Returns a warning for each user-supplied data file that does not exist (yet).
    """
    languages = config["languages"]
    without_country = [lang for lang in languages if lang not in config["countries"]]
    if without_country:
        raise InputError(f"config key 'countries' has no WVS country for languages {without_country}")
    built = [name for name, spec in config["models"].items() if "build" in spec]
    if built and "pretraining_corpus" not in config:
        raise InputError(f"models {built} are built here, which needs the config key 'pretraining_corpus'")
    unknown = [lang for lang in (config.get("pretraining_corpus") or {}).get("demo_text_languages", []) if lang not in languages]
    if unknown:
        raise InputError(f"config key 'pretraining_corpus.demo_text_languages': {unknown} are not probe languages (config key 'languages')")
    probes = config["probes"]
    if probes["source"] == "files" and not probe_paths(probes):
        raise InputError("config key 'probes.path' is needed unless probes.source is arora")
    shipped = [("probes.path", path) for path in probe_paths(probes)] + [("probes.key", probes["key"])]
    if probes.get("exclusions"):
        shipped.append(("probes.exclusions", probes["exclusions"]))
    hofstede = config.get("hofstede")
    if hofstede is not None:
        if not probe_paths(hofstede, "probes") and probes["source"] != "arora":
            raise InputError("config key 'hofstede.probes' is needed unless probes.source is arora (its hofstede folder)")
        shipped += [("hofstede.probes", path) for path in probe_paths(hofstede, "probes")] + [("hofstede.key", hofstede["key"])]
        unknown = [lang for lang in hofstede["countries"] if lang not in languages]
        if unknown:
            raise InputError(f"config key 'hofstede.countries': {unknown} are not probe languages (config key 'languages')")
    for key, path in shipped:
        if not (base / path).exists():
            raise InputError(f"config key {key!r}: {path} does not exist")
    warnings = [
        f"config key 'models.{name}.source': {spec['source']} is no local directory (yet) and, with "
        f"{spec['source'].count('/')} slashes or a leading / . ~, no hub name (organisation/name) either; "
        "the jobs loading it fail until it exists"
        for name, spec in config["models"].items()
        if "source" in spec and looks_like_a_path(spec["source"]) and not (base / spec["source"]).exists()
    ]
    for key, path in (("survey.path", config["survey"].get("path")), ("hofstede.scores", (hofstede or {}).get("scores"))):
        if path is not None and not (base / path).exists():
            warnings.append(missing_data_files(key, [path]))
    from valuetrace.key import read_key

    question_ids = set(read_key(base / probes["key"])["question_id"])
    warnings += check_datasets(config, base, question_ids)
    check_attribution(config)
    check_model_kinds(config, base)
    check_option_masking(config)
    return warnings + check_precision(config)


def check_option_masking(config: dict) -> None:
    """``mask_options`` only where a model predicts masked tokens."""
    from valuetrace.kinds import kind_of

    for name, spec in config["models"].items():
        build = spec.get("build") or {}
        if build.get("mask_options") and kind_of(build["architecture"]).name != "masked":
            raise InputError(
                f"config key 'models.{name}.build.mask_options': a {build['architecture']} model is a causal LM, "
                "which predicts every next token rather than masked ones; set it to false"
            )


def check_precision(config: dict) -> list[str]:
    """fp16 needs a CUDA GPU. The machine that plans the workflow need not have one (on a cluster
    the jobs run on GPU nodes), so a planning machine without one gets a warning; a job that runs
    without one stops naming the key (``valuetrace.precision.check``)."""
    if precision(config) != "fp16":
        return []
    import torch

    if torch.cuda.is_available():
        return []
    return [
        "config key 'finetuning.precision': fp16 needs a CUDA GPU and torch sees none on this machine; "
        "every fine-tuning and scoring job that runs here stops naming this key (bf16 runs on CPUs as well)"
    ]


def check_model_kinds(config: dict, base: Path) -> None:
    """The scoring method is defined for the kind (masked, causal) of every model whose kind is
    known before any job runs: a model built here, a local directory. A hub name is checked by
    the job that loads it."""
    from valuetrace import kinds, methods

    readouts = methods.METHODS[config["scoring"]["method"]].readouts
    # Looking a model's kind up imports transformers: only when a method leaves a kind out.
    if set(kinds.KINDS) <= set(readouts):
        return
    for name, spec in config["models"].items():
        kind, evidence = kinds.planned_kind(spec, base)
        if kind is not None:
            methods.method_for(config["scoring"]["method"], kind.name, f"{name} ({evidence})")


def looks_like_a_path(source: str) -> bool:
    """Whether a model source can only be a local directory: hub names are ``name`` or
    ``organisation/name``, never absolute, relative to . or ~, nor deeper."""
    return source.startswith(("/", ".", "~")) or source.count("/") > 1


def missing_data_files(key: str, paths: list[str]) -> str:
    if len(paths) == 1:
        return f"config key {key!r}: {paths[0]} does not exist (yet); the jobs reading it fail until it does"
    return f"config key {key!r}: {len(paths)} files ({paths[0]}, ...) do not exist (yet); the jobs reading them fail until they do"


def check_datasets(config: dict, base: Path, question_ids: set[str]) -> list[str]:
    """Fine-tuning sources: known languages and questions; sizes that fit where they are known.

    Returns a warning for each data file that does not exist (yet).
    """
    from valuetrace.grid import multilingual_sizes
    from valuetrace.sources import source_type

    datasets = config.get("datasets") or {}
    finetuning = config.get("finetuning")
    if datasets and not finetuning:
        raise InputError("config key 'datasets' is set but 'finetuning' (sizes, seeds, hyperparameters) is missing")
    if not datasets:
        return []
    unknown_models = [m for m in finetuning.get("models") or [] if m not in config["models"]]
    if unknown_models:
        raise InputError(f"config key 'finetuning.models': {unknown_models} are not under 'models'")
    multilingual = finetuning["multilingual"]
    if isinstance(multilingual, dict) and not any(
        spec["parallel"] and len(spec["languages"]) > 1 for spec in datasets.values()
    ):
        raise InputError(
            "config key 'finetuning.multilingual.parallel': multi-parallel runs need a dataset declared "
            "parallel (datasets.<name>.parallel: true) with two or more languages; none is"
        )
    warnings = []
    for name, spec in datasets.items():
        if spec["sentences"]["min_chars"] > spec["sentences"]["max_chars"]:
            raise InputError(
                f"config key 'datasets.{name}.sentences': min_chars ({spec['sentences']['min_chars']}) exceeds "
                f"max_chars ({spec['sentences']['max_chars']})"
            )
        unknown = [lang for lang in spec["languages"] if lang not in config["languages"]]
        if unknown:
            raise InputError(
                f"config key 'datasets.{name}.languages': {unknown} are not probe languages (config key 'languages')"
            )
        planted = [q for q in spec.get("planted_questions", []) if q not in question_ids]
        if planted:
            raise InputError(f"config key 'datasets.{name}.planted_questions': {planted} are not keyed in probes.key")
        sizes, absent = source_type(spec).planned_sizes(name, spec, base)
        if absent:
            warnings.append(missing_data_files(f"datasets.{name}.{source_type(spec).key}", absent))
        if spec["unit"] == "sentence":
            sizes = {}  # the documents are counted, not their sentences
        # A multilingual run takes its size from each language.
        largest = max([*finetuning["sizes"], *multilingual_sizes(finetuning, spec)])
        key = "finetuning.sizes" if largest in finetuning["sizes"] else "finetuning.multilingual.parallel"
        for lang, size in sizes.items():
            if size == 0:
                raise InputError(f"config key 'datasets.{name}': the {lang} corpus is empty")
            if size < largest:
                raise InputError(
                    f"config key {key!r}: size {largest} is larger than the {size} examples "
                    f"of datasets.{name} in {lang}"
                )
    return warnings + check_control(datasets, finetuning["multilingual"])


def control_source(datasets: dict) -> str | None:
    """The dataset marked ``control: true``, if any (a validated config has at most one)."""
    return next((name for name, spec in datasets.items() if spec.get("control")), None)


def check_control(datasets: dict, multilingual: bool) -> list[str]:
    """At most one control source, with a run to match every monolingual run of the others.

    Returns a warning for each multilingual run that is matched with a control run mixing other languages.
    """
    controls = [name for name, spec in datasets.items() if spec.get("control")]
    if len(controls) > 1:
        raise InputError(f"config keys 'datasets.<name>.control': only one source can be the control, not {controls}")
    if not controls:
        return []
    control = controls[0]
    languages = datasets[control]["languages"]
    warnings = []
    for name, spec in datasets.items():
        missing = [lang for lang in spec["languages"] if lang not in languages]
        if missing:
            raise InputError(
                f"config key 'datasets.{control}.control': the control has no runs in {missing}, "
                f"languages of datasets.{name}"
            )
        if multilingual and len(spec["languages"]) > 1 and sorted(spec["languages"]) != sorted(languages):
            warnings.append(
                f"config key 'datasets.{control}.control': the multilingual runs of datasets.{name} mix "
                f"{spec['languages']} and are compared with the control's, which mix {languages}"
            )
    return warnings


def check_attribution(config: dict) -> None:
    """Attribution selects runs that exist and keeps what its counterfactual removes."""
    attribution = config.get("attribution")
    if attribution is None:
        return
    if not config.get("datasets") or not config.get("finetuning"):
        raise InputError("config key 'attribution' needs fine-tuning runs ('datasets' and 'finetuning')")
    from valuetrace.grid import multilingual_sizes

    finetuning = config["finetuning"]
    known = {
        "models": set(finetuning["models"]),
        "datasets": set(config["datasets"]),
        "finetune_languages": {lang for spec in config["datasets"].values() for lang in spec["languages"]} | {"multi"},
        "sizes": set(finetuning["sizes"]) | {size for spec in config["datasets"].values() for size in multilingual_sizes(finetuning, spec)},
        "seeds": set(finetuning["seeds"]),
    }
    counterfactual = attribution.get("counterfactual") or {}
    lds = attribution.get("lds") or {}
    selections = (("attribution", attribution), ("attribution.counterfactual", counterfactual), ("attribution.lds", lds))
    for where, spec in selections:
        for key, values in known.items():
            unknown = [value for value in spec.get(key, []) if value not in values]
            if unknown:
                raise InputError(f"config key '{where}.{key}': {unknown} are not in the fine-tuning grid")
    if not attribution["base_model"] and attribution["checkpoints"] == 0:
        raise InputError(
            "config keys 'attribution.base_model' (false) and 'attribution.checkpoints' (0) leave no "
            "checkpoint to attribute at: set base_model: true or checkpoints to 1 or more"
        )
    if attribution["checkpoints"] > finetuning["checkpoints"]:
        raise InputError(
            f"config key 'attribution.checkpoints' ({attribution['checkpoints']}) exceeds the "
            f"{finetuning['checkpoints']} checkpoints fine-tuning keeps ('finetuning.checkpoints')"
        )
    for key in ("include_parameters", "exclude_parameters"):
        for pattern in attribution[key]:
            try:
                re.compile(pattern)
            except re.error as error:
                raise InputError(f"config key 'attribution.{key}': {pattern!r} is not a regular expression ({error})") from None
    if counterfactual and counterfactual["k"] > attribution["top_k"]:
        raise InputError(
            f"config key 'attribution.counterfactual.k' ({counterfactual['k']}) exceeds "
            f"'attribution.top_k' ({attribution['top_k']}), the examples kept per probe"
        )
    if counterfactual:
        from valuetrace.grid import runs, select

        retrained = select(select(runs(config), attribution), counterfactual)
        unplanted = sorted({run.dataset for run in retrained if not records_plantings(config["datasets"][run.dataset])})
        if counterfactual["targets"] == "planted" and unplanted:
            raise InputError(
                f"config key 'attribution.counterfactual.targets' is 'planted', but sources {unplanted} plant no "
                "question in their examples (only a generated source with planted_questions and a planted_fraction "
                "above 0 records what it plants): use 'shifted', or restrict attribution.counterfactual.datasets "
                "to planted sources"
            )
        if retrained:
            smallest = min(retrained, key=lambda run: run.size)
            if counterfactual["k"] >= smallest.size:
                raise InputError(
                    f"config key 'attribution.counterfactual.k' ({counterfactual['k']}): the counterfactual of run "
                    f"{smallest.name} would remove all of its {smallest.size} examples per language; choose k below "
                    "the smallest size it retrains (or restrict attribution.counterfactual.sizes)"
                )
    if lds:
        check_lds(config)


def records_plantings(source: dict) -> bool:
    """Whether a validated ``datasets.<name>`` entry's examples record the question each plants
    (``planted_question``): a generated source that plants some."""
    return bool(source.get("planted_questions")) and source.get("generate", {}).get("planted_fraction", 0) > 0


def check_lds(config: dict) -> None:
    """Every LDS subset of every selected run holds some but not all of the run's examples."""
    from valuetrace.grid import MULTILINGUAL, runs, select

    attribution = config["attribution"]
    subsets = LdsSubsets.from_config(config)
    for run in select(select(runs(config), attribution), attribution["lds"]):
        languages = config["datasets"][run.dataset]["languages"] if run.finetune_lang == MULTILINGUAL else [run.finetune_lang]
        n_examples = run.size * len(languages)
        if not 0 < subsets.size(n_examples) < n_examples:
            raise InputError(
                f"config key 'attribution.lds.alpha' ({subsets.alpha}): a subset of run {run.name} would hold "
                f"{subsets.size(n_examples)} of its {n_examples} examples; choose alpha so that it holds some but not all"
            )
