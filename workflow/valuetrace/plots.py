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

from valuetrace.tables import TABLES, atomic_path, column_values

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


def _run_panels(frame: pl.DataFrame) -> list[str]:
    """Panels of one source and fine-tuning language each, and of one model when there are several."""
    return ["model", "dataset", "finetune_lang"] if frame["model"].n_unique() > 1 else ["dataset", "finetune_lang"]


def _heatmap_grid(
    frame: pl.DataFrame, panels: list[str], row: str, column: str, value: str, title: str, center=None, marked_rows=(),
    marked_cells: str | None = None,
):  # fmt: skip
    """One seaborn heatmap per combination of ``panels`` columns, side by side; cells where the
    boolean column ``marked_cells`` is true are outlined."""
    plt, sns = _pyplot()
    from matplotlib.patches import Rectangle

    groups = frame.partition_by(panels, as_dict=True, maintain_order=True)
    annotated = frame[row].n_unique() * frame[column].n_unique() <= 64
    panel_width = max(4.2, 0.45 * frame[column].n_unique() + 1) if annotated else 4.2  # room for the numbers
    figure, axes = plt.subplots(
        1, len(groups), figsize=(panel_width * len(groups) + 1, 4 + 0.12 * frame[row].n_unique()),
        squeeze=False, sharey=True, layout="constrained",
    )  # fmt: skip
    # A few extreme cells would wash out the rest: the colour scale stops at the 98th percentile.
    limit = max(float(frame[value].abs().quantile(0.98) or 0), 1e-6)
    for index, (ax, (key, group)) in enumerate(zip(axes[0], sorted(groups.items()))):
        pivot = group.pivot(on=column, index=row, values=value, aggregate_function="mean").to_pandas().set_index(row)
        pivot = pivot[sorted(pivot.columns)]
        if row == "probe_id":
            pivot = pivot.loc[sorted(pivot.index, key=probe_order)]
        sns.heatmap(
            pivot,
            cmap="vlag_r" if center is not None else "rocket_r",
            center=center,
            vmin=-limit if center is not None else 0,
            vmax=limit,
            annot=annotated,
            fmt=".2f",
            cbar=index == len(groups) - 1,
            cbar_kws={"label": value, "extend": "both"},
            ax=ax,
        )
        if marked_rows:
            ax.set_yticklabels([f"{q} *" if q in marked_rows else q for q in pivot.index], rotation=0)
        if marked_cells:
            marks = (
                group.pivot(on=column, index=row, values=marked_cells, aggregate_function="max")
                .to_pandas()
                .set_index(row)
                .reindex(index=pivot.index, columns=pivot.columns)
            )
            for i, j in zip(*np.nonzero(marks.fillna(False).to_numpy(dtype=bool))):
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, edgecolor="black", linewidth=1.4))
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
    """Change in agreement and Spearman correlation per probe language and run, with paired bootstrap intervals."""
    plt, _ = _pyplot()
    data = _largest_size(run_shifts)
    measures = [("agreement_change", "Δ agreement"), ("spearman_change", "Δ Spearman ρ")]
    datasets = sorted(data["dataset"].unique())
    finetune_langs = sorted(data["finetune_lang"].unique())
    languages = sorted(data["probe_lang"].unique())
    seeds = sorted(data["seed"].unique())
    rows = [(measure, dataset) for measure in measures for dataset in datasets]
    figure, axes = plt.subplots(
        len(rows), len(finetune_langs), figsize=(3.2 * len(finetune_langs) + 1, 2.3 * len(rows) + 1),
        squeeze=False, sharex=True, sharey="row", layout="constrained",
    )  # fmt: skip
    # seeds side by side around each language
    offsets = dict(zip(seeds, np.linspace(-0.2, 0.2, len(seeds)) if len(seeds) > 1 else [0.0]))
    for (index, ((measure, label), dataset)), panel_row in zip(enumerate(rows), axes):
        for ax, finetune_lang in zip(panel_row, finetune_langs):
            panel = data.filter(pl.col("dataset") == dataset, pl.col("finetune_lang") == finetune_lang)
            for seed in seeds:
                points = panel.filter(pl.col("seed") == seed).sort("probe_lang")
                xs = [languages.index(lang) + offsets[seed] for lang in points["probe_lang"]]
                values = points[measure].to_numpy()
                ax.errorbar(
                    xs, values, yerr=[values - points[f"{measure}_low"].to_numpy(), points[f"{measure}_high"].to_numpy() - values],
                    fmt="o", markersize=3, capsize=1.5, linewidth=0.8, label=f"seed {seed}",
                )  # fmt: skip
            ax.axhline(0, color="black", linewidth=0.8, linestyle=":")
            ax.set_xticks(range(len(languages)), languages, rotation=90, fontsize=7)
            if index == 0:
                ax.set_title(f"fine-tuned on {finetune_lang}")
        panel_row[0].set_ylabel(f"{label}\n{dataset}")
    if len(seeds) > 1:
        axes[0][-1].legend(fontsize=7)
    level = data["confidence_level"][0]
    figure.suptitle(
        f"Alignment change after fine-tuning, {data['size'][0]} examples per language "
        f"({level:.0%} paired bootstrap intervals over probes)"
    )
    return figure


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


