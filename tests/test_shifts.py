"""Shift metrics (valuetrace.shifts) on hand-made score tables."""

import polars as pl
import pytest

from valuetrace import shifts

QUESTIONS = ["Q1", "Q2", "Q3", "Q4"]


def scores(run: str, lang: str, values: list[float], model: str = "m") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model": model,
            "run": run,
            "scoring_method": "joint",
            "calibration": "none",
            "probe_lang": lang,
            "probe_id": QUESTIONS,
            "question_id": QUESTIONS,
            "raw_score": values,
            "score": values,
            "choice": ["A" if v > 0 else "B" for v in values],
        }
    )


# Q1 and Q2 share their option words (as family and politics share important/unimportant).
PROBES = pl.DataFrame(
    {
        "probe_lang": ["en"] * 4 + ["de"] * 4,
        "probe_id": QUESTIONS * 2,
        "option_a": ["important", "important", "good", "trust"] + ["wichtig", "wichtig", "gut", "vertraue"],
        "option_b": ["unimportant", "unimportant", "bad", "distrust"] + ["unwichtig", "unwichtig", "schlecht", "misstraue"],
    }
)

HUMANS = pl.DataFrame(
    {
        "probe_lang": ["en"] * 4 + ["de"] * 4,
        "probe_id": QUESTIONS * 2,
        "human_choice": ["A", "B", "A", "B"] * 2,
    }
)


@pytest.fixture
def question_scores():
    return pl.concat(
        [
            scores("base", "en", [1.0, 1.0, -1.0, 0.5]),
            scores("base", "de", [0.5, -0.5, 1.0, 2.0]),
            scores("planted/en/n100_s0", "en", [3.0, -1.0, -1.5, 0.5]),
            scores("planted/en/n100_s0", "de", [1.5, -0.5, 1.0, 2.0]),
        ]
    )


def test_question_shifts_delta_flip_and_direction(question_scores):
    table = shifts.probe_shifts(question_scores, HUMANS).filter(pl.col("probe_lang") == "en")
    rows = {row["question_id"]: row for row in table.iter_rows(named=True)}
    assert rows["Q1"]["delta_score"] == pytest.approx(2.0)
    assert rows["Q1"]["direction"] == "towards"  # towards A, humans chose A
    assert rows["Q2"]["flipped"] and rows["Q2"]["direction"] == "towards"  # to B, humans chose B
    assert rows["Q3"]["direction"] == "away"  # further to B, humans chose A
    assert rows["Q4"]["direction"] == "none" and not rows["Q4"]["flipped"]
    assert (rows["Q1"]["dataset"], rows["Q1"]["finetune_lang"], rows["Q1"]["size"], rows["Q1"]["seed"]) == ("planted", "en", 100, 0)


def test_run_shifts_magnitude_flip_rate_beside_the_alignment_change(question_scores):
    per_question = shifts.probe_shifts(question_scores, HUMANS)
    change = pl.DataFrame(
        {"model": "m", "run": "planted/en/n100_s0", "probe_lang": ["en", "de"], "agreement_change": [0.5, 0.0]}
    )
    summary = shifts.run_shifts(per_question, change)
    english = summary.filter(pl.col("probe_lang") == "en").row(0, named=True)
    assert english["magnitude"] == pytest.approx((2.0 + 2.0 + 0.5 + 0.0) / 4)
    assert english["flip_rate"] == pytest.approx(0.25)
    assert english["agreement_change"] == pytest.approx(0.5)
    cross = shifts.cross_language(summary)
    assert set(cross["probe_lang"]) == {"en", "de"} and cross["n_seeds"].to_list() == [1, 1]


def test_distinctiveness_is_mean_profile_correlation_before_and_after(question_scores):
    table = shifts.distinctiveness(question_scores).row(0, named=True)
    # Before: en ranks (3.5, 3.5, 1, 2) vs de (2, 1, 3, 4): r = -3.5 / sqrt(4.5 * 5).
    # After: en ranks (4, 2, 1, 3) vs de (3, 1, 2, 4): r = 3 / sqrt(5 * 5).
    assert table["profile_correlation_before"] == pytest.approx(-3.5 / (4.5 * 5) ** 0.5)
    assert table["profile_correlation_after"] == pytest.approx(0.6)
    assert table["profile_correlation_change"] == pytest.approx(0.6 + 3.5 / (4.5 * 5) ** 0.5)


