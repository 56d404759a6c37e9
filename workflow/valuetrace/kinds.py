"""Model kinds: masked LMs, read out at masked positions, and causal LMs, read left to right.

:data:`KINDS` holds what the stages need to know about a kind in one place: the transformers
class that loads it with its head, the table of model types that have that head, how its
inputs are framed, and how its tokens attend to each other. What each stage does per kind is
an entry in that stage's own registry, keyed by the kind's name: ``methods.METHODS`` (scoring),
``training.COLLATORS`` (the training objective) and ``influence.EXAMPLE_FUNCTIONS`` (TRAK).

The kind of a model comes from its transformers config: the class its checkpoint was saved
with (``architectures``, e.g. ``GPT2LMHeadModel``), or, where the config does not name one, its
``model_type``. A model type with both heads (``bert``, ``xlm-roberta``) is masked unless its
checkpoint says otherwise. When the workflow is planned the kind is known for a model built
here (its ``build.architecture`` is a model type) and for a local directory (its
``config.json``); a hub name is resolved when a job loads it.

This module imports transformers only when it must look a model type up, so that planning a
workflow whose settings suit every kind stays quick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from valuetrace.errors import InputError


def start_token_id(tokenizer) -> int | None:
    """The token a causal LM's input starts with: BOS, or EOS where there is no BOS (GPT-2's
    ``<|endoftext|>``), as lm-evaluation-harness conditions its log-likelihoods."""
    return tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id


def _masked_tokenizer(tokenizer, source: str) -> None:
    if tokenizer.mask_token is None:
        raise InputError(f"model {source!r}: its tokenizer has no mask token")


def _causal_tokenizer(tokenizer, source: str) -> None:
    if start_token_id(tokenizer) is None:
        raise InputError(f"model {source!r}: its tokenizer has neither a BOS nor an EOS token to start an input with")
    # Batches are padded; causal tokenizers often have no padding token (GPT-2, Llama). What
    # padding holds does not matter: the attention mask hides it and nothing reads it out.
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.bos_token


@dataclass(frozen=True)
class ModelKind:
    name: str
    head: str  # what the head predicts, for messages
    auto_class: str  # transformers' Auto class that loads a model of the kind with its head
    mapping: str  # transformers' table (model type -> class) of the model types with that head
    # A token attends only to the tokens before it. TRAK differentiates the model under vmap,
    # where the attention mask is built here (see influence.SignedLogProbability).
    causal: bool
    # Inputs begin with a start token (start_token_id) where the tokenizer adds none, so that
    # the first word of a sentence is predicted like every other.
    starts_inputs: bool
    # The whitespace before the mask belongs to the option: a byte-level BPE may spell it as a
    # token of its own (GPT-2's "Ġ" before an option it has no "Ġword" piece for), which the two
    # filled sentences then do not share. lm-evaluation-harness likewise moves a context's
    # trailing space into the continuation. (A masked LM masks the option's own tokens only.)
    space_before_option: bool
    check_tokenizer: Callable  # (tokenizer, source) -> None; raises InputError, may set a padding token
    forward_kwargs: tuple[tuple[str, object], ...] = ()  # extra arguments of every forward pass

    def model_class(self):
        import transformers

        return getattr(transformers, self.auto_class)

    def model_types(self) -> dict[str, str]:
        from transformers.models.auto import modeling_auto

        return getattr(modeling_auto, self.mapping)

    def encode(self, tokenizer, texts: list[str], max_length: int | None, offsets: bool = False) -> dict:
        """Token ids (and character offsets) of ``texts`` as the model of this kind reads them,
        cut to ``max_length`` tokens (``None``: not cut)."""
        start = start_token_id(tokenizer) if self.starts_inputs else None
        # Whether the tokenizer puts the start token in front itself (Llama's does, GPT-2's not).
        prepend = start is not None and tokenizer("")["input_ids"][:1] != [start]
        limit = None if max_length is None else max_length - prepend
        encoding = dict(tokenizer(texts, truncation=limit is not None, max_length=limit, return_offsets_mapping=offsets))
        if prepend:
            first = {"input_ids": start, "attention_mask": 1, "offset_mapping": (0, 0)}
            encoding = {key: [[value, *row] for row in encoding[key]] for key, value in first.items() if key in encoding}
        return encoding


KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (
        ModelKind(
            name="masked",
            head="masked-LM",
            auto_class="AutoModelForMaskedLM",
            mapping="MODEL_FOR_MASKED_LM_MAPPING_NAMES",
            causal=False,
            starts_inputs=False,
            space_before_option=False,
            check_tokenizer=_masked_tokenizer,
        ),
        ModelKind(
            name="causal",
            head="causal-LM (next-token)",
            auto_class="AutoModelForCausalLM",
            mapping="MODEL_FOR_CAUSAL_LM_MAPPING_NAMES",
            causal=True,
            starts_inputs=True,
            space_before_option=True,
            check_tokenizer=_causal_tokenizer,
            # The key-value cache only serves generation; under vmap it would be built for nothing.
            forward_kwargs=(("use_cache", False),),
        ),
    )
}


def kind_of(model_type: str, architectures: list[str] | None = None) -> ModelKind | None:
    """The kind of a model from its config's ``model_type`` and ``architectures`` (None: neither head)."""
    for kind in KINDS.values():
        if any(name in kind.model_types().values() for name in architectures or []):
            return kind
    for kind in KINDS.values():
        if model_type in kind.model_types():
            return kind
    return None


def kind_of_config(config, source: str) -> ModelKind:
    """The kind of the model whose transformers config is ``config``; InputError if it has neither head."""
    kind = kind_of(config.model_type, getattr(config, "architectures", None))
    if kind is None:
        heads = " nor a ".join(kind.head for kind in KINDS.values())
        raise InputError(
            f"model {source!r}: model type {config.model_type!r} has neither a {heads} head in transformers; "
            "value probing needs a masked LM (such as xlm-roberta or bert) or a causal LM (such as gpt2 or llama)"
        )
    return kind


def planned_kind(spec: dict, base: Path) -> tuple[ModelKind | None, str]:
    """The kind of a configured model (``models.<name>``) where it is known before any job runs,
    and where it is known from; ``(None, ...)`` for a hub name or a directory not there yet."""
    if "build" in spec:
        architecture = spec["build"]["architecture"]
        return kind_of(architecture), f"build.architecture {architecture}"
    config = base / spec["source"] / "config.json"
    if not config.is_file():
        return None, "its hub name"
    try:
        fields = json.loads(config.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None, str(config)  # the job loading it says what is wrong with it
    if not isinstance(fields, dict):
        return None, str(config)
    architectures = fields.get("architectures") or []
    described = ", ".join(architectures) or f"model_type {fields.get('model_type')}"
    return kind_of(str(fields.get("model_type")), architectures), f"{config}: {described}"
