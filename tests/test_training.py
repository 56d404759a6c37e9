"""Masked-LM training (valuetrace.training): a resumed run is the uninterrupted run, bit for bit."""

from __future__ import annotations

import polars as pl
import pytest
import torch
from safetensors.torch import load_file

from valuetrace import training
from valuetrace.finetune import finetune
from valuetrace.settings import Training


class Interrupted(RuntimeError):
    pass


def crash_at(step: int):
    """A Trainer that dies once it has trained ``step`` steps (a job killed mid-run)."""

    class CrashingTrainer(training.Trainer):
        def training_step(self, *args, **kwargs):
            if self.state.global_step == step:
                raise Interrupted(f"killed at step {step}")
            return super().training_step(*args, **kwargs)

    return CrashingTrainer


def test_a_resumed_run_equals_an_uninterrupted_one_bit_for_bit(tmp_path, tiny_model_dirs, monkeypatch):
    train = tmp_path / "train.parquet"
    pl.DataFrame({"text": [f"Family is important in my life. Sentence {i} of {i % 5}." for i in range(24)]}).write_parquet(train)
    # 24 examples in batches of 4 for 3 epochs: 18 steps, a checkpoint every 6.
    settings = Training(epochs=3, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, seed=3)
    base = str(tiny_model_dirs["bert"])
    finetune(base, train, tmp_path / "straight", tmp_path / "work-straight", settings)

    work = tmp_path / "work-resumed"
    with monkeypatch.context() as patch:
        patch.setattr(training, "Trainer", crash_at(9))  # mid second epoch, after checkpoint-6
        with pytest.raises(Interrupted):
            finetune(base, train, tmp_path / "resumed", work, settings)
    assert sorted(p.name for p in work.glob("checkpoint-*")) == ["checkpoint-6"]
    finetune(base, train, tmp_path / "resumed", work, settings)

    for part in ("model", "checkpoints/step-6", "checkpoints/step-12", "checkpoints/step-18"):
        straight = load_file(tmp_path / "straight" / part / "model.safetensors")
        resumed = load_file(tmp_path / "resumed" / part / "model.safetensors")
        assert straight.keys() == resumed.keys()
        assert all(torch.equal(straight[name], resumed[name]) for name in straight), part


def test_masks_depend_on_the_batch_number_only(tiny_model_dirs):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dirs["bert"])
    examples = [tokenizer("Family is very important in my life, and so is work.") for _ in range(4)]
    first = training.StepSeededMasking(tokenizer, mlm_probability=0.3, seed=1)
    masks = [first(examples)["labels"] for _ in range(3)]
    again = training.StepSeededMasking(tokenizer, mlm_probability=0.3, seed=1, batches=2)
    assert torch.equal(again(examples)["labels"], masks[2])  # a collator started at batch 2 masks batch 2 alike
    assert not torch.equal(masks[0], masks[1])
