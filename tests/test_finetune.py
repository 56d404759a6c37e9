"""Fine-tuning a run: outputs for attribution, and resumption after the job is killed."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from valuetrace.finetune import finetune, schedule
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
    training = Training(epochs=2, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, seed=0)
    finetune(str(tiny_model_dirs["bert"]), training_file(tmp_path, 24), out, work, training)
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["step-12", "step-4", "step-8"]
    assert (out / "checkpoints/step-4/model.safetensors").exists()
    load_model(str(out / "model"))
    assert json.loads((out / "training_log.json").read_text())[-1]["step"] == 12
    assert not work.exists()
    assert not list(tmp_path.glob(".run.partial"))


@pytest.mark.slow
def test_killed_finetune_resumes_from_its_last_checkpoint(tmp_path, tiny_model_dirs):
    out, work = tmp_path / "run", tmp_path / "work"
    training = Training(epochs=1, batch_size=1, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=4, seed=0)
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
            batch_size=2, epochs=1, learning_rate=1e-3, max_length=32, mlm_probability=0.15, seed=0, checkpoints=1
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
