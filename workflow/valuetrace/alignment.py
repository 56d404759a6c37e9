"""Alignment of a model's value profile with human values, per language, with bootstrap intervals.

Agreement is the share of probes where the model's choice matches the human choice; the
Spearman correlation compares model scores with the human values. Both get a percentile
bootstrap confidence interval over probes (scipy.stats.bootstrap). Each probe is compared with
its own human value: the sub-items of one question (Arora et al.'s 106a and 106b, opposite poles;
130a-d, categories) are distinct probes with distinct polarity, so their scores are never averaged.
Only probe sets compared with the survey (``wvs``) are aligned.

:func:`alignment_change` gives each fine-tuned run's change in agreement and correlation against
its base model, with a *paired* bootstrap interval: every resample draws the same probes before
and after, so the interval reflects the change, not the spread of either alignment alone.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
from scipy import stats

from valuetrace.correlation import bootstrap_interval, spearman
from valuetrace.grid import BASE
from valuetrace.settings import Alignment


log = logging.getLogger(__name__)

PROBE_KEY = ["probe_lang", "probe_id", "question_id"]


def survey_scores(scores: pl.DataFrame, subset: pl.DataFrame | None = None) -> pl.DataFrame:
    """The scores of probes compared with the survey, limited to ``subset`` (a paper_subset table)."""
    chosen = scores.filter(pl.col("probe_set") == "wvs")
    if subset is not None:
        chosen = chosen.join(subset.filter(pl.col("in_subset")).select("probe_id"), on="probe_id", how="semi")
    return chosen.select("model", "run", "scoring_method", "calibration", *PROBE_KEY, "raw_score", "score", "choice")


def align(
    scores: pl.DataFrame, humans: pl.DataFrame, settings: Alignment, subset: pl.DataFrame | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Per-probe comparison table and per-language alignment table for one or more models."""
    resamples, confidence_level, seed = settings.bootstrap_resamples, settings.confidence_level, settings.seed
    paired = survey_scores(scores, subset).join(
        humans.select("probe_lang", "probe_id", "country", "human_score", "human_choice", "survey_data"),
        on=["probe_lang", "probe_id"],
        how="inner",
    )
    # Sorted because a join's row order is arbitrary and the bootstrap resamples rows by position.
    paired = paired.with_columns(agree=pl.col("choice") == pl.col("human_choice")).sort(
        "model", "run", "scoring_method", "calibration", "probe_lang", "probe_id"
    )
    records = []
    for (model, run, method, calibration, lang), group in paired.group_by(
        "model", "run", "scoring_method", "calibration", "probe_lang", maintain_order=True
    ):
        agree = group["agree"].cast(pl.Float64).to_numpy()
        model_scores = group["score"].to_numpy()
        human_scores = group["human_score"].to_numpy()
        agreement_ci = bootstrap_interval((agree,), np.mean, resamples, confidence_level, seed)
        rho = stats.spearmanr(model_scores, human_scores) if len(agree) >= 3 else None
        spearman_ci = bootstrap_interval((model_scores, human_scores), spearman, resamples, confidence_level, seed)
        records.append(
            {
                "model": model,
                "run": run,
                "scoring_method": method,
                "calibration": calibration,
                "probe_lang": lang,
                "country": group["country"][0],
                "n_probes": group.height,
                "agreement": float(agree.mean()),
                "agreement_low": agreement_ci[0],
                "agreement_high": agreement_ci[1],
                "spearman": float(rho.statistic) if rho else float("nan"),
                "spearman_p": float(rho.pvalue) if rho else float("nan"),
                "spearman_low": spearman_ci[0],
                "spearman_high": spearman_ci[1],
                "confidence_level": confidence_level,
                "survey_data": group["survey_data"][0],
            }
        )
    return (
        paired.sort("model", "run", "probe_lang", "probe_id", maintain_order=True),
        pl.DataFrame(records).sort("model", "run", "probe_lang"),
    )


