"""Linear datamodeling score (LDS; Park et al. 2023, TRAK, section 2): does an attribution
predict what training on part of the data does to a probe's score?

A run's n examples are drawn into ``m`` random subsets S_1..S_m of ``round(alpha * n)``
examples each (:func:`subset_indices`; subset j depends only on the seed and j, so adding
subsets keeps the earlier ones), and the run is trained again on each subset, with its
settings, seed and number of optimiser steps (``valuetrace.retraining``: by default in the run's
own batches, the examples outside the subset left out of them, so that the measured change is
the subset's effect and not also a new data order's); every probe is scored again. For a target
probe z and an attribution tau (examples × probes):

- the *predicted* output of subset S_j is g_j(z) = sum over i in S_j of tau_i(z);
- the *measured* output f_j(z) is the probe's score under the model retrained on S_j (the
  ``score`` column of the score table, whatever the scoring settings make it);
- LDS(z) is Spearman's rho over j = 1..m of g_j(z) and f_j(z).

A method whose prediction is the same for every subset (a baseline that finds nothing for
the probe) ranks nothing: its LDS is 0, marked ``constant_prediction``. The summary per run
and method is the mean LDS over targets with a percentile bootstrap interval over targets.

Methods: ``trak`` (the influence averaged over checkpoints, as attribution_gather uses it)
and the baselines of ``valuetrace.baselines``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
from transformers import PreTrainedTokenizerBase

from valuetrace.attribution_summary import PROBE_KEY, RUN_SCHEMA
from valuetrace.baselines import BASELINES
from valuetrace.correlation import bootstrap_interval, spearman
from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.retraining import retrain_and_score
from valuetrace.settings import LdsSubsets, LdsSummary, Scoring, Training, schema_choices

log = logging.getLogger(__name__)

TARGETS = schema_choices("attribution", "lds", "targets")
METHODS = ("trak", *BASELINES)


def subset_indices(n: int, subsets: LdsSubsets, subset: int) -> np.ndarray:
    """The examples (row numbers, sorted) of the ``subset``-th (0-based) random subset."""
    rng = np.random.default_rng([subsets.seed, subset])
    return np.sort(rng.choice(n, size=subsets.size(n), replace=False))


def membership(n: int, subsets: LdsSubsets, m: int) -> np.ndarray:
    """Subsets × examples: whether each of the first ``m`` subsets holds each example."""
    masks = np.zeros((m, n), dtype=bool)
    for subset in range(m):
        masks[subset, subset_indices(n, subsets, subset)] = True
    return masks


def retraining_name(run: Run, subset: int) -> str:
    """The ``run`` column of the score table of the run retrained on one subset."""
    return f"{run.name}/subset{subset}"


def retrain_subset(
    run: Run,
    subset: int,
    *,
    base: str,
    train_path: Path,
    probes: pl.DataFrame,
    subsets: LdsSubsets,
    batches: str,
    training: Training,
    scoring: Scoring,
    device: str = "auto",
) -> pl.DataFrame:
    """The score table of every probe under the run retrained on its ``subset``-th random subset
    (batched as ``batches``, ``valuetrace.retraining``)."""
    train = pl.read_parquet(train_path)
    kept = np.zeros(train.height, dtype=bool)
    kept[subset_indices(train.height, subsets, subset)] = True
    log.info("%s: retraining on subset %d, %d of %d examples", run.name, subset, kept.sum(), train.height)
    return retrain_and_score(
        base, train, ~kept, probes, batches=batches, training=training, scoring=scoring,
        model_name=run.model, run=retraining_name(run, subset), device=device,
    )  # fmt: skip


def retrain_subsets(run: Run, subsets_of_job: range, **settings) -> pl.DataFrame:
    """The score tables of :func:`retrain_subset` for each subset of one job, stacked. Each
    retraining starts from the base model with its own seeding, so a job of several gives each
    subset the table a job of its own would."""
    if not subsets_of_job:
        raise InputError(f"{run.name}: an LDS retraining job for no subset ({subsets_of_job}); its file "
                         "names its first and last subset, subsets{first}-{last}.parquet with first <= last")  # fmt: skip
    return pl.concat([retrain_subset(run, subset, **settings) for subset in subsets_of_job])


def targets(chosen: pl.DataFrame, languages: list[str], which: str) -> pl.DataFrame:
    """The attributed probes whose LDS is measured: in the run's languages, or all."""
    if which not in TARGETS:
        raise InputError(f"attribution.lds.targets {which!r} is not one of {TARGETS}")
    return chosen if which == "all" else chosen.filter(pl.col("probe_lang").is_in(languages))


