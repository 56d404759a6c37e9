"""Alignment of a model's value profile with human values, per language, with bootstrap intervals.

Agreement is the share of questions where the model's choice matches the human choice;
the Spearman correlation compares model scores with the mapped human means. Both get a
percentile bootstrap confidence interval over questions (scipy.stats.bootstrap).
A question with several probes in a language (Arora et al.'s sub-items) counts once,
with the mean of its probes' scores.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
from scipy import stats

from valuetrace.probes import choice
from valuetrace.settings import Alignment


def question_scores(scores: pl.DataFrame) -> pl.DataFrame:
    """Mean score per model, run, language and question, and the choice it implies."""
    return (
        scores.group_by("model", "run", "scoring_method", "probe_lang", "question_id")
        .agg(score=pl.col("score").mean(), n_probes=pl.len())
        .with_columns(choice=choice(pl.col("score")))
        .sort("model", "run", "probe_lang", "question_id")
    )


def _spearman(model_scores: np.ndarray, human_scores: np.ndarray, axis: int = -1) -> np.ndarray:
    # scipy's spearmanr has no batch axis; Pearson's r of the ranks is Spearman's rho, and
    # pearsonr does take one, so all bootstrap resamples are computed in one call.
    with warnings.catch_warnings():
        # A resample whose scores are all equal has no defined rank correlation: nan, by design.
        warnings.simplefilter("ignore", (stats.ConstantInputWarning, RuntimeWarning))
        return stats.pearsonr(
            stats.rankdata(model_scores, axis=axis), stats.rankdata(human_scores, axis=axis), axis=axis
        ).statistic


def _interval(data: tuple[np.ndarray, ...], statistic, resamples: int, level: float, seed: int) -> tuple[float, float]:
    if len(data[0]) < 3:
        return float("nan"), float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (stats.DegenerateDataWarning, RuntimeWarning))
        result = stats.bootstrap(
            data,
            statistic,
            paired=True,
            vectorized=True,
            n_resamples=resamples,
            confidence_level=level,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
    # scipy's percentiles are nan as soon as one resample's statistic is (a resample of one
    # repeated question has no rank correlation), which is likely with few questions; the
    # interval is taken over the resamples where the statistic is defined.
    values = result.bootstrap_distribution
    values = values[np.isfinite(values)]
    if values.size == 0:
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def align(scores: pl.DataFrame, humans: pl.DataFrame, settings: Alignment) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-question comparison table and per-language alignment table for one or more models."""
    resamples, confidence_level, seed = settings.bootstrap_resamples, settings.confidence_level, settings.seed
    paired = question_scores(scores).join(
        humans.select("probe_lang", "question_id", "country", "human_score", "human_choice", "survey_data"),
        on=["probe_lang", "question_id"],
        how="inner",
    )
    paired = paired.with_columns(agree=pl.col("choice") == pl.col("human_choice"))
    records = []
    for (model, run, method, lang), group in paired.group_by(
        "model", "run", "scoring_method", "probe_lang", maintain_order=True
    ):
        agree = group["agree"].cast(pl.Float64).to_numpy()
        model_scores = group["score"].to_numpy()
        human_scores = group["human_score"].to_numpy()
        agreement_ci = _interval((agree,), np.mean, resamples, confidence_level, seed)
        spearman = stats.spearmanr(model_scores, human_scores) if len(agree) >= 3 else None
        spearman_ci = _interval((model_scores, human_scores), _spearman, resamples, confidence_level, seed)
        records.append(
            {
                "model": model,
                "run": run,
                "scoring_method": method,
                "probe_lang": lang,
                "country": group["country"][0],
                "n_questions": group.height,
                "agreement": float(agree.mean()),
                "agreement_low": agreement_ci[0],
                "agreement_high": agreement_ci[1],
                "spearman": float(spearman.statistic) if spearman else float("nan"),
                "spearman_p": float(spearman.pvalue) if spearman else float("nan"),
                "spearman_low": spearman_ci[0],
                "spearman_high": spearman_ci[1],
                "confidence_level": confidence_level,
                "survey_data": group["survey_data"][0],
            }
        )
    return (
        paired.sort("model", "run", "probe_lang", "question_id"),
        pl.DataFrame(records).sort("model", "run", "probe_lang"),
    )
