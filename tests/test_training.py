"""Language-model training (valuetrace.training): a resumed run is the uninterrupted run, bit for
bit, for masked and causal LMs; each kind's collator."""

from __future__ import annotations

import polars as pl
import pytest
import torch
from safetensors.torch import load_file
from transformers import TrainingArguments

from conftest import CAUSAL_ARCHITECTURES, kind_of
from valuetrace import training
from valuetrace.finetune import finetune
from valuetrace.settings import Training


class Interrupted(RuntimeError):
    pass


def crash_at(step: int, trainer: type):
    """A ``trainer`` that dies once it has trained ``step`` steps (a job killed mid-run)."""

    class CrashingTrainer(trainer):
        def training_step(self, *args, **kwargs):
            if self.state.global_step == step:
                raise Interrupted(f"killed at step {step}")
            return super().training_step(*args, **kwargs)

    return CrashingTrainer


@pytest.mark.parametrize("architecture", ["bert", *CAUSAL_ARCHITECTURES])
def test_a_resumed_run_equals_an_uninterrupted_one_bit_for_bit(tmp_path, tiny_model_dirs, monkeypatch, architecture):
    train = tmp_path / "train.parquet"
    pl.DataFrame({"text": [f"Family is important in my life. Sentence {i} of {i % 5}." for i in range(24)]}).write_parquet(train)
    # 24 examples in batches of 4 for 3 epochs: 18 steps, a checkpoint every 6.
    settings = Training(epochs=3, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, precision="fp32", seed=3)
    base = str(tiny_model_dirs[architecture])
    finetune(base, train, tmp_path / "straight", tmp_path / "work-straight", settings)

    work = tmp_path / "work-resumed"
    with monkeypatch.context() as patch:
        kind = kind_of(architecture).name
        patch.setitem(training.TRAINERS, kind, crash_at(9, training.TRAINERS[kind]))  # mid second epoch, after checkpoint-6
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


def test_causal_batches_predict_every_token_but_padding(tiny_model_dirs):
    """The next-token collator: labels are the inputs (the model shifts them), padding ignored,
    nothing drawn at random; every text starts with the start token."""
    from valuetrace.kinds import KINDS
    from valuetrace.models import load_model

    _, tokenizer = load_model(str(tiny_model_dirs["gpt2"]))
    collator, callbacks = training.COLLATORS["causal"](tokenizer, 0.15, 0)
    assert callbacks == []
    texts = ["Family is very important in my life, and so is work.", "Work is important."]
    encoded = KINDS["causal"].encode(tokenizer, texts, 32)
    examples = [{key: values[i] for key, values in encoded.items()} for i in range(len(texts))]
    batch = collator(examples)
    assert batch["input_ids"][:, 0].tolist() == [tokenizer.eos_token_id] * 2  # GPT-2 starts with <|endoftext|>
    short = len(encoded["input_ids"][1])
    assert torch.equal(batch["labels"][0], batch["input_ids"][0].masked_fill(batch["input_ids"][0] == tokenizer.pad_token_id, -100))
    assert (batch["labels"][1, short:] == -100).all() and (batch["attention_mask"][1, short:] == 0).all()
    assert torch.equal(collator(examples)["labels"], batch["labels"])


@pytest.mark.parametrize("architecture", ["bert", "xlm-roberta"])
def test_the_masked_positions_loss_is_the_models_own_loss_with_the_same_gradients(tmp_path, tiny_model_dirs, architecture):
    """MaskedPositionsTrainer projects only the masked positions onto the vocabulary: its loss and
    every parameter's gradient equal those of the model's own forward pass."""
    from valuetrace.models import load_model

    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    model.train()
    collator, _ = training.COLLATORS["masked"](tokenizer, 0.3, 0)
    texts = ["Family is very important in my life, and so is work.", "Work is important.", "God is not important to me."]
    batch = collator([tokenizer(text) for text in texts])
    assert training.masked_lm_head(model) is not None and (batch["labels"] == -100).any()

    def loss_and_gradients(loss_of):
        model.zero_grad()
        torch.manual_seed(0)  # the same dropout in both passes
        loss = loss_of()
        loss.backward()
        return loss.detach(), {name: parameter.grad.clone() for name, parameter in model.named_parameters() if parameter.grad is not None}

    own_loss, own_gradients = loss_and_gradients(lambda: model(**batch).loss)
    trainer = training.MaskedPositionsTrainer(model=model, args=TrainingArguments(output_dir=str(tmp_path), report_to="none"))
    loss, gradients = loss_and_gradients(lambda: trainer.compute_loss(model, dict(batch)))
    assert torch.allclose(loss, own_loss, atol=1e-6)
    assert gradients.keys() == own_gradients.keys()
    for name, gradient in gradients.items():
        assert torch.allclose(gradient, own_gradients[name], atol=1e-6, rtol=1e-4), name


def test_a_masked_lm_without_a_known_head_keeps_its_own_loss(tmp_path, tiny_model_dirs):
    from valuetrace.models import load_model

    model, tokenizer = load_model(str(tiny_model_dirs["bert"]))
    model.config.model_type = "some-new-masked-lm"
    assert training.masked_lm_head(model) is None
    collator, _ = training.COLLATORS["masked"](tokenizer, 0.5, 0)
    batch = collator([tokenizer(text) for text in ("Family is very important in my life.", "Work is important.")])
    model.eval()  # no dropout: both passes see the same network
    trainer = training.MaskedPositionsTrainer(model=model, args=TrainingArguments(output_dir=str(tmp_path), report_to="none"))
    with torch.no_grad():
        assert torch.equal(trainer.compute_loss(model, dict(batch)), model(**batch).loss)


