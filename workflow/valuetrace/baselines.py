"""Attributions that need no gradients, the baselines TRAK is compared with (``valuetrace.lds``).

Each baseline scores, like TRAK, every training example for every target probe: how much the
example is predicted to raise the probe's score log P(A) - log P(B), as a matrix of
examples × probes. Both work on the model's own tokens, so they treat every script alike
(Korean particles attached to a word, for example) and see what fine-tuning sees: an example
is read as its first ``max_length`` tokens, without the tokenizer's special tokens.

``token_overlap``
    +1 if the example contains option A, -1 if it contains option B, 0 if it contains neither
    or both. An example *contains* an option when the option's tokens, as the tokenizer cuts
    them inside the probe sentence, occur in the example as a contiguous run (so with BERT's
    WordPiece, ``important`` is also found inside ``very important``, and for an option B that
    contains option A, such as ``not important``, an example holding B holds A too and counts 0).
``tfidf``
    cosine similarity of the example to the probe sentence filled with option A, minus its
    similarity to the sentence filled with B, in TF-IDF space (scikit-learn's
    ``TfidfVectorizer`` over tokens: smoothed idf from the run's training examples, raw counts,
    l2-normalised vectors). The two filled sentences differ only in the option, so this
    is lexical overlap with the option weighted by how rare its tokens are and by how much
    of the rest of the example resembles the probe.

:data:`BASELINES` maps each name to its function; ``valuetrace.lds`` computes the LDS of each.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import polars as pl
from transformers import PreTrainedTokenizerBase

from valuetrace.kinds import KINDS
from valuetrace.probes import MASK
from valuetrace.scoring import option_positions


def _tokens(tokenizer: PreTrainedTokenizerBase, text: str, max_length: int) -> list[int]:
    return tokenizer(text, add_special_tokens=False, truncation=True, max_length=max_length)["input_ids"]


def _contains(ids: list[int], run: tuple[int, ...]) -> bool:
    width = len(run)
    return any(tuple(ids[start : start + width]) == run for start in range(len(ids) - width + 1))


def token_overlap(tokenizer: PreTrainedTokenizerBase, texts: list[str], probes: pl.DataFrame, max_length: int) -> np.ndarray:
    """+1 / -1 / 0: the example contains option A / option B / neither or both (module docstring)."""
    examples = [_tokens(tokenizer, text, max_length) for text in texts]
    # Many probes share an option (``important``): each distinct token run is looked up once.
    holders: dict[tuple[int, ...], np.ndarray] = {}

    def holding(sentence: str, option: str) -> np.ndarray:
        # The tokens that spell the option itself, for every model kind: a causal LM scores the
        # whitespace before the option with it, but a run that held a lone space token would be
        # found in nearly every example.
        found = option_positions(tokenizer, sentence, option, max_length, KINDS["masked"])
        run = tuple(found.ids[position] for position in found.positions)
        if run not in holders:
            holders[run] = np.array([_contains(ids, run) for ids in examples], dtype=np.float64)
        return holders[run]

    columns = [
        holding(row["sentence"], row["option_a"]) - holding(row["sentence"], row["option_b"])
        for row in probes.iter_rows(named=True)
    ]
    return np.stack(columns, axis=1) if columns else np.zeros((len(texts), 0))


def tfidf(tokenizer: PreTrainedTokenizerBase, texts: list[str], probes: pl.DataFrame, max_length: int) -> np.ndarray:
    """TF-IDF cosine similarity to the probe filled with A minus to the probe filled with B."""
    # Imported here: plans and table jobs import this module's registry without needing scikit-learn.
    from sklearn.feature_extraction.text import TfidfVectorizer

    # Documents are token id lists already; the analyzer hands them over as they are.
    vectorizer = TfidfVectorizer(analyzer=lambda ids: ids)
    examples = vectorizer.fit_transform([_tokens(tokenizer, text, max_length) for text in texts])

    def filled(option: str) -> list[list[int]]:
        return [_tokens(tokenizer, row["sentence"].replace(MASK, row[option]), max_length) for row in probes.iter_rows(named=True)]

    difference = vectorizer.transform(filled("option_a")) - vectorizer.transform(filled("option_b"))
    return np.asarray((examples @ difference.T).todense(), dtype=np.float64)


# Baselines by name (the ``method`` column of the LDS tables, beside ``trak``): the tokenizer,
# the training texts, the target probes and the tokens read per example -> examples × probes.
BASELINES: dict[str, Callable[[PreTrainedTokenizerBase, list[str], pl.DataFrame, int], np.ndarray]] = {
    "token_overlap": token_overlap,
    "tfidf": tfidf,
}
