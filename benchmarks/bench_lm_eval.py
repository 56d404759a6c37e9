"""Benchmark: valuetrace's causal scoring against lm-evaluation-harness, in the same process.

Both compute the log-likelihood of every shipped probe (14 languages) filled with each option,
from the option on, under one tiny GPT-2-style model built here: valuetrace's ``score_probes``
(one forward pass per filled sentence, batched, sorted by length) and lm-eval's ``HFLM.loglikelihood``
on the same (context, continuation) strings (tests/test_lm_eval_agreement.py checks that they
agree). Prints both wall times, their ratio and the largest difference; needs ``lm_eval``
(extra ``agreement``); run:

    .venv/bin/python benchmarks/bench_lm_eval.py
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from lm_eval.api.instance import Instance
from lm_eval.models.huggingface import HFLM

from valuetrace import models, probes, scoring
from valuetrace.corpus import balanced_probe_corpus
from valuetrace.kinds import start_token_id

REPO = Path(__file__).resolve().parent.parent
BATCH_SIZE = 64


def main() -> None:
    torch.manual_seed(0)
    table, _ = probes.compile_probes(
        REPO / "config/probes/demo", REPO / "config/probes/wvs7_key.tsv", sorted(probes.LANGUAGE_NAMES)
    )
    texts = balanced_probe_corpus(table, 1, seed=0)["text"].to_list()
    tokenizer = models.train_tokenizer(texts, "gpt2", 4000)
    tokenizer.model_max_length = 128
    model = models.tiny_model(
        "gpt2", tokenizer, hidden_size=256, layers=4, heads=4, intermediate_size=1024, max_length=128, seed=0
    ).eval()
    models.kind_of_config(model.config, "bench").check_tokenizer(tokenizer, "bench")

    start = tokenizer.decode([start_token_id(tokenizer)])  # GPT-2's tokenizer adds no start token
    pairs = []
    for row in table.iter_rows(named=True):
        prefix, suffix = row["sentence"].split(probes.MASK)
        pairs += [(start + prefix, row[f"option_{option}"] + suffix) for option in ("a", "b")]
    harness = HFLM(pretrained=model, tokenizer=tokenizer, device="cpu", batch_size=BATCH_SIZE, dtype="float32")

    def ours():
        scores = scoring.score_probes(
            model, tokenizer, table, model_name="bench", method="joint", normalisation="none",
            batch_size=BATCH_SIZE, max_length=128,
        )  # fmt: skip
        return [value for row in scores.iter_rows(named=True) for value in (row["logprob_a"], row["logprob_b"])]

    def theirs():
        instances = [Instance("loglikelihood", {}, pair, index) for index, pair in enumerate(pairs)]
        return [value for value, _ in harness.loglikelihood(instances, disable_tqdm=True)]

    timings, values = {}, {}
    for name, run in (("lm-eval", theirs), ("valuetrace", ours)):
        values[name] = run()  # warm-up
        begin = time.perf_counter()
        for _ in range(3):
            run()
        timings[name] = (time.perf_counter() - begin) / 3
    difference = max(abs(a - b) for a, b in zip(values["valuetrace"], values["lm-eval"]))
    print(f"probes: {table.height} in {table['probe_lang'].n_unique()} languages, option log-likelihoods: {len(pairs)}")
    print(f"max |valuetrace - lm-eval|: {difference:.2e}")
    print(f"time: valuetrace {timings['valuetrace']:.3f}s, lm-eval {timings['lm-eval']:.3f}s "
          f"(valuetrace {timings['lm-eval'] / timings['valuetrace']:.2f}x as fast)")  # fmt: skip


if __name__ == "__main__":
    main()
