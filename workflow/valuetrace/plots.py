"""Figures for the report, drawn with seaborn from the workflow's tables, and their registry.

:data:`FIGURES` maps a figure's name to its draw function, the tables it is drawn from (names
in ``valuetrace.tables.TABLES``, passed to the function in that order), its report category
and the stage whose results it shows (see ``valuetrace.plan``). The workflow makes one rule per figure from it
(``workflow/rules/report.smk``) with the caption ``workflow/report/figures/<name>.rst``, so
adding a figure is a function here, registered with :func:`report_figure`, and its caption.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import polars as pl

from valuetrace.tables import TABLES, atomic_path

ALIGNMENT = "1. Alignment with the survey"
PROFILES = "2. Value profiles"
SURVEY = "3. Survey"
SHIFTS = "5. Value shifts"
ATTRIBUTION = "6. Attribution"
HOFSTEDE = "7. Hofstede dimensions"
VALIDITY = "8. Validity"


@dataclass(frozen=True)
class Figure:
    """A report figure: ``results/figures/<name>.png``, or ``<name>_<model>.png`` per model
    when it is drawn from a table of each model (a table path with ``{model}``)."""

    name: str
    draw: Callable
    tables: tuple[str, ...]
    category: str
    stage: str

    @property
    def per_model(self) -> bool:
        return any("{model}" in TABLES[table].path for table in self.tables)

    @property
    def stem(self) -> str:
        """The file name without suffix, as a pattern (figures, logs and benchmarks use it)."""
        return f"{self.name}_{{model}}" if self.per_model else self.name

    @property
    def path(self) -> str:
        return f"results/figures/{self.stem}.png"

    @property
    def inputs(self) -> list[str]:
        return [TABLES[table].path for table in self.tables]


FIGURES: dict[str, Figure] = {}


def report_figure(name: str, *, tables: tuple[str, ...], category: str, stage: str):
    """Register the decorated draw function (its tables -> a matplotlib figure) as ``name``."""

    def register(draw: Callable) -> Callable:
        unknown = [table for table in tables if table not in TABLES]
        if unknown:
            raise KeyError(f"figure {name!r} reads tables {unknown} that valuetrace.tables.TABLES does not list")
        FIGURES[name] = Figure(name, draw, tuple(tables), category, stage)
        return draw

    return register


def probe_order(probe_id: str) -> tuple:
    """Probe ids in questionnaire order: Q2 before Q10, Q106a before Q106b before Q107."""
    match = re.fullmatch(r"([A-Z]+)(\d+)([a-z]?)", probe_id)
    return (match.group(1), int(match.group(2)), match.group(3)) if match else (probe_id, 0, "")


def _pyplot():
    """pyplot and seaborn, imported when a figure is drawn: the workflow reads this module's
    registry whenever it plans, and importing seaborn alone takes seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    return plt, sns


def render(name: str, frames: list[pl.DataFrame], path) -> None:
    """Draw figure ``name`` from its tables and write it as PNG, atomically."""
    plt, _ = _pyplot()
    drawn = FIGURES[name].draw(*frames)
    with atomic_path(path) as tmp:
        drawn.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    plt.close(drawn)


@report_figure("alignment", tables=("alignment",), category=ALIGNMENT, stage="probes")
def alignment_figure(alignment: pl.DataFrame):
    """Agreement and Spearman correlation per language of the base models, with bootstrap intervals."""
    plt, sns = _pyplot()
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
    return figure


@report_figure("scores", tables=("base_scores",), category=PROFILES, stage="probes")
def scores_figure(scores: pl.DataFrame):
    """Value scores of one base model per question and probe language."""
    title = f"Value scores of {scores['model'][0]}: log P(A) - log P(B) (positive = option A)"
    return _question_heatmap(scores.filter(pl.col("probe_set") == "wvs"), "score", title)


@report_figure("human_values", tables=("human_values",), category=SURVEY, stage="probes")
def human_values_figure(humans: pl.DataFrame):
    """Human values per country (by probe language) and question."""
    synthetic = humans["survey_data"].str.contains("synthetic").any()
    title = "Human values (SYNTHETIC stand-in data)" if synthetic else "Human values (WVS-7)"
    return _question_heatmap(humans, "human_score", title)