@report_figure("planted", tables=("shift_tests", "planted"), category=SHIFTS, stage="planted")
def planted_figure(tests: pl.DataFrame, planted: pl.DataFrame):
    """Mean Δscore per question and probe language for the runs on planting sources; planted
    questions marked, shifts beyond seed noise outlined."""
    datasets = planted["dataset"].unique().to_list()
    data = _largest_size(tests.filter(pl.col("dataset").is_in(datasets)))
    return _heatmap_grid(
        data, _run_panels(data), "probe_id", "probe_lang", "delta_mean",
        "Δscore after fine-tuning on planting sources, mean over seeds "
        f"(* planted question; outlined: beyond seed noise, q < {data['fdr'][0]}; blue = towards option A)",
        center=0, marked_rows=set(planted["probe_id"]), marked_cells="seed_significant",
    )  # fmt: skip


@report_figure("beyond_control", tables=("shift_tests",), category=SHIFTS, stage="control")
def beyond_control_figure(tests: pl.DataFrame):
    """Shift beyond the control source per question and probe language; significant cells outlined."""
    data = _largest_size(tests.filter(pl.col("control_dataset").is_not_null()))
    return _heatmap_grid(
        data, _run_panels(data), "probe_id", "probe_lang", "beyond_control",
        f"Shift beyond the control source {data['control_dataset'][0]}, mean over seeds "
        f"(outlined: q < {data['fdr'][0]}; * planted question; blue = towards option A)",
        center=0, marked_rows=set(data.filter(pl.col("planted"))["probe_id"]), marked_cells="control_significant",
    )  # fmt: skip


@report_figure("significant_shifts", tables=("shift_tests",), category=SHIFTS, stage="runs")
def significant_shifts_figure(tests: pl.DataFrame):
    """Share of probes whose shift is significant, per test, source, kind of question and fine-tuning language."""
    plt, sns = _pyplot()
    tested = tests.filter(pl.col("seed_q").is_not_null())
    if tested.is_empty():
        return _message_figure("Testing shifts against seed noise needs at least two seeds (finetuning.seeds).")
    kind = pl.when(pl.col("planted")).then(pl.lit("planted questions")).otherwise(pl.lit("other questions"))
    tests_long = pl.concat(
        [
            tested.select(
                "dataset", "finetune_lang", "probe_lang", test=pl.lit(name), kind=kind,
                significant=pl.col(column).cast(pl.Float64),
            ).drop_nulls("significant")
            for name, column in (("vs seed noise", "seed_significant"), ("vs control", "control_significant"))
        ]
    )  # fmt: skip
    shares = (
        tests_long.group_by("test", "dataset", "kind", "finetune_lang", "probe_lang")
        .agg(share=pl.col("significant").mean())
        .with_columns(row=pl.format("{}: {}, {} | {}", "test", "dataset", "kind", "finetune_lang"))
    )
    pivot = shares.pivot(on="probe_lang", index="row", values="share").to_pandas().set_index("row")
    pivot = pivot.loc[sorted(pivot.index, reverse=True), sorted(pivot.columns)]  # seed noise first
    figure, ax = plt.subplots(figsize=(0.6 * pivot.shape[1] + 5, 0.35 * pivot.shape[0] + 2))
    sns.heatmap(pivot, cmap="rocket_r", vmin=0, vmax=1, annot=True, fmt=".2f", annot_kws={"fontsize": 7},
                cbar_kws={"label": "share of probes significant"}, ax=ax)  # fmt: skip
    ax.set_xlabel("probe language")
    ax.set_ylabel("test: source, questions | fine-tuning language")
    ax.set_title(f"Share of probes with a significant shift (q < {tests['fdr'][0]}), all sizes and models")
    return figure


