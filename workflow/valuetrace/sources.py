"""Source types of fine-tuning data: where a dataset's text in one language comes from.

A dataset (``datasets.<name>`` in the config) names its type by the one key it sets: ``files``
(local files), ``opus`` (OPUS corpora as downloaded: Moses, TMX or XML with ids), ``hub`` (a
Hugging Face dataset) or ``generate`` (the demo's generated text).
Each type says, for one language:

- ``origin``: the settings that decide what is read (built-in values: the ``prepare_source``
  rule passes them through ``params:``, so editing one reruns exactly that language);
- ``inputs``: the files the job reads, which Snakemake tracks (a missing user file is left out,
  so that planning works without the data and the job fails naming the config key);
- ``read``: the text, with an ``item_id`` per example and any metadata columns;
- ``planned_sizes``: examples per language where they can be known while planning, and the
  data files that do not exist yet.

Adding a source type is one entry in :data:`SOURCE_TYPES` and its config keys in the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import polars as pl

from valuetrace import data, opus
from valuetrace.corpus import check_paraphrases
from valuetrace.errors import InputError

Sizes = tuple[dict[str, int], list[str]]


@dataclass(frozen=True)
class SourceType:
    key: str
    origin: Callable[[str, dict, str], dict]
    inputs: Callable[[str, dict, str], list[str]]
    read: Callable[[dict, str], pl.DataFrame]
    planned_sizes: Callable[[str, dict, Path], Sizes]


def _columns(spec: dict, lang: str) -> dict:
    return {"text_column": spec["text_column"].replace("{lang}", lang), "id_column": spec.get("id_column")}


def _read_file(origin: dict, where: str) -> pl.DataFrame:
    path = Path(origin["file"])
    if not path.exists():
        raise InputError(f"{where}: {path} does not exist (config key {origin['key']})")
    return data.read_local(path, origin["text_column"], origin["id_column"])


# Local files: one per language, a mapping or one path with {lang}.


def per_language(files: str | dict, lang: str) -> str:
    """The file of one language: from a mapping, or a path in which ``{lang}`` is replaced."""
    return files.replace("{lang}", lang) if isinstance(files, str) else files[lang]


def corpus_file(spec: dict, lang: str) -> str:
    """The local corpus file of one language of a dataset."""
    return per_language(spec["files"], lang)


def _files_origin(name: str, spec: dict, lang: str) -> dict:
    return {"file": corpus_file(spec, lang), "key": f"datasets.{name}.files", **_columns(spec, lang)}


def _files_inputs(name: str, spec: dict, lang: str) -> list[str]:
    path = corpus_file(spec, lang)
    return [path] if Path(path).exists() else []


def corpus_size(path: Path, where: str) -> int:
    """Number of examples in a local corpus file, counted without loading it whole."""
    if path.suffix not in {*data.TEXT_SUFFIXES, ".parquet"}:
        raise InputError(f"config key {where!r}: {path} is not a .txt, .tsv, .csv or .parquet file")
    data.check_file_kind(path, f"config key {where!r}")
    try:
        if path.suffix == ".txt":
            with path.open(encoding="utf-8", errors="replace") as handle:
                return sum(1 for line in handle if line.strip())
        if path.suffix == ".parquet":
            return pl.scan_parquet(path).select(pl.len()).collect().item()
        separator = "\t" if path.suffix == ".tsv" else ","
        return pl.scan_csv(path, separator=separator, infer_schema=False).select(pl.len()).collect().item()
    except pl.exceptions.PolarsError as error:
        raise InputError(f"config key {where!r}: cannot read {path} ({' '.join(str(error).split())[:200]})") from None


def _check_mapping(files: str | dict, languages: list[str], key: str) -> None:
    if isinstance(files, dict):
        missing = [lang for lang in languages if lang not in files]
        if missing:
            raise InputError(f"config key {key!r} has no file for languages {missing}")


def _files_sizes(name: str, spec: dict, base: Path) -> Sizes:
    _check_mapping(spec["files"], spec["languages"], f"datasets.{name}.files")
    paths = {lang: corpus_file(spec, lang) for lang in spec["languages"]}
    absent = [path for path in paths.values() if not (base / path).exists()]
    sizes = {
        lang: corpus_size(base / path, f"datasets.{name}.files.{lang}")
        for lang, path in paths.items()
        if path not in absent
    }
    return sizes, absent


# OPUS corpora as downloaded (valuetrace.opus): the format is detected from each file.


def _opus_origin(name: str, spec: dict, lang: str) -> dict:
    settings = spec["opus"]
    ids = per_language(settings["ids"], lang) if "ids" in settings else None
    return {
        "file": per_language(settings["files"], lang),
        "ids": ids,
        # Without ids, Moses files are aligned by line with the other languages' files.
        "aligned": [] if ids else [per_language(settings["files"], other) for other in spec["languages"] if other != lang],
        "lang": lang,
        "key": f"datasets.{name}.opus.files",
    }


def _is_moses(path: str | Path) -> bool:
    return Path(path).exists() and opus.format_of(Path(path)) == "moses"


def _opus_inputs(name: str, spec: dict, lang: str) -> list[str]:
    origin = _opus_origin(name, spec, lang)
    if not Path(origin["file"]).exists():
        return []
    # A Moses file's line count is checked against the other Moses files it is aligned with.
    aligned = [path for path in origin["aligned"] if _is_moses(path)] if _is_moses(origin["file"]) else []
    return [path for path in (origin["file"], origin["ids"], *aligned) if path and Path(path).exists()]


def _opus_read(origin: dict, where: str) -> pl.DataFrame:
    path = Path(origin["file"])
    if not path.exists():
        raise InputError(f"{where}: {path} does not exist (config key {origin['key']})")
    ids = Path(origin["ids"]) if origin["ids"] else None
    return opus.read(path, origin["lang"], where, ids, [Path(other) for other in origin["aligned"]])


def _opus_sizes(name: str, spec: dict, base: Path) -> Sizes:
    """Examples per language where they can be counted cheaply: the lines of Moses files, which
    must agree across the languages unless each has an ids file."""
    settings = spec["opus"]
    for key in ("files", "ids"):
        if key in settings:
            _check_mapping(settings[key], spec["languages"], f"datasets.{name}.opus.{key}")
    configured = {lang: per_language(settings["files"], lang) for lang in spec["languages"]}
    paths = {lang: base / path for lang, path in configured.items()}
    absent = [path for lang, path in configured.items() if not paths[lang].exists()]
    moses = {lang: path for lang, path in paths.items() if _is_moses(path)}
    lines = {lang: opus.line_count(path, data_only=False) for lang, path in moses.items()}
    if "ids" not in settings and len(set(lines.values())) > 1:
        (first, first_lines), *others = lines.items()
        other, other_lines = next((lang, count) for lang, count in others if count != first_lines)
        raise InputError(
            f"config key 'datasets.{name}.opus.files': the Moses files {moses[first]} ({first_lines} lines) and "
            f"{moses[other]} ({other_lines} lines) are aligned by line, so they need as many lines "
            f"(or give each language an ids file: datasets.{name}.opus.ids)"
        )
    return {lang: opus.line_count(path, data_only=True) for lang, path in moses.items()}, absent


# A Hugging Face dataset: {lang} in its config name or text column is replaced per language.


def _hub_origin(name: str, spec: dict, lang: str) -> dict:
    hub = spec["hub"]
    config_name = hub.get("config")
    return {
        "name": hub["name"],
        "config": config_name.replace("{lang}", lang) if config_name else None,
        "split": hub["split"],
        **_columns(spec, lang),
    }


def _hub_read(origin: dict, where: str) -> pl.DataFrame:
    return data.read_hub(
        origin["name"], origin["config"], origin["split"], origin["text_column"], origin["id_column"], where
    )


# The demo's generated text, written by the generate_source rule.


def generated_file(name: str, lang: str) -> str:
    return f"results/generated/{name}/{lang}.parquet"


def _generated_origin(name: str, spec: dict, lang: str) -> dict:
    return {"file": generated_file(name, lang), "key": f"datasets.{name}.generate", **_columns(spec, lang)}


def _generated_sizes(name: str, spec: dict, base: Path) -> Sizes:
    for lang in spec["languages"]:
        text = base / spec["generate"]["text"] / f"{lang}.yaml"
        if not text.exists():
            raise InputError(f"config key 'datasets.{name}.generate.text': no {text} for language {lang}")
        if spec["generate"].get("planting") == "paraphrase":
            check_paraphrases(text, spec.get("planted_questions", []))
    return {lang: spec["generate"]["sentences"] for lang in spec["languages"]}, []


SOURCE_TYPES = {
    source.key: source
    for source in (
        SourceType("files", _files_origin, _files_inputs, _read_file, _files_sizes),
        SourceType("opus", _opus_origin, _opus_inputs, _opus_read, _opus_sizes),
        SourceType("hub", _hub_origin, lambda name, spec, lang: [], _hub_read, lambda name, spec, base: ({}, [])),
        SourceType(
            "generate",
            _generated_origin,
            lambda name, spec, lang: [generated_file(name, lang)],
            _read_file,
            _generated_sizes,
        ),
    )
}


def source_type(spec: dict) -> SourceType:
    """The type of a dataset: the one of :data:`SOURCE_TYPES` whose key it sets (the schema
    allows exactly one)."""
    (key,) = [key for key in SOURCE_TYPES if key in spec]
    return SOURCE_TYPES[key]


def origin(name: str, spec: dict, lang: str) -> dict:
    """What decides the text of dataset ``name`` in ``lang``, with its type (``type``)."""
    kind = source_type(spec)
    return {"type": kind.key, **kind.origin(name, spec, lang)}


def inputs(name: str, spec: dict, lang: str) -> list[str]:
    return source_type(spec).inputs(name, spec, lang)


def read(origin: dict, where: str) -> pl.DataFrame:
    """The examples that ``origin`` (from :func:`origin`) describes."""
    return SOURCE_TYPES[origin["type"]].read(origin, where)