def _question_heatmap(scores: pl.DataFrame, value: str, title: str):
    """Question × language heatmap of ``value`` (positive = leaning towards option A)."""
    plt, sns = _pyplot()
    pivot = (
        scores.pivot(on="probe_lang", index="probe_id", values=value, aggregate_function="mean")
        .to_pandas()
        .set_index("probe_id")
    )
    pivot = pivot.loc[sorted(pivot.index, key=probe_order)]
    limit = max(float(abs(pivot).max().max()), 1e-6)
    figure, ax = plt.subplots(figsize=(0.5 * pivot.shape[1] + 3, 0.3 * pivot.shape[0] + 2))
    sns.heatmap(pivot, cmap="vlag_r", center=0, vmin=-limit, vmax=limit, ax=ax, cbar_kws={"label": value})
    ax.set_xlabel("probe language")
    ax.set_ylabel("WVS probe")
    ax.set_title(title)
    return figure


def _largest_size(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("size") == pl.col("size").max())


def _heatmap_grid(frame: pl.DataFrame, panels: list[str], row: str, column: str, value: str, title: str, center=None, marked_rows=()):
    """One seaborn heatmap per combination of ``panels`` columns, side by side."""
    plt, sns = _pyplot()
    groups = frame.partition_by(panels, as_dict=True, maintain_order=True)
    figure, axes = plt.subplots(
        1, len(groups), figsize=(4.2 * len(groups) + 1, 4 + 0.12 * frame[row].n_unique()),
        squeeze=False, sharey=True, layout="constrained",
    )  # fmt: skip
    # A few extreme cells would wash out the rest: the colour scale stops at the 98th percentile.
    limit = max(float(frame[value].abs().quantile(0.98) or 0), 1e-6)
    for index, (ax, (key, group)) in enumerate(zip(axes[0], sorted(groups.items()))):
        pivot = group.pivot(on=column, index=row, values=value, aggregate_function="mean").to_pandas().set_index(row)
        if row == "probe_id":
            pivot = pivot.loc[sorted(pivot.index, key=probe_order)]
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
    return figure


@report_figure("cross_language", tables=("cross_language",), category=SHIFTS, stage="runs")
def cross_language_figure(cross: pl.DataFrame):
    """Fine-tuning language × probe language matrix of shift magnitude per model and dataset."""
    data = _largest_size(cross)
    return _heatmap_grid(
        data, ["model", "dataset"], "finetune_lang", "probe_lang", "magnitude",
        f"Shift magnitude (mean |Δscore|), {data['size'][0]} examples per language",
    )  # fmt: skip


@report_figure("flip_rates", tables=("run_shifts",), category=SHIFTS, stage="runs")
def flip_rates_figure(run_shifts: pl.DataFrame):
    """Shift magnitude and flip rate against data size, per source and fine-tuning language."""
    plt, sns = _pyplot()
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
    return grid.figure


@report_figure("alignment_change", tables=("run_shifts",), category=SHIFTS, stage="runs")
def alignment_change_figure(run_shifts: pl.DataFrame):
    """Agreement with the survey before and after fine-tuning, per probe language."""
    plt, sns = _pyplot()
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
    return grid.figure


@report_figure("distinctiveness", tables=("distinctiveness",), category=SHIFTS, stage="runs")
def distinctiveness_figure(distinctiveness: pl.DataFrame):
    """Mean correlation between language profiles after each run, against the base model's."""
    plt, sns = _pyplot()
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
    return grid.figure


@report_figure("planted", tables=("shifts", "planted"), category=SHIFTS, stage="planted")
def planted_figure(shifts: pl.DataFrame, planted: pl.DataFrame):
    """Δscore per question and probe language for the runs on planting sources; planted questions marked."""
    datasets = planted["dataset"].unique().to_list()
    data = _largest_size(shifts.filter(pl.col("dataset").is_in(datasets)))
    return _heatmap_grid(
        data, ["dataset", "finetune_lang"], "probe_id", "probe_lang", "delta_score",
        "Δscore after fine-tuning on planting sources (* planted question; blue = towards option A)",
        center=0, marked_rows=set(planted["probe_id"]),
    )  # fmt: skip


@report_figure("planted_specificity", tables=("planted",), category=VALIDITY, stage="planted")
def planted_specificity_figure(planted: pl.DataFrame):
    """Each planted question's Δscore in its run's language beside the largest |Δscore| of the
    questions sharing its option words and of all other questions."""
    plt, sns = _pyplot()
    data = _largest_size(planted.filter(pl.col("in_language")))
    if data.is_empty():
        return _message_figure("No planted question was probed in a language its run was trained on.")
    data = data.with_columns(
        case=pl.format("{} {} ({} run)", "probe_lang", "question_id", "finetune_lang"),
        max_abs_delta_same_options=pl.col("max_abs_delta_same_options").fill_null(0.0),
    ).unpivot(
        ["delta_score", "max_abs_delta_same_options", "max_abs_delta_other"], index=["model", "dataset", "case"],
        variable_name="measure", value_name="value",
    )  # fmt: skip
    labels = {
        "delta_score": "planted question's Δscore",
        "max_abs_delta_same_options": "largest |Δ|, same option words",
        "max_abs_delta_other": "largest |Δ|, any other question",
    }
    data = data.with_columns(pl.col("measure").replace_strict(labels))
    grid = sns.catplot(
        data=data.sort("case").to_pandas(), kind="bar", x="value", y="case", hue="measure", col="model",
        row="dataset", height=0.35 * data["case"].n_unique() + 2, aspect=1.6, errorbar=("pi", 100),
    )  # fmt: skip
    grid.set_axis_labels("Δscore", "")
    grid.figure.suptitle("Specificity of planted shifts (specific: the first bar longest, towards A)", y=1.03)
    return grid.figure


