"""Benchmark: what the linear datamodeling score costs per 1,000 examples, against one fine-tuning epoch.

The LDS retrains a run once per random subset (``attribution.lds.subsets``), each time with the
run's own schedule (as many optimiser steps as ``finetuning.epochs`` epochs of the whole run) on
a share ``alpha`` of its examples, and scores every probe; the LDS job then computes the two
baselines. The baseline of this benchmark, in the same process: one fine-tuning epoch on the same
1,000 examples. The demo's tiny BERT (its size, training settings, probes and LDS settings from
``config/config.yaml`` and ``config/validation.yaml``, randomly initialised: the cost does not depend on what it learnt) is
fine-tuned on 1,000 generated examples. Prints each step's time and its ratio to the epoch; run:

    .venv/bin/python benchmarks/bench_lds.py
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from pathlib import Path

import polars as pl
from demo_inputs import demo_config, planted_english

from valuetrace import baselines, lds, settings
from valuetrace.finetune import finetune
from valuetrace.grid import Run
from valuetrace.models import tiny_model
EXAMPLES = 1000


def main() -> None:
    # The demo with the validation config's LDS merged over it, as `--configfile config/config.yaml
    # config/validation.yaml` merges them.
    config = demo_config("validation.yaml")
    build = settings.ModelBuild.from_config(config, "tiny-bert")
    training = settings.Training.from_config(config, 0)
    scoring = settings.Scoring.from_config(config)
    subsets = settings.LdsSubsets.from_config(config)
    m = config["attribution"]["lds"]["subsets"]
    probes, train, tokenizer = planted_english(config, EXAMPLES)
    model = tiny_model(
        build.architecture, tokenizer, hidden_size=build.hidden_size, layers=build.layers, heads=build.heads,
        intermediate_size=build.intermediate_size, max_length=build.max_length, seed=build.seed,
    )  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-lds-") as scratch:
        scratch = Path(scratch)
        base, train_path = scratch / "base", scratch / "train.parquet"
        model.save_pretrained(base)
        tokenizer.save_pretrained(base)
        train.write_parquet(train_path)

        start = time.perf_counter()
        epoch = dataclasses.replace(training, epochs=1, checkpoints=1)
        finetune(str(base), train_path, scratch / "epoch", scratch / "epoch-work", epoch, device="cpu")
        epoch_s = time.perf_counter() - start

        start = time.perf_counter()
        lds.retrain_subset(
            Run("tiny-bert", "planted", "en", EXAMPLES, 0), 0, base=str(base), train_path=train_path, probes=probes,
            subsets=subsets, batches=config["attribution"]["retraining_batches"], training=training, scoring=scoring,
            device="cpu",
        )  # fmt: skip
        retraining_s = time.perf_counter() - start

    targets = probes.filter(pl.col("probe_lang") == "en")
    start = time.perf_counter()
    for baseline in baselines.BASELINES.values():
        baseline(tokenizer, train["text"].to_list(), targets, training.max_length)
    baselines_s = time.perf_counter() - start

    print(f"{EXAMPLES} examples, tiny BERT ({build.hidden_size} hidden, {build.layers} layers), batch {training.batch_size}, "
          f"{probes.height} probes scored per retraining")  # fmt: skip
    print(f"one fine-tuning epoch: {epoch_s:.1f} s (the baseline, 1.00)")
    print(f"one LDS retraining ({subsets.size(EXAMPLES)} examples, {config['attribution']['retraining_batches']} batches, the schedule of {training.epochs} epochs of {EXAMPLES}, "
          f"every probe scored): {retraining_s:.1f} s ({retraining_s / epoch_s:.2f} epochs)")  # fmt: skip
    print(f"both baselines for the {targets.height} English probes: {baselines_s:.1f} s ({baselines_s / epoch_s:.2f} epochs)")
    total = m * retraining_s + baselines_s
    print(f"the LDS with the demo's {m} subsets: {total:.0f} s = {total / epoch_s:.1f} epochs per {EXAMPLES} examples "
          f"(= {total / epoch_s / training.epochs:.1f} times the run's own fine-tuning of {training.epochs} epochs)")  # fmt: skip


if __name__ == "__main__":
    main()
