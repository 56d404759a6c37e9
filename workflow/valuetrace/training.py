"""Masked-LM training with transformers' Trainer, shared by demo pretraining and fine-tuning."""

from __future__ import annotations

from pathlib import Path

from datasets import Dataset
from transformers import (
    DataCollatorForLanguageModeling,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
    set_seed,
)


def tokenized_dataset(texts: list[str], tokenizer: PreTrainedTokenizerBase, max_length: int) -> Dataset:
    # A longer input than the model has positions for would crash inside the model.
    max_length = min(max_length, tokenizer.model_max_length)
    dataset = Dataset.from_dict({"text": texts})
    return dataset.map(
        lambda batch: tokenizer(batch["text"], truncation=True, max_length=max_length),
        batched=True,
        remove_columns=["text"],
    )


def train_masked_lm(
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
) -> Trainer:
    """Train ``model`` in place for ``steps`` optimiser steps of masked-LM loss on ``texts``.

    With ``save_steps`` the Trainer keeps checkpoints in ``output_dir`` and, with
    ``resume``, continues from the newest one.
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
        disable_tqdm=False,
    )
    trainer = Trainer(
        model=model,
        args=arguments,
        train_dataset=tokenized_dataset(texts, tokenizer, max_length),
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm_probability=mlm_probability, seed=seed),
    )
    checkpoint = resume and any(Path(output_dir).glob("checkpoint-*"))
    trainer.train(resume_from_checkpoint=True if checkpoint else None)
    model.eval()
    return trainer
