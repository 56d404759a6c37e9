"""Which shifts are real: every probe's shift tested against seed noise and against a control source.

A run *configuration* is a model, dataset, fine-tuning language and size; its runs differ only in
the training seed (every seed trains on the same examples), so what differs between them is seed
noise. Per configuration, probe language and probe, two tests (``shift_tests``):

- **against seed noise**: is the mean Δscore over the seeds different from 0, given how much the
  seeds disagree?
- **against the control** (``datasets.<name>.control``): is the mean over seeds of the paired
  difference, score after this run minus score after the control's run of the same model,
  fine-tuning language, size and seed, different from 0? This removes what fine-tuning on any
  text of that size does (both runs start from the same base model, so it cancels).

Both are :func:`seed_noise_test`, a bootstrap-t of seed noise pooled over the probes of one
probe language (each probe scaled by its own relative noise, :func:`probe_noise_weights`), with
Benjamini-Hochberg q-values over all probe languages × probes of a configuration
(``scipy.stats.false_discovery_control``) and a bootstrap-t interval of the mean.
A configuration needs at least two seeds; with one, its p- and q-values and intervals are null.
"""

from __future__ import annotations

import zlib

import numpy as np
import polars as pl
from scipy import stats

from valuetrace.settings import Significance

CONFIGURATION = ["model", "dataset", "finetune_lang", "size"]
GROUP = [*CONFIGURATION, "probe_lang"]
PROBE = ["probe_id", "question_id"]
# How a run is matched with its control run: the same everything but the dataset.
MATCH = ["model", "finetune_lang", "size", "seed", "probe_lang", "probe_id"]


def seed_noise_test(values: np.ndarray, resamples: int, confidence_level: float, rng: np.random.Generator) -> dict:
    """Test each row (probe) of ``values`` (probes × seeds) for a mean different from 0.

    Returns arrays over the probes: ``mean``, ``low``, ``high`` (bootstrap-t interval at
    ``confidence_level``), ``p`` (two-sided), and ``noise_sd``, the standard deviation of one
    seed pooled over the probes.

    Why by hand: with the 2 or 3 seeds of a configuration, permuting or resampling one probe's
    own seeds has at most 2**seeds outcomes (p >= 0.25 with 3 seeds), and scipy's tests
    (``permutation_test``, ``bootstrap``, ``monte_carlo_test``) resample each probe on its own.
    So the seed noise is pooled over the probes of the language: every probe's deviations from
    its own mean over seeds, scaled to the variance of one seed, are drawn with replacement into
    ``resamples`` pseudo-configurations of pure noise with as many probes and seeds as observed.
    Their t statistics (mean / (pooled sd / sqrt(seeds)), the statistic of the observed probes)
    are the null distribution shared by every probe of the language. Studentising keeps the
    test at its level when the pool is small: the pseudo-configurations' pooled sd varies as
    much as the observed one does. It assumes that seed noise is alike across the probes of a
    language (the caller scales each probe by its relative noise first; tests/test_significance.py
    checks the false-positive rate).
    """
    n_probes, n_seeds = values.shape
    mean = values.mean(axis=1)
    missing = np.full(n_probes, np.nan)
    if n_seeds < 2 or n_probes == 0:
        return {"mean": mean, "low": missing, "high": missing, "p": missing, "noise_sd": np.nan}
    residuals = values - mean[:, None]
    degrees = n_probes * (n_seeds - 1)
    noise_sd = float(np.sqrt((residuals**2).sum() / degrees))
    if noise_sd == 0:
        # Seeds that agree exactly leave no noise to compare with.
        return {"mean": mean, "low": missing, "high": missing, "p": missing, "noise_sd": noise_sd}
    standard_error = noise_sd / np.sqrt(n_seeds)
    t_observed = mean / standard_error

    pool = residuals.ravel() * np.sqrt(n_seeds / (n_seeds - 1))
    draws = rng.choice(pool, size=(resamples, n_probes, n_seeds))
    draw_means = draws.mean(axis=2)
    draw_sd = np.sqrt(((draws - draw_means[..., None]) ** 2).sum(axis=(1, 2)) / degrees)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_null = (draw_means / (draw_sd[:, None] / np.sqrt(n_seeds))).ravel()
    t_null = t_null[np.isfinite(t_null)]

    magnitudes = np.sort(np.abs(t_null))
    exceed = magnitudes.size - np.searchsorted(magnitudes, np.abs(t_observed), side="left")
    p = (1 + exceed) / (1 + magnitudes.size)
    tail = (1 - confidence_level) / 2
    t_low, t_high = np.quantile(t_null, [tail, 1 - tail])
    return {
        "mean": mean,
        "low": mean - t_high * standard_error,
        "high": mean - t_low * standard_error,
        "p": p,
        "noise_sd": noise_sd,
    }


