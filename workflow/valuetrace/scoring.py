"""Value scores of probes under a masked or causal LM: log P(A) - log P(B).

Options are located in the *filled* sentence through the tokenizer's offset mapping, so an
option is tokenised in its real context (XLM-R's leading-space pieces, BERT's ``##``
continuations, GPT-2's ``Ġ``) and the model's own mask token is used whatever it is called.
Which log-probabilities make up log P(option) is the scoring method's choice, per model kind
(``valuetrace.methods``: ``joint`` for both kinds, ``pll`` for masked LMs), and the
normalisation's (none, per token, per byte); both are recorded in the table with the model's kind.

Every distinct input is run once: when both options are single tokens in the same context
their masked inputs are identical, so one forward pass scores both; a causal LM reads all of
an option's log-probabilities from one pass over its filled sentence.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl
import torch
from tqdm import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from valuetrace import methods, precision as precisions
from valuetrace.calibration import calibrate, combine
from valuetrace.errors import InputError
from valuetrace.kinds import ModelKind, kind_of_config
from valuetrace.models import load_model, resolve_device
from valuetrace.probes import MASK, choice
from valuetrace.settings import Scoring

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Readout:
    """Which log-probability to read from which input, with what weight, and for which probe option."""

    probe: int
    option: str
    model_input: tuple[int, ...]
    position: int
    target: int
    weight: float  # 1 / the normalisation's divisor: the read-outs' weighted sum is the normalised log P(option)


@dataclass(frozen=True)
class FilledOption:
    """A probe sentence filled with one option, tokenised as the model reads it."""

    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]  # characters of ``text`` each token covers
    positions: list[int]  # of the option's tokens
    truncated: bool  # the filled sentence was longer than the model's positions and was cut
    unknown: bool  # the option holds the tokenizer's unknown token


def option_positions(
    tokenizer: PreTrainedTokenizerBase, sentence: str, option: str, max_length: int, kind: ModelKind
) -> FilledOption:
    """Token ids of ``sentence`` filled with ``option`` and the positions of the option's tokens
    (for a causal LM, with the whitespace before it: ``ModelKind.space_before_option``)."""
    start = sentence.index(MASK)
    end = start + len(option)
    if kind.space_before_option:
        start = len(sentence[:start].rstrip())
    filled = sentence.replace(MASK, option)
    encoding = kind.encode(tokenizer, [filled], max_length, offsets=True)
    ids, offsets = encoding["input_ids"][0], encoding["offset_mapping"][0]
    positions = [i for i, (first, last) in enumerate(offsets) if last > first and first < end and last > start]
    truncated = len(kind.encode(tokenizer, [filled], None)["input_ids"][0]) > len(ids)
    unknown = tokenizer.unk_token_id is not None and any(ids[p] == tokenizer.unk_token_id for p in positions)
    return FilledOption(filled, ids, offsets, positions, truncated, unknown)


def covered_bytes(filled: FilledOption, indices: list[int]) -> int:
    """UTF-8 bytes of the stretch of the filled sentence that its tokens at ``indices`` cover."""
    first = min(filled.offsets[i][0] for i in indices)
    last = max(filled.offsets[i][1] for i in indices)
    return len(filled.text[first:last].encode("utf-8"))


def readouts(
    tokenizer: PreTrainedTokenizerBase,
    probes: pl.DataFrame,
    method: str,
    max_length: int,
    kind: ModelKind,
    normalisation: str,
    model: str = "the model",
) -> tuple[list[Readout], dict[tuple[int, str], FilledOption]]:
    """All log-probabilities needed to score ``probes`` under a model of ``kind``, and each filled option.

    ``model`` names the model in the message if ``method`` is not defined for its kind."""
    read = methods.method_for(method, kind.name, model)
    divisor = methods.normalisation(normalisation)
    # A longer input than the model has positions for would crash inside the model.
    max_length = min(max_length, tokenizer.model_max_length)
    needed: list[Readout] = []
    filled: dict[tuple[int, str], FilledOption] = {}
    for index, row in enumerate(probes.iter_rows(named=True)):
        for option in ("a", "b"):
            found = option_positions(tokenizer, row["sentence"], row[f"option_{option}"], max_length, kind)
            if not found.positions:
                raise InputError(
                    f"probe {row['probe_lang']}/{row['probe_id']}: option {option.upper()} "
                    f"{row[f'option_{option}']!r} is cut off by max_length {max_length}"
                )
            filled[index, option] = found
            option_readouts = read(tokenizer, found.ids, found.positions)
            n_bytes = covered_bytes(found, [token for _, _, token in option_readouts])
            weight = 1.0 / divisor(len(option_readouts), n_bytes)
            needed += [
                Readout(index, option, model_input, position, found.ids[token], weight)
                for model_input, position, token in option_readouts
            ]
    return needed, filled


@torch.inference_mode()
def log_probabilities(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    needed: list[Readout],
    batch_size: int,
    precision: str = "fp32",
) -> list[float]:
    """log P(target at position | input) for every readout, one pass per distinct input (unweighted);
    the forward passes in ``precision`` (``valuetrace.precision``), the log-softmax in fp32."""
    forward_kwargs = dict(kind_of_config(model.config, model.name_or_path).forward_kwargs)
    wanted: dict[tuple[int, ...], list[int]] = {}
    for index, readout in enumerate(needed):
        wanted.setdefault(readout.model_input, []).append(index)
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
        with precisions.autocast(precision, device):
            logits = model(**padded, **forward_kwargs).logits
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
    normalisation: str,
    batch_size: int,
    max_length: int,
    calibration: str = "none",
    run: str = "base",
    only: list[int] | None = None,
    precision: str = "fp32",
) -> pl.DataFrame:
    """One row per probe: log P(A), log P(B) (normalised), their difference (``raw_score``), the
    calibrated ``score`` (valuetrace.calibration) and the model's choice.

    ``run`` names the fine-tuning run the model comes from (``base`` for the model as given);
    ``precision``: that of the forward passes (``finetuning.precision``).
    ``only``: score just these rows of ``probes`` (the others still define their calibration).
    """
    kind = kind_of_config(model.config, model_name)
    described = f"{model_name} ({', '.join(model.config.architectures or [model.config.model_type])})"
    calibrated = calibrate(probes, calibration)
    chosen = list(range(probes.height)) if only is None else only
    rows = calibrated.rows_for(chosen)
    needed, filled = readouts(tokenizer, calibrated.raw[rows], method, max_length, kind, normalisation, described)
    values = log_probabilities(model, tokenizer, needed, batch_size, precision)
    totals: dict[tuple[int, str], float] = {}
    for readout, value in zip(needed, values):
        key = (rows[readout.probe], readout.option)
        totals[key] = totals.get(key, 0.0) + readout.weight * value
    filled = {(rows[index], option): found for (index, option), found in filled.items()}
    raw = {row: totals[row, "a"] - totals[row, "b"] for row in rows}
    scored = probes.select("probe_set", "probe_lang", "probe_id", "question_id")[chosen]
    scored = scored.with_columns(
        model=pl.lit(model_name),
        run=pl.lit(run),
        model_kind=pl.lit(kind.name),
        scoring_method=pl.lit(method),
        normalisation=pl.lit(normalisation),
        calibration=pl.lit(calibration),
        logprob_a=pl.Series([totals[i, "a"] for i in chosen], dtype=pl.Float64),
        logprob_b=pl.Series([totals[i, "b"] for i in chosen], dtype=pl.Float64),
        raw_score=pl.Series([raw[i] for i in chosen], dtype=pl.Float64),
        score=pl.Series(combine(calibrated, raw, chosen), dtype=pl.Float64),
        n_tokens_a=pl.Series([len(filled[i, "a"].positions) for i in chosen], dtype=pl.Int64),
        n_tokens_b=pl.Series([len(filled[i, "b"].positions) for i in chosen], dtype=pl.Int64),
        unknown_token=pl.Series([filled[i, "a"].unknown or filled[i, "b"].unknown for i in chosen], dtype=pl.Boolean),
        truncated=pl.Series([filled[i, "a"].truncated or filled[i, "b"].truncated for i in chosen], dtype=pl.Boolean),
        precision=pl.lit(precision),
    )
    _warn_about_flags(scored, model_name, max_length)
    return scored.with_columns(choice=choice(pl.col("score"))).select(
        "model",
        "run",
        "probe_set",
        "probe_lang",
        "probe_id",
        "question_id",
        "model_kind",
        "scoring_method",
        "normalisation",
        "calibration",
        "precision",
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
    source: str,
    probes: pl.DataFrame,
    settings: Scoring,
    *,
    model_name: str,
    run: str = "base",
    device: str = "auto",
    only: list[int] | None = None,
) -> pl.DataFrame:
    """Score ``probes`` (or the rows ``only``) under the masked or causal LM at ``source`` (hub
    name or local directory)."""
    device = resolve_device(device)
    precisions.check(settings.precision, device)
    model, tokenizer = load_model(source, device)
    return score_probes(
        model,
        tokenizer,
        probes,
        model_name=model_name,
        run=run,
        method=settings.method,
        normalisation=settings.normalisation,
        batch_size=settings.batch_size,
        max_length=settings.max_length,
        calibration=settings.calibration,
        only=only,
        precision=settings.precision,
    )
