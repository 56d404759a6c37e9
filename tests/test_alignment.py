"""Alignment of model scores with human values: agreement, Spearman, bootstrap intervals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from rule_scripts import run_script
from valuetrace import alignment, tables
from valuetrace.settings import Alignment

RESAMPLES = 300


def scores_table(model: str, lang: str, scores: dict[str, float], method: str = "joint") -> pl.DataFrame:
    """One score per probe; probe ids like Q106a belong to question Q106."""
    probe_ids = list(scores)
    return pl.DataFrame(
        {
            "model": model,
            "run": "base",
            "probe_set": "wvs",
            "probe_lang": lang,
            "probe_id": probe_ids,
            "question_id": [p.rstrip("abcdefgh") for p in probe_ids],
            "scoring_method": method,
            "calibration": "none",
            "raw_score": [float(scores[p]) for p in probe_ids],
            "score": [float(scores[p]) for p in probe_ids],
            "choice": ["A" if scores[p] > 0 else "B" for p in probe_ids],
        }
    )


def humans_table(lang: str, country: str, human: dict[str, float], survey_data: str = "synthetic test") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "probe_lang": lang,
            "country": country,
            "probe_id": list(human),
            "human_score": [float(v) for v in human.values()],
            "human_choice": ["A" if v > 0 else "B" for v in human.values()],
            "survey_data": survey_data,
        }
    )


def run(scores: pl.DataFrame, humans: pl.DataFrame, seed: int = 0, resamples: int = RESAMPLES):
    return alignment.align(scores, humans, Alignment(bootstrap_resamples=resamples, confidence_level=0.9, seed=seed))


HUMAN = {"Q1": 0.8, "Q4": -0.4, "Q5": 0.3, "Q6": -0.9, "Q8": 0.1, "Q17": -0.2, "Q19": 0.6, "Q21": -0.7}


def test_agreement_is_the_hand_counted_share():
    # Model choices A B B B A A B A against human A B A B A B A B:
    # agree on Q1, Q4, Q6, Q8 -> 4 of 8 questions.
    model = {"Q1": 1.2, "Q4": -0.3, "Q5": -2.0, "Q6": -0.1, "Q8": 0.5, "Q17": 0.4, "Q19": -1.0, "Q21": 0.9}
    per_question, per_language = run(scores_table("m", "de", model), humans_table("de", "DEU", HUMAN))
    assert per_language.height == 1
    row = per_language.row(0, named=True)
    assert row["n_probes"] == 8
    assert row["agreement"] == pytest.approx(4 / 8)
    assert (row["model"], row["scoring_method"], row["probe_lang"], row["country"]) == ("m", "joint", "de", "DEU")
    assert row["survey_data"] == "synthetic test"
    assert row["confidence_level"] == 0.9
    agree = dict(zip(per_question["probe_id"], per_question["agree"]))
    assert {q for q, a in agree.items() if a} == {"Q1", "Q4", "Q6", "Q8"}
    choice = dict(zip(per_question["probe_id"], per_question["choice"]))
    assert choice == {q: ("A" if s > 0 else "B") for q, s in model.items()}


def test_monotone_model_gets_spearman_and_agreement_one():
    model = {q: 5 * h**3 for q, h in HUMAN.items()}  # strictly increasing and sign-preserving
    _, per_language = run(scores_table("m", "de", model), humans_table("de", "DEU", HUMAN))
    row = per_language.row(0, named=True)
    assert row["agreement"] == 1.0
    assert row["spearman"] == pytest.approx(1.0)
    assert row["spearman_p"] < 0.01
    assert row["agreement_low"] == row["agreement_high"] == 1.0
    assert row["spearman_low"] == pytest.approx(1.0)
    assert row["spearman_high"] == pytest.approx(1.0)


def test_reversed_model_gets_spearman_minus_one_and_agreement_zero():
    model = {q: -h for q, h in HUMAN.items()}
    _, per_language = run(scores_table("m", "de", model), humans_table("de", "DEU", HUMAN))
    row = per_language.row(0, named=True)
    assert row["agreement"] == 0.0
    assert row["spearman"] == pytest.approx(-1.0)


def test_interval_of_few_questions_is_defined():
    # With 4 questions, some resamples draw one question four times; their rank
    # correlation is undefined and must not make the whole interval undefined.
    human = {"Q1": 0.8, "Q4": -0.4, "Q5": 0.3, "Q6": -0.9}
    model = {q: 2 * h for q, h in human.items()}
    _, per_language = run(scores_table("m", "de", model), humans_table("de", "DEU", human))
    row = per_language.row(0, named=True)
    assert row["spearman"] == pytest.approx(1.0)
    assert row["spearman_low"] == pytest.approx(1.0)
    assert row["spearman_high"] == pytest.approx(1.0)


def test_interval_of_two_questions_is_undefined():
    human = {"Q1": 0.8, "Q4": -0.4}
    _, per_language = run(scores_table("m", "de", {"Q1": 1.0, "Q4": -1.0}), humans_table("de", "DEU", human))
    row = per_language.row(0, named=True)
    assert row["agreement"] == 1.0
    for column in ["agreement_low", "agreement_high", "spearman", "spearman_low", "spearman_high"]:
        assert math.isnan(row[column]), column


def noisy_inputs(n: int = 20, seed: int = 11) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    human = {f"Q{i}": float(v) for i, v in enumerate(rng.uniform(-1, 1, n), start=1)}
    model = {q: h + float(rng.normal(0, 0.6)) for q, h in human.items()}
    return scores_table("m", "de", model), humans_table("de", "DEU", human)


def test_bootstrap_interval_contains_estimate_and_is_deterministic():
    scores, humans = noisy_inputs()
    _, first = run(scores, humans, seed=7)
    _, again = run(scores, humans, seed=7)
    _, other = run(scores, humans, seed=8)
    assert first.equals(again)
    # Nor on the order of the input rows: the bootstrap resamples probes, not positions in a join.
    _, shuffled = run(scores.sample(fraction=1.0, shuffle=True, seed=1), humans.sample(fraction=1.0, shuffle=True, seed=2), seed=7)
    assert shuffled.equals(first)
    row = first.row(0, named=True)
    assert 0 < row["agreement"] < 1
    assert row["agreement_low"] <= row["agreement"] <= row["agreement_high"]
    assert row["agreement_low"] < row["agreement_high"]
    assert -1 < row["spearman"] < 1
    assert row["spearman_low"] <= row["spearman"] <= row["spearman_high"]
    assert row["spearman_low"] < row["spearman_high"]
    # The point estimates do not depend on the seed; the interval does.
    other_row = other.row(0, named=True)
    assert other_row["agreement"] == row["agreement"]
    assert other_row["spearman"] == row["spearman"]
    assert (other_row["spearman_low"], other_row["spearman_high"]) != (row["spearman_low"], row["spearman_high"])


def test_wider_confidence_level_gives_wider_interval():
    scores, humans = noisy_inputs()
    _, narrow = alignment.align(scores, humans, Alignment(bootstrap_resamples=RESAMPLES, confidence_level=0.5, seed=1))
    _, wide = alignment.align(scores, humans, Alignment(bootstrap_resamples=RESAMPLES, confidence_level=0.99, seed=1))
    n, w = narrow.row(0, named=True), wide.row(0, named=True)
    assert w["spearman_low"] <= n["spearman_low"] <= n["spearman_high"] <= w["spearman_high"]
    assert w["spearman_high"] - w["spearman_low"] > n["spearman_high"] - n["spearman_low"]


def test_subitems_of_one_question_are_compared_each_with_its_own_human_value():
    # Q106a states greater incentives, Q106b more equal incomes: opposite poles, opposite human values.
    human = {"Q1": 0.5, "Q106a": 0.3, "Q106b": -0.3, "Q49": -0.6}
    model = {"Q1": 1.0, "Q106a": 2.0, "Q106b": -1.0, "Q49": -0.4}
    per_probe, per_language = run(scores_table("m", "bn", model), humans_table("bn", "BGD", human))
    assert per_probe.height == 4
    assert per_probe.filter(pl.col("question_id") == "Q106")["probe_id"].to_list() == ["Q106a", "Q106b"]
    row = per_language.row(0, named=True)
    assert row["n_probes"] == 4
    assert row["agreement"] == 1.0  # averaging 106a and 106b would have mixed two poles
    assert row["spearman"] == pytest.approx(0.6)  # ranks 3 4 1 2 against 4 3 2 1


def test_only_survey_probes_and_the_paper_subset_are_aligned():
    human = {"Q1": 0.5, "Q4": -0.5, "Q5": 0.2}
    scores = scores_table("m", "de", {"Q1": 1.0, "Q4": -1.0, "Q5": -1.0})
    vsm = scores_table("m", "de", {"VSM01": 1.0}).with_columns(probe_set=pl.lit("hofstede"))
    per_probe, _ = run(pl.concat([scores, vsm]), humans_table("de", "DEU", human))
    assert set(per_probe["probe_id"]) == {"Q1", "Q4", "Q5"}
    subset = pl.DataFrame({"probe_id": ["Q1", "Q4", "Q5"], "in_subset": [True, True, False]})
    per_probe, per_language = alignment.align(
        scores, humans_table("de", "DEU", human), Alignment(bootstrap_resamples=100, confidence_level=0.9, seed=0), subset
    )
    assert set(per_probe["probe_id"]) == {"Q1", "Q4"} and per_language["agreement"].to_list() == [1.0]


def test_paper_subset_needs_every_language_and_every_country():
    probes = pl.DataFrame(
        {"probe_set": "wvs", "probe_lang": ["de", "tr", "de", "de", "tr"], "probe_id": ["Q1", "Q1", "Q4", "Q5", "Q5"],
         "question_id": ["Q1", "Q1", "Q4", "Q5", "Q5"]}
    )  # fmt: skip
    humans = pl.concat([humans_table("de", "DEU", {"Q1": 0.1, "Q4": 0.2, "Q5": 0.3}), humans_table("tr", "TUR", {"Q1": 0.1})])
    subset = alignment.paper_subset(probes, humans, ["de", "tr"])
    rows = {row["probe_id"]: row for row in subset.iter_rows(named=True)}
    assert rows["Q1"]["in_subset"] and rows["Q1"]["reason"] == ""
    assert not rows["Q4"]["in_subset"] and rows["Q4"]["reason"] == "a usable probe in 1 of 2 languages"
    assert not rows["Q5"]["in_subset"] and rows["Q5"]["reason"] == "valid human answers in 1 of 2 countries"


def test_models_methods_and_languages_are_kept_apart():
    human_de = {"Q1": 0.5, "Q4": -0.5, "Q5": 0.2}
    human_tr = {"Q1": -0.5, "Q4": 0.5, "Q5": 0.2}
    scores = pl.concat(
        [
            scores_table("a", "de", {"Q1": 1.0, "Q4": -1.0, "Q5": 1.0}),
            scores_table("a", "tr", {"Q1": 1.0, "Q4": -1.0, "Q5": 1.0}),
            scores_table("b", "de", {"Q1": -1.0, "Q4": -2.0, "Q5": -0.5}, method="pll"),
        ]
    )
    humans = pl.concat([humans_table("de", "DEU", human_de), humans_table("tr", "TUR", human_tr)])
    per_question, per_language = run(scores, humans)
    result = {
        (r["model"], r["scoring_method"], r["probe_lang"]): (r["country"], r["agreement"])
        for r in per_language.iter_rows(named=True)
    }
    assert result == {
        ("a", "joint", "de"): ("DEU", 1.0),
        ("a", "joint", "tr"): ("TUR", pytest.approx(1 / 3)),
        ("b", "pll", "de"): ("DEU", pytest.approx(1 / 3)),
    }
    assert per_question.height == 9


def test_questions_without_human_value_are_left_out():
    human = {"Q1": 0.5, "Q4": -0.5, "Q5": 0.2}
    model = {"Q1": 1.0, "Q4": -1.0, "Q5": 1.0, "Q999": -3.0}
    per_question, per_language = run(scores_table("m", "de", model), humans_table("de", "DEU", human))
    assert "Q999" not in set(per_question["probe_id"])
    assert per_language["n_probes"].to_list() == [3]
    assert per_language["agreement"].to_list() == [1.0]


def test_outputs_match_their_table_schemas():
    scores, humans = noisy_inputs(n=6)
    per_question, per_language = run(scores, humans)
    tables.check_table(per_question, "probe_alignment")
    tables.check_table(per_language, "alignment")


def test_alignment_script_writes_what_align_computes(tmp_path: Path):
    """The rule's script joins the score tables of every model and run and writes both tables."""
    scores, humans = noisy_inputs(n=10)
    halves = [tmp_path / "m1.parquet", tmp_path / "m2.parquet"]
    scores.head(5).write_parquet(halves[0])
    scores.tail(scores.height - 5).write_parquet(halves[1])
    humans.write_parquet(tmp_path / "humans.parquet")
    settings = Alignment(bootstrap_resamples=200, confidence_level=0.9, seed=3)
    out = {"probes": tmp_path / "q.parquet", "languages": tmp_path / "l.parquet"}
    result = run_script(
        "alignment", tmp_path / "alignment.log",
        input={"scores": halves, "humans": tmp_path / "humans.parquet", "subset": []}, output=out,
        params={"alignment": settings.params()},
    )  # fmt: skip
    assert result.status == 0, result.log
    expected_q, expected_l = alignment.align(scores, humans, settings)
    assert pl.read_parquet(out["languages"]).equals(expected_l)
    assert pl.read_parquet(out["probes"]).equals(expected_q)