@report_figure("magnitude_model", tables=("magnitude_model",), category=SHIFTS, stage="runs")
def magnitude_model_figure(model: pl.DataFrame):
    """Share of the variance of shift magnitude each grid factor explains, with its F test."""
    plt, sns = _pyplot()
    if model.is_empty():
        return _message_figure("Too few runs, or no grid factor that varies, to model shift magnitude.")
    data = model.with_columns(
        label=pl.struct("term", "p_value").map_elements(
            lambda row: row["term"] if row["p_value"] is None else f"{row['term']} (p = {_p_text(row['p_value'])})",
            return_dtype=pl.String,
        )
    ).sort("variance_share", descending=True)
    figure, ax = plt.subplots(figsize=(7, 0.5 * data.height + 1.5))
    sns.barplot(data=data.to_pandas(), y="label", x="variance_share", color="steelblue", ax=ax)
    ax.set_xlabel("share of the variance of shift magnitude (type II sum of squares / total)")
    ax.set_ylabel("")
    ax.set_title(
        f"What shift magnitude depends on: OLS on {data['n_observations'][0]} runs × probe languages, "
        f"R² = {data['r_squared'][0]:.2f}",
        fontsize=10,
    )
    return figure


@report_figure("multilingual_comparison", tables=("multilingual_comparison",), category=SHIFTS, stage="multilingual")
def multilingual_comparison_figure(comparison: pl.DataFrame):
    """Paired difference multilingual − monolingual per measure, with its interval and test."""
    plt, _ = _pyplot()
    models = sorted(comparison["model"].unique())
    figure, axes = plt.subplots(1, len(models), figsize=(6 * len(models), 3.5), squeeze=False)
    for ax, model in zip(axes[0], models):
        data = comparison.filter(pl.col("model") == model).sort("measure")
        values = data["difference"].to_numpy()
        ax.errorbar(
            values, range(data.height), fmt="o", capsize=3,
            xerr=[values - data["difference_low"].to_numpy(), data["difference_high"].to_numpy() - values],
        )  # fmt: skip
        ax.axvline(0, color="black", linewidth=0.8, linestyle=":")
        ax.set_yticks(
            range(data.height),
            [f"{row['measure']}\n(Wilcoxon p = {_p_text(row['p_value'])}, {row['n_pairs']} pairs)" for row in data.iter_rows(named=True)],
            fontsize=8,
        )
        ax.set_xlabel("multilingual − monolingual (mean paired difference)")
        ax.set_title(model)
    level = comparison["confidence_level"][0]
    figure.suptitle(f"Multilingual vs monolingual fine-tuning ({level:.0%} bootstrap intervals over pairs)")
    figure.tight_layout()
    return figure


def _p_text(p: float | None) -> str:
    return "n/a" if p is None or np.isnan(p) else f"{p:.2g}"


@report_figure("calibration", tables=("shifts", "planted"), category=VALIDITY, stage="planted")
def calibration_figure(shifts: pl.DataFrame, planted: pl.DataFrame):
    """Every probe's raw Δscore against its Δscore as the config calibrates it, in the languages
    the planting runs were trained on; the planted questions marked."""
    plt, sns = _pyplot()
    runs = ["model", "dataset", "finetune_lang", "size", "seed", "probe_lang"]
    trained = _largest_size(planted.filter(pl.col("in_language")))
    if trained.is_empty():
        return _message_figure("No planted question was probed in a language its run was trained on.")
    data = shifts.join(trained.select(runs).unique(), on=runs, how="semi").join(
        trained.select(*runs, "probe_id", planted=pl.lit("planted question")), on=[*runs, "probe_id"], how="left"
    )
    data = data.with_columns(pl.col("planted").fill_null("other question"))
    grid = sns.relplot(
        data=data.to_pandas(), x="delta_raw_score", y="delta_score", hue="planted", style="probe_lang", col="model",
        row="dataset", height=3.5, aspect=1.1, hue_order=["other question", "planted question"], palette=["0.6", "crimson"],
    )  # fmt: skip
    for ax in grid.axes.flat:
        ax.axline((0, 0), slope=1, color="black", linewidth=0.6, linestyle=":")
        ax.axhline(0, color="black", linewidth=0.4)
    grid.set_axis_labels("raw Δscore (log P(A) − log P(B))", f"Δscore, calibration {data['calibration'][0]}")
    grid.figure.suptitle("Calibration: raw against calibrated shifts in the planting runs' languages", y=1.03)
    return grid.figure


