"""Source types of fine-tuning data (valuetrace.sources): what each reads, its inputs and origin."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from valuetrace import data, sources
from valuetrace.errors import InputError
from valuetrace.settings import schema

DATASET_SCHEMA = schema()["properties"]["datasets"]["additionalProperties"]


def test_every_source_type_is_one_choice_of_the_schema():
    choices = {tuple(option["required"]) for option in DATASET_SCHEMA["oneOf"]}
    assert choices == {(key,) for key in sources.SOURCE_TYPES}
    assert all(key in DATASET_SCHEMA["properties"] for key in sources.SOURCE_TYPES)


def test_files_origin_substitutes_the_language_and_reads_the_file(tmp_path):
    (tmp_path / "de.tsv").write_text("id\ttext\tgenre\nv1\tEins.\tlaw\nv2\tZwei.\tlaw\n", encoding="utf-8")
    spec = {"languages": ["de"], "files": str(tmp_path / "{lang}.tsv"), "text_column": "text", "id_column": "id"}
    origin = sources.origin("laws", spec, "de")
    assert origin["type"] == "files" and origin["file"] == str(tmp_path / "de.tsv")
    assert all(isinstance(value, (str, type(None))) for value in origin.values())  # params: built-in values
    assert sources.inputs("laws", spec, "de") == [str(tmp_path / "de.tsv")]
    frame = sources.read(origin, "datasets.laws (de)")
    assert frame.equals(data.read_local(tmp_path / "de.tsv", "text", "id"))
    assert frame["item_id"].to_list() == ["v1", "v2"] and frame["genre"].to_list() == ["law", "law"]


def test_a_missing_local_file_is_no_input_and_its_job_names_the_config_key(tmp_path):
    spec = {"languages": ["en"], "files": {"en": str(tmp_path / "absent.txt")}, "text_column": "text"}
    assert sources.inputs("wiki", spec, "en") == []
    with pytest.raises(InputError, match=r"datasets.wiki \(en\): .*absent.txt does not exist \(config key datasets.wiki.files\)"):
        sources.read(sources.origin("wiki", spec, "en"), "datasets.wiki (en)")


def test_hub_origin_substitutes_the_language_in_config_and_text_column():
    spec = {"languages": ["de"], "hub": {"name": "opus", "config": "de-en", "split": "train"}, "text_column": "translation.{lang}"}
    origin = sources.origin("opus", spec, "de")
    assert origin == {"type": "hub", "name": "opus", "config": "de-en", "split": "train",
                      "text_column": "translation.de", "id_column": None}  # fmt: skip
    assert sources.inputs("opus", spec, "de") == []


def test_generated_source_reads_what_generate_source_wrote():
    spec = {"languages": ["en"], "generate": {"text": "config/demo_text", "sentences": 10, "seed": 0}, "text_column": "text"}
    assert sources.inputs("planted", spec, "en") == ["results/generated/planted/en.parquet"]
    assert sources.origin("planted", spec, "en")["file"] == "results/generated/planted/en.parquet"


def test_hub_dataset_by_name_with_a_struct_text_field(tmp_path, monkeypatch):
    """``load_dataset`` of a name; a local folder stands in for the hub (no network in tests)."""
    folder = tmp_path / "opus-like"
    folder.mkdir()
    pl.DataFrame(
        {"id": ["a", "b"], "translation": [{"en": "One.", "de": "Eins."}, {"en": "Two.", "de": "Zwei."}]}
    ).write_parquet(folder / "train.parquet")
    monkeypatch.chdir(tmp_path)
    frame = data.read_hub("opus-like", None, "train", "translation.de", "id", "datasets.opus")
    assert frame["text"].to_list() == ["Eins.", "Zwei."] and frame["item_id"].to_list() == ["a", "b"]
    with pytest.raises(InputError, match="datasets.opus: cannot load dataset 'opus-like'.*validation"):
        data.read_hub("opus-like", None, "validation", "translation.de", "id", "datasets.opus")
