"""The functions TRAK differentiates: a probe's score margin and a training example's fit.

TRAK attributes a *model output function* of each target to the training examples. Both
kinds of input are encoded alike, as a few copies of a sentence (masked or not) with the
tokens to read out, a weight per read-out and a sign per copy, and one function serves both:

    f(example) = sum over copies c of sign_c * sum over read-outs t of w_t * log P(token_t | copy_c)

* A **probe** (target) has one copy per input of the scoring method, with sign +1 for option A
  and -1 for option B and the normalisation's weights, so f is exactly its score
  log P(A) - log P(B): for single- and multi-token options, for ``joint`` as well as ``pll``
  scoring, and for a causal LM, whose copy is the filled sentence itself, read from the option on.
  A calibrated score (valuetrace.calibration) is a weighted sum of such raw scores, so its copies
  are theirs with the weights folded into the signs.
* A **training example** has the copies of its kind's objective (:data:`EXAMPLE_FUNCTIONS`), so
  f is its log-likelihood, minus its loss. For a masked LM, ``copies`` masked copies that
  together mask every token once, each masking about the share of tokens fine-tuning masked (a
  single random mask, as in one training step, would often miss the very token that moved a
  value); for a causal LM, the sentence itself with every token read at the position before it,
  its next-token log-likelihood.

The loss of a training example is -f, so the out-to-loss gradient TRAK weighs features
with (its Q term) is the constant 1.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace

import polars as pl
import torch
from trak.gradient_computers import FunctionalGradientComputer
from trak.modelout_functions import AbstractModelOutput
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from valuetrace.calibration import calibrate
from valuetrace.errors import InputError
from valuetrace.kinds import ModelKind, kind_of_config
from valuetrace.scoring import readouts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Copy:
    """One input, the tokens to read out at given positions with their weights, and the sign of their sum."""

    input_ids: tuple[int, ...]
    labels: tuple[tuple[int, int, float], ...]  # (position, token id, weight)
    sign: float


def probe_functions(
    tokenizer: PreTrainedTokenizerBase,
    probes: pl.DataFrame,
    method: str,
    max_length: int,
    kind: ModelKind,
    normalisation: str,
    calibration: str = "none",
    only: list[int] | None = None,
) -> list[list[Copy]]:
    """For every probe (or the rows ``only``), the copies whose signed, weighted log-probabilities
    sum to its calibrated score: the copies of each raw score it is made of, weighted."""
    calibrated = calibrate(probes, calibration)
    chosen = list(range(probes.height)) if only is None else only
    rows = calibrated.rows_for(chosen)
    needed, _ = readouts(tokenizer, calibrated.raw[rows], method, max_length, kind, normalisation)
    grouped: dict[tuple[int, str, tuple[int, ...]], list[tuple[int, int, float]]] = {}
    for readout in needed:
        grouped.setdefault((readout.probe, readout.option, readout.model_input), []).append(
            (readout.position, readout.target, readout.weight)
        )
    raw: dict[int, list[Copy]] = {row: [] for row in rows}
    for (index, option, model_input), labels in grouped.items():
        raw[rows[index]].append(Copy(model_input, tuple(labels), 1.0 if option == "a" else -1.0))
    return [
        [replace(copy, sign=copy.sign * weight) for row, weight in calibrated.terms[probe] for copy in raw[row]]
        for probe in chosen
    ]


def _masked_copies(tokenizer: PreTrainedTokenizerBase, ids: list[int], copies: int) -> list[Copy]:
    """``copies`` masked copies of a text that mask each of its tokens once."""
    special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
    maskable = [position for position, is_special in enumerate(special) if not is_special]
    # Every copy-th token in each copy: masks spread out, none left unread.
    groups = [maskable[start::copies] for start in range(min(copies, len(maskable)))]
    return [
        Copy(
            tuple(tokenizer.mask_token_id if p in group else t for p, t in enumerate(ids)),
            tuple((p, ids[p], 1.0) for p in group),
            1.0,
        )
        for group in groups
    ]


def _next_tokens(tokenizer: PreTrainedTokenizerBase, ids: list[int], copies: int) -> list[Copy]:
    """The text itself, every token after the first read at the position before it: the
    next-token log-likelihood its training loss is the negative mean of."""
    special = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
    labels = tuple((index - 1, ids[index], 1.0) for index in range(1, len(ids)) if not special[index])
    return [Copy(tuple(ids), labels, 1.0)]


# Model kind -> (tokenizer, a training text's ids, mask copies) -> the copies whose log-probabilities
# sum to the text's log-likelihood under its kind's objective.
EXAMPLE_FUNCTIONS = {"masked": _masked_copies, "causal": _next_tokens}


def example_functions(
    tokenizer: PreTrainedTokenizerBase, texts: list[str], copies: int, max_length: int, kind: ModelKind
) -> list[list[Copy]]:
    """For every training text, the copies of its kind's objective (``copies``: a masked LM's)."""
    max_length = min(max_length, tokenizer.model_max_length)
    encoded = kind.encode(tokenizer, texts, max_length)["input_ids"]
    return [EXAMPLE_FUNCTIONS[kind.name](tokenizer, ids, copies) for ids in encoded]


def collate(functions: list[list[Copy]], pad_id: int) -> tuple[torch.Tensor, ...]:
    """Pad a batch of functions to tensors: input ids and attention [batch, copies, length],
    read-out positions, tokens and weights [batch, copies, readouts] (weight 0: padding), signs
    [batch, copies]."""
    batch = len(functions)
    copies = max(len(function) for function in functions)
    length = max(len(copy.input_ids) for function in functions for copy in function)
    readouts = max(len(copy.labels) for function in functions for copy in function)
    input_ids = torch.full((batch, copies, length), pad_id, dtype=torch.long)
    attention = torch.zeros((batch, copies, length), dtype=torch.long)
    # A padding copy still attends to its first token: a row that attends to nothing would
    # give NaN attention weights, and NaN times a zero sign is still NaN.
    attention[:, :, 0] = 1
    positions = torch.zeros((batch, copies, readouts), dtype=torch.long)
    tokens = torch.zeros((batch, copies, readouts), dtype=torch.long)
    read = torch.zeros((batch, copies, readouts))
    signs = torch.zeros((batch, copies))
    for b, function in enumerate(functions):
        for c, copy in enumerate(function):
            input_ids[b, c, : len(copy.input_ids)] = torch.tensor(copy.input_ids)
            attention[b, c, : len(copy.input_ids)] = 1
            for r, (position, token, weight) in enumerate(copy.labels):
                positions[b, c, r], tokens[b, c, r], read[b, c, r] = position, token, weight
            signs[b, c] = copy.sign
    return input_ids, attention, positions, tokens, read, signs


def _head_name(model: PreTrainedModel) -> str:
    """The LM head: the one child module beside the encoder or decoder (``cls``, ``lm_head``)."""
    heads = [name for name, child in model.named_children() if child is not model.base_model]
    if len(heads) != 1:
        raise InputError(f"{type(model).__name__}: expected one head beside the encoder, found {heads}")
    return heads[0]


def _tied_aliases(model: PreTrainedModel) -> dict[str, str]:
    """Names of tied tensors (the decoder tied to the embeddings) -> the name trak passes them by."""
    first: dict[int, str] = {}
    aliases = {}
    for name, tensor in model.named_parameters(remove_duplicate=False):
        canonical = first.setdefault(id(tensor), name)
        if canonical != name:
            aliases[name] = canonical
    return aliases


def _under(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {name[len(prefix) + 1 :]: tensor for name, tensor in tensors.items() if name.startswith(prefix + ".")}


@dataclass(frozen=True)
class _Parts:
    encoder: str  # the base model's prefix in parameter names
    head: str
    aliases: dict[str, str]
    kind: ModelKind


class SignedLogProbability(AbstractModelOutput):
    """f = sum of signed, weighted log-probabilities of the read-out tokens (see the module docstring).

    The encoder (or decoder) runs on every position but the head only on the read-out
    positions: the head's vocabulary-sized output is most of a small model's compute, and for
    a model with a 250k vocabulary the logits of every position would not fit in memory under vmap.
    """

    def __init__(self) -> None:
        # trak 0.3.2 declares __init__ abstract.
        super().__init__()
        self._structure: dict[int, _Parts] = {}

    def _parts(self, model: PreTrainedModel) -> _Parts:
        if id(model) not in self._structure:
            self._structure[id(model)] = _Parts(
                model.base_model_prefix, _head_name(model), _tied_aliases(model), kind_of_config(model.config, model.name_or_path)
            )
        return self._structure[id(model)]

    def get_output(self, model, weights, buffers, input_ids, attention, positions, tokens, read, signs):
        parts = self._parts(model)
        tensors = {**weights, **buffers}
        tensors.update({alias: tensors[canonical] for alias, canonical in parts.aliases.items()})
        # Inside vmap transformers cannot build its mask from a 2-D attention mask (its code
        # branches on the data), so it gets the 4-D additive mask it would have built, which
        # for a causal LM also hides every later token.
        length = input_ids.shape[-1]
        allowed = attention[:, None, None, :].bool().expand(-1, 1, length, length)
        if parts.kind.causal:
            allowed = allowed & torch.ones(length, length, dtype=torch.bool, device=input_ids.device).tril()
        mask = (~allowed).float() * torch.finfo(torch.float32).min
        hidden = torch.func.functional_call(
            model.base_model, _under(tensors, parts.encoder), args=(),
            kwargs={"input_ids": input_ids, "attention_mask": mask, **dict(parts.kind.forward_kwargs)},
        ).last_hidden_state  # fmt: skip
        selected = hidden.gather(1, positions.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
        logits = torch.func.functional_call(getattr(model, parts.head), _under(tensors, parts.head), args=(selected,))
        chosen = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        log_probability = (chosen - logits.logsumexp(-1)) * read
        return (log_probability.sum(-1) * signs).sum()

    def get_out_to_loss_grad(self, model, weights, buffers, batch) -> torch.Tensor:
        return torch.ones(batch[0].shape[0], 1)


class SelectedParameterGradients(FunctionalGradientComputer):
    """Per-example gradients with respect to the selected parameters only.

    trak's FunctionalGradientComputer differentiates every parameter and drops the others
    afterwards; for a language model the embeddings (often tied to the output layer) are most of the
    parameters, so passing the unselected ones as constants saves most of the time and memory.
    """

    def __init__(self, model, task, grad_dim, dtype, device, grad_wrt=None, scales=None) -> None:
        self.grad_wrt = grad_wrt  # read by load_model_params, which the parent calls first
        # Factors of each tensor's gradients (valuetrace.gradient_scaling); None: as they are.
        self.scales = scales
        super().__init__(model, task, grad_dim, dtype, device, grad_wrt)

    def compute_per_sample_grad(self, batch):
        gradients = super().compute_per_sample_grad(batch)
        if self.scales is None:
            return gradients
        return {name: gradient * self.scales[name] for name, gradient in gradients.items()}

    def load_model_params(self, model) -> None:
        parameters = dict(model.named_parameters())
        selected = set(self.grad_wrt) if self.grad_wrt is not None else set(parameters)
        self.func_weights = {name: p for name, p in parameters.items() if name in selected}
        self.func_buffers = {
            **dict(model.named_buffers()),
            **{name: p.detach() for name, p in parameters.items() if name not in selected},
        }


def parameters_with_gradients(model: PreTrainedModel, include: list[str], exclude: list[str]) -> list[str]:
    """Names of the parameters TRAK differentiates: those matching an ``include`` pattern (all
    when empty) and no ``exclude`` pattern (regular expressions searched in the name)."""
    names = [name for name, _ in model.named_parameters()]
    selected = [
        name
        for name in names
        if (not include or any(re.search(pattern, name) for pattern in include))
        and not any(re.search(pattern, name) for pattern in exclude)
    ]
    if not selected:
        raise InputError(
            f"attribution.include_parameters {include} and exclude_parameters {exclude} leave no "
            f"parameter of the model to differentiate (its parameters are named like {names[0]!r})"
        )
    unused = unused_parameters(model, selected)
    if len(unused) == len(selected):
        live = [name for name in names if name not in set(unused_parameters(model, names))]
        raise InputError(
            f"attribution.include_parameters {include} and exclude_parameters {exclude} select only parameters "
            f"that {type(model).__name__}'s forward pass never uses ({', '.join(unused[:5])}), so every gradient "
            f"TRAK would compute is 0 and its scores are ties (an untied BERT keeps cls.predictions.bias beside "
            f"the output bias it uses, cls.predictions.decoder.bias). Select parameters it uses, named like "
            f"{', '.join(repr(name) for name in live[-3:])}"
        )
    if unused:
        log.warning("differentiating %d parameters the forward pass never uses (gradient 0): %s", len(unused), ", ".join(unused))
    return selected


def unused_parameters(model: PreTrainedModel, names: list[str]) -> list[str]:
    """Those of ``names`` that no output of the model depends on: parameters it keeps but never
    reads, whose gradient is None after a backward pass through a few tokens."""
    parameters = dict(model.named_parameters())
    chosen = [parameters[name] for name in names]
    ids = torch.arange(1, 5, device=chosen[0].device)[None]
    with torch.enable_grad():
        gradients = torch.autograd.grad(model(input_ids=ids).logits.sum(), chosen, allow_unused=True)
    return [name for name, gradient in zip(names, gradients) if gradient is None]
