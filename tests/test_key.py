"""The probe key (valuetrace.key): its rows checked one by one, and human values per kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from valuetrace import key
from valuetrace.errors import InputError

REPO = Path(__file__).resolve().parent.parent
HEADER = "\t".join(key.KEY_COLUMNS)
GOOD = [
    "Q1\tQ1\ts\tImportance of family\tordinal\t1 2 3 4\tVery important\tNot at all important\tlow\t\tnote",
    "Q106a\tQ106\ts\tIncentives\tordinal\t1 2 3 4 5 6 7 8 9 10\tequal\tincentives\thigh\t\tnote",
    "Q130b\tQ130\ts\tJobs available\tcategory\t1 2 3 4\tanyone\tprohibit\t2\t\tnote",
]


def write_key(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "key.tsv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def test_shipped_keys_are_valid_and_cover_every_published_probe_id():
    wvs = key.read_key(REPO / "config" / "probes" / "wvs7_key.tsv")
    assert wvs.height >= 272 and set(wvs["kind"]) <= {"ordinal", "binary", "category"}
    for probe in ("Q1", "Q56", "Q106a", "Q106b", "Q130a", "Q130d", "Q152a", "Q173b", "Q259"):
        assert probe in set(wvs["probe_id"])
    assert len(key.read_key(REPO / "config" / "probes" / "hofstede_key.tsv")) == 24
    excluded = key.read_exclusions(REPO / "config" / "probes" / "arora_excluded.tsv")
    assert {"Q18", "Q26"} <= set(excluded) and set(excluded) <= set(wvs["probe_id"])


@pytest.mark.parametrize(
    "row, message",
    [
        ("Q2\tQ2\ts\td\tlikert\t1 2 3\ta\tb\tlow\t\tn", "kind 'likert' is not one of ordinal, binary, category, excluded"),
        ("Q2\tQ2\ts\td\tcategory\t1 2 3\ta\tb\t5\t\tn", "option_a_stands_for '5' is not one of the category codes '1 2 3'"),
        ("Q2\tQ2\ts\td\tordinal\t1 2 3\ta\tb\tmiddle\t\tn", "it says which end option A stands for: low or high"),
        ("Q2\tQ2\ts\td\tordinal\t1 2 x\ta\tb\tlow\t\tn", "whole numbers"),
        ("Q2\tQ2\ts\td\tordinal\t-1 1 2\ta\tb\tlow\t\tn", "negative codes are missing values"),
        ("Q2\tQ2\ts\td\tbinary\t1 2 3\ta\tb\tlow\t\tn", "a binary item needs exactly 2 codes"),
        ("Q2\tQ2\ts\td\tordinal\t1 2 3\ta\tb\tlow\t3\tn", "listed both on the scale and in not_on_line"),
        ("Q2\tQ3\ts\td\tordinal\t1 2 3\ta\tb\tlow\t\tn", "question_id 'Q3' is not the survey variable of probe Q2"),
        ("Q2\tQ2\ts\td\texcluded\t\t\t\t\t\t", "an excluded probe needs its reason in note"),
        ("Q1\tQ1\ts\td\tordinal\t1 2 3 4\ta\tb\tlow\t\tn", "probe Q1 is already keyed on line 2"),
        ("Q106b\tQ106\ts\td\tordinal\t1 2 3 4 5\ta\tb\tlow\t\tn", "lists other answer codes for Q106 than probe Q106a"),
        ("Q2\tQ2\ts\td\tordinal\t1 2 3", "6 fields (11 expected"),
    ],
)
def test_a_bad_key_row_is_one_error_naming_file_line_and_problem(tmp_path, row, message):
    path = write_key(tmp_path, *GOOD, row)
    with pytest.raises(InputError) as error:
        key.read_key(path)
    assert str(error.value).startswith(f"{path}:5: ")
    assert message in str(error.value)


def test_a_key_without_its_header_or_rows_is_refused(tmp_path):
    (tmp_path / "bad.tsv").write_text("probe\tquestion\n", encoding="utf-8")
    with pytest.raises(InputError, match="header must be"):
        key.read_key(tmp_path / "bad.tsv")
    with pytest.raises(InputError, match="no probe is keyed"):
        key.read_key(write_key(tmp_path))
    with pytest.raises(InputError, match="no such key file"):
        key.read_key(tmp_path / "absent.tsv")


def item(kind: str, codes: tuple[int, ...], stands_for: str) -> key.Item:
    return key.Item("Q9", "Q9", kind, codes, stands_for)


def test_human_value_of_a_scale_is_the_mean_position_towards_option_a():
    # 1 Very important ... 4 Not at all important; half answer 1, half 2: position 1/6 of the way.
    shares = {1: 0.5, 2: 0.5}
    assert item("ordinal", (1, 2, 3, 4), "low").human_value(shares) == pytest.approx(1 - 2 * (0.5 / 3))
    assert item("ordinal", (1, 2, 3, 4), "high").human_value(shares) == pytest.approx(-(1 - 2 * (0.5 / 3)))
    assert item("binary", (1, 2), "low").human_value({1: 0.75, 2: 0.25}) == pytest.approx(0.5)


def test_a_middle_category_coded_out_of_order_sits_in_the_middle():
    # Q56: 1 Better off, 2 Worse off, 3 About the same -> the line is 1, 3, 2.
    q56 = item("ordinal", (1, 3, 2), "low")
    assert q56.human_value({3: 1.0}) == pytest.approx(0.0)
    assert q56.human_value({1: 1.0}) == pytest.approx(1.0) and q56.human_value({2: 1.0}) == pytest.approx(-1.0)


def test_human_value_of_a_category_is_its_share_mapped_to_minus_one_one():
    q130b = item("category", (1, 2, 3, 4), "2")
    assert q130b.human_value({1: 0.1, 2: 0.6, 3: 0.2, 4: 0.1}) == pytest.approx(0.2)
    assert q130b.human_value({1: 1.0}) == pytest.approx(-1.0)


def test_exclusion_list_rows_are_checked(tmp_path):
    path = tmp_path / "excluded.tsv"
    path.write_text("probe_id\treason\nQ18\toption B does not answer\nQ19\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"{path}:3: expected a probe id and a reason"):
        key.read_exclusions(path)
