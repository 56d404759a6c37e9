"""Human values from the World Values Survey wave 7 respondent file, and a synthetic stand-in.

The WVS-7 file has one row per respondent: country code ``B_COUNTRY_ALPHA``, answers in
columns ``Q1``, ``Q2`` …, and the weight ``W_WEIGHT``; negative codes (don't know, no
answer, not asked, missing) are missing values, and so are the codes an SPSS or Stata file
declares missing. It is read as WVS distributes it — CSV (comma or semicolon), SPSS ``.sav``,
Stata ``.dta`` — or as TSV or parquet, the format detected from the content; a file whose
country or weight column has another name (``S003``, ``cntry_AN``, ``S017``) is mapped with
``survey.columns`` and read under the WVS-7 names. Per country and probe, the key
(``valuetrace.key``) says how answers become a human value in [-1, 1], +1 meaning option A:
for a scale, the weighted mean position of the valid answers between its two ends; for one
category of a nominal item, the weighted share choosing it. Its sign is the human choice.

The WVS cannot be redistributed, so the demo and the tests use a synthetic file in exactly
that format, generated from a seed; every table derived from it says so in ``survey_data``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from valuetrace.errors import InputError
from valuetrace.key import Item

log = logging.getLogger(__name__)

COUNTRY = "B_COUNTRY_ALPHA"
WEIGHT = "W_WEIGHT"
MISSING_CODES = (-1, -2, -4, -5)
HUMAN_VALUES_SCHEMA = {
    "probe_lang": pl.String, "country": pl.String, "probe_id": pl.String, "question_id": pl.String,
    "kind": pl.String, "n_respondents": pl.Int64, "human_score": pl.Float64, "human_choice": pl.String,
    "survey_data": pl.String,
}  # fmt: skip


def survey_label(path: Path, synthetic: bool) -> str:
    return f"synthetic WVS-7 stand-in ({path.name}), not real survey data" if synthetic else f"WVS-7 ({path.name})"


def synthetic_respondents(countries: list[str], items: list[Item], respondents_per_country: int, seed: int) -> pl.DataFrame:
    """A respondent table in the WVS-7 layout with country-specific answer tendencies.

    Each country gets, per question of ``items``, a latent lean drawn at random; answers are
    drawn around it along the question's answer line (for a nominal item, categories with
    country-specific weights), a few are codes off the line or negative missing codes, and
    weights vary around 1 so that weighting matters.
    """
    rng = np.random.default_rng(seed)
    n = respondents_per_country
    questions = {}
    for item in items:
        questions.setdefault(item.question_id, item)
    frames = []
    for country in countries:
        columns: dict[str, np.ndarray] = {
            COUNTRY: np.full(n, country),
            WEIGHT: np.round(rng.uniform(0.4, 1.6, n), 4),
        }
        for question, item in questions.items():
            codes = np.array(item.codes)
            if item.kind == "category":
                answers = rng.choice(codes, n, p=rng.dirichlet(np.ones(len(codes))))
            else:
                lean = rng.uniform(0.0, 1.0)
                position = np.clip(rng.normal(lean, 0.3, n), 0.0, 1.0)
                answers = codes[np.rint(position * (len(codes) - 1)).astype(np.int64)]
            if item.not_on_line:
                off = rng.random(n) < 0.02
                answers[off] = rng.choice(item.not_on_line, off.sum())
            missing = rng.random(n) < 0.04
            answers[missing] = rng.choice(MISSING_CODES, missing.sum())
            columns[question] = answers.astype(np.int64)
        frames.append(pl.DataFrame(columns))
    return pl.concat(frames)


def separator_of(path: Path) -> str:
    """The field separator of a delimited text file, from its header line: tab, semicolon (the
    WVS CSV as some spreadsheet programs save it) or comma."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline()
    counts = {separator: header.count(separator) for separator in ("\t", ";", ",")}
    return max(counts, key=counts.get) if any(counts.values()) else ","


def file_format(path: Path) -> str:
    """How a respondent file is stored, from its first bytes (not its name): ``parquet``,
    ``sav`` (SPSS, also compressed .zsav), ``dta`` (Stata) or ``text`` (delimited)."""
    with path.open("rb") as handle:
        head = handle.read(16)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith((b"$FL2", b"$FL3")):
        return "sav"
    # Stata 13 and later start with an XML-like tag; formats 104-115 with the format number
    # and a byte-order flag (1 or 2).
    if head.startswith(b"<stata_dta>") or (len(head) > 1 and 104 <= head[0] <= 115 and head[1] in (1, 2)):
        return "dta"
    return "text"