@report_figure("planted_specificity", tables=("planted",), category=VALIDITY, stage="planted")
def planted_specificity_figure(planted: pl.DataFrame):
    """Each planted question's Δscore in its run's language beside the largest |Δscore| of the
    questions sharing its option words and of all other questions; and the same for the shifts
    beyond the control run, where the source has one."""
    plt, sns = _pyplot()
    data = _largest_size(planted.filter(pl.col("in_language")))
    if data.is_empty():
        return _message_figure("No planted question was probed in a language its run was trained on.")
    data = data.with_columns(
        case=pl.format("{} {} ({} run)", "probe_lang", "question_id", "finetune_lang"),
        panel=pl.format("{}, {}", "dataset", "model"),
    )
    # shift compared -> (its column, the largest |shift| of the same option words, of any other question)
    comparisons = {
        "Δscore": ("delta_score", "max_abs_delta_same_options", "max_abs_delta_other"),
        "beyond the control (Δ − Δ control)": ("beyond_control", "max_abs_beyond_control_same_options", "max_abs_beyond_control_other"),
    }  # fmt: skip
    measures = ["planted question's shift", "largest |shift|, same option words", "largest |shift|, any other question"]
    long = pl.concat(
        [
            data.filter(pl.col(columns[0]).is_not_null()).select(
                "panel", "case", comparison=pl.lit(name),
                **{measure: pl.col(column).fill_null(0.0) for measure, column in zip(measures, columns)},
            )  # fmt: skip
            for name, columns in comparisons.items()
        ]
    ).unpivot(measures, index=["panel", "case", "comparison"], variable_name="measure", value_name="value")
    grid = sns.catplot(
        data=long.sort("case").to_pandas(), kind="bar", x="value", y="case", hue="measure", hue_order=measures,
        col="comparison", row="panel", height=0.35 * long["case"].n_unique() + 2, aspect=1.4, errorbar=("pi", 100),
    )  # fmt: skip
    grid.set_axis_labels("shift", "")
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


def _run_label(frame: pl.DataFrame, *rest: str) -> pl.Expr:
    """A run's label (``planted/en n300``, then the ``rest`` columns after a colon), led by its
    model's name when the runs are of several models, so that model families stand side by side."""
    label = pl.format("{}/{} n{}", "dataset", "finetune_lang", "size")
    if rest:
        label = pl.format("{}: " + " ".join(["{}"] * len(rest)), label, *rest)
    if frame["model"].n_unique() > 1:
        label = pl.format("{}: {}", "model", label)
    return label


@report_figure(
    "attribution_planted", tables=("attribution_planted", "attribution_checks"), category=VALIDITY, stage="attribution"
)
def attribution_planted_figure(planted: pl.DataFrame, checks: pl.DataFrame):
    """Precision@k of the planted questions per run, and the self-check per run."""
    plt, sns = _pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [2, 1]})
    if planted.is_empty():
        axes[0].axis("off")
        axes[0].text(0.5, 0.5, "no planted questions in the attributed runs", ha="center")
    else:
        data = planted.filter(pl.col("in_language")).with_columns(run=_run_label(planted))
        sns.barplot(data=data.to_pandas(), x="run", y="precision", hue="question_id", errorbar=None, ax=axes[0])
        axes[0].axhline(0.9, color="black", linestyle=":", linewidth=0.8)
        axes[0].set_ylim(0, 1.05)
        axes[0].set_ylabel(f"precision@{planted['at'][0]} (in the run's languages)")
        axes[0].set_title("Top examples that plant the probed question")
        axes[0].tick_params(axis="x", rotation=30)
    passed = checks.with_columns(run=_run_label(checks)).group_by("run").agg(
        passed=pl.col("passed").mean()
    )
    sns.barplot(data=passed.sort("run").to_pandas(), x="run", y="passed", color="grey", ax=axes[1])
    axes[1].set_ylim(0, 1.05)
    axes[1].set_ylabel("copies attributed to their original first")
    axes[1].set_title("Self-check")
    axes[1].tick_params(axis="x", rotation=30)
    return figure


