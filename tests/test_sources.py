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


def test_opus_source_reads_each_languages_file_whatever_its_format(tmp_path):
    (tmp_path / "de.xml").write_text('<?xml version="1.0"?>\n<text>\n<s id="v1">Eins.</s>\n<s id="v2">Zwei.</s>\n</text>\n', encoding="utf-8")
    (tmp_path / "ko.txt").write_text("하나.\n둘.\n", encoding="utf-8")
    (tmp_path / "tr.txt").write_text("Bir.\nİki.\n", encoding="utf-8")
    spec = {"languages": ["de", "ko", "tr"], "opus": {"files": {lang: str(tmp_path / name) for lang, name in (("de", "de.xml"), ("ko", "ko.txt"), ("tr", "tr.txt"))}}}
    origin = sources.origin("bible", spec, "ko")
    assert origin["type"] == "opus" and origin["aligned"] == [str(tmp_path / "de.xml"), str(tmp_path / "tr.txt")]
    assert sources.inputs("bible", spec, "de") == [str(tmp_path / "de.xml")]  # XML: its own file
    assert sources.inputs("bible", spec, "tr") == [str(tmp_path / "tr.txt"), str(tmp_path / "ko.txt")]  # and the other Moses file
    assert sources.read(sources.origin("bible", spec, "de"), "datasets.bible (de)")["item_id"].to_list() == ["v1", "v2"]
    assert sources.read(origin, "datasets.bible (ko)")["text"].to_list() == ["하나.", "둘."]


def test_moses_files_of_a_source_with_different_line_counts_are_refused_when_planning(tmp_path):
    (tmp_path / "x.de").write_text("Eins.\nZwei.\n", encoding="utf-8")
    (tmp_path / "x.en").write_text("One.\nTwo.\nThree.\n", encoding="utf-8")
    spec = {"languages": ["de", "en"], "opus": {"files": str(tmp_path / "x.{lang}")}}
    with pytest.raises(InputError, match=r"'datasets.bible.opus.files': the Moses files .*x.de \(2 lines\) and .*x.en \(3 lines\) are aligned by line"):
        sources.source_type(spec).planned_sizes("bible", spec, Path("."))
    spec["opus"]["ids"] = str(tmp_path / "x.{lang}.ids")  # aligned by id instead: counted, not compared
    assert sources.source_type(spec).planned_sizes("bible", spec, Path(".")) == ({"de": 2, "en": 3}, [])
