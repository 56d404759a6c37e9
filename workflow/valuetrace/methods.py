"""Scoring methods: which log-probabilities make up log P(option), for each model kind.

A method turns a probe sentence filled with one option, tokenised as its model reads it, into
read-outs ``(input, position, index)``: the log-probability of the filled sentence's token
``ids[index]`` read at ``position`` of ``input``. Their sum is log P(option); the probe's score is
log P(A) - log P(B). :data:`METHODS` registers each method by name (config key
``scoring.method``) with one function per model kind it is defined for (``valuetrace.kinds``).

``joint``
    *masked LM*: every token of the option replaced by the mask token at once; log P(option)
    sums the log-probabilities of its tokens there (for a one-token option, the classic cloze
    score). *causal LM*: the option's tokens (with the whitespace before it) and every token
    after it, each read at the position before it, i.e. log P(option, rest | prefix). The tokens
    of the prefix are the same in both filled sentences, so their log-probabilities would cancel
    in the score and are not read; and because P(x, rest | prefix) = P(x | prefix, rest) · P(rest | prefix), whose
    second factor does not depend on the option, the causal score equals
    log P(A | prefix, rest) - log P(B | prefix, rest): like the masked score, it weighs each
    option in the context on both sides of the mask, wherever the mask stands.
``pll`` (masked LMs only)
    pseudo-log-likelihood of the whole filled sentence (Salazar et al. 2020): each token
    masked in turn, log-probabilities summed. A causal LM has no counterpart: its
    log-likelihood of the whole sentence is ``joint`` plus the shared prefix.

:data:`NORMALISATIONS` (config key ``scoring.normalisation``) divide log P(option) by nothing
(``none``), by the number of tokens read (``token``) or by the UTF-8 bytes of the text those
tokens cover (``byte``), the choices lm-evaluation-harness offers for multiple choice. With
``none`` both options are compared as probabilities; the others favour neither a short nor a
long option. Both settings are recorded in every score table.

This module needs no model: the workflow checks a method against the models' kinds before
any job runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from valuetrace.errors import InputError

# The input to run, the position to read out and the index of the filled sentence's token
# whose log-probability is read there.
Readout = tuple[tuple[int, ...], int, int]


def _framing(tokenizer) -> set[int]:
    """The special tokens that frame a sentence (start, end, padding): never read out. The
    unknown token is read like any other, as Salazar et al. do (transformers counts it as special)."""
    return set(tokenizer.all_special_ids) - {tokenizer.unk_token_id}


def joint(tokenizer, ids: list[int], positions: list[int]) -> list[Readout]:
    """Masked LM: every token of the option masked at once; log P(option) sums its tokens' log-probabilities."""
    masked = tuple(tokenizer.mask_token_id if i in positions else t for i, t in enumerate(ids))
    return [(masked, p, p) for p in positions]


def pll(tokenizer, ids: list[int], positions: list[int]) -> list[Readout]:
    """Masked LM: pseudo-log-likelihood of the whole filled sentence, each token masked in turn."""
    framing = _framing(tokenizer)
    return [
        (tuple(tokenizer.mask_token_id if i == p else t for i, t in enumerate(ids)), p, p)
        for p, token in enumerate(ids)
        if token not in framing
    ]


def continuation(tokenizer, ids: list[int], positions: list[int]) -> list[Readout]:
    """Causal LM: the option's tokens and every token after it, each predicted from the ones before.

    One input, the filled sentence itself, serves every read-out: its logits at position i - 1
    predict token i. Inputs begin with a start token (``kinds``), so ``positions[0]`` >= 1.
    """
    framing = _framing(tokenizer)
    sentence = tuple(ids)
    return [(sentence, index - 1, index) for index in range(positions[0], len(ids)) if ids[index] not in framing]


@dataclass(frozen=True)
class Method:
    description: str  # for messages
    # model kind -> (tokenizer, filled sentence's ids, the option's token positions) -> read-outs
    # whose log-probabilities sum to log P(option)
    readouts: dict[str, Callable[..., list[Readout]]]


# Scoring methods by name (config key scoring.method).
METHODS: dict[str, Method] = {
    "joint": Method(
        "the option's tokens masked at once; for a causal LM the log-likelihood of the filled sentence from the option on",
        {"masked": joint, "causal": continuation},
    ),
    "pll": Method("pseudo-log-likelihood, each token masked in turn", {"masked": pll}),
}

# Normalisations by name: (tokens read, UTF-8 bytes they cover) -> what log P(option) is divided by.
NORMALISATIONS: dict[str, Callable[[int, int], float]] = {
    "none": lambda tokens, n_bytes: 1.0,
    "token": lambda tokens, n_bytes: float(tokens),
    "byte": lambda tokens, n_bytes: float(n_bytes),
}


def method_for(method: str, kind: str, model: str) -> Callable[..., list[Readout]]:
    """The read-out function of ``method`` for a model of ``kind``; InputError naming ``model``
    (with where its kind was read) if the method is not defined for that kind."""
    if method not in METHODS:
        raise InputError(f"scoring method {method!r} is not one of {sorted(METHODS)}")
    readouts = METHODS[method].readouts
    if kind not in readouts:
        kinds = " or ".join(f"{name} LMs" for name in readouts)
        alternatives = sorted(name for name, entry in METHODS.items() if kind in entry.readouts)
        raise InputError(
            f"config key 'scoring.method': {method} ({METHODS[method].description}) scores {kinds} only, and "
            f"model {model} is a {kind} LM; score it with {' or '.join(alternatives)}, "
            f"or leave it out of 'models'"
        )
    return readouts[kind]


def normalisation(name: str) -> Callable[[int, int], float]:
    if name not in NORMALISATIONS:
        raise InputError(f"scoring normalisation {name!r} is not one of {sorted(NORMALISATIONS)}")
    return NORMALISATIONS[name]
