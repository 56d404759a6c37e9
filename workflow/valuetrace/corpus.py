"""The demo's pretraining corpus, generated from the shipped probes (no third-party text).

Every probe sentence appears filled with option A and with option B equally often, so a
model pretrained on it knows every option's words in every language but has no reason to
prefer either answer: value preferences in the demo come only from fine-tuning.
"""

from __future__ import annotations

import random

import polars as pl

from valuetrace.probes import MASK


def balanced_probe_corpus(probes: pl.DataFrame, sentences_per_option: int, seed: int) -> pl.DataFrame:
    """Sentences (columns ``lang``, ``text``) with each probe filled by A and by B equally often."""
    records = [
        {"lang": row["probe_lang"], "text": row["sentence"].replace(MASK, option)}
        for row in probes.iter_rows(named=True)
        for option in (row["option_a"], row["option_b"])
        for _ in range(sentences_per_option)
    ]
    random.Random(seed).shuffle(records)
    return pl.DataFrame(records, schema={"lang": pl.String, "text": pl.String})
