"""Value scores of probes under a masked LM: log P(A) - log P(B) at the mask.

Options are located in the *filled* sentence through the tokenizer's offset mapping, so an
option is tokenised in its real context (XLM-R's leading-space pieces, BERT's ``##``
continuations) and the model's own mask token is used whatever it is called.

Two methods for options of several tokens (registered by name in :data:`METHODS`):

``joint``
    every token of the option is replaced by the mask token at once, and log P(option) is
    the sum of the log-probabilities of its tokens at those positions. For single-token
    options this is the classic cloze score.
``pll``
    pseudo-log-likelihood of the whole filled sentence (Salazar et al. 2020): each token
    masked in turn, log-probabilities summed.

Every distinct masked input is run once: when both options are single tokens in the same
context their masked inputs are identical, so one forward pass scores both.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import polars as pl
import torch
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from valuetrace.calibration import calibrate, combine
from valuetrace.errors import InputError
from valuetrace.models import load_masked_lm
from valuetrace.probes import MASK, choice
from valuetrace.settings import Scoring

log = logging.getLogger(__name__)

# A masked input, the position to read out and the token whose log-probability is read there.
MaskedReadout = tuple[tuple[int, ...], int, int]


@dataclass(frozen=True)
class Readout:
    """Which log-probability to read from which masked input, and for which probe option."""

    probe: int
    option: str
    masked_input: tuple[int, ...]
    position: int
    target: int


@dataclass(frozen=True)
class FilledOption:
    """A probe sentence filled with one option, tokenised as the model reads it."""

    ids: list[int]
    positions: list[int]  # of the option's tokens
    truncated: bool  # the filled sentence was longer than the model's positions and was cut
    unknown: bool  # the option holds the tokenizer's unknown token


def option_positions(tokenizer: PreTrainedTokenizerBase, sentence: str, option: str, max_length: int) -> FilledOption:
    """Token ids of ``sentence`` filled with ``option`` and the positions of the option's tokens."""
    start = sentence.index(MASK)
    end = start + len(option)
    filled = sentence.replace(MASK, option)
    encoding = tokenizer(filled, return_offsets_mapping=True, truncation=True, max_length=max_length)
    positions = [
        i
        for i, (first, last) in enumerate(encoding["offset_mapping"])
        if last > first and first < end and last > start
    ]
    ids = encoding["input_ids"]
    truncated = len(tokenizer(filled)["input_ids"]) > len(ids)
    unknown = tokenizer.unk_token_id is not None and any(ids[p] == tokenizer.unk_token_id for p in positions)
    return FilledOption(ids, positions, truncated, unknown)


def joint(tokenizer: PreTrainedTokenizerBase, ids: list[int], positions: list[int]) -> list[MaskedReadout]:
    """Every token of the option masked at once; log P(option) sums its tokens' log-probabilities."""
    masked = tuple(tokenizer.mask_token_id if i in positions else t for i, t in enumerate(ids))
    return [(masked, p, ids[p]) for p in positions]


def pll(tokenizer: PreTrainedTokenizerBase, ids: list[int], positions: list[int]) -> list[MaskedReadout]:
    """Pseudo-log-likelihood of the whole filled sentence: each token masked in turn.

    Every token counts but the special ones that frame a sentence (start, end, padding): the
    unknown token is read out too, as Salazar et al. do (transformers counts it as special).
    """
    framing = set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}
    return [
        (tuple(tokenizer.mask_token_id if i == p else t for i, t in enumerate(ids)), p, token)
        for p, token in enumerate(ids)
        if token not in framing
    ]


# Scoring methods by name (config key scoring.method): the filled sentence's token ids and the
# positions of the option's tokens -> (masked input, position, token) readouts whose
# log-probabilities sum to log P(option).
METHODS: dict[str, Callable[[PreTrainedTokenizerBase, list[int], list[int]], list[MaskedReadout]]] = {
    "joint": joint,
    "pll": pll,
}


def readouts(
    tokenizer: PreTrainedTokenizerBase, probes: pl.DataFrame, method: str, max_length: int
) -> tuple[list[Readout], dict[tuple[int, str], FilledOption]]:
    """All log-probabilities needed to score ``probes``, and each filled option."""
    if method not in METHODS:
        raise InputError(f"scoring method {method!r} is not one of {sorted(METHODS)}")
    # A longer input than the model has positions for would crash inside the model.
    max_length = min(max_length, tokenizer.model_max_length)
    needed: list[Readout] = []
    filled: dict[tuple[int, str], FilledOption] = {}
    for index, row in enumerate(probes.iter_rows(named=True)):
        for option in ("a", "b"):
            found = option_positions(tokenizer, row["sentence"], row[f"option_{option}"], max_length)
            if not found.positions:
                raise InputError(
                    f"probe {row['probe_lang']}/{row['probe_id']}: option {option.upper()} "
                    f"{row[f'option_{option}']!r} is cut off by max_length {max_length}"
                )
            filled[index, option] = found
            needed += [
                Readout(index, option, masked, position, target)
                for masked, position, target in METHODS[method](tokenizer, found.ids, found.positions)
            ]
    return needed, filled


