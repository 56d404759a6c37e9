"""Fine-tuning a run: outputs for attribution, and resumption after the job is killed."""

from __future__ import annotations

import filecmp
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from valuetrace.disk import DISK_FILE, directory_bytes
from valuetrace.finetune import CHECKPOINT_FILES, TRAINER_STATE, finetune, schedule
from valuetrace.models import load_model
from valuetrace.settings import Training


def training_file(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "train.parquet"
    pl.DataFrame({"text": [f"Family is important in my life. Sentence {i}." for i in range(n)]}).write_parquet(path)
    return path


def test_schedule_spreads_checkpoints_over_the_run():
    assert schedule(100, 16, 3, 3) == (21, 7)
    assert schedule(10, 16, 1, 5) == (1, 1)


def test_finetune_saves_model_checkpoints_and_log(tmp_path, tiny_model_dirs):
    out, work = tmp_path / "run", tmp_path / "work"
    training = Training(epochs=2, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, precision="fp32", seed=0)
    finetune(str(tiny_model_dirs["bert"]), training_file(tmp_path, 24), out, work, training)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-12", "step-4", "step-8"]
    # Checkpoints for attribution hold weights and config only.
    assert all(sorted(p.name for p in step.iterdir()) == sorted(CHECKPOINT_FILES) for step in (out / "checkpoints").iterdir())
    load_model(str(out / "model"))
    assert json.loads((out / "training_log.json").read_text())[-1]["step"] == 12
    assert not work.exists()
    assert not list(tmp_path.glob(".run.partial"))

    # The last checkpoint is the final model: one file on disk.
    weights = (out / "model/model.safetensors").stat().st_size
    assert (out / "checkpoints/step-12/model.safetensors").samefile(out / "model/model.safetensors")
    disk = json.loads((out / DISK_FILE).read_text())
    config = (out / "checkpoints/step-4/config.json").stat().st_size
    assert disk["checkpoints"] == 3
    assert disk["checkpoint_bytes_kept"] == 2 * weights + 3 * config
    assert disk["model_bytes"] == directory_bytes(out / "model") and disk["run_bytes"] > disk["model_bytes"]
    # As written, each checkpoint also held optimiser (twice the weights in Adam's moments), scheduler and RNG state.
    assert disk["checkpoint_bytes_written"] > 3 * 3 * weights
    # While training, the work directory held at most the newest two whole and the older one slimmed.
    assert 2 * 3 * weights < disk["work_peak_bytes"] < disk["checkpoint_bytes_written"]


def test_older_checkpoints_are_slimmed_while_training_and_a_cut_off_one_is_dropped(tmp_path, tiny_model_dirs, monkeypatch, caplog):
    from valuetrace import training as training_module

    class Interrupted(RuntimeError):
        pass

    class CrashingTrainer(training_module.MaskedPositionsTrainer):
        def training_step(self, *args, **kwargs):
            if self.state.global_step == 9:
                raise Interrupted("killed at step 9")
            return super().training_step(*args, **kwargs)

    train = training_file(tmp_path, 24)
    training = Training(epochs=2, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, precision="fp32", seed=0)
    base = str(tiny_model_dirs["bert"])
    finetune(base, train, tmp_path / "straight", tmp_path / "work-straight", training)

    work = tmp_path / "work"
    with monkeypatch.context() as patch:
        patch.setitem(training_module.TRAINERS, "masked", CrashingTrainer)
        with pytest.raises(Interrupted):
            finetune(base, train, tmp_path / "run", work, training)
    # Steps 4 and 8 saved: the older one is slimmed, the newest keeps what resuming needs.
    assert sorted(p.name for p in (work / "checkpoint-4").iterdir()) == sorted(CHECKPOINT_FILES)
    assert {"optimizer.pt", "scheduler.pt", TRAINER_STATE} <= {p.name for p in (work / "checkpoint-8").iterdir()}
    # A checkpoint cut off while being saved (the job killed mid-save) has no trainer state.
    (work / "checkpoint-12").mkdir()
    shutil.copy2(work / "checkpoint-8" / "model.safetensors", work / "checkpoint-12" / "model.safetensors")

    with caplog.at_level("INFO", logger="valuetrace.finetune"):
        finetune(base, train, tmp_path / "run", work, training)
    assert "checkpoint-12 was cut off while it was being saved" in caplog.text
    assert "resuming from checkpoint-8" in caplog.text
    for part in ("model", "checkpoints/step-4", "checkpoints/step-8", "checkpoints/step-12"):
        assert filecmp.cmp(tmp_path / "straight" / part / "model.safetensors", tmp_path / "run" / part / "model.safetensors", shallow=False), part
    # Both attempts' checkpoints are counted as written.
    straight = json.loads((tmp_path / "straight" / DISK_FILE).read_text())
    resumed = json.loads((tmp_path / "run" / DISK_FILE).read_text())
    assert resumed["checkpoint_bytes_written"] == straight["checkpoint_bytes_written"]


@pytest.mark.slow
def test_killed_finetune_resumes_from_its_last_checkpoint(tmp_path, tiny_model_dirs):
    out, work = tmp_path / "run", tmp_path / "work"
    training = Training(epochs=1, batch_size=1, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=4, precision="fp32", seed=0)
    call = (
        "import logging; from pathlib import Path; from valuetrace.finetune import finetune; "
        "from valuetrace.settings import Training; logging.basicConfig(level=logging.INFO); "
        f"finetune({str(tiny_model_dirs['bert'])!r}, Path({str(training_file(tmp_path, 400))!r}), "
        f"Path({str(out)!r}), Path({str(work)!r}), Training(**{training.params()!r}))"
    )
    command = [sys.executable, "-c", call]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(work.glob("checkpoint-*/trainer_state.json")) and time.time() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    saved = sorted(int(p.name.split("-")[1]) for p in work.glob("checkpoint-*"))
    assert saved and saved[-1] < 400, "the first attempt should have been killed mid-run"
    assert not out.exists()

    second = subprocess.run(command, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr[-2000:]
    assert f"resuming from checkpoint-{saved[-1]}" in second.stderr
    history = json.loads((out / "training_log.json").read_text())
    assert history[-1]["step"] == 400
    assert sorted(int(p.name.split("-")[1]) for p in (out / "checkpoints").iterdir()) == [100, 200, 300, 400]


def test_a_second_attempt_waits_for_the_first_and_keeps_its_finished_run(tmp_path, tiny_model_dirs, caplog):
    """The rerun of a job whose Snakemake was killed while the job trained on (orphaned)."""
    import fcntl
    import os
    import threading

    work_dir, out_dir = tmp_path / "work", tmp_path / "out"
    lock = tmp_path / "work.lock"
    holder = lock.open("a+")
    fcntl.flock(holder, fcntl.LOCK_EX)  # the orphaned first attempt, still training
    holder.write("4242\n")
    holder.flush()
    second = threading.Thread(
        target=finetune,
        args=(str(tiny_model_dirs["bert"]), training_file(tmp_path, 4), out_dir, work_dir, Training(
            batch_size=2, epochs=1, learning_rate=1e-3, max_length=32, mlm_probability=0.15, seed=0, checkpoints=1, precision="fp32"
        )),
    )  # fmt: skip
    with caplog.at_level("INFO", logger="valuetrace.finetune"):
        second.start()
        while "process 4242 is still training this run" not in caplog.text:
            assert second.is_alive()
            time.sleep(0.01)
        assert not out_dir.exists()  # it waits rather than training beside the first
        out_dir.mkdir()
        (out_dir / "run.json").write_text("{}")  # the first attempt finishes
        fcntl.flock(holder, fcntl.LOCK_UN)
        holder.close()
        second.join()
    assert "an earlier attempt finished this run" in caplog.text
    assert not work_dir.exists() and (out_dir / "run.json").read_text() == "{}"  # nothing trained twice
    assert lock.read_text() == f"{os.getpid()}\n"