def test_always_masked_positions_are_masked_in_every_batch_and_nothing_else_changes(tiny_model_dirs):
    from valuetrace.kinds import KINDS
    from valuetrace.models import load_model

    _, tokenizer = load_model(str(tiny_model_dirs["bert"]))
    texts = ["Family is important in my life.", "It rained all day, and the river rose."]
    span = (texts[0].index("important"), texts[0].index("important") + len("important"))
    dataset = training.tokenized_dataset(texts, tokenizer, 32, KINDS["masked"], always_masked=[span, None])
    positions = dataset[0][training.ALWAYS_MASKED]
    assert tokenizer.decode([dataset[0]["input_ids"][p] for p in positions]).replace(" ##", "") == "important"
    assert dataset[1][training.ALWAYS_MASKED] == []
    plain = training.tokenized_dataset(texts, tokenizer, 32, KINDS["masked"])
    for batch_number in range(3):
        forced = training.StepSeededMasking(tokenizer, mlm_probability=0.15, seed=2, batches=batch_number)([dict(row) for row in dataset])
        random_only = training.StepSeededMasking(tokenizer, mlm_probability=0.15, seed=2, batches=batch_number)([dict(row) for row in plain])
        for p in positions:
            assert forced["input_ids"][0, p] == tokenizer.mask_token_id and forced["labels"][0, p] == dataset[0]["input_ids"][p]
        others = torch.ones_like(forced["labels"], dtype=torch.bool)
        others[0, positions] = False
        assert torch.equal(forced["labels"][others], random_only["labels"][others])
        assert torch.equal(forced["input_ids"][others], random_only["input_ids"][others])


@pytest.mark.parametrize("architecture", ["bert", *CAUSAL_ARCHITECTURES])
def test_leaving_out_nothing_is_the_run_itself_bit_for_bit(tmp_path, tiny_model_dirs, architecture):
    """A retraining in the run's own batches that leaves out no example trains the run again."""
    train = tmp_path / "train.parquet"
    pl.DataFrame({"text": [f"Family is important in my life. Sentence {i} of {i % 5}." for i in range(12)]}).write_parquet(train)
    settings = Training(epochs=2, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=1, precision="fp32", seed=3)
    base = str(tiny_model_dirs[architecture])
    finetune(base, train, tmp_path / "run", tmp_path / "work-run", settings)
    finetune(base, train, tmp_path / "again", tmp_path / "work-again", settings, left_out=[False] * 12)
    run, again = (load_file(tmp_path / name / "model" / "model.safetensors") for name in ("run", "again"))
    assert all(torch.equal(run[name], again[name]) for name in run)


@pytest.mark.parametrize("architecture", ["bert", "gpt2"])
def test_a_left_out_example_keeps_the_others_masks_and_adds_nothing_to_the_loss(tmp_path, tiny_model_dirs, architecture):
    """LeavingOut: the other examples are masked as without it, and dropping the left-out row
    gives the loss and gradients of the whole batch with that row's tokens ignored; a batch with
    every row left out keeps its rows and has no loss."""
    from valuetrace.kinds import KINDS
    from valuetrace.models import load_model

    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    kind = KINDS["causal" if architecture == "gpt2" else "masked"]
    texts = ["Family is very important in my life, and so is work.", "Work is important.", "God is not important to me."]
    dataset = training.tokenized_dataset(texts, tokenizer, 32, kind, left_out=[False, True, False])
    plain = training.tokenized_dataset(texts, tokenizer, 32, kind)
    collator, _ = training.COLLATORS[kind.name](tokenizer, 0.5, 0)
    batch = training.LeavingOut(collator)([dict(row) for row in dataset])
    reference, _ = training.COLLATORS[kind.name](tokenizer, 0.5, 0)
    full = reference([dict(row) for row in plain])
    assert (full["labels"][1] != -100).any()
    assert all(torch.equal(batch[key], full[key][[0, 2]]) for key in full), "the kept rows are masked as in the run"
    ignored = {**full, "labels": full["labels"].clone()}
    ignored["labels"][1] = -100
    everything_left_out = training.tokenized_dataset(texts, tokenizer, 32, kind, left_out=[True] * 3)
    all_out = training.LeavingOut(training.COLLATORS[kind.name](tokenizer, 0.5, 0)[0])([dict(row) for row in everything_left_out])
    assert all_out["input_ids"].shape[0] == 3 and (all_out["labels"] == -100).all()

    model.eval()  # no dropout: every pass sees the same network
    trainer = training.TRAINERS[kind.name](model=model, args=TrainingArguments(output_dir=str(tmp_path), report_to="none"))

    def loss_and_gradients(inputs):
        model.zero_grad()
        loss = trainer.compute_loss(model, dict(inputs))
        loss.backward()
        return loss.detach(), {name: parameter.grad.clone() for name, parameter in model.named_parameters() if parameter.grad is not None}

    loss, gradients = loss_and_gradients(ignored)
    without_row, without_gradients = loss_and_gradients(batch)
    assert torch.allclose(loss, without_row, atol=1e-6)
    for name, gradient in without_gradients.items():
        assert torch.allclose(gradients[name], gradient, atol=1e-6, rtol=1e-4), name
    nothing, nothing_gradients = loss_and_gradients(all_out)
    assert nothing.item() == 0.0 and all(not gradient.any() for gradient in nothing_gradients.values())
