"""What the CPU benchmarks share: the demo config (with others merged over it, as Snakemake's
``--configfile`` merges them) and a tokenizer and generated English planted examples made from it."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from snakemake.utils import update_config
from transformers import PreTrainedTokenizerBase

from valuetrace import settings
from valuetrace.corpus import generated_source
from valuetrace.models import train_tokenizer
from valuetrace.probes import compile_probes

REPO = Path(__file__).resolve().parent.parent


def demo_config(*merged: str) -> dict:
    """``config/config.yaml`` with the named files of ``config/`` merged over it, validated."""
    config = settings.read_config(REPO / "config" / "config.yaml")
    for name in merged:
        update_config(config, settings.read_config(REPO / "config" / name))
    return settings.validate_config(config)


def planted_english(config: dict, examples: int) -> tuple[pl.DataFrame, pl.DataFrame, PreTrainedTokenizerBase]:
    """The config's probes, ``examples`` English examples of its ``planted`` source (generator
    seed 0) and a tiny-bert tokenizer trained on both, sized as the config builds it."""
    build = settings.ModelBuild.from_config(config, "tiny-bert")
    probes, _ = compile_probes(REPO / config["probes"]["path"], REPO / config["probes"]["key"], config["languages"])
    spec = config["datasets"]["planted"]
    train = generated_source(
        probes, REPO / spec["generate"]["text"] / "en.yaml", "en", sentences=examples,
        planted_questions=spec["planted_questions"], planted_fraction=spec["generate"]["planted_fraction"],
        planting=spec["generate"]["planting"], seed=0,
    ).with_columns(example_id=pl.format("planted/en/{}", pl.int_range(pl.len())), lang=pl.lit("en"))  # fmt: skip
    tokenizer = train_tokenizer(train["text"].to_list() + probes["sentence"].to_list(), build.architecture, build.vocab_size)
    tokenizer.model_max_length = build.max_length
    return probes, train, tokenizer
