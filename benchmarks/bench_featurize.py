"""Benchmark: what whole-network TRAK featurisation costs per 1,000 examples, against one fine-tuning epoch.

TRAK featurises a run once per attributed checkpoint (the demo: the start of fine-tuning). Three
settings on the demo's tiny BERT (its size and training settings from ``config/config.yaml``,
randomly initialised: the cost does not depend on what it learnt), each on the same generated
examples, at the model fine-tuning starts from:

* the demo's: the output bias only (``attribution.include_parameters`` of ``config/config.yaml``);
* the whole network but the embeddings of the same, tied model;
* ``config/whole_network.yaml``: the untied output layer differentiated too, and the extra
  gradient pass of ``gradient_scaling: tensor_rms``.

The baseline, in the same process: one fine-tuning epoch of the tied model on the same examples.
Prints each setting's time and its ratio to the epoch; run:

    .venv/bin/python benchmarks/bench_featurize.py [--examples 1000]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from demo_inputs import demo_config, planted_english

from valuetrace import attribution, settings
from valuetrace.finetune import finetune
from valuetrace.models import tiny_model


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000, help="training examples featurised (default 1000)")
    examples = parser.parse_args(argv).examples
    demo, whole = demo_config(), demo_config("whole_network.yaml")
    build = settings.ModelBuild.from_config(demo, "tiny-bert")
    training = settings.Training.from_config(demo, 0)
    _, train, tokenizer = planted_english(demo, examples)
    demo_trak = settings.Trak.from_config(demo)
    whole_trak = settings.Trak.from_config(whole)
    cases = {
        "the demo's output bias": ("architecture", demo_trak),
        "whole network but the embeddings, tied": ("architecture", dataclasses.replace(whole_trak, gradient_scaling="none")),
        "config/whole_network.yaml (untied, tensor_rms)": (settings.ModelBuild.from_config(whole, "tiny-bert").output_layer, whole_trak),
    }
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-featurize-") as scratch:
        scratch = Path(scratch)
        train_path = scratch / "train.parquet"
        train.write_parquet(train_path)
        for output_layer in {layer for layer, _ in cases.values()}:
            model = tiny_model(
                build.architecture, tokenizer, hidden_size=build.hidden_size, layers=build.layers, heads=build.heads,
                intermediate_size=build.intermediate_size, max_length=build.max_length, seed=build.seed, output_layer=output_layer,
            )  # fmt: skip
            model.save_pretrained(scratch / output_layer)
            tokenizer.save_pretrained(scratch / output_layer)
        start = time.perf_counter()
        epoch = dataclasses.replace(training, epochs=1, checkpoints=1)
        finetune(str(scratch / "architecture"), train_path, scratch / "run", scratch / "work", epoch, device="cpu")
        seconds["one fine-tuning epoch"] = time.perf_counter() - start
        for index, (name, (output_layer, trak)) in enumerate(cases.items()):
            start = time.perf_counter()
            attribution.featurize(
                scratch / "run", train_path, scratch / f"features{index}", checkpoint=0, settings=trak,
                base=str(scratch / output_layer), device="cpu",
            )  # fmt: skip
            seconds[name] = time.perf_counter() - start
    epoch_s = seconds["one fine-tuning epoch"]
    print(f"{examples} examples, tiny BERT ({build.hidden_size} hidden, {build.layers} layers), batch {training.batch_size}, "
          f"{demo_trak.mask_copies} masked copies per example, the exact kernel")  # fmt: skip
    print(f"one fine-tuning epoch: {epoch_s:.1f} s (the baseline, 1.00)")
    for name, value in list(seconds.items())[1:]:
        print(f"featurising, {name}: {value:.1f} s = {value / epoch_s:.2f} epochs, "
              f"{value / examples * 1000:.0f} s per 1,000 examples")  # fmt: skip
    return seconds


if __name__ == "__main__":
    main()
