"""Figures for the report, drawn with seaborn from the workflow's tables."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import seaborn as sns  # noqa: E402

from valuetrace.tables import atomic_path  # noqa: E402


def _save(figure: plt.Figure, path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)


def alignment_figure(alignment: pl.DataFrame, path) -> None:
    """Agreement and Spearman correlation per language and model, with bootstrap intervals."""
    data = alignment.to_pandas()
    metrics = [("agreement", "agreement with human choice"), ("spearman", "Spearman ρ with human means")]
    figure, axes = plt.subplots(len(metrics), 1, figsize=(max(6, 0.6 * data["probe_lang"].nunique() + 2), 7))
    models = sorted(data["model"].unique())
    dodge = 0.4 if len(models) > 1 else 0.0
    # seaborn spreads hue levels evenly over [-dodge/2, dodge/2] around each category.
    offsets = dict(zip(models, np.linspace(-dodge / 2, dodge / 2, len(models))))
    for ax, (metric, label) in zip(axes, metrics):
        sns.pointplot(
            data=data,
            x="probe_lang",
            y=metric,
            hue="model",
            hue_order=models,
            dodge=dodge or False,
            linestyle="none",
            errorbar=None,
            ax=ax,
        )
        # seaborn computes its own intervals from raw observations; ours come from the
        # question-level bootstrap, so they are drawn on top with matplotlib.
        languages = list(dict.fromkeys(data["probe_lang"]))
        for model in models:
            subset = data[data["model"] == model]
            xs = [languages.index(lang) + offsets[model] for lang in subset["probe_lang"]]
            ax.errorbar(
                xs,
                subset[metric],
                yerr=[subset[metric] - subset[f"{metric}_low"], subset[f"{metric}_high"] - subset[metric]],
                fmt="none",
                ecolor="grey",
                capsize=2,
            )
        ax.axhline(0.5 if metric == "agreement" else 0.0, color="black", linewidth=0.8, linestyle=":")
        ax.set_xlabel("probe language")
        ax.set_ylabel(label)
    level = data["confidence_level"].iloc[0]
    figure.suptitle(f"Alignment with survey data ({level:.0%} bootstrap intervals)\n{data['survey_data'].iloc[0]}")
    _save(figure, path)


def score_heatmap(scores: pl.DataFrame, path, value: str = "score", title: str = "") -> None:
    """Question × language heatmap of ``value`` (positive = leaning towards option A)."""
    pivot = (
        scores.pivot(on="probe_lang", index="question_id", values=value, aggregate_function="mean")
        .sort(pl.col("question_id").str.strip_prefix("Q").cast(pl.Int64))
        .to_pandas()
        .set_index("question_id")
    )
    limit = max(float(abs(pivot).max().max()), 1e-6)
    figure, ax = plt.subplots(figsize=(0.5 * pivot.shape[1] + 3, 0.3 * pivot.shape[0] + 2))
    sns.heatmap(pivot, cmap="vlag_r", center=0, vmin=-limit, vmax=limit, ax=ax, cbar_kws={"label": value})
    ax.set_xlabel("probe language")
    ax.set_ylabel("WVS question")
    ax.set_title(title)
    _save(figure, path)