def scores(attributions: np.ndarray, measured: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LDS per target of ``attributions`` (examples × targets) against ``measured`` (subsets ×
    targets) for subset membership ``masks`` (subsets × examples); and whether each target's
    prediction was constant over the subsets (LDS 0)."""
    predicted = masks.astype(np.float64) @ attributions
    constant = np.ptp(predicted, axis=0) == 0
    rho = spearman(predicted, measured, axis=0)
    # A measured score that did not vary leaves rho undefined (nan) for every method alike.
    return np.where(constant & (np.ptp(measured, axis=0) > 0), 0.0, rho), constant


def measured_scores(chosen: pl.DataFrame, retrained: pl.DataFrame, run: Run) -> np.ndarray:
    """Subsets × targets: each target probe's score under the run retrained on each subset
    (``retrained``: the score tables of every retraining, stacked; they must be subsets 0 to m − 1)."""
    repeated = retrained.filter(retrained.select("run", *PROBE_KEY).is_duplicated())["run"].unique().sort().to_list()
    if repeated:
        raise InputError(f"{run.name}: the LDS retrainings' score tables hold {repeated} more than once "
                         "(two retraining jobs' files cover the same subset; delete the stale one)")  # fmt: skip
    names = set(retrained["run"].unique().to_list())
    expected = {retraining_name(run, subset) for subset in range(len(names))}
    if names != expected:
        raise InputError(f"{run.name}: the LDS retrainings' score tables hold {sorted(names)}, "
                         f"where subsets 0 to {len(names) - 1} were expected; missing {sorted(expected - names)}")  # fmt: skip
    columns = []
    for subset in range(len(names)):
        scored = retrained.filter(pl.col("run") == retraining_name(run, subset))
        joined = chosen.select(PROBE_KEY).join(scored.select(*PROBE_KEY, "score"), on=PROBE_KEY, how="left")
        if joined["score"].null_count():
            raise InputError(f"{retraining_name(run, subset)}: {joined['score'].null_count()} target probes were not scored")
        columns.append(joined["score"].to_numpy())
    return np.stack(columns)


def run_lds(
    run: Run,
    *,
    influence: np.ndarray,
    chosen: pl.DataFrame,
    train: pl.DataFrame,
    retrained: pl.DataFrame,
    tokenizer: PreTrainedTokenizerBase,
    which: str,
    subsets: LdsSubsets,
    max_length: int,
) -> pl.DataFrame:
    """One row per method and target probe: its LDS in the run.

    ``influence``: TRAK's examples × ``chosen`` probes (averaged over checkpoints);
    ``retrained``: the score tables of the run retrained on subsets 0, 1, ..., stacked.
    """
    chosen = chosen.with_row_index("_column")
    picked = targets(chosen, sorted(train["lang"].unique()), which)
    if picked.is_empty():
        raise InputError(f"{run.name}: no attributed probe in its languages to measure the LDS of "
                         "(set attribution.lds.targets: all, or attribution.targets: all)")  # fmt: skip
    measured = measured_scores(picked, retrained, run)
    if len(measured) < 3:
        raise InputError(f"{run.name}: {len(measured)} subsets; a rank correlation needs at least 3 (attribution.lds.subsets)")
    texts = train["text"].to_list()
    attributions = {"trak": influence[:, picked["_column"].to_numpy()]}
    attributions |= {name: baseline(tokenizer, texts, picked, max_length) for name, baseline in BASELINES.items()}
    masks = membership(train.height, subsets, len(measured))
    return table(run, picked, attributions, measured, masks, subsets.alpha)


def table(
    run: Run, picked: pl.DataFrame, attributions: dict[str, np.ndarray], measured: np.ndarray, masks: np.ndarray, alpha: float
) -> pl.DataFrame:
    """One row per method and target probe (``picked``, with its ``shift``): the method's LDS."""
    rows = []
    for method, attribution in attributions.items():
        lds, constant = scores(attribution, measured, masks)
        rows.append(
            picked.select(*PROBE_KEY, "shift").with_columns(
                **{key: pl.lit(value) for key, value in run.columns().items()},
                method=pl.lit(method),
                lds=pl.Series(lds, dtype=pl.Float64),
                constant_prediction=pl.Series(constant, dtype=pl.Boolean),
                subsets=pl.lit(len(masks), dtype=pl.Int64),
                alpha=pl.lit(alpha, dtype=pl.Float64),
            )
        )
        log.info("%s, %s: mean LDS %.3f over %d targets", run.name, method, np.nanmean(lds), len(lds))
    return pl.concat(rows).select(*run.columns(), "method", *PROBE_KEY, "shift", "lds", "constant_prediction", "subsets", "alpha")


def summarise(table: pl.DataFrame, settings: LdsSummary) -> pl.DataFrame:
    """Per run and method: the mean LDS over targets, with a percentile bootstrap interval over
    targets; and for a baseline, TRAK's LDS minus its own, paired over the same targets, with its
    interval (TRAK beats the baseline where that interval lies above 0: a sharper test than
    comparing the two intervals, since both methods are measured on the same probes and subsets)."""
    keys = [*RUN_SCHEMA, "method"]
    schema = {
        **RUN_SCHEMA, "method": pl.String, "n_targets": pl.Int64, "lds": pl.Float64, "lds_low": pl.Float64,
        "lds_high": pl.Float64, "trak_minus_method": pl.Float64, "trak_minus_method_low": pl.Float64,
        "trak_minus_method_high": pl.Float64, "constant_predictions": pl.Int64, "subsets": pl.Int64,
        "alpha": pl.Float64, "confidence_level": pl.Float64,
    }  # fmt: skip
    defined = table.filter(pl.col("lds").is_not_nan())
    trak = defined.filter(pl.col("method") == "trak").select(*RUN_SCHEMA, *PROBE_KEY, trak_lds="lds")

    def interval(values: np.ndarray) -> tuple[float, float]:
        return bootstrap_interval((values,), np.mean, settings.bootstrap_resamples, settings.confidence_level, settings.seed)

    records = []
    # Sorted because a join's row order is arbitrary and the bootstrap resamples rows by position.
    joined = defined.join(trak, on=[*RUN_SCHEMA, *PROBE_KEY], how="left").sort(*keys, *PROBE_KEY)
    for key, group in joined.group_by(keys, maintain_order=True):
        values = group["lds"].to_numpy()
        difference = group.filter(pl.col("trak_lds").is_not_null()).select(pl.col("trak_lds") - pl.col("lds")).to_series().to_numpy()
        paired = key[-1] != "trak" and difference.size > 0
        low, high = interval(values)
        difference_low, difference_high = interval(difference) if paired else (None, None)
        records.append(
            {
                **dict(zip(keys, key)),
                "n_targets": group.height,
                "lds": float(values.mean()),
                "lds_low": low,
                "lds_high": high,
                "trak_minus_method": float(difference.mean()) if paired else None,
                "trak_minus_method_low": difference_low,
                "trak_minus_method_high": difference_high,
                "constant_predictions": int(group["constant_prediction"].sum()),
                "subsets": int(group["subsets"][0]),
                "alpha": float(group["alpha"][0]),
                "confidence_level": settings.confidence_level,
            }
        )
    order = {method: index for index, method in enumerate(METHODS)}
    return pl.DataFrame(records, schema=schema).sort(*keys[:-1], pl.col("method").replace_strict(order, return_dtype=pl.Int64))