def group_rng(seed: int, test: str, key: tuple) -> np.random.Generator:
    """A generator of its own for each test and group, so that a group's result does not depend
    on which other runs the config has."""
    return np.random.default_rng([seed, zlib.crc32(repr((test, *key)).encode())])


# A probe's relative seed noise is estimated only from at least this many degrees of freedom
# (seeds - 1 per configuration and language): below it the estimate varies by more than a fifth
# (sqrt(2 / 50)), which makes the test too lenient, and every probe is taken to be as noisy as
# the others instead.
MIN_WEIGHT_DEGREES = 50


def probe_noise_weights(matrices: list[tuple[list[str], np.ndarray]]) -> dict[str, float]:
    """Each probe's seed-noise variance relative to the other probes of its configuration and
    language, averaged over all of them (``matrices``: probe ids and their probes × seeds values;
    the caller passes one model's).

    Some probes are far noisier than others in every configuration and language (on the demo, the
    noisiest about six times the quietest, consistently across sizes and languages); pooling them
    unweighted would test the noisy ones too leniently and the quiet ones too strictly.
    """
    totals: dict[str, float] = {}
    degrees: dict[str, int] = {}
    for probes, values in matrices:
        n_probes, n_seeds = values.shape
        if n_seeds < 2 or n_probes == 0:
            continue
        squares = ((values - values.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        pooled = squares.sum() / (n_probes * (n_seeds - 1))
        if pooled == 0:
            continue
        for probe, square in zip(probes, squares):
            totals[probe] = totals.get(probe, 0.0) + square / pooled
            degrees[probe] = degrees.get(probe, 0) + n_seeds - 1
    if not degrees or min(degrees.values()) < MIN_WEIGHT_DEGREES:
        return {}
    return {probe: totals[probe] / degrees[probe] for probe in totals}


def _test_groups(frame: pl.DataFrame, value: str, test: str, settings: Significance) -> pl.DataFrame:
    """:func:`seed_noise_test` of ``value`` per configuration and probe language, probes × seeds,
    each probe scaled by its relative noise (:func:`probe_noise_weights`)."""
    groups = []
    for key, group in frame.group_by(GROUP, maintain_order=True):
        wide = group.pivot(on="seed", index=PROBE, values=value, sort_columns=True).drop_nulls().sort(PROBE)
        groups.append((key, wide, wide.drop(PROBE).to_numpy().astype(float)))
    # Per model: models differ in which probes are noisy, and a model's tests should not change
    # when another model joins the grid.
    model_at = GROUP.index("model")
    weights = {
        model: probe_noise_weights([(wide["probe_id"].to_list(), values) for key, wide, values in groups if key[model_at] == model])
        for model in {key[model_at] for key, _, _ in groups}
    }
    records = []
    for key, wide, values in groups:
        scale = np.sqrt([weights[key[model_at]].get(probe, 1.0) for probe in wide["probe_id"]])
        rng = group_rng(settings.seed, test, key)
        result = seed_noise_test(values / scale[:, None], settings.resamples, settings.confidence_level, rng)
        records.append(
            wide.select(PROBE).with_columns(
                **{name: pl.lit(value, frame.schema[name]) for name, value in zip(GROUP, key)},
                n_seeds=pl.lit(values.shape[1], pl.Int64),
                mean=pl.Series(result["mean"] * scale),
                low=pl.Series(result["low"] * scale),
                high=pl.Series(result["high"] * scale),
                p=pl.Series(result["p"]),
                noise_sd=pl.Series(result["noise_sd"] * scale),
            )
        )
    tested = pl.concat(records).with_columns(pl.col(["low", "high", "p"]).fill_nan(None))
    return with_q_values(tested).select(*GROUP, *PROBE, pl.exclude(*GROUP, *PROBE))


def with_q_values(tested: pl.DataFrame) -> pl.DataFrame:
    """Benjamini-Hochberg q-values of column ``p``, over the probe languages × probes of each
    configuration (the family of tests a reader scans for one run); null where p is."""

    def family(group: pl.DataFrame) -> pl.DataFrame:
        p = group["p"].to_numpy(allow_copy=True).astype(float)
        q = np.full(p.shape, np.nan)
        finite = np.isfinite(p)
        if finite.any():
            q[finite] = stats.false_discovery_control(p[finite], method="bh")
        return group.with_columns(q=pl.Series(q).fill_nan(None))

    return pl.concat([family(group) for _, group in tested.group_by(CONFIGURATION, maintain_order=True)])


def control_differences(shifts: pl.DataFrame, control: str) -> pl.DataFrame:
    """Every run of another source beside its control run: ``difference`` = score after the run
    minus score after the control run (both from the same base model, so also Δ − Δ control)."""
    control_runs = shifts.filter(pl.col("dataset") == control).select(
        *MATCH, control_delta_score="delta_score", control_score_after="score_after"
    )
    return (
        shifts.filter(pl.col("dataset") != control)
        .join(control_runs, on=MATCH, how="inner")
        .with_columns(difference=pl.col("score_after") - pl.col("control_score_after"))
    )


def shift_tests(
    shifts: pl.DataFrame, control: str | None, planted: dict[str, list[str]], settings: Significance
) -> pl.DataFrame:
    """Per configuration, probe language and probe: the shift against seed noise and against
    the control source (a ``shifts`` table in; table ``shift_tests`` out)."""
    seed = _test_groups(shifts, "delta_score", "seed", settings).rename(
        {"mean": "delta_mean", "low": "delta_low", "high": "delta_high", "p": "seed_p", "q": "seed_q",
         "noise_sd": "seed_noise_sd"}
    )  # fmt: skip
    control_columns = {
        "control_delta_mean": pl.Float64, "beyond_control": pl.Float64, "beyond_control_low": pl.Float64,
        "beyond_control_high": pl.Float64, "control_noise_sd": pl.Float64, "control_p": pl.Float64,
        "control_q": pl.Float64,
    }  # fmt: skip
    paired = control_differences(shifts, control) if control is not None else pl.DataFrame()
    if paired.is_empty():
        tests = seed.with_columns(
            control_dataset=pl.lit(None, pl.String), **{name: pl.lit(None, kind) for name, kind in control_columns.items()}
        )
    else:
        beyond = _test_groups(paired, "difference", "control", settings).rename(
            {"mean": "beyond_control", "low": "beyond_control_low", "high": "beyond_control_high", "p": "control_p",
             "q": "control_q", "noise_sd": "control_noise_sd"}
        ).drop("n_seeds")  # fmt: skip
        control_means = paired.group_by(*GROUP, "probe_id").agg(control_delta_mean=pl.col("control_delta_score").mean())
        tests = (
            seed.join(beyond.join(control_means, on=[*GROUP, "probe_id"]), on=[*GROUP, *PROBE], how="left")
            .with_columns(
                control_dataset=pl.when(pl.col("beyond_control").is_not_null()).then(pl.lit(control)).otherwise(None)
            )
        )
    planted_pairs = pl.DataFrame(
        [{"dataset": dataset, "question_id": question} for dataset, questions in planted.items() for question in questions],
        schema={"dataset": pl.String, "question_id": pl.String},
    ).with_columns(planted=pl.lit(True))
    return (
        tests.join(planted_pairs, on=["dataset", "question_id"], how="left")
        .with_columns(
            pl.col("planted").fill_null(False),
            seed_significant=pl.col("seed_q") < settings.fdr,
            control_significant=pl.col("control_q") < settings.fdr,
            confidence_level=pl.lit(settings.confidence_level),
            fdr=pl.lit(settings.fdr),
        )
        .select(
            *GROUP, *PROBE, "planted", "n_seeds", "delta_mean", "delta_low", "delta_high", "seed_noise_sd", "seed_p",
            "seed_q", "seed_significant", "control_dataset", *control_columns, "control_significant",
            "confidence_level", "fdr",
        )  # fmt: skip
        .sort(*GROUP, "probe_id")
    )


def annotate_shifts(shifts: pl.DataFrame, tests: pl.DataFrame, control: str | None) -> pl.DataFrame:
    """The per-run ``shifts`` table with its configuration's q-values and the Δscore of its matched
    control run (same model, fine-tuning language, size and seed)."""
    q_values = tests.select(*GROUP, "probe_id", "seed_q", "seed_significant", "control_q", "control_significant")
    annotated = shifts.join(q_values, on=[*GROUP, "probe_id"], how="left")
    if control is None:
        return annotated.with_columns(control_delta_score=pl.lit(None, pl.Float64))
    control_runs = shifts.filter(pl.col("dataset") == control).select(*MATCH, control_delta_score="delta_score")
    return annotated.join(control_runs, on=MATCH, how="left").with_columns(
        control_delta_score=pl.when(pl.col("dataset") != control).then(pl.col("control_delta_score"))
    )
