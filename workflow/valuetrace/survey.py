"""Human values from the World Values Survey wave 7 respondent file, and a synthetic stand-in.

The WVS-7 file has one row per respondent: country code ``B_COUNTRY_ALPHA``, answers in
columns ``Q1``, ``Q2`` …, and the weight ``W_WEIGHT``; negative codes (don't know, no
answer, not asked, missing) are missing values. Per country and question we take the
weighted mean of the valid answers and map it to [-1, 1] so that +1 is the end of the scale
that option A stands for; its sign is the human choice.

The WVS cannot be redistributed, so the demo and the tests use a synthetic file in exactly
that format, generated from a seed; every table derived from it says so in ``survey_data``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from valuetrace.errors import InputError

COUNTRY = "B_COUNTRY_ALPHA"
WEIGHT = "W_WEIGHT"
MISSING_CODES = (-1, -2, -4, -5)


def survey_label(path: Path, synthetic: bool) -> str:
    return f"synthetic WVS-7 stand-in ({path.name}), not real survey data" if synthetic else f"WVS-7 ({path.name})"


def synthetic_respondents(
    countries: list[str], questions: pl.DataFrame, respondents_per_country: int, seed: int
) -> pl.DataFrame:
    """A respondent table in the WVS-7 layout with country-specific answer tendencies.

    Each country gets, per question, a latent lean drawn at random; answers are drawn
    around it on the question's scale, a few are replaced by negative missing codes, and
    weights vary around 1 so that weighting matters.
    """
    rng = np.random.default_rng(seed)
    n = respondents_per_country
    frames = []
    for country in countries:
        columns: dict[str, np.ndarray] = {
            COUNTRY: np.full(n, country),
            WEIGHT: np.round(rng.uniform(0.4, 1.6, n), 4),
        }
        for question in questions.iter_rows(named=True):
            low, high = question["scale_min"], question["scale_max"]
            lean = rng.uniform(0.0, 1.0)
            position = np.clip(rng.normal(lean, 0.3, n), 0.0, 1.0)
            answers = np.rint(low + position * (high - low)).astype(np.int64)
            missing = rng.random(n) < 0.04
            answers[missing] = rng.choice(MISSING_CODES, missing.sum())
            columns[question["question_id"]] = answers
        frames.append(pl.DataFrame(columns))
    return pl.concat(frames)


def read_respondents(path: Path, question_ids: list[str]) -> pl.DataFrame:
    """The columns needed from a WVS-7 respondent file (CSV, TSV or parquet)."""
    if not path.exists():
        raise InputError(f"survey file {path} does not exist (config key survey.path)")
    needed = [COUNTRY, WEIGHT, *question_ids]
    # The real WVS-7 file has hundreds of columns; only the needed ones are read.
    if path.suffix == ".parquet":
        lazy = pl.scan_parquet(path)
    else:
        separator = "\t" if path.suffix in {".tsv", ".tab"} else ","
        lazy = pl.scan_csv(path, separator=separator, infer_schema_length=10000)
    try:
        columns = lazy.collect_schema().names()
        missing = [column for column in needed if column not in columns]
        if missing:
            raise InputError(f"survey file {path}: columns {missing} are missing (WVS-7 layout expected)")
        frame = lazy.select(needed).collect()
    except (pl.exceptions.PolarsError, OSError) as error:
        raise InputError(f"survey file {path}: cannot read it ({error})") from error
    for column in [WEIGHT, *question_ids]:
        if not frame[column].dtype.is_numeric():
            bad = frame.with_row_index("row").filter(
                pl.col(column).cast(pl.Float64, strict=False).is_null() & pl.col(column).is_not_null()
            )
            row = bad["row"][0] + 2 if bad.height else "?"
            raise InputError(f"survey file {path}: column {column} is not numeric (first bad value on line {row})")
    return frame


def human_values(
    respondents: pl.DataFrame,
    questions: pl.DataFrame,
    countries: dict[str, str],
    survey_data: str,
    path: Path,
) -> pl.DataFrame:
    """Weighted mean per country and question, mapped to [-1, 1] towards option A.

    ``countries`` maps probe language to WVS country code. Answers outside the question's
    scale (other than negative missing codes) are an error naming the row.
    """
    present = set(respondents[COUNTRY].unique())
    absent = {lang: code for lang, code in countries.items() if code not in present}
    if absent:
        raise InputError(
            f"survey file {path}: no respondents for countries {absent} (config key 'countries')"
        )
    rows = respondents.with_row_index("line", offset=2).filter(pl.col(COUNTRY).is_in(list(countries.values())))
    records = []
    for question in questions.iter_rows(named=True):
        qid, low, high = question["question_id"], question["scale_min"], question["scale_max"]
        answers = rows.select("line", COUNTRY, WEIGHT, pl.col(qid).alias("answer"))
        invalid = answers.filter((pl.col("answer") >= 0) & ~pl.col("answer").is_between(low, high))
        if invalid.height:
            first = invalid.row(0, named=True)
            raise InputError(
                f"survey file {path}, line {first['line']}: {qid} = {first['answer']} is outside "
                f"its scale {low}..{high} (negative codes mean missing)"
            )
        valid = answers.filter((pl.col("answer") >= 0) & pl.col(WEIGHT).is_not_null() & (pl.col(WEIGHT) > 0))
        summary = valid.group_by(COUNTRY).agg(
            weighted_mean=(pl.col("answer") * pl.col(WEIGHT)).sum() / pl.col(WEIGHT).sum(),
            n_respondents=pl.len(),
        )
        polarity = 1.0 if question["option_a_end"] == "high" else -1.0
        for lang, code in countries.items():
            match = summary.filter(pl.col(COUNTRY) == code)
            if match.height == 0:
                continue
            mean = match["weighted_mean"][0]
            score = polarity * (2.0 * (mean - low) / (high - low) - 1.0)
            records.append(
                {
                    "probe_lang": lang,
                    "country": code,
                    "question_id": qid,
                    "weighted_mean": mean,
                    "n_respondents": match["n_respondents"][0],
                    "human_score": score,
                    "human_choice": "A" if score > 0 else "B",
                    "survey_data": survey_data,
                }
            )
    return pl.DataFrame(records).sort("probe_lang", "question_id")
