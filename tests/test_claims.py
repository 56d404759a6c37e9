"""The paper's claims as tests (valuetrace.claims) on synthetic run summaries with known effects."""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
import pytest

from valuetrace import claims
from valuetrace.settings import Significance

SETTINGS = Significance(resamples=500, fdr=0.05, confidence_level=0.95, seed=0)
LANGUAGES = ("en", "de", "ko")


def run_summary(rng: np.random.Generator, size_effect: float, source_effect: float, multi_gain: float = 0.0) -> pl.DataFrame:
    """run_shifts-like rows: magnitude = base + size_effect at size 600 + source_effect for
    ``religious`` + noise; multilingual runs gain ``multi_gain`` agreement over monolingual ones."""
    rows = []
    for dataset, finetune_lang, size, seed, probe_lang in itertools.product(
        ("news", "religious"), (*LANGUAGES, "multi"), (300, 600), (0, 1), LANGUAGES
    ):
        magnitude = 0.5 + size_effect * (size == 600) + source_effect * (dataset == "religious") + 0.02 * rng.normal()
        agreement = 0.01 * rng.normal() + (multi_gain if finetune_lang == "multi" else 0.0)
        rows.append(
            {
                "model": "m", "dataset": dataset, "finetune_lang": finetune_lang, "size": size, "seed": seed,
                "run": f"{dataset}/{finetune_lang}/n{size}_s{seed}", "probe_lang": probe_lang, "magnitude": magnitude,
                "agreement_change": agreement, "spearman_change": 0.01 * rng.normal(),
            }
        )  # fmt: skip
    return pl.DataFrame(rows)


def profiles(run_shifts: pl.DataFrame, multi_change: float, rng: np.random.Generator) -> pl.DataFrame:
    """One profile change per run: ``multi_change`` for multilingual runs, 0 otherwise, plus a little seeded
    noise so that the paired test has a spread. The runs are sorted first: ``unique`` returns them in an
    arbitrary order, and noise drawn in that order made the test pass or fail from one run to the next."""
    runs = run_shifts.select("model", "dataset", "finetune_lang", "size", "seed").unique().sort(pl.all())
    return runs.with_columns(
        profile_correlation_change=pl.when(pl.col("finetune_lang") == "multi").then(multi_change).otherwise(0.0)
        + pl.Series(0.001 * rng.normal(size=runs.height))
    )


def test_magnitude_model_says_size_matters_more_than_the_source():
    table = claims.magnitude_model(run_summary(np.random.default_rng(0), size_effect=0.3, source_effect=0.05))
    rows = {row["term"]: row for row in table.iter_rows(named=True)}
    assert set(rows) == {"size", "dataset", "finetune_lang", "probe_lang", "own_language", "residual"}  # one model
    assert rows["size"]["variance_share"] > rows["dataset"]["variance_share"] > rows["finetune_lang"]["variance_share"]
    assert rows["size"]["p_value"] < 1e-10 and rows["dataset"]["p_value"] < 1e-3
    assert rows["finetune_lang"]["p_value"] > 0.001  # no effect planted
    assert rows["size"]["n_levels"] == 2 and rows["residual"]["n_levels"] is None
    assert rows["residual"]["n_observations"] == 2 * 4 * 2 * 2 * 3
    assert 0.9 < rows["size"]["r_squared"] <= 1
    # The design is balanced but for own_language, so the shares add up to about one.
    assert sum(row["variance_share"] for term, row in rows.items() if term != "own_language") == pytest.approx(1, abs=0.05)


def test_magnitude_model_of_a_grid_without_variation_is_empty():
    one_run = run_summary(np.random.default_rng(1), 0.3, 0.0).filter(
        pl.col("dataset") == "news", pl.col("finetune_lang") == "en", pl.col("size") == 300, pl.col("probe_lang") == "en"
    )
    assert claims.magnitude_model(one_run).is_empty()


def test_multilingual_runs_are_compared_with_their_monolingual_pairs():
    summary = run_summary(np.random.default_rng(2), 0.0, 0.0, multi_gain=0.05)
    distinctiveness = profiles(summary, multi_change=-0.2, rng=np.random.default_rng(3))
    table = claims.multilingual_comparison(summary, distinctiveness, SETTINGS)
    # The bootstrap intervals resample pairs, not positions in a join: the input's row order does not matter.
    shuffled = (frame.sample(fraction=1.0, shuffle=True, seed=1) for frame in (summary, distinctiveness))
    assert claims.multilingual_comparison(*shuffled, SETTINGS).equals(table)
    rows = {row["measure"]: row for row in table.iter_rows(named=True)}
    agreement = rows["agreement_change"]
    # one pair per source, size, seed and language of the source: 2 x 2 x 2 x 3
    assert agreement["n_pairs"] == 24
    assert agreement["difference"] == pytest.approx(0.05, abs=0.01)
    assert agreement["difference_low"] < 0.05 < agreement["difference_high"]
    assert agreement["p_value"] < 0.001
    assert rows["spearman_change"]["p_value"] > 0.001  # no difference planted
    distinct = rows["profile_correlation_change"]
    assert distinct["n_pairs"] == 2 * 2 * 2 and distinct["difference"] == pytest.approx(-0.2, abs=0.01)
