"""Numeric precision (valuetrace.precision, config key finetuning.precision): fp32 adds nothing to
training or scoring; bf16 mixed precision trains and scores on a CPU; fp16 without a GPU is refused
naming the key, when planning as a warning and in the job as an error."""

from __future__ import annotations

import json

import polars as pl
import pytest
import torch
from safetensors.torch import load_file

from test_settings import validated
from valuetrace import precision, scoring, settings
from valuetrace.errors import InputError
from valuetrace.finetune import finetune
from valuetrace.models import load_model
from valuetrace.settings import Scoring, Training

NO_GPU = pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU, which runs fp16")


def test_the_schema_offers_exactly_the_precisions_the_library_knows():
    assert settings.schema()["properties"]["finetuning"]["properties"]["precision"]["enum"] == list(precision.PRECISIONS)
    assert settings.schema_default("finetuning", "precision") == "fp32"


def test_precision_reaches_training_and_scoring_settings():
    config = validated(**{"finetuning.precision": "bf16"})
    assert settings.Training.from_config(config, 0).precision == "bf16"
    assert settings.Scoring.from_config(config).precision == "bf16"
    # Without fine-tuning, the base models are scored in the schema's default precision.
    assert settings.Scoring.from_config(validated(finetuning=None, datasets=None, attribution=None)).precision == "fp32"


def test_fp32_adds_no_trainer_argument_and_no_autocast():
    assert precision.trainer_arguments("fp32", "cpu") == {}
    assert precision.trainer_arguments("bf16", "cpu") == {"bf16": True, "use_cpu": True}
    assert precision.trainer_arguments("fp16", "cuda") == {"fp16": True}
    assert not isinstance(precision.autocast("fp32", "cpu"), torch.autocast)


@NO_GPU
def test_fp16_without_a_gpu_is_an_error_in_the_job_and_a_warning_when_planning(tmp_path, tiny_model_dirs):
    precision.check("bf16", "cpu")
    with pytest.raises(InputError, match=r"config key 'finetuning.precision': fp16 mixed precision needs a CUDA GPU.*bf16"):
        precision.check("fp16", "cpu")
    training = Training(epochs=1, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=1, precision="fp16", seed=0)
    train = tmp_path / "train.parquet"
    pl.DataFrame({"text": ["Family is important in my life."] * 4}).write_parquet(train)
    with pytest.raises(InputError, match="'finetuning.precision': fp16"):
        finetune(str(tiny_model_dirs["bert"]), train, tmp_path / "run", tmp_path / "work", training)
    assert not (tmp_path / "run").exists()
    warnings = settings.check_precision(validated(**{"finetuning.precision": "fp16"}))
    assert len(warnings) == 1 and "'finetuning.precision': fp16 needs a CUDA GPU" in warnings[0]
    assert settings.check_precision(validated()) == []


def test_bf16_fine_tuning_on_cpu_keeps_fp32_weights_and_records_its_precision(tmp_path, tiny_model_dirs):
    train = tmp_path / "train.parquet"
    pl.DataFrame({"text": [f"Family is important in my life. Sentence {i}." for i in range(16)]}).write_parquet(train)
    weights = {}
    for name in ("fp32", "bf16"):
        training = Training(epochs=1, batch_size=4, learning_rate=1e-2, max_length=32, mlm_probability=0.15, checkpoints=1, precision=name, seed=0)
        finetune(str(tiny_model_dirs["bert"]), train, tmp_path / name, tmp_path / f"work-{name}", training, device="cpu")
        assert json.loads((tmp_path / name / "run.json").read_text())["precision"] == name
        weights[name] = load_file(tmp_path / name / "model" / "model.safetensors")
    assert all(tensor.dtype == torch.float32 for tensor in weights["bf16"].values())
    # The same training, computed in bf16: close to fp32's, not equal to it.
    differences = [(weights["bf16"][key] - weights["fp32"][key]).abs().max().item() for key in weights["fp32"]]
    assert 0 < max(differences) < 0.05


def test_bf16_scores_are_close_to_fp32_ones_and_say_so(tiny_model_dirs, shipped_probes):
    model, tokenizer = load_model(str(tiny_model_dirs["xlm-roberta"]), "cpu")
    options = dict(model_name="tiny", method="joint", normalisation="none", batch_size=32, max_length=64)
    fp32 = scoring.score_probes(model, tokenizer, shipped_probes, **options)
    bf16 = scoring.score_probes(model, tokenizer, shipped_probes, precision="bf16", **options)
    assert set(fp32["precision"]) == {"fp32"} and set(bf16["precision"]) == {"bf16"}
    error = (fp32["score"] - bf16["score"]).abs()
    assert 0 < error.max() < 0.1
    # fp32 scoring is what it was before the switch: no autocast at all.
    settings_fp32 = Scoring(method="joint", normalisation="none", calibration="none", batch_size=32, max_length=64, precision="fp32")
    assert scoring.score_model(str(tiny_model_dirs["xlm-roberta"]), shipped_probes, settings_fp32, model_name="tiny", device="cpu").equals(fp32)
