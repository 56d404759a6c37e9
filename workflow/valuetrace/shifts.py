"""How fine-tuning moved the values: per question, per language, across languages, per run.

Inputs are the scores of the survey probes of every base model and fine-tuned run (see
``alignment.survey_scores``) and the human values. Everything is compared with the run's own base
model. Which of these shifts are beyond seed noise or a control source: ``valuetrace.significance``.

- ``shifts``: per run, probe language and probe: score before and after, Δscore, whether the
  choice flipped, and the direction relative to the human choice.
- ``run_shifts``: per run and probe language: magnitude (mean |Δscore|), flip rate, share of
  shifts towards the human choice, beside the change in agreement and in Spearman correlation
  with paired bootstrap intervals (``valuetrace.alignment.alignment_change``).
- ``cross_language``: per model, dataset and size, the fine-tuning language × probe language
  matrix of magnitude and flip rate, averaged over seeds with their spread.
- ``distinctiveness``: mean pairwise Spearman correlation between the languages' value
  profiles (scores over probes), before and after each run (higher = languages more alike).
- ``planted``: for datasets that plant questions, each planted question's probes' Δscore next to
  the largest |Δscore| of the probes of other questions in the same run and probe language, and
  the same for the shifts beyond the control source.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl
from scipy import stats

from valuetrace.grid import BASE, MULTILINGUAL, Run
from valuetrace.significance import control_differences

RUN_COLUMNS = ["model", "dataset", "finetune_lang", "size", "seed"]
PLANTED_SCHEMA = {
    "model": pl.String, "dataset": pl.String, "finetune_lang": pl.String, "size": pl.Int64, "seed": pl.Int64,
    "probe_lang": pl.String, "probe_id": pl.String, "question_id": pl.String, "delta_score": pl.Float64,
    "max_abs_delta_other": pl.Float64, "max_abs_delta_same_options": pl.Float64, "n_same_options": pl.Int64,
    "in_language": pl.Boolean, "towards_a_beyond_others": pl.Boolean, "beyond_same_options": pl.Boolean,
    "beyond_control": pl.Float64, "max_abs_beyond_control_other": pl.Float64,
    "max_abs_beyond_control_same_options": pl.Float64, "beyond_others_over_control": pl.Boolean,
    "beyond_same_options_over_control": pl.Boolean,
}  # fmt: skip


def with_run_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """The fine-tuned rows, with their ``run`` name split into dataset, language, size and seed."""
    tuned = frame.filter(pl.col("run") != BASE)
    grid = pl.DataFrame(
        [{"run": name, **Run.parse("", name).columns()} for name in tuned["run"].unique()],
        schema={"run": pl.String, "model": pl.String, "dataset": pl.String, "finetune_lang": pl.String,
                "size": pl.Int64, "seed": pl.Int64},  # fmt: skip
    ).drop("model")
    return tuned.join(grid, on="run", how="left")


def probe_shifts(scores: pl.DataFrame, humans: pl.DataFrame) -> pl.DataFrame:
    before = scores.filter(pl.col("run") == BASE).select(
        "model", "probe_lang", "probe_id", score_before="score", raw_before="raw_score"
    )
    after = with_run_columns(scores).select(
        *RUN_COLUMNS, "run", "calibration", "probe_lang", "probe_id", "question_id", score_after="score",
        raw_after="raw_score",
    )  # fmt: skip
    shifts = after.join(before, on=["model", "probe_lang", "probe_id"], how="inner").join(
        humans.select("probe_lang", "probe_id", "human_choice"), on=["probe_lang", "probe_id"], how="left"
    )
    delta = pl.col("score_after") - pl.col("score_before")
    toward_a = delta > 0
    return (
        shifts.with_columns(delta_score=delta, delta_raw_score=pl.col("raw_after") - pl.col("raw_before"))
        .with_columns(
            flipped=(pl.col("score_before") > 0) != (pl.col("score_after") > 0),
            direction=pl.when(pl.col("delta_score") == 0)
            .then(pl.lit("none"))
            .when(pl.col("human_choice").is_null())
            .then(pl.lit("unknown"))
            .when(toward_a == (pl.col("human_choice") == "A"))
            .then(pl.lit("towards"))
            .otherwise(pl.lit("away")),
        )
        .select(
            *RUN_COLUMNS, "run", "calibration", "probe_lang", "probe_id", "question_id", "score_before", "score_after",
            "delta_score", "delta_raw_score", "flipped", "human_choice", "direction",
        )  # fmt: skip
        .sort(*RUN_COLUMNS, "probe_lang", "probe_id")
    )


def run_shifts(shifts: pl.DataFrame, alignment_change: pl.DataFrame) -> pl.DataFrame:
    """Per run and probe language: magnitude, flip and towards rates, beside the change in
    alignment (an ``alignment.alignment_change`` table)."""
    summary = shifts.group_by(*RUN_COLUMNS, "run", "probe_lang").agg(
        magnitude=pl.col("delta_score").abs().mean(),
        flip_rate=pl.col("flipped").cast(pl.Float64).mean(),
        towards_rate=(pl.col("direction") == "towards").cast(pl.Float64).mean(),
        n_probes=pl.len(),
    )
    return summary.join(alignment_change, on=["model", "run", "probe_lang"], how="left").sort(*RUN_COLUMNS, "probe_lang")


def cross_language(run_summary: pl.DataFrame) -> pl.DataFrame:
    return (
        run_summary.group_by("model", "dataset", "size", "finetune_lang", "probe_lang")
        .agg(
            magnitude=pl.col("magnitude").mean(),
            magnitude_sd=pl.col("magnitude").std(),
            flip_rate=pl.col("flip_rate").mean(),
            flip_rate_sd=pl.col("flip_rate").std(),
            n_seeds=pl.len(),
        )
        .sort("model", "dataset", "size", "finetune_lang", "probe_lang")
    )


def profile_correlation(scores: pl.DataFrame) -> float:
    """Mean Spearman correlation over pairs of languages of their per-probe score profiles."""
    profiles = scores.pivot(on="probe_lang", index="probe_id", values="score").drop("probe_id")
    correlations = [
        stats.spearmanr(profiles[a], profiles[b], nan_policy="omit").statistic
        for a, b in itertools.combinations(profiles.columns, 2)
    ]
    return float(np.nanmean(correlations)) if correlations else float("nan")


def distinctiveness(scores: pl.DataFrame) -> pl.DataFrame:
    before = {model: profile_correlation(group) for (model,), group in scores.filter(pl.col("run") == BASE).group_by("model")}
    records = []
    for (model, run), group in scores.filter(pl.col("run") != BASE).group_by("model", "run"):
        after = profile_correlation(group)
        records.append(
            {
                **Run.parse(model, run).columns(),
                "run": run,
                "profile_correlation_before": before[model],
                "profile_correlation_after": after,
                "profile_correlation_change": after - before[model],
            }
        )
    return pl.DataFrame(records).sort(*RUN_COLUMNS)


def planted(
    shifts: pl.DataFrame, planted_questions: dict[str, list[str]], probes: pl.DataFrame, control: str | None = None
) -> pl.DataFrame:
    """Planted questions' Δscore against the largest |Δscore| of the other questions, per run and
    language: of all of them, and of those whose probes share the planted probe's option words
    (specificity: a shift of the word alone moves those as much).

    With a ``control`` source, the same comparison of the shifts beyond the control run
    (``beyond_control``, Δ − Δ control; null where a run has no control run): what fine-tuning on
    the source's kind of text moves in every run of it (a question its frames favour) cancels, and
    what is left is what the planting did, which should move the planted question only.
    """
    options = probes.select("probe_lang", "probe_id", "option_a", "option_b")
    shifts = shifts.join(options, on=["probe_lang", "probe_id"], how="left")
    keys = [*RUN_COLUMNS, "probe_lang", "probe_id"]
    if control is None:
        shifts = shifts.with_columns(beyond_control=pl.lit(None, pl.Float64))
    else:
        beyond = control_differences(shifts, control).select(*keys, beyond_control="difference")
        shifts = shifts.join(beyond, on=keys, how="left")
    frames = []
    for dataset, questions in planted_questions.items():
        runs = shifts.filter(pl.col("dataset") == dataset)
        if runs.height == 0 or not questions:
            continue
        is_planted = pl.col("question_id").is_in(questions)
        # A multilingual run is fine-tuned on every language the dataset has monolingual runs in.
        languages = runs.filter(pl.col("finetune_lang") != MULTILINGUAL)["finetune_lang"].unique().to_list()
        frames.append(
            _beside_the_largest_others(runs.filter(is_planted), runs.filter(~is_planted))
            .with_columns(
                pl.col("n_same_options").fill_null(0).cast(pl.Int64),
                in_language=(pl.col("probe_lang") == pl.col("finetune_lang"))
                | ((pl.col("finetune_lang") == MULTILINGUAL) & pl.col("probe_lang").is_in(languages)),
                towards_a_beyond_others=pl.col("delta_score") > pl.col("max_abs_delta_other"),
                beyond_same_options=pl.col("delta_score") > pl.col("max_abs_delta_same_options").fill_null(0.0),
                beyond_others_over_control=pl.col("beyond_control") > pl.col("max_abs_beyond_control_other"),
                beyond_same_options_over_control=pl.col("beyond_control")
                > pl.col("max_abs_beyond_control_same_options").fill_null(0.0),
            )
        )
    if not frames:
        return pl.DataFrame(schema=PLANTED_SCHEMA)
    return pl.concat(frames).select(list(PLANTED_SCHEMA)).sort(*RUN_COLUMNS, "probe_lang", "probe_id")


# compared shift -> the name its largest |value| columns carry (max_abs_<name>_other, _same_options)
_COMPARED = {"delta_score": "delta", "beyond_control": "beyond_control"}


def _beside_the_largest_others(rows: pl.DataFrame, others: pl.DataFrame) -> pl.DataFrame:
    """``rows`` with, for each compared shift (:data:`_COMPARED`), the largest |shift| of ``others``
    in their run and probe language (``max_abs_<name>_other``) and of those with the same option
    words (``max_abs_<name>_same_options``), and how many share them (``n_same_options``)."""
    run = [*RUN_COLUMNS, "probe_lang"]
    largest = others.group_by(run).agg(pl.col(v).abs().max().alias(f"max_abs_{n}_other") for v, n in _COMPARED.items())
    same_options = others.group_by(*run, "option_a", "option_b").agg(
        *(pl.col(v).abs().max().alias(f"max_abs_{n}_same_options") for v, n in _COMPARED.items()), n_same_options=pl.len()
    )
    return rows.join(largest, on=run, how="left").join(same_options, on=[*run, "option_a", "option_b"], how="left")
