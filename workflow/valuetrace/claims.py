"""The paper's headline claims, stated as tests on the shift tables.

- ``magnitude_model``: "the magnitude of a shift depends on the data size more than on the domain
  or the language". An ordinary least-squares model (statsmodels) of each run's shift magnitude
  per probe language on the factors of the grid that vary: data size, source, fine-tuning
  language, probe language, whether the probe language is one the run was trained on, and the
  model. A type II analysis of variance gives each factor's sum of squares beyond the other
  factors, its share of the total variance and an F test; the claim reads as size's share being
  larger than the source's and the fine-tuning language's.
- ``multilingual_comparison``: "multilingual fine-tuning improves alignment and keeps languages
  distinct". Each multilingual run is paired with the monolingual run of the same model, source,
  size and seed in each of its languages (the change in agreement and in Spearman correlation in
  that language) and with the mean of the source's monolingual runs (the change in the
  correlation between language profiles); a Wilcoxon signed-rank test of the pairs and a
  bootstrap interval of their mean difference.
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats

from valuetrace.correlation import bootstrap_interval
from valuetrace.grid import MULTILINGUAL
from valuetrace.settings import Significance

# Grid factors of the magnitude model: column -> what it is.
FACTORS = {
    "size": "examples per language",
    "dataset": "source",
    "finetune_lang": "fine-tuning language",
    "probe_lang": "probe language",
    "own_language": "probe language is one the run was trained on",
    "model": "model",
}
MAGNITUDE_SCHEMA = {
    "term": pl.String, "description": pl.String, "n_levels": pl.Int64, "df": pl.Float64, "sum_sq": pl.Float64,
    "variance_share": pl.Float64, "partial_eta_sq": pl.Float64, "f_statistic": pl.Float64, "p_value": pl.Float64,
    "n_observations": pl.Int64, "r_squared": pl.Float64,
}  # fmt: skip
COMPARISON_SCHEMA = {
    "model": pl.String, "measure": pl.String, "n_pairs": pl.Int64, "multilingual_mean": pl.Float64,
    "monolingual_mean": pl.Float64, "difference": pl.Float64, "difference_low": pl.Float64,
    "difference_high": pl.Float64, "confidence_level": pl.Float64, "wilcoxon_statistic": pl.Float64,
    "p_value": pl.Float64,
}  # fmt: skip


def with_own_language(run_shifts: pl.DataFrame) -> pl.DataFrame:
    """``own_language``: the probe language is the run's fine-tuning language, or, for a
    multilingual run, one of the languages its source has monolingual runs in."""
    mono = (
        run_shifts.filter(pl.col("finetune_lang") != MULTILINGUAL)
        .select("dataset", probe_lang="finetune_lang")
        .unique()
        .with_columns(in_source=pl.lit(True))
    )
    return run_shifts.join(mono, on=["dataset", "probe_lang"], how="left").with_columns(
        own_language=(pl.col("probe_lang") == pl.col("finetune_lang"))
        | ((pl.col("finetune_lang") == MULTILINGUAL) & pl.col("in_source").fill_null(False))
    ).drop("in_source")


def magnitude_model(run_shifts: pl.DataFrame) -> pl.DataFrame:
    """Type II ANOVA of an OLS model of ``magnitude`` on the grid factors that vary (table
    ``magnitude_model``: one row per factor and one for the residual)."""
    data = with_own_language(run_shifts).select("magnitude", *FACTORS).drop_nulls()
    varying = [factor for factor in FACTORS if data[factor].n_unique() > 1]
    if not varying or data.height <= 1 + sum(data[factor].n_unique() - 1 for factor in varying):
        return pl.DataFrame(schema=MAGNITUDE_SCHEMA)  # nothing varies, or too few runs to fit
    frame = data.with_columns(pl.col(varying).cast(pl.String)).to_pandas()
    fit = smf.ols("magnitude ~ " + " + ".join(f"C({factor})" for factor in varying), data=frame).fit()
    anova = sm.stats.anova_lm(fit, typ=2)
    residual = float(anova.loc["Residual", "sum_sq"])
    records = []
    for factor in [*varying, None]:
        row = anova.loc[f"C({factor})" if factor else "Residual"]
        records.append(
            {
                "term": factor or "residual",
                "description": FACTORS[factor] if factor else "variation no factor explains (seeds among it)",
                "n_levels": data[factor].n_unique() if factor else None,
                "df": float(row["df"]),
                "sum_sq": float(row["sum_sq"]),
                "variance_share": float(row["sum_sq"]) / fit.centered_tss,
                "partial_eta_sq": float(row["sum_sq"]) / (float(row["sum_sq"]) + residual) if factor else None,
                "f_statistic": float(row["F"]) if factor else None,
                "p_value": float(row["PR(>F)"]) if factor else None,
                "n_observations": int(fit.nobs),
                "r_squared": float(fit.rsquared),
            }
        )
    return pl.DataFrame(records, schema=MAGNITUDE_SCHEMA)


def multilingual_pairs(run_shifts: pl.DataFrame, distinctiveness: pl.DataFrame) -> pl.DataFrame:
    """Multilingual runs beside their monolingual counterparts: ``measure``, ``multilingual`` and
    ``monolingual`` per model, source, size, seed (and probe language for the alignment measures)."""
    key = ["model", "dataset", "size", "seed"]
    measures = ["agreement_change", "spearman_change"]
    multi = run_shifts.filter(pl.col("finetune_lang") == MULTILINGUAL).select(*key, "probe_lang", *measures)
    mono = run_shifts.filter(pl.col("finetune_lang") == pl.col("probe_lang")).select(*key, "probe_lang", *measures)
    joined = multi.join(mono, on=[*key, "probe_lang"], suffix="_mono")
    alignment = pl.concat(
        [
            joined.select(*key, "probe_lang", measure=pl.lit(m), multilingual=pl.col(m), monolingual=pl.col(f"{m}_mono"))
            for m in measures
        ]
    )
    profiles = (
        distinctiveness.filter(pl.col("finetune_lang") == MULTILINGUAL)
        .select(*key, multilingual="profile_correlation_change")
        .join(
            distinctiveness.filter(pl.col("finetune_lang") != MULTILINGUAL)
            .group_by(key)
            .agg(monolingual=pl.col("profile_correlation_change").mean()),
            on=key,
        )
        .with_columns(measure=pl.lit("profile_correlation_change"), probe_lang=pl.lit(None, pl.String))
    )
    # Sorted because a join's row order is arbitrary and the bootstrap resamples rows by position.
    return (
        pl.concat([alignment, profiles.select(alignment.columns)])
        .drop_nans(["multilingual", "monolingual"])
        .sort("model", "measure", "dataset", "size", "seed", "probe_lang", nulls_last=True)
    )


def multilingual_comparison(run_shifts: pl.DataFrame, distinctiveness: pl.DataFrame, settings: Significance) -> pl.DataFrame:
    """Per model and measure: the multilingual and monolingual runs' mean, their paired mean
    difference with a bootstrap interval, and a Wilcoxon signed-rank test (table
    ``multilingual_comparison``)."""
    pairs = multilingual_pairs(run_shifts, distinctiveness)
    records = []
    for (model, measure), group in pairs.group_by("model", "measure", maintain_order=True):
        multilingual, monolingual = group["multilingual"].to_numpy(), group["monolingual"].to_numpy()
        difference = multilingual - monolingual
        low, high = bootstrap_interval(
            (difference,), np.mean, settings.resamples, settings.confidence_level, settings.seed
        )
        with warnings.catch_warnings():
            # Pairs that all tie leave no ranks to test: a p-value of 1 with a warning, kept.
            warnings.simplefilter("ignore", RuntimeWarning)
            test = stats.wilcoxon(multilingual, monolingual) if len(difference) >= 2 else None
        records.append(
            {
                "model": model,
                "measure": measure,
                "n_pairs": len(difference),
                "multilingual_mean": float(multilingual.mean()),
                "monolingual_mean": float(monolingual.mean()),
                "difference": float(difference.mean()),
                "difference_low": low,
                "difference_high": high,
                "confidence_level": settings.confidence_level,
                "wilcoxon_statistic": float(test.statistic) if test else None,
                "p_value": float(test.pvalue) if test else None,
            }
        )
    return pl.DataFrame(records, schema=COMPARISON_SCHEMA).sort("model", "measure")
