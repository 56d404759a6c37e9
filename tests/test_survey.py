"""Human values (valuetrace.survey) from a WVS-7 respondent table and the key, and the synthetic stand-in."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyreadstat
import pytest

from conftest import compiled_probes
from rule_scripts import run_script
from valuetrace import key, survey
from valuetrace.errors import InputError
from valuetrace.key import Item
from valuetrace.settings import SyntheticSurvey

PATH = Path("respondents.csv")  # only named in messages

# Q1: scale 1..4, option A = low end ("important"); Q49: scale 1..10, option A = high end;
# Q56: 1 better off, 2 worse off, 3 about the same (out of order); Q130b: one category of four;
# Q94: 1 inactive, 2 active member, 0 "don't belong" off the line.
Q1 = Item("Q1", "Q1", "ordinal", (1, 2, 3, 4), "low")
Q49 = Item("Q49", "Q49", "ordinal", tuple(range(1, 11)), "high")
Q56 = Item("Q56", "Q56", "ordinal", (1, 3, 2), "low")
Q130B = Item("Q130b", "Q130", "category", (1, 2, 3, 4), "2")
Q94 = Item("Q94", "Q94", "binary", (1, 2), "high", (0,))
ITEMS = [Q1, Q49]
WVS7 = {"country": survey.COUNTRY, "weight": survey.WEIGHT}  # the WVS-7 file's own column names


def respondents() -> pl.DataFrame:
    return pl.DataFrame(
        {
            survey.COUNTRY: ["DEU", "DEU", "DEU", "DEU", "TUR", "TUR", "KOR"],
            survey.WEIGHT: [1.0, 2.0, 0.5, 1.0, 1.0, 3.0, 1.0],
            "Q1": [1, 2, -2, 4, 4, 3, 1],
            "Q49": [10, -1, 4, 7, 1, -4, 10],
            "Q56": [1, 3, 3, 2, -1, 3, 1],
            "Q130": [2, 2, 1, 4, 3, -2, 2],
            "Q94": [0, 2, 1, 2, 0, 0, 1],
        }
    )


def test_human_values_of_scales_by_hand():
    humans = survey.human_values(respondents(), ITEMS, {"de": "DEU", "tr": "TUR"}, "test data", PATH)
    assert humans.columns == [
        "probe_lang", "country", "probe_id", "question_id", "kind", "n_respondents",
        "human_score", "human_choice", "survey_data",
    ]  # fmt: skip
    got = {(r["probe_lang"], r["probe_id"]): r for r in humans.iter_rows(named=True)}
    assert set(got) == {("de", "Q1"), ("de", "Q49"), ("tr", "Q1"), ("tr", "Q49")}  # KOR is not asked for

    # DEU Q1: answers 1 (w 1), 2 (w 2), -2 (missing), 4 (w 1): mean position (0*1 + 1*2 + 3*1) / 4 = 5/4
    # of 3 steps; towards the high end 2 * (5/4) / 3 - 1 = -1/6; A is the low end: +1/6.
    # (Unweighted, the mean position would be 4/3 and the value 1/9.)
    row = got[("de", "Q1")]
    assert row["country"] == "DEU" and row["kind"] == "ordinal"
    assert row["n_respondents"] == 3
    assert row["human_score"] == pytest.approx(1 / 6)
    assert row["human_choice"] == "A"

    # DEU Q49: 10 (w 1), -1 (missing), 4 (w 0.5), 7 (w 1): mean position (9 + 1.5 + 6) / 2.5 = 6.6 of 9;
    # A is the high end: 2 * 6.6 / 9 - 1.
    row = got[("de", "Q49")]
    assert row["n_respondents"] == 3
    assert row["human_score"] == pytest.approx(2 * 6.6 / 9 - 1)

    # TUR Q1: 4 (w 1), 3 (w 3): position (3 + 6) / 4 = 2.25 of 3; -(2 * 2.25 / 3 - 1) = -0.5.
    assert got[("tr", "Q1")]["human_score"] == pytest.approx(-0.5)
    assert got[("tr", "Q1")]["human_choice"] == "B"

    # TUR Q49: 1 (w 1), -4 (missing): the low end, so -1 when A is the high end.
    assert got[("tr", "Q49")]["n_respondents"] == 1
    assert got[("tr", "Q49")]["human_score"] == pytest.approx(-1.0)
    assert set(humans["survey_data"]) == {"test data"}


def test_a_middle_category_coded_out_of_order_counts_as_the_middle():
    # DEU Q56: 1 better (w 1), 3 same (w 2 + 0.5), 2 worse (w 1) on the line 1, 3, 2: positions 0, 1, 1, 2:
    # mean (0 + 2.5 + 2) / 4.5 = 1 -> exactly the middle, value 0 (and so choice B).
    row = survey.human_values(respondents(), [Q56], {"de": "DEU"}, "x", PATH).row(0, named=True)
    assert row["human_score"] == pytest.approx(0.0) and row["human_choice"] == "B"
    # TUR Q56: only "about the same" (3): the middle again; taking 3 as a scale value would give -1.
    row = survey.human_values(respondents(), [Q56], {"tr": "TUR"}, "x", PATH).row(0, named=True)
    assert row["human_score"] == pytest.approx(0.0)


def test_human_value_of_a_category_is_the_weighted_share_choosing_it():
    # DEU Q130: 2 (w 1), 2 (w 2), 1 (w 0.5), 4 (w 1): share of category 2 = 3 / 4.5; 2 * 2/3 - 1 = 1/3.
    row = survey.human_values(respondents(), [Q130B], {"de": "DEU"}, "x", PATH).row(0, named=True)
    assert row["kind"] == "category"
    assert row["human_score"] == pytest.approx(1 / 3)
    assert row["human_choice"] == "A"
    # TUR Q130: 3 (w 1), -2 (missing): nobody chose category 2.
    row = survey.human_values(respondents(), [Q130B], {"tr": "TUR"}, "x", PATH).row(0, named=True)
    assert row["human_score"] == pytest.approx(-1.0)


def test_codes_off_the_line_are_missing():
    # DEU Q94: 0 (don't belong, off the line), 2 active (w 2), 1 inactive (w 0.5), 2 active (w 1):
    # share at the high end (active) 3 / 3.5; value 2 * 3/3.5 - 1 = 5/7.
    row = survey.human_values(respondents(), [Q94], {"de": "DEU"}, "x", PATH).row(0, named=True)
    assert row["n_respondents"] == 3
    assert row["human_score"] == pytest.approx(5 / 7)
    # TUR Q94: only codes off the line: no valid answer, so no human value (a warning).
    assert survey.human_values(respondents(), [Q94], {"tr": "TUR"}, "x", PATH).height == 0


@pytest.mark.parametrize(
    "answer, end, expected",
    [(1, "low", 1.0), (1, "high", -1.0), (4, "low", -1.0), (4, "high", 1.0), (2, "high", -1 / 3), (3, "low", -1 / 3)],
)
def test_mapping_to_minus_one_one_follows_polarity(answer: int, end: str, expected: float):
    frame = pl.DataFrame({survey.COUNTRY: ["DEU", "DEU"], survey.WEIGHT: [1.0, 2.5], "Q1": [answer, answer]})
    humans = survey.human_values(frame, [Item("Q1", "Q1", "ordinal", (1, 2, 3, 4), end)], {"de": "DEU"}, "x", PATH)
    row = humans.row(0, named=True)
    assert row["human_score"] == pytest.approx(expected)
    assert row["human_choice"] == ("A" if expected > 0 else "B")


def test_human_choice_is_the_sign_of_the_score():
    frame = respondents()
    humans = survey.human_values(frame, ITEMS, {"de": "DEU", "tr": "TUR"}, "x", PATH)
    assert humans.height == 4
    for row in humans.iter_rows(named=True):
        assert -1.0 <= row["human_score"] <= 1.0
        assert row["human_choice"] == ("A" if row["human_score"] > 0 else "B")


def test_answers_of_zero_weight_do_not_count():
    frame = pl.DataFrame({survey.COUNTRY: ["DEU", "DEU"], survey.WEIGHT: [1.0, 0.0], "Q1": [1, 4]})
    row = survey.human_values(frame, [Q1], {"de": "DEU"}, "x", PATH).row(0, named=True)
    assert row["human_score"] == pytest.approx(1.0)
    assert row["n_respondents"] == 1


@pytest.mark.parametrize("bad", [5, 0])
def test_answer_outside_scale_names_the_line(bad: int):
    frame = respondents().with_columns(pl.Series("Q1", [1, 2, bad, 4, 4, 3, 1]))
    with pytest.raises(InputError) as error:
        survey.human_values(frame, ITEMS, {"de": "DEU", "tr": "TUR"}, "x", PATH)
    # Row 3 of the table is line 4 of the file (line 1 is the header).
    message = str(error.value)
    assert f"{PATH}, line 4: Q1 = {bad}" in message
    assert "answer codes 1 2 3 4" in message


def test_answer_outside_scale_line_is_the_file_line(tmp_path: Path):
    path = tmp_path / "wvs.csv"
    path.write_text(
        "B_COUNTRY_ALPHA,W_WEIGHT,Q1,Q49\n"
        "DEU,1.0,1,10\n"
        "TUR,1.0,2,-1\n"
        "DEU,1.0,2,11\n"
        "DEU,1.0,3,4\n"
    )
    frame = survey.read_respondents(path, ["Q1", "Q49"], WVS7)
    with pytest.raises(InputError, match=r"line 4: Q49 = 11 is not one of its answer codes 1 2 3 4 5 6 7 8 9 10"):
        survey.human_values(frame, ITEMS, {"de": "DEU"}, "x", path)


def test_absent_country_is_named():
    with pytest.raises(InputError) as error:
        survey.human_values(respondents(), ITEMS, {"de": "DEU", "el": "GRC"}, "x", PATH)
    message = str(error.value)
    assert "GRC" in message
    assert "DEU" not in message
    assert str(PATH) in message


def test_a_country_whose_weights_are_all_zero_is_one_error_naming_it():
    frame = respondents().with_columns(
        pl.when(pl.col(survey.COUNTRY) == "TUR").then(0.0).otherwise(pl.col(survey.WEIGHT)).alias(survey.WEIGHT)
    )
    with pytest.raises(InputError, match=r"every respondent of TUR \(languages \[.tr.\]\) has weight 0 or none \(config key survey.columns.weight\)"):
        survey.human_values(frame, ITEMS, {"de": "DEU", "tr": "TUR"}, "x", PATH)


def test_coverage_tables_the_valid_answers_of_each_country_and_question():
    frame = respondents().with_columns(pl.when(pl.col(survey.COUNTRY) == "TUR").then(-1).otherwise(pl.col("Q49")).alias("Q49"))
    table = survey.coverage(frame, ITEMS, {"de": "DEU", "tr": "TUR"})
    rows = {(r["probe_lang"], r["question_id"]): r for r in table.iter_rows(named=True)}
    assert (rows["de", "Q1"]["n_respondents"], rows["de", "Q1"]["n_valid"]) == (4, 3)
    assert rows["de", "Q1"]["weight_valid"] == pytest.approx(4.0)
    assert rows["tr", "Q49"]["n_valid"] == 0  # no valid answer: no human value for tr's Q49 ...
    humans = survey.human_values(frame, ITEMS, {"de": "DEU", "tr": "TUR"}, "x", PATH)
    assert ("tr", "Q49") not in set(zip(humans["probe_lang"], humans["probe_id"]))  # ... as the table says


def test_a_semicolon_separated_survey_csv_is_read(tmp_path: Path):
    path = tmp_path / "wvs.csv"
    respondents().write_csv(path, separator=";")
    assert survey.read_respondents(path, ["Q1"], WVS7)["Q1"].to_list() == [1, 2, -2, 4, 4, 3, 1]


def test_read_respondents_selects_needed_columns(tmp_path: Path):
    path = tmp_path / "wvs.csv"
    respondents().with_columns(Q2=pl.lit(3), extra=pl.lit("x")).write_csv(path)
    frame = survey.read_respondents(path, ["Q1", "Q49"], WVS7)
    assert frame.columns == [survey.COUNTRY, survey.WEIGHT, "Q1", "Q49"]
    assert frame.height == 7
    assert frame["Q1"].to_list() == [1, 2, -2, 4, 4, 3, 1]


def test_read_respondents_reads_tsv_and_parquet(tmp_path: Path):
    respondents().write_csv(tmp_path / "wvs.tsv", separator="\t")
    respondents().write_parquet(tmp_path / "wvs.parquet")
    for name in ["wvs.tsv", "wvs.parquet"]:
        frame = survey.read_respondents(tmp_path / name, ["Q49"], WVS7)
        assert frame["Q49"].to_list() == [10, -1, 4, 7, 1, -4, 10]


@pytest.mark.parametrize("column", [survey.WEIGHT, survey.COUNTRY, "Q49"])
def test_read_respondents_names_missing_column(tmp_path: Path, column: str):
    path = tmp_path / "wvs.csv"
    respondents().drop(column).write_csv(path)
    with pytest.raises(InputError) as error:
        survey.read_respondents(path, ["Q1", "Q49"], WVS7)
    message = str(error.value)
    assert str(path) in message
    assert repr(column) in message
    assert "Q1'" not in message


def test_read_respondents_names_non_numeric_value(tmp_path: Path):
    path = tmp_path / "wvs.csv"
    path.write_text("B_COUNTRY_ALPHA,W_WEIGHT,Q1\nDEU,1.0,1\nDEU,1.0,2\nDEU,1.0,often\n")
    with pytest.raises(InputError, match=r"column Q1 is not numeric \(first bad value on line 4\)"):
        survey.read_respondents(path, ["Q1"], WVS7)


def write_survey(frame: pl.DataFrame, path: Path) -> Path:
    """``frame`` in the format its suffix names, as WVS distributes the file: SPSS and Stata with
    value labels, SPSS with the negative codes declared missing."""
    questions = [c for c in frame.columns if c.startswith("Q")]
    labels = {q: {-1: "Don't know", -2: "No answer", 1: "first", 2: "second"} for q in questions}
    if path.suffix == ".sav":
        missing = {q: [{"lo": -5, "hi": -1}] for q in questions}
        pyreadstat.write_sav(frame.to_pandas(), str(path), variable_value_labels=labels, missing_ranges=missing)
    elif path.suffix == ".dta":
        pyreadstat.write_dta(frame.to_pandas(), str(path), variable_value_labels=labels)
    elif path.suffix == ".parquet":
        frame.write_parquet(path)
    else:
        frame.write_csv(path, separator={".csv": ",", ".tsv": "\t", ".ssv": ";"}[path.suffix])
    return path


@pytest.mark.parametrize("name", ["wvs.tsv", "wvs.ssv", "wvs.parquet", "wvs.sav", "wvs.dta", "sav-named.csv"])
def test_every_format_gives_the_human_values_of_the_csv(tmp_path: Path, name: str):
    items, countries = [Q1, Q49, Q56, Q130B, Q94], {"de": "DEU", "tr": "TUR", "ko": "KOR"}
    expected = survey.human_values(
        survey.read_respondents(write_survey(respondents(), tmp_path / "wvs.csv"), [i.question_id for i in items], WVS7),
        items, countries, "x", PATH,
    )  # fmt: skip
    path = tmp_path / name
    if name == "sav-named.csv":  # the format is read from the content, not the name
        path = write_survey(respondents(), tmp_path / "wvs.sav").rename(path)
    frame = survey.read_respondents(write_survey(respondents(), path) if not path.exists() else path, [i.question_id for i in items], WVS7)
    assert frame.height == 7
    assert survey.human_values(frame, items, countries, "x", PATH).equals(expected)


def test_declared_missing_codes_are_missing_and_other_columns_are_mapped(tmp_path: Path):
    """A longitudinal-style .sav: numeric country S003 with value labels, weight S017, and 99
    ("no answer") declared missing, so it is no answer code out of range."""
    frame = respondents().select(
        S003=pl.col(survey.COUNTRY).replace_strict({"DEU": 276, "TUR": 792, "KOR": 410}).cast(pl.Float64),
        S017=pl.col(survey.WEIGHT),
        Q1=pl.col("Q1").replace(-2, 99).cast(pl.Float64),
    )
    path = tmp_path / "longitudinal.sav"
    pyreadstat.write_sav(
        frame.to_pandas(), str(path),
        variable_value_labels={"S003": {276: "Germany", 792: "Turkey", 410: "South Korea"}},
        missing_ranges={"Q1": [99]},
    )  # fmt: skip
    columns = {"country": "S003", "weight": "S017"}
    by_label = survey.read_respondents(path, ["Q1"], columns, {"de": "Germany", "tr": "792"})
    assert by_label[survey.COUNTRY].to_list() == ["Germany"] * 4 + ["792"] * 2 + ["410"]
    assert by_label["Q1"].to_list() == [1, 2, None, 4, 4, 3, 1]
    humans = survey.human_values(by_label, [Q1], {"de": "Germany", "tr": "792"}, "x", path)
    expected = survey.human_values(respondents(), [Q1], {"de": "DEU", "tr": "TUR"}, "x", path)
    assert humans["human_score"].to_list() == expected["human_score"].to_list()
    with pytest.raises(InputError, match=r"longitudinal.sav: no country column 'B_COUNTRY_ALPHA' \(config key survey.columns.country\); its first columns are S003, S017, Q1"):
        survey.read_respondents(path, ["Q1"], WVS7)


def test_decimal_commas_of_a_semicolon_separated_file_are_read(tmp_path: Path):
    path = tmp_path / "wvs.csv"
    path.write_text("B_COUNTRY_ALPHA;W_WEIGHT;Q1\nDEU;1,25;1\nDEU;0,5;2\n")
    assert survey.read_respondents(path, ["Q1"], WVS7)[survey.WEIGHT].to_list() == [1.25, 0.5]


def test_a_fractional_answer_code_names_its_line(tmp_path: Path):
    path = write_survey(respondents().with_columns(pl.col("Q1").cast(pl.Float64).replace(4.0, 3.5)), tmp_path / "wvs.parquet")
    with pytest.raises(InputError, match=r"column Q1 is not a whole number \(an answer code\) \(first bad value on line 5\)"):
        survey.read_respondents(path, ["Q1"], WVS7)


def test_read_respondents_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist"):
        survey.read_respondents(tmp_path / "absent.csv", ["Q1"], WVS7)


# --- synthetic stand-in -------------------------------------------------------------------------

SHIPPED_ITEMS = key.items(compiled_probes(("de",)))


def test_synthetic_respondents_are_deterministic_for_a_seed():
    first = survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_ITEMS, 60, seed=3)
    again = survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_ITEMS, 60, seed=3)
    other = survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_ITEMS, 60, seed=4)
    assert first.equals(again)
    assert not first.equals(other)
    assert first.shape == other.shape


def test_synthetic_respondents_have_the_wvs7_layout():
    qids = list(dict.fromkeys(item.question_id for item in SHIPPED_ITEMS))
    frame = survey.synthetic_respondents(["DEU", "TUR", "BGD"], SHIPPED_ITEMS, 80, seed=1)
    assert frame.columns == ["B_COUNTRY_ALPHA", "W_WEIGHT", *qids]
    assert frame.height == 240
    assert dict(frame.group_by(survey.COUNTRY).len().iter_rows()) == {"DEU": 80, "TUR": 80, "BGD": 80}
    assert frame[survey.WEIGHT].min() > 0
    assert frame[survey.WEIGHT].n_unique() > 1
    negatives = 0
    for item in SHIPPED_ITEMS:
        answers = frame[item.question_id]
        assert answers.dtype.is_integer()
        assert set(answers.filter(answers >= 0).to_list()) <= set(item.codes) | set(item.not_on_line)
        missing = answers.filter(answers < 0)
        assert set(missing.to_list()) <= set(survey.MISSING_CODES)
        negatives += missing.len()
    assert negatives > 0


def test_synthetic_respondents_feed_human_values():
    frame = survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_ITEMS, 50, seed=2)
    humans = survey.human_values(frame, SHIPPED_ITEMS, {"de": "DEU", "tr": "TUR"}, "synthetic", PATH)
    assert humans.height == 2 * 27
    assert humans["human_score"].is_between(-1, 1).all()
    assert (humans["n_respondents"] <= 50).all()
    assert (humans["n_respondents"] > 30).all()  # a few answers are missing codes


def test_survey_label():
    assert "synthetic" in survey.survey_label(Path("x/wvs.csv"), True)
    assert "wvs.csv" in survey.survey_label(Path("x/wvs.csv"), True)
    assert "synthetic" not in survey.survey_label(Path("x/wvs.csv"), False)


def test_synthetic_survey_then_human_values_scripts(tmp_path: Path):
    probes_table = tmp_path / "probes.parquet"
    compiled_probes(("de", "tr")).write_parquet(probes_table)
    respondents_csv = tmp_path / "survey" / "synthetic.csv"
    synthetic = run_script(
        "synthetic_survey", tmp_path / "synthetic.log",
        input={"probes": probes_table}, output=[respondents_csv],
        params={"countries": ["DEU", "TUR"], "synthetic": SyntheticSurvey(respondents_per_country=40, seed=5).params()},
    )  # fmt: skip
    assert synthetic.status == 0, synthetic.log
    frame = pl.read_csv(respondents_csv)
    assert frame.columns[:2] == ["B_COUNTRY_ALPHA", "W_WEIGHT"]
    assert frame.height == 80
    # The file written is the generator's output, unchanged.
    assert frame.equals(survey.synthetic_respondents(["DEU", "TUR"], SHIPPED_ITEMS, 40, 5), null_equal=True)

    out = tmp_path / "human_values.parquet"
    humans_run = run_script(
        "human_values", tmp_path / "humans.log",
        input={"survey": [respondents_csv], "probes": probes_table},
        output={"humans": out, "coverage": tmp_path / "coverage.parquet"},
        params={"survey": str(respondents_csv), "columns": WVS7, "countries": {"de": "DEU", "tr": "TUR"}, "synthetic": True},
    )  # fmt: skip
    assert humans_run.status == 0, humans_run.log
    coverage = pl.read_parquet(tmp_path / "coverage.parquet")
    assert coverage.height == 2 * 27 and (coverage["n_respondents"] == 40).all() and (coverage["n_valid"] > 30).all()
    humans = pl.read_parquet(out)
    assert humans.height == 54
    assert set(humans["probe_lang"]) == {"de", "tr"}
    labels = set(humans["survey_data"])
    assert len(labels) == 1
    assert "synthetic" in labels.pop()


def test_human_values_script_with_an_absent_country_fails_naming_it(tmp_path: Path):
    probes_table = tmp_path / "probes.parquet"
    compiled_probes(("de",)).write_parquet(probes_table)
    path = tmp_path / "synthetic.csv"
    survey.synthetic_respondents(["DEU"], SHIPPED_ITEMS, 5, 1).write_csv(path)
    result = run_script(
        "human_values", tmp_path / "humans.log",
        input={"survey": [path], "probes": probes_table},
        output={"humans": tmp_path / "h.parquet", "coverage": tmp_path / "c.parquet"},
        params={"survey": str(path), "columns": WVS7, "countries": {"el": "GRC"}, "synthetic": True},
    )  # fmt: skip
    assert result.status == 2
    assert "GRC" in result.log and "Traceback" not in result.log
    assert not (tmp_path / "h.parquet").exists()