def _read_statistical(path: Path, kind: str, needed: list[str]) -> tuple[pl.DataFrame, dict]:
    """The ``needed`` columns of an SPSS or Stata file, and the value labels of each.

    Values the file declares missing (SPSS user-missing codes and ranges, Stata's .a-.z) are
    read as missing (pyreadstat's default, ``user_missing=False``); answers stay codes, not
    their labels.
    """
    import pyreadstat

    reader = pyreadstat.read_sav if kind == "sav" else pyreadstat.read_dta
    try:
        _, meta = reader(str(path), metadataonly=True)
        _check_columns(path, meta.column_names, needed)
        frame, meta = reader(str(path), usecols=needed, output_format="polars")
    except (pyreadstat.ReadstatError, pyreadstat.PyreadstatError) as error:
        raise InputError(f"survey file {path}: cannot read it as a {kind} file ({error})") from None
    return frame.select(needed), meta.variable_value_labels


def _check_columns(path: Path, present: list[str], needed: list[str]) -> None:
    country, weight, *questions = needed
    for role, column in (("country", country), ("weight", weight)):
        if column not in present:
            raise InputError(
                f"survey file {path}: no {role} column {column!r} (config key survey.columns.{role}); "
                f"its first columns are {', '.join(present[:12])}: set survey.columns.{role} to the column "
                f"that holds the {role} (e.g. S003 or cntry_AN for the country, S017 for the weight)"
            )
    missing = [column for column in questions if column not in present]
    if missing:
        raise InputError(f"survey file {path}: columns {missing} are missing (WVS-7 layout expected)")


def _numbers(frame: pl.DataFrame, column: str, path: Path, whole: bool = False) -> pl.Series:
    """A column as numbers, or as integer codes if ``whole``; a value that is not one is an error
    naming its line (counted as in the CSV: the header is line 1, whatever the format)."""
    raw = frame[column]
    if raw.dtype == pl.String:
        # A semicolon-separated CSV (as spreadsheet programs save it) may write 1,25 for 1.25.
        raw = raw.str.replace(",", ".", literal=True)
    values = raw.cast(pl.Float64, strict=False)
    problems = {"not numeric": values.is_null() & raw.is_not_null()}
    if whole:
        problems["not a whole number (an answer code)"] = (values.round() != values).fill_null(False)
    for problem, wrong in problems.items():
        if wrong.any():
            raise InputError(
                f"survey file {path}: column {column} is {problem} (first bad value on line {wrong.arg_true()[0] + 2})"
            )
    return values.cast(pl.Int64) if whole else values


def _code_text(code) -> str:
    # A numeric country code is stored as a float by SPSS (276.0) and as an integer in CSV (276).
    return str(int(code)) if isinstance(code, float) and code.is_integer() else str(code)


def _country_codes(frame: pl.DataFrame, column: str, labels: dict, countries: dict[str, str]) -> pl.Series:
    """The country column as text codes; a code whose value label a config country names
    (``Germany`` for S003's 276) reads as that label."""
    codes = frame[column]
    if codes.dtype.is_numeric():
        codes = codes.cast(pl.Float64).map_elements(_code_text, return_dtype=pl.String)
    relabel = {_code_text(code): label for code, label in labels.items() if label in set(countries.values())}
    return codes.cast(pl.String).replace(relabel)


def read_respondents(
    path: Path, question_ids: list[str], columns: dict[str, str], countries: dict[str, str] | None = None
) -> pl.DataFrame:
    """The columns needed from a WVS respondent file, named as in the WVS-7 layout.

    ``columns`` names the file's country and weight columns (``survey.columns``). The format
    is detected from the content: delimited text (comma, semicolon or tab), parquet, SPSS
    ``.sav`` or Stata ``.dta``. A config country may be a code of the country column or, for a
    labelled column, one of its value labels (``countries``).
    """
    if not path.exists():
        raise InputError(f"survey file {path} does not exist (config key survey.path)")
    needed = [columns["country"], columns["weight"], *dict.fromkeys(question_ids)]
    kind = file_format(path)
    labels: dict = {}
    if kind in ("sav", "dta"):
        frame, value_labels = _read_statistical(path, kind, needed)
        labels = value_labels.get(columns["country"], {})
    else:
        # The real WVS-7 file has hundreds of columns; only the needed ones are read.
        if kind == "parquet":
            lazy = pl.scan_parquet(path)
        else:
            lazy = pl.scan_csv(path, separator=separator_of(path), infer_schema_length=10000)
        try:
            _check_columns(path, lazy.collect_schema().names(), needed)
            frame = lazy.select(needed).collect()
        except (pl.exceptions.PolarsError, OSError) as error:
            raise InputError(f"survey file {path}: cannot read it ({error})") from error
    country, weight, *questions = needed
    return pl.DataFrame(
        {
            COUNTRY: _country_codes(frame, country, labels, countries or {}),
            WEIGHT: _numbers(frame, weight, path),
            **{question: _numbers(frame, question, path, whole=True) for question in questions},
        }
    )


