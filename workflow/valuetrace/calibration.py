"""Calibrated value scores: what a model believes about the question, not which option word it likes.

The raw score log P(A) - log P(B) mixes two things: how much the model prefers the word A to
the word B in general, and what it believes about the question. Fine-tuning on Bible text can
raise "always" in every sentence; that is no value shift about divorce. A calibrated score
subtracts an estimate of the first part (config key ``scoring.calibration``):

``none``
    the raw score.
``content_free``
    the raw score minus the same options' score in a content-free version of the probe: the
    mask alone, with the sentence's closing punctuation (``Family is [MASK] in my life.`` ->
    ``[MASK].``). This is the content-free input of Zhao et al. (2021, "Calibrate before use")
    for a cloze model, and the domain premise of Holtzman et al.'s (2021) domain-conditional
    PMI with the question as the only content: what remains is how much the question itself
    moves the choice between the two words. It needs no knowledge of the language, so it
    serves every probe file as it is.
``option_pair``
    the raw score centred on the mean raw score of the probes of the same probe set and
    language that share its option pair (``important``/``unimportant`` for family, work,
    God, ...): a shift that moves every question with those words alike cancels, and what is
    left says which of those questions moved more than the others. A probe whose option pair
    no other probe has is calibrated as ``content_free``.

Every calibration is a weighted sum of raw scores (:class:`Calibrated`), so the scorer and
TRAK's model output function (valuetrace.influence) compute exactly the same number: the
scorer sums raw scores, TRAK sums the signed log-probabilities behind them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from valuetrace.errors import InputError
from valuetrace.probes import MASK

CALIBRATIONS = ("none", "content_free", "option_pair")

_CLOSING = re.compile(r"[^\w\]]*$")


def content_free_sentence(sentence: str) -> str:
    """The mask alone, with the sentence's closing punctuation (if any)."""
    return MASK + _CLOSING.search(sentence.strip()).group(0).strip()


@dataclass(frozen=True)
class Calibrated:
    """The sentences whose raw scores a calibration needs, and how it combines them.

    ``raw`` holds the probes, in their order, then any content-free rows; ``terms[i]`` lists
    (row of ``raw``, weight) pairs whose weighted raw scores sum to probe ``i``'s calibrated score.
    """

    raw: pl.DataFrame
    terms: list[tuple[tuple[int, float], ...]]

    def rows_for(self, probes: list[int]) -> list[int]:
        """The rows of ``raw`` that the calibrated scores of ``probes`` read, in order."""
        return sorted({row for probe in probes for row, _ in self.terms[probe]})


def calibrate(probes: pl.DataFrame, calibration: str) -> Calibrated:
    """How the calibrated score of each probe (row of ``probes``) is made from raw scores."""
    if calibration not in CALIBRATIONS:
        raise InputError(f"scoring calibration {calibration!r} is not one of {list(CALIBRATIONS)}")
    rows = probes.to_dicts()
    if calibration == "none":
        return Calibrated(probes, [((index, 1.0),) for index in range(len(rows))])
    content_free: dict[tuple, int] = {}
    extra: list[dict] = []

    def baseline(row: dict) -> int:
        sentence = content_free_sentence(row["sentence"])
        key = (row["probe_set"], row["probe_lang"], sentence, row["option_a"], row["option_b"])
        if key not in content_free:
            content_free[key] = len(rows) + len(extra)
            extra.append({**row, "sentence": sentence, "probe_id": f"{row['probe_id']}:content_free"})
        return content_free[key]

    groups: dict[tuple, list[int]] = {}
    for index, row in enumerate(rows):
        groups.setdefault((row["probe_set"], row["probe_lang"], row["option_a"], row["option_b"]), []).append(index)
    terms = []
    for index, row in enumerate(rows):
        peers = groups[row["probe_set"], row["probe_lang"], row["option_a"], row["option_b"]]
        if calibration == "option_pair" and len(peers) > 1:
            weights = {peer: -1.0 / len(peers) for peer in peers}
            weights[index] += 1.0
            terms.append(tuple(weights.items()))
        else:
            terms.append(((index, 1.0), (baseline(row), -1.0)))
    raw = pl.concat([probes, pl.DataFrame(extra, schema=probes.schema)]) if extra else probes
    return Calibrated(raw, terms)


def combine(calibrated: Calibrated, raw_scores: dict[int, float], probes: list[int]) -> list[float]:
    """The calibrated scores of ``probes`` from the raw scores of (at least) their rows of ``calibrated.raw``."""
    return [sum(weight * raw_scores[row] for row, weight in calibrated.terms[probe]) for probe in probes]
