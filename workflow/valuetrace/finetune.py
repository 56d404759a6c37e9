"""Continued masked-LM training of a model on one run's examples, with checkpoints and resumption.

The Trainer writes its checkpoints (weights, optimiser, scheduler and RNG state) to a work
directory outside the run's output, so a job killed mid-run and started again, even after
Snakemake has removed the incomplete output, resumes from the newest one. When training
ends, the output directory receives the final model (``model/``), the weights of the
intermediate checkpoints for attribution (``checkpoints/step-N/``) and the training log.
"""

from __future__ import annotations

import json
import logging
import math
import shutil
from pathlib import Path

import polars as pl

from valuetrace.errors import InputError
from valuetrace.models import load_masked_lm
from valuetrace.settings import Training
from valuetrace.tables import atomic_directory
from valuetrace.training import train_masked_lm

log = logging.getLogger(__name__)

CHECKPOINT_FILES = ("config.json", "model.safetensors")


def schedule(n_examples: int, batch_size: int, epochs: int, checkpoints: int) -> tuple[int, int]:
    """Total optimiser steps and the interval between saved checkpoints."""
    steps = math.ceil(n_examples / batch_size) * epochs
    return steps, max(1, steps // checkpoints)


def finetune(
    base: str,
    train_path: Path,
    out_dir: Path,
    work_dir: Path,
    training: Training,
    *,
    device: str = "auto",
    schedule_size: int | None = None,
) -> None:
    """Fine-tune ``base`` on the texts of ``train_path``.

    ``schedule_size``: plan the optimiser steps as if there were this many examples (a
    counterfactual run without some examples keeps the original run's schedule).
    """
    texts = pl.read_parquet(train_path)["text"].to_list()
    if not texts:
        raise InputError(f"{train_path}: no training examples")
    model, tokenizer = load_masked_lm(base, device)
    steps, save_steps = schedule(schedule_size or len(texts), training.batch_size, training.epochs, training.checkpoints)
    resuming = sorted(work_dir.glob("checkpoint-*"))
    if resuming:
        log.info("resuming from %s", resuming[-1].name)
    log.info("%d examples, %d steps, checkpoint every %d steps", len(texts), steps, save_steps)
    trainer = train_masked_lm(
        model,
        tokenizer,
        texts,
        output_dir=work_dir,
        steps=steps,
        batch_size=training.batch_size,
        learning_rate=training.learning_rate,
        max_length=training.max_length,
        seed=training.seed,
        mlm_probability=training.mlm_probability,
        save_steps=save_steps,
        resume=True,
    )
    with atomic_directory(out_dir) as partial:
        model.save_pretrained(partial / "model")
        tokenizer.save_pretrained(partial / "model")
        for checkpoint in sorted(work_dir.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])):
            target = partial / "checkpoints" / f"step-{checkpoint.name.split('-')[1]}"
            target.mkdir(parents=True)
            for name in CHECKPOINT_FILES:
                shutil.copy2(checkpoint / name, target / name)
        (partial / "training_log.json").write_text(json.dumps(trainer.state.log_history, indent=1))
    # The work directory only serves resumption; the finished run no longer needs it.
    shutil.rmtree(work_dir, ignore_errors=True)