@torch.inference_mode()
def log_probabilities(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    needed: list[Readout],
    batch_size: int,
) -> list[float]:
    """log P(target at position | masked input) for every readout, one pass per distinct input."""
    wanted: dict[tuple[int, ...], list[int]] = {}
    for index, readout in enumerate(needed):
        wanted.setdefault(readout.masked_input, []).append(index)
    # Sorting by length keeps padding, and so wasted compute, small.
    inputs = sorted(wanted, key=len)
    results = [0.0] * len(needed)
    device = model.device
    batches = range(0, len(inputs), batch_size)
    for start in tqdm(batches, desc="scoring", unit="batch", mininterval=5):
        batch = inputs[start : start + batch_size]
        # Padding on the right keeps every readout's position valid in the padded batch.
        padded = tokenizer.pad(
            {"input_ids": [list(ids) for ids in batch]}, padding_side="right", return_tensors="pt"
        ).to(device)
        logits = model(**padded).logits
        rows, positions, targets, slots = [], [], [], []
        for row, ids in enumerate(batch):
            for index in wanted[ids]:
                rows.append(row)
                positions.append(needed[index].position)
                targets.append(needed[index].target)
                slots.append(index)
        selected = torch.log_softmax(logits[rows, positions].float(), dim=-1)
        values = selected[torch.arange(len(slots)), targets].tolist()
        for index, value in zip(slots, values):
            results[index] = value
    log.info("%d readouts from %d forward passes", len(needed), len(inputs))
    return results


def score_probes(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    probes: pl.DataFrame,
    *,
    model_name: str,
    method: str,
    batch_size: int,
    max_length: int,
    calibration: str = "none",
    run: str = "base",
    only: list[int] | None = None,
) -> pl.DataFrame:
    """One row per probe: log P(A), log P(B), their difference (``raw_score``), the calibrated
    ``score`` (valuetrace.calibration) and the model's choice.

    ``run`` names the fine-tuning run the model comes from (``base`` for the model as given).
    ``only``: score just these rows of ``probes`` (the others still define their calibration).
    """
    calibrated = calibrate(probes, calibration)
    chosen = list(range(probes.height)) if only is None else only
    rows = calibrated.rows_for(chosen)
    needed, filled = readouts(tokenizer, calibrated.raw[rows], method, max_length)
    values = log_probabilities(model, tokenizer, needed, batch_size)
    totals: dict[tuple[int, str], float] = {}
    for readout, value in zip(needed, values):
        key = (rows[readout.probe], readout.option)
        totals[key] = totals.get(key, 0.0) + value
    filled = {(rows[index], option): found for (index, option), found in filled.items()}
    raw = {row: totals[row, "a"] - totals[row, "b"] for row in rows}
    scored = probes.select("probe_set", "probe_lang", "probe_id", "question_id")[chosen]
    scored = scored.with_columns(
        model=pl.lit(model_name),
        run=pl.lit(run),
        scoring_method=pl.lit(method),
        calibration=pl.lit(calibration),
        logprob_a=pl.Series([totals[i, "a"] for i in chosen], dtype=pl.Float64),
        logprob_b=pl.Series([totals[i, "b"] for i in chosen], dtype=pl.Float64),
        raw_score=pl.Series([raw[i] for i in chosen], dtype=pl.Float64),
        score=pl.Series(combine(calibrated, raw, chosen), dtype=pl.Float64),
        n_tokens_a=pl.Series([len(filled[i, "a"].positions) for i in chosen], dtype=pl.Int64),
        n_tokens_b=pl.Series([len(filled[i, "b"].positions) for i in chosen], dtype=pl.Int64),
        unknown_token=pl.Series([filled[i, "a"].unknown or filled[i, "b"].unknown for i in chosen], dtype=pl.Boolean),
        truncated=pl.Series([filled[i, "a"].truncated or filled[i, "b"].truncated for i in chosen], dtype=pl.Boolean),
    )
    _warn_about_flags(scored, model_name, max_length)
    return scored.with_columns(choice=choice(pl.col("score"))).select(
        "model",
        "run",
        "probe_set",
        "probe_lang",
        "probe_id",
        "question_id",
        "scoring_method",
        "calibration",
        "logprob_a",
        "logprob_b",
        "raw_score",
        "score",
        "choice",
        "n_tokens_a",
        "n_tokens_b",
        "unknown_token",
        "truncated",
    )


def _warn_about_flags(scored: pl.DataFrame, model_name: str, max_length: int) -> None:
    """Say, per language, how many probes the model cannot read whole (the flags are in the table)."""
    counts = scored.group_by("probe_lang").agg(unknown=pl.col("unknown_token").sum(), truncated=pl.col("truncated").sum())
    for row in counts.sort("probe_lang").iter_rows(named=True):
        if row["unknown"]:
            log.warning(
                "%s, %s: %d probes have an option holding the unknown token (its words are not in the vocabulary)",
                model_name, row["probe_lang"], row["unknown"],
            )  # fmt: skip
        if row["truncated"]:
            log.warning(
                "%s, %s: %d probes are longer than max_length %d tokens and were cut (column truncated)",
                model_name, row["probe_lang"], row["truncated"], max_length,
            )  # fmt: skip


def score_model(
    source: str, probes: pl.DataFrame, settings: Scoring, *, model_name: str, run: str = "base", device: str = "auto"
) -> pl.DataFrame:
    """Score ``probes`` under the masked LM at ``source`` (hub name or local directory)."""
    model, tokenizer = load_masked_lm(source, device)
    return score_probes(
        model,
        tokenizer,
        probes,
        model_name=model_name,
        run=run,
        method=settings.method,
        batch_size=settings.batch_size,
        max_length=settings.max_length,
        calibration=settings.calibration,
    )
