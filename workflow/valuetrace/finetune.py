"""Continued training of a model on one run's examples (its kind's objective), with checkpoints and resumption.

The Trainer writes its checkpoints (weights, optimiser, scheduler and RNG state) to a work
directory outside the run's output, so a job killed mid-run and started again, even after
Snakemake has removed the incomplete output, resumes from the newest one. Only the newest is
needed for that: once a checkpoint is saved, every older one is slimmed to what attribution
loads, its weights and config (:class:`SlimCheckpoints`). A checkpoint cut off while it was
being saved (the job killed mid-save) is removed when the run resumes, and training goes on from
the one before it. When training ends, the output directory receives the final model
(``model/``), the weights of the intermediate checkpoints for attribution
(``checkpoints/step-N/``; the last one is a hard link to the final model's weights when they are
the same bytes), the training log, ``run.json`` (the schedule and how many checkpoints it saves)
and ``disk.json`` (bytes the checkpoints took as written and as kept: table ``run_disk``).

A job keeps running when the Snakemake that started it is killed. Its rerun must not train
beside it in the same work directory, so a run holds an exclusive lock (``<work dir>.lock``,
with its process id) while it trains: a second attempt waits for the first to finish and then
keeps its output, or resumes from its checkpoints if it died.
"""

from __future__ import annotations

import fcntl
import filecmp
import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from transformers import TrainerCallback

from valuetrace import precision
from valuetrace.disk import DISK_FILE, directory_bytes, run_disk
from valuetrace.errors import InputError
from valuetrace.models import load_model, resolve_device
from valuetrace.settings import Training
from valuetrace.tables import atomic_directory, atomic_path
from valuetrace.training import train_language_model

log = logging.getLogger(__name__)

# What attribution loads from a checkpoint (the tokenizer is the run's model's).
CHECKPOINT_FILES = ("config.json", "model.safetensors")
# The Trainer writes its state last: a checkpoint without it was cut off while being saved.
TRAINER_STATE = "trainer_state.json"
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


def saved_checkpoints(work_dir: Path) -> list[Path]:
    """The Trainer's checkpoints in ``work_dir``, oldest first."""
    return sorted(work_dir.glob("checkpoint-*"), key=lambda path: int(path.name.split("-")[1]))


def slim(checkpoint: Path) -> None:
    """Reduce a checkpoint to what attribution loads: no optimiser, scheduler, RNG or trainer state."""
    for entry in checkpoint.iterdir():
        if entry.name not in CHECKPOINT_FILES:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _disk_record(work_dir: Path) -> dict:
    path = work_dir / DISK_FILE
    return json.loads(path.read_text()) if path.exists() else {"written": {}, "work_peak_bytes": 0}


class SlimCheckpoints(TrainerCallback):
    """Once the Trainer has saved a checkpoint: record its bytes and slim every older one.

    Resuming needs the newest checkpoint only; the older ones serve attribution, which reads
    their weights. The bytes of each checkpoint as written, and the most the work directory held
    (just after a save, when the checkpoint before it is still whole), are kept in the work
    directory's ``disk.json``, to which a resumed attempt adds.
    """

    def __init__(self, work_dir: Path):
        self.work_dir = work_dir

    def on_save(self, args, state, control, **kwargs):
        newest = self.work_dir / f"checkpoint-{state.global_step}"
        record = _disk_record(self.work_dir)
        record["written"][newest.name] = directory_bytes(newest)
        record["work_peak_bytes"] = max(record["work_peak_bytes"], directory_bytes(self.work_dir))
        with atomic_path(self.work_dir / DISK_FILE) as tmp:
            tmp.write_text(json.dumps(record, indent=1))
        for older in saved_checkpoints(self.work_dir):
            if older != newest:
                slim(older)


def drop_unfinished_checkpoints(work_dir: Path) -> Path | None:
    """Remove the checkpoints saved after the newest whole one (cut off mid-save); return that one."""
    saved = saved_checkpoints(work_dir)
    whole = [checkpoint for checkpoint in saved if (checkpoint / TRAINER_STATE).exists()]
    newest = whole[-1] if whole else None
    for checkpoint in saved:
        if newest is None or int(checkpoint.name.split("-")[1]) > int(newest.name.split("-")[1]):
            log.warning("%s was cut off while it was being saved; removed it", checkpoint.name)
            shutil.rmtree(checkpoint)
    return newest


def finetune(
    base: str,
    train_path: Path,
    out_dir: Path,
    work_dir: Path,
    training: Training,
    *,
    device: str = "auto",
    schedule_size: int | None = None,
    left_out: Sequence[bool] | None = None,
) -> None:
    """Fine-tune ``base`` on the texts of ``train_path``.

    ``schedule_size``: plan the optimiser steps as if there were this many examples (a
    counterfactual run without some examples keeps the original run's schedule);
    ``left_out`` (per example): examples that keep their places in the batches, dropped after masking
    (``valuetrace.training.LeavingOut``).
    """
    texts = pl.read_parquet(train_path)["text"].to_list()
    if not texts:
        raise InputError(f"{train_path}: no training examples")
    with exclusive(work_dir):
        if (out_dir / RUN_FILE).exists():
            log.info("an earlier attempt finished this run while this one waited: %s is complete", out_dir)
            return
        _train(base, texts, out_dir, work_dir, training, device, schedule_size, left_out)


def _train(
    base, texts, out_dir, work_dir, training: Training, device: str, schedule_size: int | None, left_out: Sequence[bool] | None
) -> None:
    device = resolve_device(device)
    precision.check(training.precision, device)
    model, tokenizer = load_model(base, device)
    steps, save_steps = schedule(schedule_size or len(texts), training.batch_size, training.epochs, training.checkpoints)
    resuming = drop_unfinished_checkpoints(work_dir) if work_dir.exists() else None
    if resuming:
        log.info("resuming from %s", resuming.name)
    log.info("%d examples, %d steps, checkpoint every %d steps, %s", len(texts), steps, save_steps, training.precision)
    if left_out is not None:
        log.info("%d of them left out of the loss, in their places in the batches", sum(map(bool, left_out)))
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
        precision=training.precision,
        callbacks=[SlimCheckpoints(work_dir)],
        left_out=left_out,
    )
    with atomic_directory(out_dir) as partial:
        model.save_pretrained(partial / "model")
        tokenizer.save_pretrained(partial / "model")
        weights = partial / "model" / "model.safetensors"
        for checkpoint in saved_checkpoints(work_dir):
            target = partial / "checkpoints" / f"step-{checkpoint.name.split('-')[1]}"
            target.mkdir(parents=True)
            for name in CHECKPOINT_FILES:
                if name == weights.name and filecmp.cmp(checkpoint / name, weights, shallow=False):
                    # The checkpoint of the last step holds the final weights: one file on disk.
                    os.link(weights, target / name)
                else:
                    shutil.copy2(checkpoint / name, target / name)
        (partial / "training_log.json").write_text(json.dumps(trainer.state.log_history, indent=1))
        run = {"examples": len(texts), "steps": steps, "save_steps": save_steps,
               "checkpoints": planned_checkpoints(steps, save_steps), "precision": training.precision}  # fmt: skip
        (partial / RUN_FILE).write_text(json.dumps(run, indent=1))
        (partial / DISK_FILE).write_text(json.dumps(run_disk(partial, _disk_record(work_dir)), indent=1))
    # The work directory only serves resumption; the finished run no longer needs it.
    shutil.rmtree(work_dir, ignore_errors=True)
