"""Human values from a WVS-7 respondent table, and the synthetic stand-in."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from rule_scripts import run_script
from valuetrace import probes, survey
from valuetrace.settings import SyntheticSurvey
from valuetrace.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS_FILE = ROOT / "config" / "probes" / "questions.tsv"
PATH = Path("respondents.csv")  # only named in messages


def questions(*rows: tuple[str, int, int, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"question_id": q, "section": "s", "description": "d", "scale_min": lo, "scale_max": hi, "option_a_end": end}
            for q, lo, hi, end in rows
        ],
        schema={c: (pl.Int64 if c.startswith("scale") else pl.String) for c in probes.QUESTION_COLUMNS},
    )


# Q1: scale 1..4, option A = low end ("important"); Q49: scale 1..10, option A = high end.
QUESTIONS = questions(("Q1", 1, 4, "low"), ("Q49", 1, 10, "high"))


def respondents() -> pl.DataFrame:
    return pl.DataFrame(
        {
            survey.COUNTRY: ["DEU", "DEU", "DEU", "DEU", "TUR", "TUR", "KOR"],
            survey.WEIGHT: [1.0, 2.0, 0.5, 1.0, 1.0, 3.0, 1.0],
            "Q1": [1, 2, -2, 4, 4, 3, 1],
            "Q49": [10, -1, 4, 7, 1, -4, 10],
        }
    )


def test_human_values_weighted_means_by_hand():
    humans = survey.human_values(respondents(), QUESTIONS, {"de": "DEU", "tr": "TUR"}, "test data", PATH)
    assert humans.columns == [
        "probe_lang", "country", "question_id", "weighted_mean", "n_respondents",
        "human_score", "human_choice", "survey_data",
    ]
    got = {(r["probe_lang"], r["question_id"]): r for r in humans.iter_rows(named=True)}
    assert set(got) == {("de", "Q1"), ("de", "Q49"), ("tr", "Q1"), ("tr", "Q49")}  # KOR is not asked for

    # DEU Q1: answers 1 (w 1), 2 (w 2), -2 (missing), 4 (w 1): (1*1 + 2*2 + 4*1) / (1 + 2 + 1) = 9/4.
    # (The unweighted mean, 7/3, would differ.) A is the low end: -(2 * (2.25 - 1) / 3 - 1) = 1/6.
    row = got[("de", "Q1")]
    assert row["country"] == "DEU"
    assert row["weighted_mean"] == pytest.approx(9 / 4)
    assert row["n_respondents"] == 3
    assert row["human_score"] == pytest.approx(1 / 6)
    assert row["human_choice"] == "A"

    # DEU Q49: 10 (w 1), -1 (missing), 4 (w 0.5), 7 (w 1): (10 + 2 + 7) / 2.5 = 7.6.
    # A is the high end: 2 * (7.6 - 1) / 9 - 1 = 0.4666…
    row = got[("de", "Q49")]
    assert row["weighted_mean"] == pytest.approx(7.6)
    assert row["n_respondents"] == 3
    assert row["human_score"] == pytest.approx(2 * 6.6 / 9 - 1)
    assert row["human_choice"] == "A"

    # TUR Q1: 4 (w 1), 3 (w 3): (4 + 9) / 4 = 3.25; -(2 * 2.25 / 3 - 1) = -0.5.
    row = got[("tr", "Q1")]
    assert row["weighted_mean"] == pytest.approx(3.25)
    assert row["human_score"] == pytest.approx(-0.5)
    assert row["human_choice"] == "B"

    # TUR Q49: 1 (w 1), -4 (missing): mean 1, the low end, so -1 when A is the high end.
    row = got[("tr", "Q49")]
    assert row["weighted_mean"] == pytest.approx(1.0)
    assert row["n_respondents"] == 1
    assert row["human_score"] == pytest.approx(-1.0)
    assert row["human_choice"] == "B"

    assert set(humans["survey_data"]) == {"test data"}


@pytest.mark.parametrize(
    "answer, end, expected",
    [(1, "low", 1.0), (1, "high", -1.0), (4, "low", -1.0), (4, "high", 1.0), (2, "high", -1 / 3), (3, "low", -1 / 3)],
)
def test_mapping_to_minus_one_one_follows_polarity(answer: int, end: str, expected: float):
    frame = pl.DataFrame({survey.COUNTRY: ["DEU", "DEU"], survey.WEIGHT: [1.0, 2.5], "Q1": [answer, answer]})
    humans = survey.human_values(frame, questions(("Q1", 1, 4, end)), {"de": "DEU"}, "x", PATH)
    row = humans.row(0, named=True)
    assert row["weighted_mean"] == pytest.approx(answer)
    assert row["human_score"] == pytest.approx(expected)
    assert row["human_choice"] == ("A" if expected > 0 else "B")


def test_human_choice_is_the_sign_of_the_score():
    frame = respondents()
    humans = survey.human_values(frame, QUESTIONS, {"de": "DEU", "tr": "TUR"}, "x", PATH)
    assert humans.height == 4
    for row in humans.iter_rows(named=True):
        assert -1.0 <= row["human_score"] <= 1.0
        assert row["human_choice"] == ("A" if row["human_score"] > 0 else "B")


def test_answers_of_zero_weight_do_not_count():
    frame = pl.DataFrame({survey.COUNTRY: ["DEU", "DEU"], survey.WEIGHT: [1.0, 0.0], "Q1": [1, 4]})
    row = survey.human_values(frame, questions(("Q1", 1, 4, "low")), {"de": "DEU"}, "x", PATH).row(0, named=True)
    assert row["weighted_mean"] == pytest.approx(1.0)
    assert row["n_respondents"] == 1


@pytest.mark.parametrize("bad", [5, 0])
def test_answer_outside_scale_names_the_line(bad: int):
    frame = respondents().with_columns(pl.Series("Q1", [1, 2, bad, 4, 4, 3, 1]))
    with pytest.raises(InputError) as error:
        survey.human_values(frame, QUESTIONS, {"de": "DEU", "tr": "TUR"}, "x", PATH)
    # Row 3 of the table is line 4 of the file (line 1 is the header).
    message = str(error.value)
    assert f"{PATH}, line 4: Q1 = {bad}" in message
    assert "1..4" in message


def test_answer_outside_scale_line_is_the_file_line(tmp_path: Path):
    path = tmp_path / "wvs.csv"
    path.write_text(
        "B_COUNTRY_ALPHA,W_WEIGHT,Q1,Q49\n"
        "DEU,1.0,1,10\n"
        "TUR,1.0,2,-1\n"
        "DEU,1.0,2,11\n"
        "DEU,1.0,3,4\n"
    )
    frame = survey.read_respondents(path, ["Q1", "Q49"])
    with pytest.raises(InputError, match=r"line 4: Q49 = 11 is outside its scale 1..10"):
        survey.human_values(frame, QUESTIONS, {"de": "DEU"}, "x", path)


def test_absent_country_is_named():
    with pytest.raises(InputError) as error:
        survey.human_values(respondents(), QUESTIONS, {"de": "DEU", "el": "GRC"}, "x", PATH)
    message = str(error.value)
    assert "GRC" in message
    assert "DEU" not in message
    assert str(PATH) in message


def test_read_respondents_selects_needed_columns(tmp_path: Path):
    path = tmp_path / "wvs.csv"
    respondents().with_columns(Q2=pl.lit(3), extra=pl.lit("x")).write_csv(path)
    frame = survey.read_respondents(path, ["Q1", "Q49"])
    assert frame.columns == [survey.COUNTRY, survey.WEIGHT, "Q1", "Q49"]
    assert frame.height == 7
    assert frame["Q1"].to_list() == [1, 2, -2, 4, 4, 3, 1]


def test_read_respondents_reads_tsv_and_parquet(tmp_path: Path):
    respondents().write_csv(tmp_path / "wvs.tsv", separator="\t")
    respondents().write_parquet(tmp_path / "wvs.parquet")
    for name in ["wvs.tsv", "wvs.parquet"]:
        frame = survey.read_respondents(tmp_path / name, ["Q49"])
        assert frame["Q49"].to_list() == [10, -1, 4, 7, 1, -4, 10]


@pytest.mark.parametrize("column", [survey.WEIGHT, survey.COUNTRY, "Q49"])
def test_read_respondents_names_missing_column(tmp_path: Path, column: str):
    path = tmp_path / "wvs.csv"
    respondents().drop(column).write_csv(path)
    with pytest.raises(InputError) as error:
        survey.read_respondents(path, ["Q1", "Q49"])
    message = str(error.value)
    assert str(path) in message
    assert repr(column) in message
    assert "Q1'" not in message


def test_read_respondents_names_non_numeric_value(tmp_path: Path):
    path = tmp_path / "wvs.csv"
    path.write_text("B_COUNTRY_ALPHA,W_WEIGHT,Q1\nDEU,1.0,1\nDEU,1.0,2\nDEU,1.0,often\n")
    with pytest.raises(InputError, match=r"column Q1 is not numeric \(first bad value on line 4\)"):
        survey.read_respondents(path, ["Q1"])


def test_read_respondents_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist"):
        survey.read_respondents(tmp_path / "absent.csv", ["Q1"])


# --- synthetic stand-in -------------------------------------------------------------------------

SHIPPED_QUESTIONS = probes.read_questions(QUESTIONS_FILE)


def test_synthetic_respondents_are_deterministic_for_a_seed():
    first = survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_QUESTIONS, 60, seed=3)
    again = survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_QUESTIONS, 60, seed=3)
    other = survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_QUESTIONS, 60, seed=4)
    assert first.equals(again)
    assert not first.equals(other)
    assert first.shape == other.shape


def test_synthetic_respondents_have_the_wvs7_layout():
    qids = SHIPPED_QUESTIONS["question_id"].to_list()
    frame = survey.synthetic_respondents(["DEU", "TUR", "BGD"], SHIPPED_QUESTIONS, 80, seed=1)
    assert frame.columns == ["B_COUNTRY_ALPHA", "W_WEIGHT", *qids]
    assert frame.height == 240
    assert dict(frame.group_by(survey.COUNTRY).len().iter_rows()) == {"DEU": 80, "TUR": 80, "BGD": 80}
    assert frame[survey.WEIGHT].min() > 0
    assert frame[survey.WEIGHT].n_unique() > 1
    negatives = 0
    for question in SHIPPED_QUESTIONS.iter_rows(named=True):
        answers = frame[question["question_id"]]
        assert answers.dtype.is_integer()
        valid = answers.filter(answers >= 0)
        assert valid.min() >= question["scale_min"]
        assert valid.max() <= question["scale_max"]
        missing = answers.filter(answers < 0)
        assert set(missing.to_list()) <= set(survey.MISSING_CODES)
        negatives += missing.len()
    assert negatives > 0


def test_synthetic_respondents_feed_human_values():
    frame = survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_QUESTIONS, 50, seed=2)
    humans = survey.human_values(frame, SHIPPED_QUESTIONS, {"de": "DEU", "tr": "TUR"}, "synthetic", PATH)
    assert humans.height == 2 * 27
    assert humans["human_score"].is_between(-1, 1).all()
    assert (humans["n_respondents"] <= 50).all()
    assert (humans["n_respondents"] > 30).all()  # a few answers are missing codes


def test_survey_label():
    assert "synthetic" in survey.survey_label(Path("x/wvs.csv"), True)
    assert "wvs.csv" in survey.survey_label(Path("x/wvs.csv"), True)
    assert "synthetic" not in survey.survey_label(Path("x/wvs.csv"), False)


def test_synthetic_survey_then_human_values_scripts(tmp_path: Path):
    respondents_csv = tmp_path / "survey" / "synthetic.csv"
    synthetic = run_script(
        "synthetic_survey", tmp_path / "synthetic.log",
        input={"questions": QUESTIONS_FILE}, output=[respondents_csv],
        params={"countries": ["DEU", "TUR"], "synthetic": SyntheticSurvey(respondents_per_country=40, seed=5).params()},
    )  # fmt: skip
    assert synthetic.status == 0, synthetic.log
    frame = pl.read_csv(respondents_csv)
    assert frame.columns[:2] == ["B_COUNTRY_ALPHA", "W_WEIGHT"]
    assert frame.height == 80
    # The file written is the generator's output, unchanged.
    assert frame.equals(survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_QUESTIONS, 40, 5), null_equal=True)

    out = tmp_path / "human_values.parquet"
    humans_run = run_script(
        "human_values", tmp_path / "humans.log",
        input={"survey": [respondents_csv], "questions": QUESTIONS_FILE}, output=[out],
        params={"survey": str(respondents_csv), "countries": {"de": "DEU", "tr": "TUR"}, "synthetic": True},
    )  # fmt: skip
    assert humans_run.status == 0, humans_run.log
    humans = pl.read_parquet(out)
    assert humans.height == 54
    assert set(humans["probe_lang"]) == {"de", "tr"}
    labels = set(humans["survey_data"])
    assert len(labels) == 1
    assert "synthetic" in labels.pop()


def test_human_values_script_with_an_absent_country_fails_naming_it(tmp_path: Path):
    path = tmp_path / "synthetic.csv"
    survey.synthetic_respondents(["DEU"], SHIPPED_QUESTIONS, 5, 1).write_csv(path)
    result = run_script(
        "human_values", tmp_path / "humans.log",
        input={"survey": [path], "questions": QUESTIONS_FILE}, output=[tmp_path / "h.parquet"],
        params={"survey": str(path), "countries": {"el": "GRC"}, "synthetic": True},
    )  # fmt: skip
    assert result.status == 2
    assert "GRC" in result.log and "Traceback" not in result.log
    assert not (tmp_path / "h.parquet").exists()
