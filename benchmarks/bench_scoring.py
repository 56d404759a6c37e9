"""Benchmark: forward passes shared between options vs one pass per option.

Scoring runs every distinct masked input once, so a probe whose options are single tokens
in the same context costs one forward pass for both options. The baseline, in the same
process, scores options A and B in separate calls (one pass per option per probe).
Prints the ratio of wall times and of forward passes; run:

    .venv/bin/python benchmarks/bench_scoring.py
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from valuetrace import models, probes, scoring
from valuetrace.corpus import balanced_probe_corpus
from valuetrace.kinds import KINDS

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    torch.manual_seed(0)
    table, _ = probes.compile_probes(
        REPO / "config/probes/demo", REPO / "config/probes/wvs7_key.tsv", sorted(probes.LANGUAGE_NAMES)
    )
    texts = balanced_probe_corpus(table, 1, seed=0)["text"].to_list()
    tokenizer = models.train_tokenizer(texts, "xlm-roberta", 4000)
    model = models.tiny_model(
        "xlm-roberta", tokenizer, hidden_size=256, layers=4, heads=4, intermediate_size=512, max_length=64, seed=0
    ).eval()
    needed, _ = scoring.readouts(tokenizer, table, "joint", 128, KINDS["masked"], "none")

    def shared():
        return scoring.log_probabilities(model, tokenizer, needed, batch_size=64)

    def per_option():
        return [
            scoring.log_probabilities(model, tokenizer, [r for r in needed if r.option == option], batch_size=64)
            for option in ("a", "b")
        ]

    timings = {}
    for name, run in (("per_option", per_option), ("shared", shared)):
        run()  # warm-up
        start = time.perf_counter()
        for _ in range(3):
            run()
        timings[name] = (time.perf_counter() - start) / 3
    passes_shared = len({r.model_input for r in needed})
    passes_per_option = sum(len({r.model_input for r in needed if r.option == o}) for o in ("a", "b"))
    print(f"probes: {table.height}, readouts: {len(needed)}")
    print(f"forward passes: shared {passes_shared}, per option {passes_per_option} (ratio {passes_per_option / passes_shared:.2f})")
    print(f"time: shared {timings['shared']:.3f}s, per option {timings['per_option']:.3f}s "
          f"(speed-up {timings['per_option'] / timings['shared']:.2f}x)")


if __name__ == "__main__":
    main()
