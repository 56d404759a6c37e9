"""Attributions without gradients (valuetrace.baselines): token overlap with the options, TF-IDF similarity."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from transformers import AutoTokenizer

from valuetrace import baselines


def probe(option_a: str, option_b: str) -> pl.DataFrame:
    return pl.DataFrame(
        {"probe_lang": ["en"], "probe_id": ["Q1"], "question_id": ["Q1"], "sentence": ["Family is [MASK] in my life."],
         "option_a": [option_a], "option_b": [option_b]}
    )  # fmt: skip


@pytest.mark.parametrize("architecture", ["bert", "xlm-roberta", "gpt2", "llama"])
def test_token_overlap_is_plus_one_for_option_a_minus_one_for_b_zero_for_neither_or_both(tiny_model_dirs, architecture):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dirs[architecture])
    texts = [
        "My work is important to me.",  # A
        "Politics is unimportant in my life.",  # B: its tokens are not A's
        "Family is important and politics is unimportant.",  # both
        "We went to the market on Sunday.",  # neither
    ]
    overlap = baselines.token_overlap(tokenizer, texts, probe("important", "unimportant"), max_length=64)
    assert overlap.shape == (4, 1)
    assert overlap[:, 0].tolist() == [1.0, -1.0, 0.0, 0.0]
    # An option B that contains option A: an example holding B holds A as well.
    overlap = baselines.token_overlap(tokenizer, ["It is not important.", "It is important."], probe("important", "not important"), 64)
    assert overlap[:, 0].tolist() == [0.0, 1.0]
    # Only the first max_length tokens are read, as fine-tuning reads them.
    assert baselines.token_overlap(tokenizer, ["We went to the market, and it was important."], probe("important", "unimportant"), 3)[0, 0] == 0


def test_tfidf_is_signed_similarity_to_the_probe_filled_with_a_minus_with_b(tiny_model_dirs):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dirs["bert"])
    texts = ["Family is important in my life.", "Family is unimportant in my life.", "We went to the market on Sunday."]
    similarity = baselines.tfidf(tokenizer, texts, probe("important", "unimportant"), max_length=64)[:, 0]
    assert similarity[0] > 0 > similarity[1]
    assert similarity[0] == pytest.approx(-similarity[1])  # the two filled sentences mirror each other
    assert abs(similarity[2]) < 1e-9  # no token in common with the probe


def test_baselines_score_every_example_for_every_probe(tiny_model_dirs, shipped_probes):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dirs["xlm-roberta"])
    probes = shipped_probes.filter(pl.col("probe_lang").is_in(["en", "ko"]))
    texts = probes["sentence"].str.replace("[MASK]", probes["option_a"], literal=True).to_list()[:10]
    for name, baseline in baselines.BASELINES.items():
        scores = baseline(tokenizer, texts, probes, 64)
        assert scores.shape == (10, probes.height) and np.isfinite(scores).all(), name
