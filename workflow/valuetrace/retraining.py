"""A run trained again without some of its examples, with the run's own schedule, and its probes scored.

The counterfactual check (``valuetrace.counterfactual``: without a probe's top examples) and the
linear datamodeling score (``valuetrace.lds``: on random subsets) both ask what a run would have
become without some of its examples. Both train with the run's settings and seed for as many
optimiser steps as the original run (with fewer steps every shift shrinks), and both score the
retrained model with the scoring job's own function and settings, so that the score compared is
the one attribution targets.

How the examples kept are batched (``attribution.retraining_batches``, :data:`BATCHES`):

- ``same``: the run's own batches, the removed examples left out of the loss in their places
  (``valuetrace.training.LeavingOut``). Every kept example is read at the same steps, with the
  same masks, as in the run itself, so the removal is the only difference: a retraining that
  removes nothing is the run, and a removal's measured effect carries no noise of a new data
  order. This is what the counterfactual's "undone" and the LDS's measured change compare.
- ``reshuffled``: a new run on the kept examples, its own data order and masks (TRAK's paper
  retrains this way, from new seeds): the measured effect includes what a new order does.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from valuetrace.errors import InputError
from valuetrace.finetune import finetune
from valuetrace.scoring import score_model
from valuetrace.settings import Scoring, Training, schema_choices

BATCHES = schema_choices("attribution", "retraining_batches")


def retrain_and_score(
    base: str,
    train: pl.DataFrame,
    removed: np.ndarray,
    probes: pl.DataFrame,
    *,
    batches: str,
    training: Training,
    scoring: Scoring,
    model_name: str,
    run: str,
    device: str = "auto",
    only: list[int] | None = None,
) -> pl.DataFrame:
    """Fine-tune ``base`` on the run's examples ``train`` without those ``removed`` (a boolean per
    row), batched as ``batches`` says, and score ``probes`` (or the rows ``only`` of them): a
    score table (``run`` names the retraining)."""
    if batches not in BATCHES:
        raise InputError(f"attribution.retraining_batches {batches!r} is not one of {BATCHES}")
    removed = np.asarray(removed, dtype=bool)
    with tempfile.TemporaryDirectory(prefix="retrain-") as scratch:
        scratch = Path(scratch)
        examples = scratch / "train.parquet"
        (train if batches == "same" else train.filter(~pl.Series(removed))).write_parquet(examples)
        # Checkpoints only serve attribution; one is enough here.
        finetune(
            base, examples, scratch / "run", scratch / "work", dataclasses.replace(training, checkpoints=1),
            device=device, schedule_size=train.height, left_out=removed.tolist() if batches == "same" else None,
        )  # fmt: skip
        return score_model(
            str(scratch / "run" / "model"), probes, scoring, model_name=model_name, run=run, device=device, only=only
        )