def paper_subset(probes: pl.DataFrame, humans: pl.DataFrame, languages: list[str]) -> pl.DataFrame:
    """Per WVS probe id: whether it has a usable probe in every probe language and a human value in
    every language's country (the rule behind the paper's 238 questions is not published; this
    is the natural one), with the reason when not."""
    wvs = probes.filter(pl.col("probe_set") == "wvs")
    countries = humans.select("probe_lang", "country").unique()
    n_countries = countries["country"].n_unique() if humans.height else 0
    in_languages = wvs.group_by("probe_id", "question_id").agg(n_languages=pl.col("probe_lang").n_unique())
    with_humans = humans.group_by("probe_id").agg(n_countries=pl.col("country").n_unique())
    table = (
        in_languages.join(with_humans, on="probe_id", how="left")
        .with_columns(pl.col("n_countries").fill_null(0))
        .with_columns(
            in_subset=(pl.col("n_languages") == len(languages)) & (pl.col("n_countries") == n_countries),
            reason=pl.when(pl.col("n_languages") < len(languages))
            .then(pl.format("a usable probe in {} of {} languages", "n_languages", pl.lit(len(languages))))
            .when(pl.col("n_countries") < n_countries)
            .then(pl.format("valid human answers in {} of {} countries", "n_countries", pl.lit(n_countries)))
            .otherwise(pl.lit("")),
        )
        .sort("probe_id")
    )
    kept = table.filter(pl.col("in_subset"))
    log.info(
        "paper subset: %d of %d probes (%d questions) have a usable probe in all %d languages and human values "
        "in all %d countries",
        kept.height, table.height, kept["question_id"].n_unique(), len(languages), n_countries,
    )  # fmt: skip
    return table


def _agreement_change(agree_before: np.ndarray, agree_after: np.ndarray, axis: int = -1) -> np.ndarray:
    return agree_after.mean(axis=axis) - agree_before.mean(axis=axis)


def _spearman_change(before: np.ndarray, after: np.ndarray, human: np.ndarray, axis: int = -1) -> np.ndarray:
    return spearman(after, human, axis=axis) - spearman(before, human, axis=axis)


def alignment_change(probe_alignment: pl.DataFrame, settings: Alignment) -> pl.DataFrame:
    """Per fine-tuned run and probe language: agreement and Spearman correlation of the base model
    (before) and the run (after), and their change with a paired bootstrap interval over probes
    (a ``probe_alignment`` table in)."""
    before = probe_alignment.filter(pl.col("run") == BASE).select(
        "model", "probe_lang", "probe_id", agree_before="agree", score_before="score"
    )
    paired = (
        probe_alignment.filter(pl.col("run") != BASE)
        .join(before, on=["model", "probe_lang", "probe_id"], how="inner")
        .sort("model", "run", "probe_lang", "probe_id")
    )
    records = []
    for (model, run, lang), group in paired.group_by("model", "run", "probe_lang", maintain_order=True):
        agree_before = group["agree_before"].cast(pl.Float64).to_numpy()
        agree_after = group["agree"].cast(pl.Float64).to_numpy()
        before_scores, after_scores = group["score_before"].to_numpy(), group["score"].to_numpy()
        human = group["human_score"].to_numpy()
        rho = [
            float(stats.spearmanr(scores, human).statistic) if len(human) >= 3 else float("nan")
            for scores in (before_scores, after_scores)
        ]
        resampling = (settings.bootstrap_resamples, settings.confidence_level, settings.seed)
        agreement_low, agreement_high = bootstrap_interval((agree_before, agree_after), _agreement_change, *resampling)
        spearman_low, spearman_high = bootstrap_interval((before_scores, after_scores, human), _spearman_change, *resampling)
        records.append(
            {
                "model": model,
                "run": run,
                "probe_lang": lang,
                "agreement_before": float(agree_before.mean()),
                "agreement_after": float(agree_after.mean()),
                "agreement_change": float(agree_after.mean() - agree_before.mean()),
                "agreement_change_low": agreement_low,
                "agreement_change_high": agreement_high,
                "spearman_before": rho[0],
                "spearman_after": rho[1],
                "spearman_change": rho[1] - rho[0],
                "spearman_change_low": spearman_low,
                "spearman_change_high": spearman_high,
                "confidence_level": settings.confidence_level,
            }
        )
    return pl.DataFrame(records).sort("model", "run", "probe_lang")
