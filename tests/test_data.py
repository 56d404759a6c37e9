"""Fine-tuning data (valuetrace.data): reading local files, stable ids, nested deterministic subsamples."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from valuetrace import data
from valuetrace.errors import InputError

REPO = Path(__file__).resolve().parent.parent


def prepared(lang: str, n: int, seed: int = 0, source: str = "src") -> pl.DataFrame:
    frame = pl.DataFrame({"item_id": [str(i) for i in range(n)], "text": [f"{lang} sentence {i}" for i in range(n)]})
    return data.prepare(frame, source, lang, seed)


def test_read_local_text_file_numbers_lines_and_skips_blank_ones(tmp_path):
    path = tmp_path / "en.txt"
    path.write_text("first line\n\nsecond line\n", encoding="utf-8")
    frame = data.read_local(path, "text", None)
    assert frame["text"].to_list() == ["first line", "second line"]
    assert frame["item_id"].to_list() == ["0", "2"]


def test_read_local_tsv_keeps_metadata_and_uses_the_id_column(tmp_path):
    path = tmp_path / "de.tsv"
    path.write_text("id\tsentence\ttopic\na7\tEin Satz.\twetter\nb9\tNoch einer.\tessen\n", encoding="utf-8")
    frame = data.read_local(path, "sentence", "id")
    assert frame["item_id"].to_list() == ["a7", "b9"]
    assert frame["topic"].to_list() == ["wetter", "essen"]


@pytest.mark.parametrize(
    ("content", "column", "message"),
    [
        ("text\n", "text", "empty"),
        ("sentence\nhello\n", "text", "no column 'text'"),
        ("id\ttext\n1\ta\n1\tb\n", "text", "more than once"),
    ],
)
def test_bad_local_corpus_is_an_input_error_naming_the_file(tmp_path, content, column, message):
    path = tmp_path / "en.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message) as error:
        data.read_local(path, column, "id" if "id" in content.split("\n")[0] else None)
    assert str(path) in str(error.value)


def test_prepare_gives_stable_ids_and_a_seeded_order():
    first, again, other = prepared("en", 50, seed=3), prepared("en", 50, seed=3), prepared("en", 50, seed=4)
    assert first.equals(again)
    assert not first["item_id"].equals(other["item_id"])
    assert first["example_id"].str.starts_with("src/en/").all()
    assert sorted(first["rank"].to_list()) == list(range(50))


def test_subsamples_are_nested_and_parallel_sources_share_items():
    en, ko = prepared("en", 100), prepared("ko", 100)
    small = data.subsample([en], 20, seed=0, where="test")
    large = data.subsample([en], 40, seed=0, where="test")
    assert set(small["example_id"]) < set(large["example_id"])
    mixed = data.subsample([en, ko], 30, seed=0, where="test")
    assert mixed.height == 60
    by_lang = mixed.group_by("lang").agg(pl.col("item_id").sort())
    assert by_lang["item_id"][0].to_list() == by_lang["item_id"][1].to_list()
    assert mixed["lang"].head(10).n_unique() == 2  # shuffled, not one language after the other


def test_subsample_larger_than_the_corpus_names_the_source():
    with pytest.raises(InputError, match="size 60 is larger than the 50 examples of src/en"):
        data.subsample([prepared("en", 50)], 60, seed=0, where="datasets.src")
