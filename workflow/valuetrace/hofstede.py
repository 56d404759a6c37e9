"""Hofstede's six dimensions of national culture from the VSM 2013 probes, and their comparison
with country scores.

The Values Survey Module 2013 (Hofstede & Minkov 2013) asks 24 questions on 5-point scales; a
dimension index is a weighted difference of item means (its manual's formulas, without the
constant C, which only shifts a scale):

    PDI = 35 (m07 - m02) + 25 (m20 - m23)      IDV = 35 (m04 - m01) + 35 (m09 - m06)
    MAS = 35 (m05 - m03) + 35 (m08 - m10)      UAI = 40 (m18 - m15) + 25 (m21 - m24)
    LTO = 40 (m13 - m14) + 25 (m19 - m22)      IVR = 35 (m12 - m11) + 40 (m17 - m16)

A probe gives an item mean: if the model answered with option A's end of the item's scale with
probability sigma(score) (score = log P(A) - log P(B)) and with option B's end otherwise, its
expected answer is sigma(score) * a + (1 - sigma(score)) * b, with a and b the two ends' codes.
Per model, run and language the six indices are compared with the scores of the language's
country, as Hofstede publishes them (``ctr, country, pdi, idv, mas, uai, ltowvs, ivr``), by
Spearman correlation across languages.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

from valuetrace.errors import InputError
from valuetrace.key import items

log = logging.getLogger(__name__)

# dimension -> (weight, item counted plus, item counted minus) terms of the VSM 2013 formula
FORMULAS = {
    "pdi": ((35, 7, 2), (25, 20, 23)),
    "idv": ((35, 4, 1), (35, 9, 6)),
    "mas": ((35, 5, 3), (35, 8, 10)),
    "uai": ((40, 18, 15), (25, 21, 24)),
    "lto": ((40, 13, 14), (25, 19, 22)),
    "ivr": ((35, 12, 11), (40, 17, 16)),
}
# dimension -> its column in Hofstede's published country scores
SCORE_COLUMNS = {"pdi": "pdi", "idv": "idv", "mas": "mas", "uai": "uai", "lto": "ltowvs", "ivr": "ivr"}
SCORES_FILE_COLUMNS = ["ctr", "country", *SCORE_COLUMNS.values()]
RUN_KEY = ["model", "run", "scoring_method", "calibration", "probe_lang"]


def item_number(probe_id: str) -> int:
    """The VSM item of a probe id: ``VSM07`` -> 7."""
    return int("".join(character for character in probe_id if character.isdigit()))


def item_means(scores: pl.DataFrame, probes: pl.DataFrame) -> pl.DataFrame:
    """Per model, run, language and VSM item: the model's expected answer on the item's scale."""
    ends = {}
    for item in items(probes.filter(pl.col("probe_set") == "hofstede")):
        a_end = item.codes[0] if item.option_a_stands_for == "low" else item.codes[-1]
        b_end = item.codes[-1] if item.option_a_stands_for == "low" else item.codes[0]
        ends[item.probe_id] = (a_end, b_end)
    ends_table = pl.DataFrame(
        [{"probe_id": probe, "a_end": a, "b_end": b} for probe, (a, b) in ends.items()],
        schema={"probe_id": pl.String, "a_end": pl.Float64, "b_end": pl.Float64},
    )
    probability_a = 1.0 / (1.0 + (-pl.col("score")).exp())
    return (
        scores.filter(pl.col("probe_set") == "hofstede")
        .join(ends_table, on="probe_id")
        .with_columns(
            item=pl.col("probe_id").map_elements(item_number, return_dtype=pl.Int64),
            item_mean=probability_a * pl.col("a_end") + (1.0 - probability_a) * pl.col("b_end"),
        )
        .select(*RUN_KEY, "probe_id", "item", "score", "item_mean")
    )


def indices(means: pl.DataFrame) -> pl.DataFrame:
    """The six VSM 2013 indices per model, run and language (null where an item is missing)."""
    records = []
    for key, group in means.group_by(RUN_KEY, maintain_order=True):
        mean_of = dict(zip(group["item"].to_list(), group["item_mean"].to_list()))
        for dimension, terms in FORMULAS.items():
            needed = [item for _, plus, minus in terms for item in (plus, minus)]
            missing = [item for item in needed if item not in mean_of]
            value = None
            if missing:
                log.warning("%s: %s has no probe for VSM items %s", "/".join(map(str, key)), dimension.upper(), missing)
            else:
                value = float(sum(weight * (mean_of[plus] - mean_of[minus]) for weight, plus, minus in terms))
            records.append({**dict(zip(RUN_KEY, key)), "dimension": dimension, "index": value})
    return pl.DataFrame(
        records,
        schema={**{column: pl.String for column in RUN_KEY}, "dimension": pl.String, "index": pl.Float64},
    )


def read_country_scores(path: Path) -> pl.DataFrame:
    """Hofstede's country scores (``ctr, country, pdi, idv, mas, uai, ltowvs, ivr``; comma- or
    semicolon-separated; ``#NULL!`` or empty is missing), one row per country."""
    if not path.exists():
        raise InputError(f"Hofstede scores file {path} does not exist (config key hofstede.scores)")
    try:
        first_line = path.read_text(encoding="utf-8-sig").splitlines()[0]
    except (UnicodeDecodeError, IndexError) as error:
        raise InputError(f"Hofstede scores file {path}: not a UTF-8 text file with a header ({error})") from error
    separator = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        frame = pl.read_csv(path, separator=separator, null_values=["#NULL!", ""], infer_schema=False, encoding="utf8-lossy")
    except pl.exceptions.PolarsError as error:
        raise InputError(f"Hofstede scores file {path}: cannot read it ({error})") from error
    frame = frame.rename({column: column.strip().lower() for column in frame.columns})
    missing = [column for column in SCORES_FILE_COLUMNS if column not in frame.columns]
    if missing:
        raise InputError(
            f"Hofstede scores file {path}: columns {missing} are missing; expected the published layout "
            f"{', '.join(SCORES_FILE_COLUMNS)} (found {', '.join(frame.columns)})"
        )
    numbers = frame.select(pl.col(column).str.strip_chars().cast(pl.Float64, strict=False) for column in SCORE_COLUMNS.values())
    for column in SCORE_COLUMNS.values():
        bad = frame.with_row_index("line", offset=2).filter(numbers[column].is_null() & frame[column].is_not_null())
        if bad.height:
            raise InputError(
                f"Hofstede scores file {path}, line {bad['line'][0]}: {column} = {bad[column][0]!r} is not a number"
            )
    return pl.concat([frame.select(pl.col("ctr").str.strip_chars(), pl.col("country").str.strip_chars()), numbers], how="horizontal")