def test_alignment_change_is_the_difference_of_the_alignments_with_a_paired_interval():
    """A run that leaves most probes alone: its change equals the difference of the two rows of the
    alignment table, and the paired interval is far narrower than either alignment's."""
    base_scores, humans = noisy_inputs(n=40)
    after = base_scores.with_columns(
        run=pl.lit("planted/de/n100_s0"),
        score=pl.when(pl.col("probe_id").is_in(["Q1", "Q2"])).then(-pl.col("score")).otherwise(pl.col("score")),
    ).with_columns(choice=pl.when(pl.col("score") > 0).then(pl.lit("A")).otherwise(pl.lit("B")))
    per_probe, per_language = run(pl.concat([base_scores, after]), humans)
    settings = Alignment(bootstrap_resamples=RESAMPLES, confidence_level=0.9, seed=0)
    change = alignment.alignment_change(per_probe, settings).row(0, named=True)
    before_row, after_row = per_language.sort("run").rows(named=True)  # base before planted/...
    assert change["run"] == "planted/de/n100_s0" and change["probe_lang"] == "de"
    assert change["agreement_change"] == pytest.approx(after_row["agreement"] - before_row["agreement"])
    assert change["spearman_change"] == pytest.approx(after_row["spearman"] - before_row["spearman"])
    assert change["spearman_before"] == pytest.approx(before_row["spearman"])
    for measure in ("agreement_change", "spearman_change"):
        assert change[f"{measure}_low"] <= change[measure] <= change[f"{measure}_high"]
    paired_width = change["spearman_change_high"] - change["spearman_change_low"]
    assert paired_width < (after_row["spearman_high"] - after_row["spearman_low"]) / 2
    unchanged = alignment.alignment_change(per_probe.filter(~pl.col("probe_id").is_in(["Q1", "Q2"])), settings).row(0, named=True)
    assert (unchanged["agreement_change_low"], unchanged["agreement_change_high"]) == (0, 0)
