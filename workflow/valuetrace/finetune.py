"""Continued training of a model on one run's examples (its kind's objective), with checkpoints and resumption.

The Trainer writes its checkpoints (weights, optimiser, scheduler and RNG state) to a work
directory outside the run's output, so a job killed mid-run and started again, even after
Snakemake has removed the incomplete output, resumes from the newest one. When training
ends, the output directory receives the final model (``model/``), the weights of the
intermediate checkpoints for attribution (``checkpoints/step-N/``), the training log and
``run.json`` (the schedule and how many checkpoints it saves).

A job keeps running when the Snakemake that started it is killed. Its rerun must not train
beside it in the same work directory, so a run holds an exclusive lock (``<work dir>.lock``,
with its process id) while it trains: a second attempt waits for the first to finish and then
keeps its output, or resumes from its checkpoints if it died.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from valuetrace.errors import InputError
from valuetrace.models import load_model
from valuetrace.settings import Training
from valuetrace.tables import atomic_directory
from valuetrace.training import train_language_model

log = logging.getLogger(__name__)

CHECKPOINT_FILES = ("config.json", "model.safetensors")
RUN_FILE = "run.json"


@contextmanager
def exclusive(work_dir: Path):
    """Hold the lock of the run whose checkpoints live in ``work_dir``; wait while another process does."""
    lock = work_dir.with_name(f"{work_dir.name}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            log.warning(
                "process %s is still training this run (an earlier attempt, e.g. of a Snakemake that was killed); "
                "waiting for it to finish (%s)", holder, lock,
            )  # fmt: skip
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield


def planned_checkpoints(steps: int, save_steps: int) -> int:
    """How many checkpoints the Trainer saves: one every ``save_steps`` steps."""
    return steps // save_steps


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
    with exclusive(work_dir):
        if (out_dir / RUN_FILE).exists():
            log.info("an earlier attempt finished this run while this one waited: %s is complete", out_dir)
            return
        _train(base, texts, out_dir, work_dir, training, device, schedule_size)


def _train(base, texts, out_dir, work_dir, training: Training, device: str, schedule_size: int | None) -> None:
    model, tokenizer = load_model(base, device)
    steps, save_steps = schedule(schedule_size or len(texts), training.batch_size, training.epochs, training.checkpoints)
    resuming = sorted(work_dir.glob("checkpoint-*"))
    if resuming:
        log.info("resuming from %s", resuming[-1].name)
    log.info("%d examples, %d steps, checkpoint every %d steps", len(texts), steps, save_steps)
    trainer = train_language_model(
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
        run = {"examples": len(texts), "steps": steps, "save_steps": save_steps,
               "checkpoints": planned_checkpoints(steps, save_steps)}  # fmt: skip
        (partial / RUN_FILE).write_text(json.dumps(run, indent=1))
    # The work directory only serves resumption; the finished run no longer needs it.
    shutil.rmtree(work_dir, ignore_errors=True)
