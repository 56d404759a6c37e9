"""Language-model training with transformers' Trainer, shared by demo pretraining and fine-tuning.

The objective is the model kind's (:data:`COLLATORS`): masked-LM loss for a masked LM, the
next-token loss for a causal LM (transformers' collator with ``mlm=False``; the model shifts
the labels itself). A run resumed from one of its checkpoints continues exactly as the
uninterrupted run would have: the Trainer restores weights, optimiser, scheduler, data order
and its random states, and a masked LM's masks come from :class:`StepSeededMasking`, whose
generator depends only on the batch number (the causal collator draws nothing at random).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from datasets import Dataset
from transformers import (
    DataCollatorForLanguageModeling,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from valuetrace.errors import InputError
from valuetrace.kinds import ModelKind, kind_of_config
from valuetrace.precision import trainer_arguments


# Dataset column of the token positions a masked LM's batches always mask (see tokenized_dataset).
ALWAYS_MASKED = "always_masked"
# Dataset column: whether an example is left out of the loss (see LeavingOut).
LEFT_OUT = "left_out"


@dataclass
class StepSeededMasking(DataCollatorForLanguageModeling):
    """The masked-LM collator, masking batch i with a generator seeded from (seed, i), and the
    positions an example lists under :data:`ALWAYS_MASKED` always (with the mask token).

    transformers' collator draws every mask from one generator whose state is not in the Trainer's
    checkpoints, so a resumed run masks its remaining batches differently from an uninterrupted
    one; seeding per batch makes the masks a function of the batch number alone.
    """

    batches: int = 0

    def torch_call(self, examples):
        (state,) = np.random.SeedSequence([self.seed, self.batches]).generate_state(1)
        self.generator = torch.Generator().manual_seed(int(state))
        self._generator_pid = os.getpid()  # the parent class would otherwise make its own generator
        self.batches += 1
        always = [example.pop(ALWAYS_MASKED, ()) for example in examples]
        batch = super().torch_call(examples)
        for row, positions in enumerate(always):
            for position in positions:
                if batch["labels"][row, position] == -100:
                    batch["labels"][row, position] = batch["input_ids"][row, position]
                batch["input_ids"][row, position] = self.tokenizer.mask_token_id
        return batch


@dataclass
class LeavingOut:
    """A collator that makes the batches of ``collator`` and then drops every example marked
    :data:`LEFT_OUT` from them.

    A retraining without some examples (valuetrace.retraining) that keeps the run's own batches:
    the left-out examples still take their places in the data order and in the masks drawn for
    each batch, so every other example is read, masked and weighted as in the run itself, and the
    examples left out are the only difference. Dropped after masking rather than kept with no
    tokens to predict: the same loss and gradients (each row is encoded on its own, and the loss
    is the mean over the predicted tokens), without their forward and backward passes (a fifth of
    an LDS retraining's time at alpha 0.5 on the demo's tiny BERT, up to half on a model whose
    passes dominate a step). A batch with every example left out keeps its rows
    with nothing to predict, so that the step still counts (:class:`LanguageModelTrainer`).
    """

    collator: object

    def __call__(self, examples):
        left_out = torch.tensor([example.pop(LEFT_OUT) for example in examples], dtype=torch.bool)
        batch = self.collator(examples)
        if left_out.all():
            batch["labels"][:] = -100
            return batch
        return {key: value[~left_out] for key, value in batch.items()}


class _ResumeMasking(TrainerCallback):
    """Sets the collator's batch number to the batches already trained when a run resumes."""

    def __init__(self, collator: StepSeededMasking):
        self.collator = collator

    def on_train_begin(self, args, state, control, **kwargs):
        self.collator.batches = state.global_step * args.gradient_accumulation_steps


# Masked-LM model type -> the attribute holding its vocabulary head, which maps each position's
# hidden state to the vocabulary on its own.
MASKED_LM_HEADS = {"bert": "cls", "roberta": "lm_head", "xlm-roberta": "lm_head", "camembert": "lm_head"}


