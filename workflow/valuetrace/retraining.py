"""A run trained again on part of its examples, with the run's own schedule, and its probes scored.

The counterfactual check (``valuetrace.counterfactual``: without a probe's top examples) and the
linear datamodeling score (``valuetrace.lds``: on random subsets) both ask what a run would have
become without some of its examples. Both train with the run's settings and seed for as many
optimiser steps as the original run, so that which examples are seen is the only difference
(with fewer steps every shift shrinks), and both score the retrained model with the scoring
job's own function and settings, so that the score compared is the one attribution targets.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import polars as pl

from valuetrace.finetune import finetune
from valuetrace.scoring import score_model
from valuetrace.settings import Scoring, Training


def retrain_and_score(
    base: str,
    examples: pl.DataFrame,
    probes: pl.DataFrame,
    *,
    schedule_size: int,
    training: Training,
    scoring: Scoring,
    model_name: str,
    run: str,
    device: str = "auto",
    only: list[int] | None = None,
) -> pl.DataFrame:
    """Fine-tune ``base`` on ``examples`` with the schedule of ``schedule_size`` examples and score
    ``probes`` (or the rows ``only`` of them): a score table (``run`` names the retraining)."""
    with tempfile.TemporaryDirectory(prefix="retrain-") as scratch:
        scratch = Path(scratch)
        kept = scratch / "train.parquet"
        examples.write_parquet(kept)
        # Checkpoints only serve attribution; one is enough here.
        finetune(
            base, kept, scratch / "run", scratch / "work", dataclasses.replace(training, checkpoints=1),
            device=device, schedule_size=schedule_size,
        )  # fmt: skip
        return score_model(
            str(scratch / "run" / "model"), probes, scoring, model_name=model_name, run=run, device=device, only=only
        )
