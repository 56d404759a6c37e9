"""Hofstede's dimensions (valuetrace.hofstede): VSM 2013 formulas, item means, country scores."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from conftest import compiled_hofstede_probes
from valuetrace import hofstede
from valuetrace.errors import InputError

PUBLISHED = "ctr;country;pdi;idv;mas;uai;ltowvs;ivr\nGER;Germany;35;67;66;65;83;40\nKOR;Korea South;60;18;39;85;100;29\nTUR;Turkey;66;37;45;85;46;49\nBAN;Bangladesh;80;20;55;60;47;20\n"


def means_table(item_means: dict[int, float], lang: str = "de") -> pl.DataFrame:
    return pl.DataFrame(
        {"model": "m", "run": "base", "scoring_method": "joint", "calibration": "none", "probe_lang": lang,
         "probe_id": [f"VSM{i:02d}" for i in item_means], "item": list(item_means), "score": 0.0,
         "item_mean": list(item_means.values())}  # fmt: skip
    )


def test_indices_follow_the_vsm_2013_formulas_by_hand():
    means = {item: 3.0 for item in range(1, 25)}
    means.update({7: 2.0, 2: 1.5, 20: 4.0, 23: 3.0, 4: 1.0, 1: 2.0, 18: 2.5, 15: 3.5})
    table = hofstede.indices(means_table(means))
    got = dict(zip(table["dimension"], table["index"]))
    assert got["pdi"] == pytest.approx(35 * (2.0 - 1.5) + 25 * (4.0 - 3.0))  # 42.5
    assert got["idv"] == pytest.approx(35 * (1.0 - 2.0) + 35 * (3.0 - 3.0))  # -35
    assert got["uai"] == pytest.approx(40 * (2.5 - 3.5) + 25 * (3.0 - 3.0))  # -40
    assert got["mas"] == got["lto"] == got["ivr"] == pytest.approx(0.0)


def test_a_missing_item_leaves_only_its_dimensions_without_index():
    means = {item: 3.0 for item in range(1, 25) if item != 20}
    got = dict(hofstede.indices(means_table(means)).select("dimension", "index").iter_rows())
    assert got["pdi"] is None and got["idv"] == pytest.approx(0.0)


def test_item_mean_is_the_expected_answer_between_option_a_and_option_b_ends():
    probes = compiled_hofstede_probes(("en",))
    scores = probes.select("probe_set", "probe_lang", "probe_id").with_columns(
        model=pl.lit("m"), run=pl.lit("base"), scoring_method=pl.lit("joint"), calibration=pl.lit("none"),
        score=pl.when(pl.col("probe_id") == "VSM01").then(0.0).when(pl.col("probe_id") == "VSM02").then(50.0).otherwise(-50.0),
    )  # fmt: skip
    means = dict(hofstede.item_means(scores, probes).select("item", "item_mean").iter_rows())
    # Option A stands for code 1 (of utmost importance) and B for 5: sigma(0) = 1/2 -> 3.
    assert means[1] == pytest.approx(3.0)
    assert means[2] == pytest.approx(1.0) and means[3] == pytest.approx(5.0)
    assert set(means) == set(range(1, 25))


@pytest.mark.parametrize("separator", [";", ","])
def test_country_scores_as_published_with_missing_values(tmp_path, separator):
    path = tmp_path / "6-dimensions.csv"
    text = PUBLISHED.replace(";", separator) + f"ARA{separator}Arab countries{separator}80{separator}38{separator}53{separator}68{separator}#NULL!{separator}#NULL!\n"
    path.write_text(text, encoding="utf-8")
    scores = hofstede.read_country_scores(path)
    assert scores.columns == hofstede.SCORES_FILE_COLUMNS
    assert scores.filter(pl.col("ctr") == "GER")["pdi"].item() == 35.0
    assert scores.filter(pl.col("ctr") == "ARA")["ltowvs"].item() is None


def test_a_scores_file_without_a_dimension_or_with_text_is_one_error(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(PUBLISHED.replace(";ivr", "").replace(";40\n", "\n").replace(";29\n", "\n").replace(";49\n", "\n").replace(";20\n", "\n"))
    with pytest.raises(InputError, match=r"columns \['ivr'\] are missing; expected the published layout ctr, country, pdi"):
        hofstede.read_country_scores(path)
    path.write_text(PUBLISHED.replace("GER;Germany;35", "GER;Germany;high"))
    with pytest.raises(InputError, match=r"line 2: pdi = 'high' is not a number"):
        hofstede.read_country_scores(path)
    with pytest.raises(InputError, match="does not exist .config key hofstede.scores"):
        hofstede.read_country_scores(tmp_path / "absent.csv")


def test_comparison_correlates_the_index_with_the_country_scores_across_languages(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(PUBLISHED)
    scores = hofstede.read_country_scores(path)
    countries = {"de": "GER", "ko": "KOR", "tr": "TUR", "bn": "BAN"}
    pdi = {"de": 10.0, "ko": 20.0, "tr": 30.0, "bn": 40.0}  # same order as 35, 60, 66, 80
    index = pl.DataFrame(
        {"model": "m", "run": "base", "scoring_method": "joint", "calibration": "none", "probe_lang": list(pdi), "dimension": "pdi",
         "index": list(pdi.values())}  # fmt: skip
    )
    compared, agreement = hofstede.compare(index, scores, countries, "Hofstede (scores.csv)")
    assert compared.filter(pl.col("probe_lang") == "ko")["country_score"].item() == 60.0
    row = agreement.row(0, named=True)
    assert (row["dimension"], row["n_languages"]) == ("pdi", 4)
    assert row["spearman"] == pytest.approx(1.0)
    with pytest.raises(InputError, match=r"no country with ctr \['XXX'\] .config key hofstede.countries"):
        hofstede.compare(index, scores, {**countries, "de": "XXX"}, "x")


def test_fewer_than_three_languages_give_no_correlation():
    scores = hofstede.synthetic_country_scores(["A", "B"], 0)
    index = pl.DataFrame({"model": "m", "run": "base", "scoring_method": "joint", "calibration": "none", "probe_lang": ["x", "y"], "dimension": "idv", "index": [1.0, 2.0]})
    _, agreement = hofstede.compare(index, scores, {"x": "A", "y": "B"}, "SYNTHETIC")
    assert math.isnan(agreement["spearman"][0]) and agreement["n_languages"][0] == 2


def test_synthetic_scores_are_deterministic_and_in_the_published_layout():
    first = hofstede.synthetic_country_scores(["USA", "DEU"], 3)
    assert first.equals(hofstede.synthetic_country_scores(["USA", "DEU"], 3))
    assert first.columns == hofstede.SCORES_FILE_COLUMNS
    assert first.select(pl.col(c).is_between(0, 100).all() for c in hofstede.SCORE_COLUMNS.values()).row(0) == (True,) * 6
