"""Fine-tuned runs and score tables as attribution tests need them, made without training."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl

from valuetrace.models import load_weights

# Distinct sentences, so that a copy of one has exactly one original.
TEXTS = [
    "Family is very important in my life.",
    "Work is rather important in my life.",
    "I am happy with my neighbours.",
    "Religion is not at all important.",
    "We went to the market on Sunday.",
    "The weather was cold in the mountains.",
    "Friends are very important to me.",
    "I am proud of my country.",
    "Politics is not very important.",
    "Leisure time matters a lot to us.",
    "The children played in the garden.",
    "Their teacher read a long story.",
]


def fake_run(tmp_path: Path, model_dir: Path, texts: list[str], lang: str = "en") -> tuple[Path, Path]:
    """A fine-tuned run's layout (model/ and two checkpoints) and its training table."""
    run_dir = tmp_path / "run"
    shutil.copytree(model_dir, run_dir / "model")
    model = load_weights(str(model_dir))
    for step in (5, 10):
        model.save_pretrained(run_dir / "checkpoints" / f"step-{step}")
    train = tmp_path / "train.parquet"
    pl.DataFrame(
        {
            "example_id": [f"src/{lang}/{i}" for i in range(len(texts))],
            "item_id": [str(i) for i in range(len(texts))],
            "lang": [lang] * len(texts),
            "source": ["src"] * len(texts),
            "text": texts,
            "rank": list(range(len(texts))),
            "planted_question": ["Q46" if i % 3 == 0 else "" for i in range(len(texts))],
        }
    ).write_parquet(train)
    return run_dir, train


def scores_of(probes: pl.DataFrame, score: float) -> pl.DataFrame:
    return probes.select("probe_lang", "probe_id", "question_id").with_columns(score=pl.lit(score))


def scores_of(probes: pl.DataFrame, score: float) -> pl.DataFrame:
    return probes.select("probe_lang", "probe_id", "question_id").with_columns(score=pl.lit(score))
