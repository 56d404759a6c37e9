"""Checks of the workflow config that a JSON schema cannot express (keys that refer to each other).

The schema (workflow/schemas/config.schema.yaml) checks each key on its own; this module
checks that they fit together, so a run stops before any job with a message naming the key.

Data files that the user supplies (the WVS file, local corpora) are not required to exist
when the workflow is planned: a paper-scale grid can be planned (``snakemake -n``) on a
machine without the data. Each missing one is reported as a warning, and the job that reads
it fails with a message naming it if it is still missing when the job runs. Files that ship
with the workflow (probes, question metadata, demo text) must exist.
"""

from __future__ import annotations

from pathlib import Path

from valuetrace.errors import InputError


def corpus_file(spec: dict, lang: str) -> str:
    """The local corpus file of one language of a dataset: a mapping or a ``{lang}`` template."""
    files = spec["files"]
    return files.replace("{lang}", lang) if isinstance(files, str) else files[lang]


def missing_data_files(key: str, paths: list[str]) -> str:
    if len(paths) == 1:
        return f"config key {key!r}: {paths[0]} does not exist (yet); the jobs reading it fail until it does"
    return f"config key {key!r}: {len(paths)} files ({paths[0]}, ...) do not exist (yet); the jobs reading them fail until they do"


def check_config(config: dict, base: Path) -> list[str]:
    """Raise InputError naming the first config key that contradicts another or the disk.

    Returns a warning for each user-supplied data file that does not exist (yet).
    """
    languages = config["languages"]
    without_country = [lang for lang in languages if lang not in config["countries"]]
    if without_country:
        raise InputError(f"config key 'countries' has no WVS country for languages {without_country}")
    built = [name for name, spec in config["models"].items() if "build" in spec]
    if built and "pretraining_corpus" not in config:
        raise InputError(f"models {built} are built here, which needs the config key 'pretraining_corpus'")
    for key, path in (("probes.path", config["probes"]["path"]), ("probes.questions", config["probes"]["questions"])):
        if not (base / path).exists():
            raise InputError(f"config key {key!r}: {path} does not exist")
    warnings = []
    survey_path = config["survey"].get("path")
    if survey_path is not None and not (base / survey_path).exists():
        warnings.append(missing_data_files("survey.path", [survey_path]))
    from valuetrace.probes import read_questions

    questions = read_questions(base / config["probes"]["questions"])
    warnings += check_datasets(config, base, set(questions["question_id"]))
    check_attribution(config)
    return warnings


def corpus_size(path: Path, where: str) -> int:
    """Number of examples in a local corpus file, counted without loading it whole."""
    import polars as pl

    if path.suffix == ".txt":
        with path.open(encoding="utf-8", errors="replace") as handle:
            return sum(1 for line in handle if line.strip())
    if path.suffix == ".parquet":
        return pl.scan_parquet(path).select(pl.len()).collect().item()
    if path.suffix in {".tsv", ".csv"}:
        separator = "\t" if path.suffix == ".tsv" else ","
        return pl.scan_csv(path, separator=separator, infer_schema=False).select(pl.len()).collect().item()
    raise InputError(f"config key {where!r}: {path} is not a .txt, .tsv, .csv or .parquet file")


def check_datasets(config: dict, base: Path, question_ids: set[str]) -> list[str]:
    """Fine-tuning sources: known languages; files non-empty with sizes that fit, where present.

    Returns a warning for each corpus file that does not exist (yet).
    """
    datasets = config.get("datasets") or {}
    finetuning = config.get("finetuning")
    if datasets and not finetuning:
        raise InputError("config key 'datasets' is set but 'finetuning' (sizes, seeds, hyperparameters) is missing")
    if not datasets:
        return []
    unknown_models = [m for m in finetuning.get("models") or [] if m not in config["models"]]
    if unknown_models:
        raise InputError(f"config key 'finetuning.models': {unknown_models} are not under 'models'")
    largest = max(finetuning["sizes"])
    warnings = []
    for name, spec in datasets.items():
        unknown = [lang for lang in spec["languages"] if lang not in config["languages"]]
        if unknown:
            raise InputError(
                f"config key 'datasets.{name}.languages': {unknown} are not probe languages (config key 'languages')"
            )
        planted = [q for q in spec.get("planted_questions", []) if q not in question_ids]
        if planted:
            raise InputError(f"config key 'datasets.{name}.planted_questions': {planted} are not in the question metadata")
        if "files" in spec:
            if isinstance(spec["files"], dict):
                missing = [lang for lang in spec["languages"] if lang not in spec["files"]]
                if missing:
                    raise InputError(f"config key 'datasets.{name}.files' has no file for languages {missing}")
            paths = {lang: corpus_file(spec, lang) for lang in spec["languages"]}
            absent = [path for path in paths.values() if not (base / path).exists()]
            if absent:
                warnings.append(missing_data_files(f"datasets.{name}.files", absent))
            sizes = {
                lang: corpus_size(base / path, f"datasets.{name}.files.{lang}")
                for lang, path in paths.items()
                if path not in absent
            }
        elif "generate" in spec:
            sizes = {lang: spec["generate"]["sentences"] for lang in spec["languages"]}
            for lang in spec["languages"]:
                text = base / spec["generate"]["text"] / f"{lang}.yaml"
                if not text.exists():
                    raise InputError(f"config key 'datasets.{name}.generate.text': no {text} for language {lang}")
        else:
            continue  # a hub dataset is counted when it is prepared
        for lang, size in sizes.items():
            if size == 0:
                raise InputError(f"config key 'datasets.{name}': the {lang} corpus is empty")
            if size < largest:
                raise InputError(
                    f"config key 'finetuning.sizes': size {largest} is larger than the {size} examples "
                    f"of datasets.{name} in {lang}"
                )
    return warnings


def check_attribution(config: dict) -> None:
    """Attribution selects runs that exist and keeps what its counterfactual removes."""
    attribution = config.get("attribution")
    if attribution is None:
        return
    if not config.get("datasets") or not config.get("finetuning"):
        raise InputError("config key 'attribution' needs fine-tuning runs ('datasets' and 'finetuning')")
    finetuning = config["finetuning"]
    known = {
        "datasets": set(config["datasets"]),
        "finetune_languages": {lang for spec in config["datasets"].values() for lang in spec["languages"]} | {"multi"},
        "sizes": set(finetuning["sizes"]),
        "seeds": set(finetuning["seeds"]),
    }
    counterfactual = attribution.get("counterfactual") or {}
    for where, spec in (("attribution", attribution), ("attribution.counterfactual", counterfactual)):
        for key, values in known.items():
            unknown = [value for value in spec.get(key, []) if value not in values]
            if unknown:
                raise InputError(f"config key '{where}.{key}': {unknown} are not in the fine-tuning grid")
    saved = finetuning.get("checkpoints", 3)
    if attribution.get("checkpoints", 3) > saved:
        raise InputError(
            f"config key 'attribution.checkpoints' ({attribution['checkpoints']}) exceeds the "
            f"{saved} checkpoints fine-tuning keeps ('finetuning.checkpoints')"
        )
    if counterfactual and counterfactual["k"] > attribution.get("top_k", 20):
        raise InputError(
            f"config key 'attribution.counterfactual.k' ({counterfactual['k']}) exceeds "
            f"'attribution.top_k' ({attribution.get('top_k', 20)}), the examples kept per probe"
        )

