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
from valuetrace.models import load_masked_lm
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
    load_masked_lm(str(out / "model"))
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