def test_planted_table_compares_with_the_largest_other_shift(question_scores):
    per_question = shifts.probe_shifts(question_scores, HUMANS)
    planted = shifts.planted(per_question, {"planted": ["Q1"]}, PROBES)
    english = planted.filter(pl.col("probe_lang") == "en").row(0, named=True)
    assert english["delta_score"] == pytest.approx(2.0)
    assert english["max_abs_delta_other"] == pytest.approx(2.0)
    assert english["in_language"] and not english["towards_a_beyond_others"]
    # Q2, with the same option words, moved by -2: as much, so the planted shift is not specific.
    assert english["max_abs_delta_same_options"] == pytest.approx(2.0) and english["n_same_options"] == 1
    assert not english["beyond_same_options"]
    german = planted.filter(pl.col("probe_lang") == "de").row(0, named=True)
    assert german["towards_a_beyond_others"] and not german["in_language"]
    assert german["max_abs_delta_same_options"] == pytest.approx(0.0) and german["beyond_same_options"]


def test_planted_table_compares_what_the_planting_added_beyond_the_control(question_scores):
    """Fine-tuning on the source's kind of text moved Q2 (same words as the planted Q1) by -2 in
    the control run too: beyond the control, only Q1 moved, so the planting's effect is specific."""
    with_control = pl.concat(
        [
            question_scores,
            scores("neutral/en/n100_s0", "en", [1.5, -1.0, -1.0, 0.5]),
            scores("neutral/en/n100_s0", "de", [0.5, -0.5, 1.0, 2.0]),
        ]
    )
    planted = shifts.planted(shifts.probe_shifts(with_control, HUMANS), {"planted": ["Q1"]}, PROBES, control="neutral")
    assert planted["dataset"].unique().to_list() == ["planted"]
    english = planted.filter(pl.col("probe_lang") == "en").row(0, named=True)
    assert not english["towards_a_beyond_others"] and not english["beyond_same_options"]
    assert english["beyond_control"] == pytest.approx(1.5)  # 2.0 - 0.5
    assert english["max_abs_beyond_control_other"] == pytest.approx(0.5)  # Q3: -0.5 - 0
    assert english["max_abs_beyond_control_same_options"] == pytest.approx(0.0)  # Q2: -2 - (-2)
    assert english["beyond_others_over_control"] and english["beyond_same_options_over_control"]
    german = planted.filter(pl.col("probe_lang") == "de").row(0, named=True)
    assert german["beyond_control"] == pytest.approx(german["delta_score"]) and german["beyond_others_over_control"]
    # Without a control source the columns are there, empty.
    alone = shifts.planted(shifts.probe_shifts(question_scores, HUMANS), {"planted": ["Q1"]}, PROBES)
    assert alone["beyond_control"].is_null().all() and alone["beyond_others_over_control"].is_null().all()


def test_planted_question_whose_words_no_other_shares_is_compared_with_none(question_scores):
    planted = shifts.planted(shifts.probe_shifts(question_scores, HUMANS), {"planted": ["Q3"]}, PROBES)
    english = planted.filter(pl.col("probe_lang") == "en").row(0, named=True)
    assert english["n_same_options"] == 0 and english["max_abs_delta_same_options"] is None
    assert not english["beyond_same_options"]  # it moved away from A (-0.5)


def test_multilingual_run_counts_as_in_language_only_for_the_datasets_languages(question_scores):
    multi = pl.concat(
        [
            question_scores,
            scores("planted/multi/n100_s0", "en", [2.0, 1.0, -1.0, 0.5]),
            scores("planted/multi/n100_s0", "de", [0.5, -0.5, 1.0, 2.0]),
        ]
    )
    planted = shifts.planted(shifts.probe_shifts(multi, HUMANS), {"planted": ["Q1"]}, PROBES)
    in_language = {
        (row["finetune_lang"], row["probe_lang"]): row["in_language"] for row in planted.iter_rows(named=True)
    }
    # The dataset's monolingual runs are in English only, so German is another language even for multi.
    assert in_language == {("en", "en"): True, ("en", "de"): False, ("multi", "en"): True, ("multi", "de"): False}
