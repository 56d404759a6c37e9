"""A parallel source aligned by id (valuetrace.parallel): a verse one language lacks is dropped everywhere."""

from __future__ import annotations

import polars as pl
import pytest

from valuetrace import data, parallel
from valuetrace.errors import InputError


def prepared(lang: str, ids: list[str]) -> pl.DataFrame:
    return data.prepare(pl.DataFrame({"item_id": ids, "text": [f"{lang} {i}" for i in ids]}), "bible", lang, seed=0)


VERSES = [f"b.GEN.1.{n}" for n in range(1, 41)]


def test_a_verse_missing_in_one_language_is_dropped_exactly_everywhere():
    tables = [prepared("de", VERSES), prepared("ko", [v for v in VERSES if v != "b.GEN.1.7"]), prepared("tr", VERSES + ["b.REV.1.1"])]
    aligned, counts = parallel.align(tables, "bible")
    by_lang = {lang: aligned.filter(pl.col("lang") == lang) for lang in ("de", "ko", "tr")}
    common = [v for v in VERSES if v != "b.GEN.1.7"]
    for table in by_lang.values():
        assert sorted(table["item_id"]) == sorted(common)
        assert table["rank"].to_list() == list(range(len(common)))
    # the same order, so samples of any size hold the same verses in every language
    assert by_lang["de"]["item_id"].to_list() == by_lang["ko"]["item_id"].to_list() == by_lang["tr"]["item_id"].to_list()
    assert counts.rows() == [("bible", "de", 40, 39, 1), ("bible", "ko", 39, 39, 0), ("bible", "tr", 41, 39, 2)]


def test_a_multi_parallel_sample_has_the_same_items_in_every_language():
    aligned, _ = parallel.align([prepared("de", VERSES), prepared("ko", VERSES[3:])], "bible")
    sample = data.subsample([aligned.filter(pl.col("lang") == lang) for lang in ("de", "ko")], 25, seed=3, where="test")
    ids = sample.group_by("lang").agg(pl.col("item_id").sort())
    assert ids["item_id"][0].to_list() == ids["item_id"][1].to_list() and len(ids["item_id"][0]) == 25
    assert sample["lang"].head(10).n_unique() == 2  # shuffled


def test_languages_without_a_common_id_are_refused():
    with pytest.raises(InputError, match=r"datasets.bible: declared parallel, but its languages \['de', 'ko'\] have no item id in common"):
        parallel.align([prepared("de", ["1", "2"]), prepared("ko", ["3"])], "bible")