def synthetic_country_scores(codes: list[str], seed: int) -> pl.DataFrame:
    """SYNTHETIC scores 0-100 for ``codes`` in the published layout (demo and tests)."""
    rng = np.random.default_rng(seed)
    columns = {column: rng.integers(0, 101, len(codes)).astype(float) for column in SCORE_COLUMNS.values()}
    return pl.DataFrame({"ctr": codes, "country": [f"synthetic {code}" for code in codes], **columns})


def compare(index_table: pl.DataFrame, country_scores: pl.DataFrame, countries: dict[str, str], scores_data: str):
    """Indices next to the country scores (per language), and their Spearman correlation across
    languages per model, run and dimension."""
    unknown = sorted(set(countries.values()) - set(country_scores["ctr"]))
    if unknown:
        raise InputError(f"Hofstede scores: no country with ctr {unknown} (config key hofstede.countries)")
    long = country_scores.unpivot(index="ctr", on=list(SCORE_COLUMNS.values()), variable_name="column", value_name="country_score")
    by_column = {column: dimension for dimension, column in SCORE_COLUMNS.items()}
    long = long.with_columns(dimension=pl.col("column").replace_strict(by_column)).drop("column")
    language_country = pl.DataFrame({"probe_lang": list(countries), "ctr": list(countries.values())})
    compared = (
        index_table.join(language_country, on="probe_lang")
        .join(long, on=["ctr", "dimension"], how="left")
        .with_columns(scores_data=pl.lit(scores_data))
        .sort(*RUN_KEY, "dimension")
    )
    records = []
    for key, group in compared.group_by("model", "run", "scoring_method", "calibration", "dimension", maintain_order=True):
        both = group.drop_nulls(["index", "country_score"])
        rho, p = float("nan"), float("nan")
        if both.height >= 3:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", stats.ConstantInputWarning)
                result = stats.spearmanr(both["index"], both["country_score"])
            rho, p = float(result.statistic), float(result.pvalue)
        records.append(
            {**dict(zip(["model", "run", "scoring_method", "calibration", "dimension"], key)), "n_languages": both.height,
             "spearman": rho, "spearman_p": p, "scores_data": scores_data}  # fmt: skip
        )
    return compared, pl.DataFrame(records)