def human_values(
    respondents: pl.DataFrame,
    items: list[Item],
    countries: dict[str, str],
    survey_data: str,
    path: Path,
) -> pl.DataFrame:
    """Per probe language (its country) and keyed probe: the human value in [-1, 1] towards option A.

    ``countries`` maps probe language to WVS country code. A non-negative answer that is neither
    on the item's answer line nor listed as off the line is an error naming the row.
    """
    present = set(respondents[COUNTRY].unique())
    absent = {lang: code for lang, code in countries.items() if code not in present}
    if absent:
        raise InputError(
            f"survey file {path}: no respondents for countries {absent} (config key 'countries')"
        )
    weights = respondents.filter(pl.col(COUNTRY).is_in(list(countries.values()))).group_by(COUNTRY).agg(
        total=pl.col(WEIGHT).fill_null(0).clip(lower_bound=0).sum()
    )
    unweighted = sorted(weights.filter(pl.col("total") <= 0)[COUNTRY])
    if unweighted:
        languages = [lang for lang, code in countries.items() if code in unweighted]
        raise InputError(
            f"survey file {path}: every respondent of {', '.join(unweighted)} (languages {languages}) has weight 0 "
            f"or none (config key survey.columns.weight), so no answer of theirs would count; check the file or the country codes"
        )
    rows = respondents.with_row_index("line", offset=2).filter(pl.col(COUNTRY).is_in(list(countries.values())))
    records = []
    for item in items:
        answers = rows.select("line", COUNTRY, WEIGHT, pl.col(item.question_id).alias("answer"))
        known = [*item.codes, *item.not_on_line]
        invalid = answers.filter((pl.col("answer") >= 0) & ~pl.col("answer").is_in(known))
        if invalid.height:
            first = invalid.row(0, named=True)
            raise InputError(
                f"survey file {path}, line {first['line']}: {item.question_id} = {first['answer']} is not one "
                f"of its answer codes {' '.join(map(str, known))} (negative codes mean missing)"
            )
        valid = answers.filter(
            pl.col("answer").is_in(list(item.codes)) & pl.col(WEIGHT).is_not_null() & (pl.col(WEIGHT) > 0)
        )
        shares = (
            valid.group_by(COUNTRY, "answer")
            .agg(weight=pl.col(WEIGHT).sum(), n=pl.len())
            # group_by returns the groups in any order, and float sums depend on their order.
            .sort(COUNTRY, "answer")
            .with_columns(share=pl.col("weight") / pl.col("weight").sum().over(COUNTRY))
        )
        for lang, code in countries.items():
            country = shares.filter(pl.col(COUNTRY) == code)
            if country.height == 0:
                log.warning("%s: no valid answer in %s (%s)", item.probe_id, code, lang)
                continue
            value = item.human_value(dict(zip(country["answer"].to_list(), country["share"].to_list())))
            records.append(
                {
                    "probe_lang": lang,
                    "country": code,
                    "probe_id": item.probe_id,
                    "question_id": item.question_id,
                    "kind": item.kind,
                    "n_respondents": int(country["n"].sum()),
                    "human_score": value,
                    "human_choice": "A" if value > 0 else "B",
                    "survey_data": survey_data,
                }
            )
    return pl.DataFrame(records, schema=HUMAN_VALUES_SCHEMA).sort("probe_lang", "probe_id")


COVERAGE_SCHEMA = {
    "probe_lang": pl.String, "country": pl.String, "question_id": pl.String, "n_respondents": pl.Int64,
    "n_valid": pl.Int64, "weight_valid": pl.Float64, "share_valid": pl.Float64,
}  # fmt: skip


def coverage(respondents: pl.DataFrame, items: list[Item], countries: dict[str, str]) -> pl.DataFrame:
    """Per language's country and question: respondents, valid answers and their total weight.

    A question without a valid answer in a country has no human value there; this table (and a
    warning in the log) says so instead of leaving it out silently.
    """
    records = []
    questions = {item.question_id: item for item in items}
    for question, item in questions.items():
        answers = respondents.select(COUNTRY, WEIGHT, answer=pl.col(question))
        for lang, code in countries.items():
            country = answers.filter(pl.col(COUNTRY) == code)
            valid = country.filter(pl.col("answer").is_in(list(item.codes)) & (pl.col(WEIGHT).fill_null(0) > 0))
            records.append(
                {
                    "probe_lang": lang, "country": code, "question_id": question, "n_respondents": country.height,
                    "n_valid": valid.height, "weight_valid": float(valid[WEIGHT].sum()),
                    "share_valid": valid.height / country.height if country.height else 0.0,
                }  # fmt: skip
            )
    return pl.DataFrame(records, schema=COVERAGE_SCHEMA).sort("probe_lang", "question_id")
