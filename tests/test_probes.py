"""Probe sets (valuetrace.probes): the shipped own-format set, its checks, the Arora et al. (2023)
importer, and compiling probes against their key."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from valuetrace import probes
from valuetrace.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "config" / "probes" / "demo"
KEY = ROOT / "config" / "probes" / "wvs7_key.tsv"
EXCLUSIONS = ROOT / "config" / "probes" / "arora_excluded.tsv"
ARORA = Path(__file__).resolve().parent / "fixtures" / "arora"
LANGUAGES = ["en", "bn", "de", "el", "fa", "id", "ko", "ms", "ro", "sr", "tl", "tr", "ur", "vi"]
OWN_HEADER = "probe_id\tsentence\toption_a\toption_b\n"


@pytest.fixture
def shipped_copy(tmp_path: Path) -> Path:
    """A writable copy of the shipped probe set."""
    return Path(shutil.copytree(SHIPPED, tmp_path / "probes"))


def append_row(path: Path, *cells: str) -> int:
    """Append one tab-separated row and return its line number in the file."""
    text = path.read_text(encoding="utf-8")
    assert text.endswith("\n")
    text += "\t".join(cells) + "\n"
    path.write_text(text, encoding="utf-8")
    return text.count("\n")


def write_tsv(path: Path, rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join("\t".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


# --- the shipped set (own format) ----------------------------------------------------------


def test_shipped_set_compiles_for_all_languages():
    table, skipped = probes.compile_probes(SHIPPED, KEY, LANGUAGES)
    assert skipped == []
    assert table.height == 14 * 27
    counts = dict(table.group_by("probe_lang").len().iter_rows())
    assert counts == {lang: 27 for lang in LANGUAGES}
    # Every probe has exactly one mask and two different options.
    assert (table["sentence"].str.count_matches(r"\[MASK\]", literal=False) == 1).all()
    assert (table["option_a"] != table["option_b"]).all()
    # Every language covers the same 27 probes.
    probe_ids = set(table.filter(pl.col("probe_lang") == "en")["probe_id"])
    assert len(probe_ids) == 27
    for lang in LANGUAGES:
        assert set(table.filter(pl.col("probe_lang") == lang)["probe_id"]) == probe_ids


def test_shipped_set_files_have_no_skipped_rows():
    for lang in LANGUAGES:
        probe_file = probes.read_probe_file(SHIPPED / f"{lang}.tsv")
        assert probe_file.format == "valuetrace"
        assert probe_file.language == lang
        assert len(probe_file.rows) == 27
        assert probe_file.skipped == []


def test_shipped_set_check_reports_every_language():
    report, usable = probes.check(SHIPPED)
    assert usable
    for lang in LANGUAGES:
        assert f"{lang}: 27 usable probes, 0 rows skipped" in report
    assert "14 languages, 14 files, 378 usable probes" in report
    assert "skipped " not in report


def test_compile_joins_the_key():
    table, _ = probes.compile_probes(SHIPPED, KEY, ["de", "tr"])
    for column in ["probe_set", "section", "description", "kind", "codes", "option_a_stands_for", "not_on_line"]:
        assert column in table.columns
    assert table["option_a_stands_for"].null_count() == 0 and set(table["probe_set"]) == {"wvs"}
    de_q1 = table.filter((pl.col("probe_lang") == "de") & (pl.col("question_id") == "Q1")).row(0, named=True)
    assert de_q1["probe_id"] == "Q1"
    assert de_q1["sentence"] == "Die Familie ist in meinem Leben [MASK]."
    assert (de_q1["option_a"], de_q1["option_b"]) == ("wichtig", "unwichtig")
    assert (de_q1["kind"], de_q1["codes"], de_q1["option_a_stands_for"]) == ("ordinal", "1 2 3 4", "low")
    assert de_q1["source_line"] == 2
    assert de_q1["source_file"].endswith("de.tsv")
    tr_q49 = table.filter((pl.col("probe_lang") == "tr") & (pl.col("question_id") == "Q49")).row(0, named=True)
    assert (tr_q49["codes"], tr_q49["option_a_stands_for"]) == ("1 2 3 4 5 6 7 8 9 10", "high")
    # Only the requested languages.
    assert set(table["probe_lang"]) == {"de", "tr"}


# --- defective own-format rows ---------------------------------------------------------------

DEFECTS = {
    "no mask": (["Q1", "Die Familie ist in meinem Leben wichtig.", "wichtig", "unwichtig"], "no [MASK]"),
    "two masks": (["Q1", "Die [MASK] ist in meinem Leben [MASK].", "wichtig", "unwichtig"], "2 [MASK]"),
    "missing option B": (["Q1", "Die Familie ist in meinem Leben [MASK].", "wichtig"], "option B is missing"),
    "empty option B": (["Q1", "Die Familie ist in meinem Leben [MASK].", "wichtig", ""], "option B is missing"),
    "identical options": (["Q1", "Die Familie ist in meinem Leben [MASK].", "wichtig", "wichtig"], "the same"),
}


def _replace_first_row(path: Path, cells: list[str]) -> int:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = "\t".join(cells) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return 2


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_own_row_is_fatal_naming_file_and_line(shipped_copy: Path, defect: str):
    cells, reason = DEFECTS[defect]
    de = shipped_copy / "de.tsv"
    line = _replace_first_row(de, cells)
    with pytest.raises(InputError) as error:
        probes.compile_probes(shipped_copy, KEY, ["de"])
    message = str(error.value)
    assert f"{de}:{line}:" in message
    assert reason in message
    assert "skip_defective_rows" in message


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defective_own_row_is_skipped_on_request(shipped_copy: Path, defect: str):
    cells, reason = DEFECTS[defect]
    de = shipped_copy / "de.tsv"
    line = _replace_first_row(de, cells)
    table, skipped = probes.compile_probes(
        shipped_copy, KEY, ["de", "tr"], skip_defective_rows=True
    )
    assert len(skipped) == 1
    assert (skipped[0].path, skipped[0].line) == (de, line)
    assert reason in skipped[0].reason
    assert f"{de}:{line}: " in str(skipped[0])
    de_rows = table.filter(pl.col("probe_lang") == "de")
    assert de_rows.height == 26
    assert "Q1" not in set(de_rows["question_id"])
    assert table.filter(pl.col("probe_lang") == "tr").height == 27


def test_duplicate_probe_id_is_fatal_naming_both_lines(shipped_copy: Path):
    de = shipped_copy / "de.tsv"
    line = append_row(de, "Q1", "Meine Familie ist mir [MASK].", "wichtig", "egal")
    with pytest.raises(InputError) as error:
        probes.compile_probes(shipped_copy, KEY, ["de"])
    message = str(error.value)
    assert f"{de}:{line}:" in message
    assert "probe Q1 already has a row on line 2" in message


def test_duplicate_probe_id_is_skipped_on_request(shipped_copy: Path):
    de = shipped_copy / "de.tsv"
    line = append_row(de, "Q1", "Meine Familie ist mir [MASK].", "wichtig", "egal")
    table, skipped = probes.compile_probes(
        shipped_copy, KEY, ["de"], skip_defective_rows=True
    )
    assert [(row.path, row.line) for row in skipped] == [(de, line)]
    # The first probe of the question is kept, the duplicate is not.
    q1 = table.filter(pl.col("question_id") == "Q1")
    assert q1.height == 1
    assert q1["source_line"][0] == 2


def test_defects_in_unrequested_languages_are_ignored(shipped_copy: Path):
    _replace_first_row(shipped_copy / "el.tsv", ["Q1", "no mask here", "a", "b"])
    table, skipped = probes.compile_probes(shipped_copy, KEY, ["de"])
    assert table.height == 27
    assert skipped == []


def test_probe_missing_from_the_key_is_fatal_naming_line_and_probe(shipped_copy: Path):
    de = shipped_copy / "de.tsv"
    line = append_row(de, "Q999", "Das ist [MASK].", "gut", "schlecht")
    for skip in (False, True):
        with pytest.raises(InputError) as error:
            probes.compile_probes(shipped_copy, KEY, ["de"], skip_defective_rows=skip)
        message = str(error.value)
        assert f"{de}:{line}:" in message
        assert "Q999" in message and str(KEY) in message


def test_probe_the_key_excludes_is_skipped_with_the_reason(shipped_copy: Path, tmp_path: Path):
    key = tmp_path / "key.tsv"
    lines = KEY.read_text(encoding="utf-8").splitlines(keepends=True)
    key.write_text("".join(
        line if not line.startswith("Q4\t") else "\t".join(
            ["Q4", "Q4", "s", "d", "excluded", "", "", "", "", "", "no usable answer scale"]) + "\n"
        for line in lines
    ), encoding="utf-8")  # fmt: skip
    table, skipped = probes.compile_probes(shipped_copy, key, ["de"])
    assert "Q4" not in set(table["probe_id"]) and table.height == 26
    assert [row.reason for row in skipped] == ["excluded by the key: no usable answer scale"]


def test_missing_language_file_names_the_language(shipped_copy: Path):
    (shipped_copy / "ko.tsv").unlink()
    with pytest.raises(InputError) as error:
        probes.compile_probes(shipped_copy, KEY, ["de", "ko"])
    assert "'ko'" in str(error.value)
    assert "'de'" not in str(error.value)


def test_language_without_usable_probe_is_fatal(shipped_copy: Path):
    write_tsv(shipped_copy / "de.tsv", [OWN_HEADER.rstrip("\n").split("\t"), ["Q1", "kein Platzhalter", "a", "b"]])
    with pytest.raises(InputError, match="no usable probe for language 'de'"):
        probes.compile_probes(shipped_copy, KEY, ["de"], skip_defective_rows=True)


def test_own_file_with_wrong_header_is_an_error(tmp_path: Path):
    path = write_tsv(tmp_path / "de.tsv", [["question", "sentence", "a", "b"], ["Q1", "x [MASK]", "a", "b"]])
    with pytest.raises(InputError, match="header must be"):
        probes.read_own_file(path)


# --- language names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, code",
    [
        ("bn.tsv", "bn"),
        ("German.tsv", "de"),
        ("WVS_German.tsv", "de"),
        ("wvs-vietnamese-probes.tsv", "vi"),
        ("Farsi.tsv", "fa"),
        ("Filipino.tsv", "tl"),
        ("hofstede_ko.tsv", "ko"),
        ("fr.tsv", "fr"),
        ("fil.tsv", "fil"),
    ],
)
def test_language_of_file_names(name: str, code: str):
    assert probes.language_of(Path(name)) == code


def test_language_of_unknown_name_is_an_error():
    with pytest.raises(InputError, match="klingon.tsv.*ISO 639 code"):
        probes.language_of(Path("klingon.tsv"))


# --- Arora et al. (2023) format -----------------------------------------------------------------


def test_arora_subitems_map_to_their_question():
    probe_file = probes.read_arora_file(ARORA / "WVS" / "bn.tsv")
    assert probe_file.format == "arora"
    assert probe_file.language == "bn"
    assert [r["probe_id"] for r in probe_file.rows] == ["Q1", "Q106a", "Q106b"]
    q106a = probe_file.rows[1]
    assert q106a["sentence"] == "আয় আরও [MASK] হওয়া উচিত।"
    assert (q106a["option_a"], q106a["option_b"]) == ("সমান", "অসমান")
    assert q106a["source_line"] == 3


@pytest.mark.parametrize("number", ["106a", "Q106a", "106.a", "106_A", "106-a"])
def test_arora_question_number_spellings(tmp_path: Path, number: str):
    path = tmp_path / "de.tsv"
    path.write_text(f"\tquestion\tsentence\toption_a\toption_b\n0\t{number}\tEs ist [MASK].\tgut\tschlecht\n", encoding="utf-8")
    (row,) = probes.read_arora_file(path).rows
    assert row["probe_id"] == "Q106a"


def test_arora_vsm_items_are_numbered_from_zero(tmp_path: Path):
    path = write_tsv(tmp_path / "de.tsv", [["", "0", "1", "2", "3"], ["0", "0", "Zeit ist [MASK].", "wichtig", "unwichtig"],
                                            ["23", "23", "Regeln sind [MASK].", "wichtig", "unwichtig"]])  # fmt: skip
    rows = probes.read_arora_file(path, probe_set="hofstede").rows
    assert [row["probe_id"] for row in rows] == ["VSM01", "VSM24"]


def test_arora_defective_rows_are_reported_and_skipped():
    bn = ARORA / "WVS" / "bn.tsv"
    probe_file = probes.read_arora_file(bn)
    assert [(row.path, row.line) for row in probe_file.skipped] == [(bn, 5), (bn, 6)]
    assert "option B is missing" in probe_file.skipped[0].reason  # a row of 4 fields
    assert "no [MASK]" in probe_file.skipped[1].reason
    assert str(probe_file.skipped[1]).startswith(f"{bn}:6: ")

    german = ARORA / "WVS" / "German.tsv"
    probe_file = probes.read_arora_file(german)
    assert probe_file.language == "de"
    assert [r["probe_id"] for r in probe_file.rows] == ["Q1", "Q106a", "Q106b", "Q182"]
    assert [(row.line, row.reason) for row in probe_file.skipped] == [(5, "option B is missing")]  # empty 5th field


def test_arora_other_defects_are_never_fatal(tmp_path: Path):
    path = write_tsv(
        tmp_path / "tr.tsv",
        [
            ["", "q", "s", "a", "b"],
            ["0", "46", "Kendimi [MASK] hissediyorum.", "mutlu", "mutsuz"],
            ["1", "46", "Kendimi çok [MASK] hissediyorum.", "mutlu", "mutsuz"],  # same number again
            ["2", "x7", "Bu [MASK].", "iyi", "kötü"],  # not a question number
            ["3", "49"],  # truncated row
            ["4", "Q106A", "Gelirler [MASK] olmalı.", "eşit", "farklı"],
            [],
            ["5", "131", "Mahallem [MASK].", "güvenli", "güvenli"],  # identical options
        ],
    )
    probe_file = probes.read_arora_file(path)
    assert [r["probe_id"] for r in probe_file.rows] == ["Q46", "Q106a"]
    assert [r["source_line"] for r in probe_file.rows] == [2, 6]
    reasons = {row.line: row.reason for row in probe_file.skipped}
    assert set(reasons) == {3, 4, 5, 8}
    assert "already has a probe on line 2" in reasons[3]
    assert "'x7'" in reasons[4]
    assert "fields" in reasons[5]
    assert "same" in reasons[8]


def test_arora_reader_ignores_header_names(tmp_path: Path):
    body = [["0", "1", "Die Familie ist in meinem Leben [MASK].", "wichtig", "unwichtig"]]
    expected = probes.read_arora_file(write_tsv(tmp_path / "a" / "de.tsv", [["", "question", "sentence", "option_a", "option_b"], *body]))
    other = probes.read_probe_file(write_tsv(tmp_path / "b" / "de.tsv", [["idx", "Frage", "Satz", "A", "B"], *body]))
    short = probes.read_probe_file(write_tsv(tmp_path / "c" / "de.tsv", [["q", "prompt", "opt1", "opt2"], *body]))
    assert other.format == short.format == "arora"
    assert len(expected.rows) == 1
    assert other.rows == short.rows == expected.rows
    assert expected.rows[0]["probe_id"] == "Q1"


def test_check_over_arora_fixture_reports_every_language():
    report, usable = probes.check(ARORA)
    assert usable
    lines = report.splitlines()
    assert "bn: 3 usable probes, 2 rows skipped" in lines
    assert "de: 4 usable probes, 1 rows skipped" in lines
    assert "ko: 2 usable probes, 1 rows skipped" in lines
    assert "tr: 3 usable probes, 0 rows skipped" in lines
    assert "vi: 2 usable probes, 0 rows skipped" in lines
    assert lines[-1] == "5 languages, 5 files, 14 usable probes"
    skipped = [line.strip() for line in lines if line.startswith("  skipped ")]
    bn, german, ko = ARORA / "WVS" / "bn.tsv", ARORA / "WVS" / "German.tsv", ARORA / "Hofstede" / "ko.tsv"
    assert skipped == [
        f"skipped {bn}:5: option B is missing",
        f"skipped {bn}:6: sentence has no [MASK]",
        f"skipped {german}:5: option B is missing",
        f"skipped {ko}:4: sentence has 2 [MASK] (one expected)",
    ]


def test_format_detection():
    assert probes.detect_format(SHIPPED / "de.tsv") == "valuetrace"
    assert probes.detect_format(ARORA / "WVS" / "German.tsv") == "arora"
    assert probes.read_probe_file(SHIPPED / "de.tsv").format == "valuetrace"
    assert probes.read_probe_file(ARORA / "Hofstede" / "ko.tsv").format == "arora"


def test_format_detection_of_own_file_saved_with_byte_order_mark(tmp_path: Path):
    path = tmp_path / "de.tsv"
    path.write_text("\ufeff" + (SHIPPED / "de.tsv").read_text(encoding="utf-8"), encoding="utf-8")
    assert probes.detect_format(path) == "valuetrace"
    probe_file = probes.read_probe_file(path)
    assert len(probe_file.rows) == 27
    assert probe_file.skipped == []


def test_format_detection_rejects_other_files(tmp_path: Path):
    path = tmp_path / "de.tsv"
    path.write_text("just one column\nand another line\n", encoding="utf-8")
    with pytest.raises(InputError, match="neither the valuetrace probe format"):
        probes.detect_format(path)


def test_compile_arora_probes_keys_each_subitem_on_its_own():
    table, skipped = probes.compile_probes(ARORA / "WVS", KEY, ["bn", "de"], skip_defective_rows=True)
    assert [(row.path.name, row.line) for row in skipped] == [("bn.tsv", 5), ("bn.tsv", 6), ("German.tsv", 5)]
    assert table.height == 7
    q106 = table.filter(pl.col("question_id") == "Q106").sort("probe_lang", "probe_id")
    assert q106["probe_id"].to_list() == ["Q106a", "Q106b", "Q106a", "Q106b"]
    assert q106["probe_lang"].to_list() == ["bn", "bn", "de", "de"]
    # Polarity belongs to the probe id: 106a states greater incentives (code 10), 106b more equal incomes (1).
    assert q106["option_a_stands_for"].to_list() == ["high", "low", "high", "low"]


def test_published_probes_on_the_exclusion_list_are_skipped_in_arora_files_only(tmp_path: Path):
    excluded = {"Q1": "option B does not answer the question"}
    table, skipped = probes.compile_probes(ARORA / "WVS", KEY, ["de"], skip_defective_rows=True, exclusions=excluded)
    assert "Q1" not in set(table["probe_id"])
    assert "published probe excluded: option B does not answer the question" in [row.reason for row in skipped]
    own, _ = probes.compile_probes(SHIPPED, KEY, ["de"], exclusions=excluded)
    assert "Q1" in set(own["probe_id"])


def test_compile_arora_probes_without_skipping_names_first_defect():
    with pytest.raises(InputError) as error:
        probes.compile_probes(ARORA / "WVS", KEY, ["bn", "de"])
    assert f"{ARORA / 'WVS' / 'bn.tsv'}:5: option B is missing" in str(error.value)
    assert "2 defective rows in this file" in str(error.value)


def test_english_file_has_a_probe_for_every_keyed_published_probe_id():
    english, skipped = probes.compile_probes(ROOT / "config/probes/wvs7/en.tsv", KEY, ["en"])
    assert skipped == []
    from valuetrace.key import read_key

    published = set(read_key(KEY)["probe_id"]) - {"Q106"}  # Q106 is the demo set's own unsplit probe
    assert set(english["probe_id"]) == published


def test_files_of_languages_not_asked_for_are_not_read(shipped_copy: Path):
    (shipped_copy / "el.tsv").write_text("not a probe file at all\n", encoding="utf-8")
    (shipped_copy / "notes.tsv").write_text("a file whose name is no language\n", encoding="utf-8")
    table, _ = probes.compile_probes(shipped_copy, KEY, ["de", "ko"])
    assert set(table["probe_lang"]) == {"de", "ko"}
    assert probes.probe_files(shipped_copy, ["de"]) == [shipped_copy / "de.tsv"]
    with pytest.raises(InputError, match="el.tsv: neither the valuetrace probe format"):
        probes.compile_probes(shipped_copy, KEY, ["el"])
