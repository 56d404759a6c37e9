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
    """Agreement and Spearman correlation per language of the base models, with bootstrap intervals."""
    data = alignment.filter(pl.col("run") == "base").to_pandas()
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


def _largest_size(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("size") == pl.col("size").max())


def _heatmap_grid(frame: pl.DataFrame, panels: list[str], row: str, column: str, value: str, title: str, path, center=None, marked_rows=()):
    """One seaborn heatmap per combination of ``panels`` columns, side by side."""
    groups = frame.partition_by(panels, as_dict=True, maintain_order=True)
    figure, axes = plt.subplots(
        1, len(groups), figsize=(4.2 * len(groups) + 1, 4 + 0.12 * frame[row].n_unique()),
        squeeze=False, sharey=True, layout="constrained",
    )  # fmt: skip
    # A few extreme cells would wash out the rest: the colour scale stops at the 98th percentile.
    limit = max(float(frame[value].abs().quantile(0.98) or 0), 1e-6)
    for index, (ax, (key, group)) in enumerate(zip(axes[0], sorted(groups.items()))):
        pivot = group.pivot(on=column, index=row, values=value, aggregate_function="mean").to_pandas().set_index(row)
        if row == "question_id":
            pivot = pivot.loc[sorted(pivot.index, key=lambda q: int(q[1:]))]
        sns.heatmap(
            pivot,
            cmap="vlag_r" if center is not None else "rocket_r",
            center=center,
            vmin=-limit if center is not None else 0,
            vmax=limit,
            annot=pivot.shape[0] * pivot.shape[1] <= 64,
            fmt=".2f",
            cbar=index == len(groups) - 1,
            cbar_kws={"label": value, "extend": "both"},
            ax=ax,
        )
        if marked_rows:
            ax.set_yticklabels([f"{q} *" if q in marked_rows else q for q in pivot.index], rotation=0)
        ax.set_title(" / ".join(str(k) for k in key))
        ax.set_xlabel(column.replace("_", " "))
        ax.set_ylabel(row.replace("_", " ") if index == 0 else "")
    figure.suptitle(title)
    _save(figure, path)


def cross_language_figure(cross: pl.DataFrame, path) -> None:
    """Fine-tuning language × probe language matrix of shift magnitude per model and dataset."""
    data = _largest_size(cross)
    _heatmap_grid(
        data, ["model", "dataset"], "finetune_lang", "probe_lang", "magnitude",
        f"Shift magnitude (mean |Δscore|), {data['size'][0]} examples per language", path,
    )  # fmt: skip


def flip_rates_figure(run_shifts: pl.DataFrame, path) -> None:
    """Shift magnitude and flip rate against data size, per source and fine-tuning language."""
    long = run_shifts.unpivot(
        index=["dataset", "finetune_lang", "size", "seed", "probe_lang"],
        on=["magnitude", "flip_rate"],
        variable_name="measure",
    )
    grid = sns.catplot(
        data=long.to_pandas(), x="size", y="value", hue="dataset", col="finetune_lang", row="measure",
        kind="point", errorbar=("pi", 100), dodge=0.2, height=3.0, aspect=0.9, sharey="row",
    )  # fmt: skip
    grid.set_titles("{col_name}")
    grid.set_axis_labels("examples per language", "")
    for measure, axes in zip(grid.row_names, grid.axes):
        axes[0].set_ylabel({"magnitude": "magnitude (mean |Δscore|)", "flip_rate": "flip rate"}[measure])
    grid.figure.suptitle("Shift magnitude and flip rate by source and data size (range over probe languages and seeds)", y=1.03)
    _save(grid.figure, path)


def alignment_change_figure(run_shifts: pl.DataFrame, path) -> None:
    """Agreement with the survey before and after fine-tuning, per probe language."""
    data = _largest_size(run_shifts)
    long = pl.concat(
        [
            data.select("dataset", "finetune_lang", "probe_lang", agreement=pl.col("agreement_before"), when=pl.lit("before")).unique(),
            data.select("dataset", "finetune_lang", "probe_lang", agreement=pl.col("agreement_after"), when=pl.lit("after")),
        ]
    )
    grid = sns.catplot(
        data=long.to_pandas(), x="probe_lang", y="agreement", hue="when", row="dataset", col="finetune_lang",
        kind="point", errorbar=None, linestyle="none", height=2.6, aspect=1.5,
    )  # fmt: skip
    grid.set_axis_labels("probe language", "agreement")
    grid.figure.suptitle(f"Agreement with the survey before and after fine-tuning ({data['size'][0]} examples per language)", y=1.02)
    _save(grid.figure, path)


def distinctiveness_figure(distinctiveness: pl.DataFrame, path) -> None:
    """Mean correlation between language profiles after each run, against the base model's."""
    data = distinctiveness.to_pandas()
    grid = sns.catplot(
        data=data, x="finetune_lang", y="profile_correlation_after", hue="dataset", col="size", row="model",
        kind="bar", errorbar=None, height=3, aspect=1.1,
    )  # fmt: skip
    for (model, _size), ax in grid.axes_dict.items():
        before = data.loc[data["model"] == model, "profile_correlation_before"].iloc[0]
        ax.axhline(before, color="black", linestyle=":")
    grid.set_axis_labels("fine-tuning language", "mean correlation between languages")
    grid.figure.suptitle("Distinctiveness of language profiles (dotted: before fine-tuning; higher = more alike)", y=1.04)
    _save(grid.figure, path)


def planted_figure(shifts: pl.DataFrame, planted: pl.DataFrame, path) -> None:
    """Δscore per question and probe language for the runs on planting sources; planted questions marked."""
    datasets = planted["dataset"].unique().to_list()
    data = _largest_size(shifts.filter(pl.col("dataset").is_in(datasets)))
    _heatmap_grid(
        data, ["dataset", "finetune_lang"], "question_id", "probe_lang", "delta_score",
        "Δscore after fine-tuning on planting sources (* planted question; blue = towards option A)", path,
        center=0, marked_rows=set(planted["question_id"]),
    )  # fmt: skip
