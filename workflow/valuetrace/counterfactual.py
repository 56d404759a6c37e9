"""Does removing the examples TRAK blames undo a value shift? Retrain and see.

For a run's ``target``-th most-shifted attributed probe in its own fine-tuning language(s),
the run is trained again, with the same settings and seed, on its examples minus either
the probe's top-k attributed examples (``top``) or k examples drawn at random (``random``,
several draws), and the probe is scored again (``valuetrace.retraining``; by default in the run's
own batches, the removed examples left out of them, so that a random removal's effect is not
buried under a new data order's). One job makes all of
a target's retrainings (:func:`retrain_target`): each costs seconds on the demo's models, less
than starting a job that imports torch and transformers, and each draw has its own seed, so a
target's rows do not depend on how many draws there are. The retraining takes as many optimiser steps
as the original run, so that the removal is the only difference. ``fraction_undone`` is the share of the original shift
that the removal takes away: 1 = back to the base model, 0 = no effect.

Where the examples record which question each was planted for (the demo's generated sources) and
the target's question is one of them, two more retrainings give the ground truth that the
planted precision@10 assumes: without every sentence planted for the target's question
(``planted``: it should undo the shift) and without every sentence planted for the other
questions (``other_planted``: it should not, so that an attribution ranking those sentences
first is wrong rather than the metric).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from valuetrace.attribution_summary import PLANTED, PROBE_KEY, planted_question
from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.retraining import retrain_and_score
from valuetrace.settings import Counterfactual, Scoring, Training
from valuetrace.tables import column_values

log = logging.getLogger(__name__)

REMOVALS = tuple(column_values("counterfactual", "removal"))


def target_probe(
    top: pl.DataFrame, languages: list[str], target: int, run_name: str = "the run", questions: list[str] | None = None
) -> dict:
    """The ``target``-th (1-based) attributed probe in ``languages`` by the size of its shift, among
    the probes of ``questions`` where given."""
    candidates = top.filter(pl.col("probe_lang").is_in(languages))
    if questions is not None:
        candidates = candidates.filter(pl.col("question_id").is_in(questions))
    candidates = (
        candidates.select(*PROBE_KEY, "shift").unique().sort(pl.col("shift").abs(), *PROBE_KEY, descending=[True, False, False, False])
    )
    if candidates.height < target:
        of = f" of its planted questions {questions}" if questions is not None else ""
        raise InputError(
            f"counterfactual target {target}: {run_name} has only {candidates.height} attributed probes{of} "
            f"in {languages} (lower attribution.counterfactual.targets_per_run)"
        )
    return candidates.row(target - 1, named=True)


def planted_questions(train: pl.DataFrame) -> list[str]:
    """The questions a run's examples were planted for (none where they record no planting)."""
    if PLANTED not in train.columns:
        return []
    return sorted(set(train.select(planted_question())[PLANTED].to_list()) - {""})


def _planted_ids(train: pl.DataFrame, probe: dict, removal: str) -> list[str]:
    """The examples planted for the probe's question (``planted``) or for another (``other_planted``)."""
    if PLANTED not in train.columns:
        return []
    own = planted_question() == probe["question_id"]
    return train.filter(own if removal == "planted" else ~own & (planted_question() != ""))["example_id"].to_list()


def planted_removals(train: pl.DataFrame, probe: dict) -> tuple[str, ...]:
    """The planted removals that apply to a target: ``planted`` where some examples, not all,
    were planted for its question, and then ``other_planted`` where some were planted for another."""
    if not 0 < len(_planted_ids(train, probe, "planted")) < train.height:
        return ()
    return ("planted", "other_planted") if _planted_ids(train, probe, "other_planted") else ("planted",)