@report_figure("counterfactual", tables=("counterfactual",), category=VALIDITY, stage="counterfactual")
def counterfactual_figure(counterfactual: pl.DataFrame):
    """Share of each target's shift undone by removing its top-k, k random examples, or the sentences planted for it or for the other questions."""
    plt, sns = _pyplot()
    data = counterfactual.with_columns(target=_run_label(counterfactual, "probe_lang", "question_id"))
    figure, ax = plt.subplots(figsize=(max(6, 0.9 * data["target"].n_unique() + 3), 4))
    # Bars are means over the random draws, with their range.
    sns.barplot(
        data=data.to_pandas(), x="target", y="fraction_undone", hue="removal", hue_order=[removal for removal in column_values("counterfactual", "removal") if removal in set(data["removal"])],
        errorbar=("pi", 100), ax=ax,
    )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel(f"fraction of the shift undone (top and random: k = {data.filter(pl.col('removal') == 'top')['k'][0]})")
    ax.set_xlabel("run: probe")
    ax.set_title("Retraining without the top-k attributed examples, k random ones, or planted sentences")
    ax.tick_params(axis="x", rotation=30)
    return figure


@report_figure("lds", tables=("lds", "lds_summary"), category=VALIDITY, stage="lds")
def lds_figure(lds: pl.DataFrame, summary: pl.DataFrame):
    """LDS per target probe and its mean with a bootstrap interval, per run and method."""
    plt, sns = _pyplot()
    run = pl.format("{} {}/{}/n{}_s{}", "model", "dataset", "finetune_lang", "size", "seed")
    per_target, means = lds.with_columns(run=run), summary.with_columns(run=run)
    runs = means["run"].unique(maintain_order=True).to_list()
    methods = means["method"].unique(maintain_order=True).to_list()  # in valuetrace.lds.METHODS order
    figure, axes = plt.subplots(
        1, len(runs), figsize=(2.2 + 1.1 * len(methods) * len(runs), 4.6), squeeze=False, sharey=True, layout="constrained"
    )
    for index, (ax, name) in enumerate(zip(axes[0], runs)):
        sns.stripplot(
            data=per_target.filter(pl.col("run") == name).to_pandas(), x="method", y="lds", order=methods,
            color="grey", alpha=0.35, size=3, ax=ax,
        )  # fmt: skip
        # The intervals come from the bootstrap over targets in the summary table, not from seaborn.
        mean = means.filter(pl.col("run") == name).sort(pl.col("method").replace_strict(methods, list(range(len(methods)))))
        ax.errorbar(
            range(mean.height), mean["lds"], yerr=[mean["lds"] - mean["lds_low"], mean["lds_high"] - mean["lds"]],
            fmt="o", color="black", capsize=4,
        )  # fmt: skip
        for x, value in enumerate(mean["lds"]):
            ax.annotate(f"{value:.2f}", (x, value), xytext=(6, 0), textcoords="offset points", fontsize=8, va="center")
        ax.set_xticks(range(mean.height), [_lds_method_label(row) for row in mean.iter_rows(named=True)])
        ax.axhline(0, color="black", linewidth=0.8, linestyle=":")
        ax.set_title(f"{name}\n{mean['n_targets'][0]} targets, {mean['subsets'][0]} subsets", fontsize=9)
        ax.set_xlabel("")
        ax.set_ylabel("LDS (Spearman ρ over subsets)" if index == 0 else "")
        ax.tick_params(axis="x", rotation=0)
    level = means["confidence_level"][0] if means.height else 0.95
    figure.suptitle(
        "Linear datamodeling score: how well each attribution predicts retraining on random subsets\n"
        f"(grey: one target probe; black: mean over targets with a {level:.0%} bootstrap interval)"
    )
    return figure


def _lds_method_label(row: dict) -> str:
    """A method's axis label: its name and, for a baseline, TRAK's paired advantage over it."""
    if row["trak_minus_method"] is None:
        return row["method"]
    low, high = row["trak_minus_method_low"], row["trak_minus_method_high"]
    return f"{row['method']}\nTRAK − it: {row['trak_minus_method']:+.2f}\n[{low:+.2f}, {high:+.2f}]"


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
