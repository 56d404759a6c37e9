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
    # seaborn divides the dodge among hue levels and fails with a single one.
    dodge = 0.2 if run_shifts["dataset"].n_unique() > 1 else False
    grid = sns.catplot(
        data=long.to_pandas(), x="size", y="value", hue="dataset", col="finetune_lang", row="measure",
        kind="point", errorbar=("pi", 100), dodge=dodge, height=3.0, aspect=0.9, sharey="row",
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


def _message_figure(message: str, path) -> None:
    """A figure that says why there is nothing to draw, so the report keeps its place."""
    figure, ax = plt.subplots(figsize=(6, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    _save(figure, path)


def attribution_languages_figure(groups: pl.DataFrame, path) -> None:
    """Multilingual runs: which example language supports a probe's shift, per probe language."""
    multi = groups.filter(pl.col("finetune_lang") == "multi")
    if multi.is_empty():
        _message_figure("No multilingual run was attributed (attribution.finetune_languages).", path)
        return
    # Probes that barely moved have no cause to find; the flipped ones do.
    if multi["flipped"].any():
        multi = multi.filter(pl.col("flipped"))
    key = ["model", "dataset", "size", "seed", "probe_lang", "probe_id"]
    share = multi.with_columns(share=pl.col("support") / pl.col("support").sum().over(key)).filter(
        pl.col("share").is_not_nan()
    )
    data = share.group_by("model", "dataset", "probe_lang", "example_lang").agg(pl.col("share").mean())
    _heatmap_grid(
        data, ["model", "dataset"], "probe_lang", "example_lang", "share",
        "Multilingual runs: share of the support for a flipped probe's shift from each example language", path,
    )  # fmt: skip


def attribution_sources_figure(groups: pl.DataFrame, path) -> None:
    """Mean support per example by source and language, for probes in the run's own languages."""
    own = groups.join(
        groups.select("model", "dataset", "finetune_lang", "size", "seed", probe_lang="example_lang").unique(),
        on=["model", "dataset", "finetune_lang", "size", "seed", "probe_lang"],
    )
    data = own.group_by("example_source", "example_lang").agg(
        support_per_example=pl.col("support").sum() / pl.col("n_examples").sum()
    ).sort("example_source", "example_lang")
    figure, ax = plt.subplots(figsize=(max(5, 0.8 * data["example_lang"].n_unique() + 3), 4))
    sns.barplot(data=data.to_pandas(), x="example_lang", y="support_per_example", hue="example_source", ax=ax)
    ax.set_xlabel("example language")
    ax.set_ylabel("support per example (influence towards the shift)")
    ax.set_title("Support from an average example, probes in its run's languages")
    _save(figure, path)


def attribution_planted_figure(planted: pl.DataFrame, checks: pl.DataFrame, path) -> None:
    """Precision@k of the planted questions per run, and the self-check per run."""
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
    if planted.is_empty():
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "no planted questions in the attributed runs", ha="center")
    else:
        data = planted.filter(pl.col("in_language")).with_columns(
            run=pl.format("{}/{} n{}", "dataset", "finetune_lang", "size")
        )
        sns.barplot(data=data.to_pandas(), x="run", y="precision", hue="question_id", errorbar=None, ax=axes[0])
        axes[0].axhline(0.9, color="black", linestyle=":", linewidth=0.8)
        axes[0].set_ylim(0, 1.05)
        axes[0].set_ylabel(f"precision@{planted['at'][0]} (in the run's languages)")
        axes[0].set_title("Top examples that plant the probed question")
        axes[0].tick_params(axis="x", rotation=30)
    passed = checks.with_columns(run=pl.format("{}/{} n{}", "dataset", "finetune_lang", "size")).group_by("run").agg(
        passed=pl.col("passed").mean()
    )
    sns.barplot(data=passed.sort("run").to_pandas(), x="run", y="passed", color="grey", ax=axes[1])
    axes[1].set_ylim(0, 1.05)
    axes[1].set_ylabel("copies attributed to their original first")
    axes[1].set_title("Self-check")
    axes[1].tick_params(axis="x", rotation=30)
    _save(figure, path)


def counterfactual_figure(counterfactual: pl.DataFrame, path) -> None:
    """Share of each target's shift undone by removing its top-k or k random examples."""
    data = counterfactual.with_columns(
        target=pl.format("{}/{} n{}: {} {}", "dataset", "finetune_lang", "size", "probe_lang", "question_id")
    )
    figure, ax = plt.subplots(figsize=(max(6, 0.9 * data["target"].n_unique() + 3), 4))
    # Bars are means over the random draws, with their range.
    sns.barplot(
        data=data.to_pandas(), x="target", y="fraction_undone", hue="removal", hue_order=["top", "random"],
        errorbar=("pi", 100), ax=ax,
    )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel(f"fraction of the shift undone (k = {data['k'][0]})")
    ax.set_xlabel("run: probe")
    ax.set_title("Retraining without the top-k attributed examples vs k random ones")
    ax.tick_params(axis="x", rotation=30)
    _save(figure, path)