def _message_figure(message: str):
    """A figure that says why there is nothing to draw, so the report keeps its place."""
    plt, _ = _pyplot()
    figure, ax = plt.subplots(figsize=(6, 1.5))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return figure


@report_figure("attribution_languages", tables=("attribution_groups",), category=ATTRIBUTION, stage="attribution")
def attribution_languages_figure(groups: pl.DataFrame):
    """Multilingual runs: which example language supports a probe's shift, per probe language."""
    multi = groups.filter(pl.col("finetune_lang") == "multi")
    if multi.is_empty():
        return _message_figure("No multilingual run was attributed (attribution.finetune_languages).")
    # Probes that barely moved have no cause to find; the flipped ones do.
    if multi["flipped"].any():
        multi = multi.filter(pl.col("flipped"))
    key = ["model", "dataset", "size", "seed", "probe_lang", "probe_id"]
    share = multi.with_columns(share=pl.col("support") / pl.col("support").sum().over(key)).filter(
        pl.col("share").is_not_nan()
    )
    data = share.group_by("model", "dataset", "probe_lang", "example_lang").agg(pl.col("share").mean())
    return _heatmap_grid(
        data, ["model", "dataset"], "probe_lang", "example_lang", "share",
        "Multilingual runs: share of the support for a flipped probe's shift from each example language",
    )  # fmt: skip


@report_figure("attribution_sources", tables=("attribution_groups",), category=ATTRIBUTION, stage="attribution")
def attribution_sources_figure(groups: pl.DataFrame):
    """Mean support per example by source and language, for probes in the run's own languages."""
    plt, sns = _pyplot()
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
    return figure


@report_figure(
    "attribution_planted", tables=("attribution_planted", "attribution_checks"), category=ATTRIBUTION, stage="attribution"
)
def attribution_planted_figure(planted: pl.DataFrame, checks: pl.DataFrame):
    """Precision@k of the planted questions per run, and the self-check per run."""
    plt, sns = _pyplot()
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
    return figure


@report_figure("counterfactual", tables=("counterfactual",), category=ATTRIBUTION, stage="counterfactual")
def counterfactual_figure(counterfactual: pl.DataFrame):
    """Share of each target's shift undone by removing its top-k or k random examples."""
    plt, sns = _pyplot()
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
    return figure


@report_figure("hofstede", tables=("hofstede_indices", "hofstede_alignment"), category=HOFSTEDE, stage="hofstede")
def hofstede_figure(indices: pl.DataFrame, agreement: pl.DataFrame):
    """VSM 2013 index of every base model per language against the country's score, per dimension."""
    plt, sns = _pyplot()
    data = indices.filter(pl.col("run") == "base")
    dimensions = list(dict.fromkeys(data["dimension"]))
    figure, axes = plt.subplots(2, 3, figsize=(13, 8), squeeze=False, layout="constrained")
    for ax, dimension in zip(axes.flat, dimensions):
        panel = data.filter(pl.col("dimension") == dimension).drop_nulls(["index", "country_score"])
        if panel.is_empty():
            ax.axis("off")
            ax.set_title(f"{dimension.upper()}: no index or no country score")
            continue
        sns.scatterplot(data=panel.to_pandas(), x="country_score", y="index", hue="model", ax=ax, legend=ax is axes.flat[0])
        for row in panel.iter_rows(named=True):
            ax.annotate(row["probe_lang"], (row["country_score"], row["index"]), fontsize=7, xytext=(2, 2), textcoords="offset points")
        rhos = agreement.filter(pl.col("run") == "base", pl.col("dimension") == dimension)
        ax.set_title(
            f"{dimension.upper()}: " + ", ".join(f"{row['model']} ρ = {row['spearman']:.2f}" for row in rhos.iter_rows(named=True)),
            fontsize=9,
        )
        ax.set_xlabel("country score")
        ax.set_ylabel("model's VSM index")
    figure.suptitle(f"Hofstede's dimensions from the VSM 2013 probes\n{data['scores_data'][0] if data.height else ''}")
    return figure
