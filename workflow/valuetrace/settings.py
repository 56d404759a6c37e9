"""Checks of the workflow config that a JSON schema cannot express (keys that refer to each other).

The schema (workflow/schemas/config.schema.yaml) checks each key on its own; this module
checks that they fit together, so a run stops before any job with a message naming the key.
"""

from __future__ import annotations

from pathlib import Path

from valuetrace.errors import InputError


def check_config(config: dict, base: Path) -> None:
    """Raise InputError naming the first config key that contradicts another or the disk."""
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
    survey_path = config["survey"].get("path")
    if survey_path is not None and not (base / survey_path).exists():
        raise InputError(f"config key 'survey.path': {survey_path} does not exist")