class LanguageModelTrainer(Trainer):
    """transformers' Trainer, with no loss (and so no gradient) from a batch without a token to
    predict, where the models' own mean loss would be 0 / 0: the step still counts, as the
    schedule plans, as when every example of the batch is left out (:class:`LeavingOut`)."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if return_outputs or (inputs["labels"] != -100).any():
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        return sum(parameter.sum() for parameter in model.parameters() if parameter.requires_grad) * 0.0


class MaskedPositionsTrainer(LanguageModelTrainer):
    """The masked-LM loss computed from the masked positions' logits alone.

    transformers' masked LMs project every position onto the vocabulary and then ignore all but
    the masked ~15 % in the loss; on a small model that projection is most of a training step's
    work. Where the head is known (:data:`MASKED_LM_HEADS`) the encoder runs as usual and the head
    sees only the masked positions: the same loss (the mean cross-entropy over masked tokens)
    and gradients, in about half the time on the demo's models. Other models keep their own loss.
    """

    loss_is_scaled_for_ga = False  # a per-batch mean, as the models' own loss

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        head = masked_lm_head(model)
        if head is None or return_outputs or not (inputs["labels"] != -100).any():
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        labels = inputs["labels"]
        # The model's own forward pass runs under accelerate's autocast (mixed precision); these
        # calls bypass it, so they enter it themselves.
        with self.accelerator.autocast():
            hidden = model.base_model(**{key: value for key, value in inputs.items() if key != "labels"})[0]
            masked = labels != -100
            logits = head(hidden[masked])
            return F.cross_entropy(logits, labels[masked])


def masked_lm_head(model: PreTrainedModel) -> torch.nn.Module | None:
    """The vocabulary head of a masked LM whose head works position by position, else None."""
    name = MASKED_LM_HEADS.get(model.config.model_type)
    return getattr(model, name, None) if name else None


def _masked(tokenizer: PreTrainedTokenizerBase, mlm_probability: float, seed: int):
    collator = StepSeededMasking(tokenizer, mlm_probability=mlm_probability, seed=seed)
    return collator, [_ResumeMasking(collator)]


def _causal(tokenizer: PreTrainedTokenizerBase, mlm_probability: float, seed: int):
    return DataCollatorForLanguageModeling(tokenizer, mlm=False), []


# Model kind -> (tokenizer, mlm_probability, seed) -> the collator that makes its training
# batches and the Trainer callbacks it needs; and the Trainer class that computes its loss.
COLLATORS = {"masked": _masked, "causal": _causal}
TRAINERS = {"masked": MaskedPositionsTrainer, "causal": LanguageModelTrainer}


def tokenized_dataset(
    texts: list[str],
    tokenizer: PreTrainedTokenizerBase,
    max_length: int,
    kind: ModelKind,
    always_masked: Sequence[tuple[int, int] | None] | None = None,
    left_out: Sequence[bool] | None = None,
) -> Dataset:
    """``texts`` encoded as the model of ``kind`` reads them; with ``always_masked`` (per text a
    character span or None), each example also lists the tokens overlapping its span; with
    ``left_out`` (per text), whether it is left out of the loss."""
    dataset = _encoded(texts, tokenizer, max_length, kind, always_masked)
    return dataset if left_out is None else dataset.add_column(LEFT_OUT, [bool(flag) for flag in left_out])


def _encoded(texts, tokenizer, max_length: int, kind: ModelKind, always_masked) -> Dataset:
    # A longer input than the model has positions for would crash inside the model.
    max_length = min(max_length, tokenizer.model_max_length)
    if always_masked is None:
        dataset = Dataset.from_dict({"text": texts})
        return dataset.map(lambda batch: kind.encode(tokenizer, batch["text"], max_length), batched=True, remove_columns=["text"])
    encoding = kind.encode(tokenizer, texts, max_length, offsets=True)
    offsets = encoding.pop("offset_mapping")
    encoding[ALWAYS_MASKED] = [
        [index for index, (start, end) in enumerate(row) if span and end > start and start < span[1] and end > span[0]]
        for row, span in zip(offsets, always_masked)
    ]
    return Dataset.from_dict(encoding)


def train_language_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: list[str],
    *,
    output_dir: Path,
    steps: int,
    batch_size: int,
    learning_rate: float,
    max_length: int,
    seed: int,
    mlm_probability: float,
    save_steps: int | None = None,
    resume: bool = False,
    precision: str = "fp32",
    callbacks: Sequence[TrainerCallback] = (),
    always_masked: Sequence[tuple[int, int] | None] | None = None,
    left_out: Sequence[bool] | None = None,
) -> Trainer:
    """Train ``model`` in place for ``steps`` optimiser steps of its kind's loss on ``texts``
    (``mlm_probability``: the share of tokens a masked LM's batches mask), in ``precision``
    (``valuetrace.precision``: fp32, or bf16/fp16 mixed precision) on the model's device.

    ``always_masked`` (a masked LM only): per text a character span whose tokens every batch masks
    and predicts, besides the random share, or None.

    ``left_out`` (per text): examples that take their places in the batches but not in the loss
    (:class:`LeavingOut`).

    With ``save_steps`` the Trainer keeps checkpoints in ``output_dir`` and, with
    ``resume``, continues from the newest one; ``callbacks`` are added to the Trainer's.
    """
    set_seed(seed)
    arguments = TrainingArguments(
        output_dir=str(output_dir),
        max_steps=steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=max(1, steps // 10),
        weight_decay=0.01,
        seed=seed,
        data_seed=seed,
        logging_steps=max(1, steps // 10),
        save_strategy="steps" if save_steps else "no",
        save_steps=save_steps or steps,
        report_to="none",
        dataloader_num_workers=0,
        # The Trainer drops dataset columns the model's forward does not take: the collator needs
        # the always-masked positions and the left-out flags.
        remove_unused_columns=always_masked is None and left_out is None,
        disable_tqdm=False,
        **trainer_arguments(precision, str(model.device)),
    )
    kind = kind_of_config(model.config, model.name_or_path)
    if always_masked is not None and kind.name != "masked":
        raise InputError(f"{model.name_or_path}: always-masked positions need a masked LM, not a {kind.name} one")
    collator, kind_callbacks = COLLATORS[kind.name](tokenizer, mlm_probability, seed)
    if left_out is not None:
        collator = LeavingOut(collator)
    trainer = TRAINERS[kind.name](
        model=model,
        args=arguments,
        train_dataset=tokenized_dataset(texts, tokenizer, max_length, kind, always_masked, left_out),
        data_collator=collator,
        callbacks=[*kind_callbacks, *callbacks],
    )
    checkpoint = resume and any(Path(output_dir).glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if checkpoint else None)
    model.eval()
    return trainer