def removed_examples(top: pl.DataFrame, train: pl.DataFrame, probe: dict, removal: str, k: int, seed: int) -> list[str]:
    """The ids of the probe's top-k examples, of k examples drawn at random with ``seed``, or
    of every example planted for the probe's question (``planted``) or for another (``other_planted``)."""
    if removal not in REMOVALS:
        raise InputError(f"removal {removal!r} is not one of {REMOVALS}")
    all_ids = train["example_id"].to_list()
    if removal in ("planted", "other_planted"):
        chosen = _planted_ids(train, probe, removal)
        if not 0 < len(chosen) < len(all_ids):
            # planted_removals offers only removals that leave some examples and remove some
            raise InputError(f"removal {removal!r} of {probe['question_id']} would remove {len(chosen)} of the run's "
                             f"{len(all_ids)} examples (only {planted_removals(train, probe)} apply to it)")  # fmt: skip
        return chosen
    if removal == "top":
        ranked = top.filter(*(pl.col(key) == probe[key] for key in PROBE_KEY)).sort("rank")["example_id"]
        if ranked.len() < k:
            raise InputError(f"k = {k} but only {ranked.len()} top examples were kept per probe (attribution.top_k)")
        return ranked.head(k).to_list()
    if k >= len(all_ids):
        raise InputError(f"k = {k} but the run has only {len(all_ids)} examples (attribution.counterfactual.k)")
    rng = np.random.default_rng(seed)
    return [all_ids[i] for i in sorted(rng.choice(len(all_ids), size=k, replace=False))]


def retrain_target(
    run: Run, *, train_path: Path, top: pl.DataFrame, target: int, counterfactual: Counterfactual, **retraining
) -> pl.DataFrame:
    """The rows of every retraining of one target (:meth:`Counterfactual.removals`), the
    ``target``-th probe of the run's ``top`` table; the other keyword arguments are :func:`retrain`'s."""
    train = pl.read_parquet(train_path)
    questions = None
    if counterfactual.targets == "planted":
        questions = planted_questions(train)
        if not questions:
            raise InputError(f"{train_path}: attribution.counterfactual.targets is 'planted', but no example of "
                             f"{run.name} records a planted question ({PLANTED}); use 'shifted'")  # fmt: skip
    probe = target_probe(top, sorted(train["lang"].unique()), target, run.name, questions)
    removals = counterfactual.removals(planted_removals(train, probe))
    rows = [
        retrain(run, train=train, top=top, probe=probe, target=target, removal=removal, draw=draw, counterfactual=counterfactual, **retraining)
        for removal, draw in removals
    ]
    return pl.concat(rows)


def retrain(
    run: Run,
    *,
    base: str,
    train: pl.DataFrame,
    top: pl.DataFrame,
    probe: dict,
    probes: pl.DataFrame,
    base_scores: pl.DataFrame,
    target: int,
    removal: str,
    draw: int,
    counterfactual: Counterfactual,
    batches: str,
    training: Training,
    scoring: Scoring,
    device: str = "auto",
) -> pl.DataFrame:
    """One row: the probe's shift in the run, and after retraining without the removed examples
    (batched as ``batches``, ``valuetrace.retraining``)."""
    removed = removed_examples(top, train, probe, removal, counterfactual.k, counterfactual.seed + draw)
    log.info("%s: retraining without %d %s examples of %s", run.name, len(removed), removal, probe)
    key = [pl.col(column) == probe[column] for column in PROBE_KEY]
    score_before = base_scores.filter(*key)["score"].item()
    # The probe is scored with what its calibration reads (``only``), as the scoring job scores it.
    index = probes.with_row_index("_row").filter(*key)["_row"].item()
    rescored = retrain_and_score(
        base, train, train["example_id"].is_in(removed).to_numpy(), probes, batches=batches, training=training,
        scoring=scoring, model_name=run.model, run=f"{run.name}/without_{removal}{draw}", device=device, only=[index],
    )  # fmt: skip
    shift_after = rescored["score"].item() - score_before
    return pl.DataFrame(
        {
            **{name: [value] for name, value in run.columns().items()},
            **{name: [probe[name]] for name in PROBE_KEY},
            "target": [target],
            "removal": [removal],
            "draw": [draw],
            "k": [len(removed)],
            "shift_before": [probe["shift"]],
            "shift_after_removal": [shift_after],
            "fraction_undone": [(probe["shift"] - shift_after) / probe["shift"] if probe["shift"] else float("nan")],
        }
    )
