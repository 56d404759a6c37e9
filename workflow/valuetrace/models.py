"""Language models: loading any Hugging Face masked or causal LM, and building a tiny one for the demo.

Loading takes a hub name or a local ``save_pretrained`` directory, finds the model's kind from
its config (``valuetrace.kinds``) and loads it with that kind's head; a model without a trained
head of either kind is refused, because its value scores would be noise.

Building trains a tokenizer with ``tokenizers`` for one of :data:`ARCHITECTURES` (Unigram for
XLM-R style, WordPiece for BERT style, byte-level BPE for GPT-2 style, SentencePiece-style BPE
with byte fallback for Llama style), hands its vocabulary to the transformers tokenizer class
of that family so the saved tokenizer behaves exactly like the real one, and pretrains a small
model of that family from a config, with its kind's objective.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from safetensors import SafetensorError
from tokenizers import Tokenizer, models as tokenizer_models, normalizers, pre_tokenizers, trainers
from transformers import (
    AutoConfig,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertTokenizer,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2Tokenizer,
    LlamaConfig,
    LlamaForCausalLM,
    LlamaTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
    XLMRobertaTokenizer,
)

from valuetrace.errors import InputError
from valuetrace.kinds import ModelKind, kind_of_config
from valuetrace.settings import ModelBuild
from valuetrace.tables import atomic_directory

log = logging.getLogger(__name__)


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


_LFS_POINTER = b"version https://git-lfs.github.com/spec/"


def _weight_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin")) if directory.is_dir() else []


def _lfs_pointer(directory: Path) -> Path | None:
    """A weights file in ``directory`` that is a git-lfs pointer (a few lines of text) instead of weights."""
    for weights in _weight_files(directory):
        with weights.open("rb") as handle:
            if handle.read(len(_LFS_POINTER)) == _LFS_POINTER:
                return weights
    return None


def load_weights(source: str, device: str = "cpu", **options) -> PreTrainedModel:
    """The model at ``source`` (hub name, local directory or checkpoint) with its kind's head, in
    eval mode; ``options`` go to ``from_pretrained`` (e.g. ``attn_implementation``)."""
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError) as error:
        if not Path(source).exists():
            raise InputError(
                f"model {source!r}: no such local directory, and no model of that name could be "
                f"loaded from the hub ({_one_line(error)})"
            ) from error
        raise InputError(f"model {source!r}: cannot load its config ({_one_line(error)})") from error
    kind = kind_of_config(config, source)
    pointer = _lfs_pointer(Path(source))
    if pointer is not None:
        raise InputError(
            f"model {source!r}: {pointer} is a git-lfs pointer, not the weights (the model was cloned without "
            f"git-lfs); run `git lfs pull` in {source}, or download the model again"
        )
    try:
        model, loading = kind.model_class().from_pretrained(
            source, trust_remote_code=False, output_loading_info=True, **options
        )
    except (OSError, SafetensorError) as error:
        weights = ", ".join(path.name for path in _weight_files(Path(source))) or "its weights file"
        raise InputError(
            f"model {source!r}: cannot load {weights}, damaged or incomplete ({_one_line(error)}); "
            "download the model again"
        ) from error
    if loading["missing_keys"]:
        missing = sorted(loading["missing_keys"])
        raise InputError(
            f"model {source!r}: the checkpoint has no trained {kind.head} head "
            f"(weights missing: {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''})"
        )
    return model.to(resolve_device(device)).eval()


def load_tokenizer(source: str, kind: ModelKind) -> PreTrainedTokenizerBase:
    """The tokenizer at ``source``, checked for what a model of ``kind`` needs."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise InputError(f"model {source!r}: cannot load its tokenizer ({_one_line(error)})") from error
    # Without tokenizer files transformers builds an empty tokenizer that maps every word
    # to the unknown token, which would make every score 0.
    if len(tokenizer) <= len(tokenizer.all_special_ids):
        raise InputError(f"model {source!r}: no tokenizer files (its tokenizer has no vocabulary)")
    kind.check_tokenizer(tokenizer, source)
    # Models number positions from the first token of a row, so batches are padded after it
    # (some causal tokenizers default to padding on the left, for generation).
    tokenizer.padding_side = "right"
    return tokenizer


def load_model(source: str, device: str = "cpu") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The masked or causal LM and tokenizer at ``source`` (hub name or local directory), in eval mode."""
    model = load_weights(source, device)
    return model, load_tokenizer(source, kind_of_config(model.config, source))


def _xlm_roberta_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerBase:
    # XLM-R's tokenizer is a SentencePiece Unigram model over Metaspace pre-tokens;
    # XLMRobertaTokenizer adds its own normaliser, specials and <mask> around the vocabulary.
    unigram = Tokenizer(tokenizer_models.Unigram())
    unigram.normalizer = normalizers.NFKC()
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()
    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        unk_token="<unk>",
        show_progress=False,
    )
    unigram.train_from_iterator(texts, trainer)
    vocab = json.loads(unigram.to_str())["model"]["vocab"]
    # The trainer lists pieces of equal score in hash-map order, which changes from run to
    # run; ordering the pieces (after the specials) by text makes their ids reproducible.
    vocab = [entry for entry in vocab if entry[0] in specials] + sorted(
        (entry for entry in vocab if entry[0] not in specials), key=lambda entry: entry[0]
    )
    return XLMRobertaTokenizer(vocab=[(piece, score) for piece, score in vocab])


def _bert_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerBase:
    wordpiece = Tokenizer(tokenizer_models.WordPiece(unk_token="[UNK]"))
    # Cased and accent-preserving: lowercasing and accent stripping damage Bengali, Urdu
    # and Vietnamese text (the reason multilingual BERT is cased).
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=False, strip_accents=False)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    # The trainer numbers continuation pieces ("##x") in hash-map order and breaks ties
    # between merges by those numbers, so the same texts give different vocabularies
    # (huggingface/tokenizers#1794). Listing every continuation character up front, in
    # sorted order, fixes their numbers; it also lets any word of known characters be
    # spelled out instead of becoming [UNK].
    characters = {c for text in texts for c in wordpiece.normalizer.normalize_str(text) if not c.isspace()}
    continuations = [f"##{c}" for c in sorted(characters)]
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *continuations],
        show_progress=False,
    )
    wordpiece.train_from_iterator(texts, trainer)
    return BertTokenizer(vocab=wordpiece.get_vocab(), do_lower_case=False, strip_accents=False)


def _bpe(texts: list[str], pre_tokenizer, trainer) -> tuple[dict[str, int], list[tuple[str, str]]]:
    """Vocabulary and merges of a BPE model trained on ``texts`` over ``pre_tokenizer``'s pieces."""
    bpe = Tokenizer(tokenizer_models.BPE())
    bpe.pre_tokenizer = pre_tokenizer
    bpe.train_from_iterator(texts, trainer)
    model = json.loads(bpe.to_str())["model"]
    return model["vocab"], [tuple(merge) for merge in model["merges"]]


def _gpt2_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerBase:
    # GPT-2's byte-level BPE: every byte of every script is a token of its own to start with,
    # so no text is unknown; <|endoftext|> is start, end and unknown token alike, and there is
    # no padding token (loading adds one, as for the real GPT-2).
    vocab, merges = _bpe(
        texts,
        pre_tokenizers.ByteLevel(add_prefix_space=False),
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=["<|endoftext|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    return GPT2Tokenizer(vocab=vocab, merges=merges)


# SentencePiece's byte-fallback pieces, as Llama's vocabulary holds them after its specials.
_BYTE_PIECES = [f"<0x{byte:02X}>" for byte in range(256)]


def _llama_tokenizer(texts: list[str], vocab_size: int) -> PreTrainedTokenizerBase:
    # Llama's tokenizer is a SentencePiece BPE over Metaspace ("▁word") pieces that spells a
    # character it has no piece for in its UTF-8 bytes, and starts every input with <s>.
    # Pieces never cross a word boundary, which LlamaTokenizer's own pre-tokenizer relies on.
    vocab, merges = _bpe(
        texts,
        pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True),
        trainers.BpeTrainer(
            vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>", *_BYTE_PIECES], show_progress=False
        ),
    )
    return LlamaTokenizer(vocab=vocab, merges=merges, add_bos_token=True)


def _xlm_roberta_model(tokenizer, hidden_size, layers, heads, intermediate_size, max_length, **choices) -> PreTrainedModel:
    config = XLMRobertaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate_size, pad_token_id=tokenizer.pad_token_id, type_vocab_size=1,
        # XLM-R numbers positions from padding_idx + 1, so it needs two extra positions.
        max_position_embeddings=max_length + 2,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **choices,
    )  # fmt: skip
    return XLMRobertaForMaskedLM(config)


def _bert_model(tokenizer, hidden_size, layers, heads, intermediate_size, max_length, **choices) -> PreTrainedModel:
    config = BertConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=heads,
        intermediate_size=intermediate_size, pad_token_id=tokenizer.pad_token_id, type_vocab_size=2,
        max_position_embeddings=max_length, **choices,
    )  # fmt: skip
    return BertForMaskedLM(config)


def _gpt2_model(tokenizer, hidden_size, layers, heads, intermediate_size, max_length, **choices) -> PreTrainedModel:
    config = GPT2Config(
        vocab_size=len(tokenizer), n_embd=hidden_size, n_layer=layers, n_head=heads, n_inner=intermediate_size,
        n_positions=max_length, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **choices,
    )  # fmt: skip
    return GPT2LMHeadModel(config)


def _llama_model(tokenizer, hidden_size, layers, heads, intermediate_size, max_length, **choices) -> PreTrainedModel:
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, num_hidden_layers=layers, num_attention_heads=heads,
        num_key_value_heads=heads, intermediate_size=intermediate_size, max_position_embeddings=max_length,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, **choices,
    )  # fmt: skip
    return LlamaForCausalLM(config)


@dataclass(frozen=True)
class Architecture:
    """A model family that can be built here (config key ``models.<name>.build.architecture``,
    a transformers model type, so its kind is known from the name)."""

    tokenizer: Callable[[list[str], int], PreTrainedTokenizerBase]  # (texts, vocabulary size)
    # (tokenizer, hidden_size, layers, heads, intermediate_size, max_length, **config choices such
    # as tie_word_embeddings, passed to the transformers config)
    model: Callable[..., PreTrainedModel]


ARCHITECTURES: dict[str, Architecture] = {
    "xlm-roberta": Architecture(_xlm_roberta_tokenizer, _xlm_roberta_model),
    "bert": Architecture(_bert_tokenizer, _bert_model),
    "gpt2": Architecture(_gpt2_tokenizer, _gpt2_model),
    "llama": Architecture(_llama_tokenizer, _llama_model),
}


def _architecture(name: str) -> Architecture:
    if name not in ARCHITECTURES:
        raise InputError(f"architecture {name!r} is not one of {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def train_tokenizer(texts: list[str], architecture: str, vocab_size: int) -> PreTrainedTokenizerBase:
    """A tokenizer of the family of ``architecture`` trained on ``texts``."""
    return _architecture(architecture).tokenizer(texts, vocab_size)


def tiny_model(
    architecture: str,
    tokenizer: PreTrainedTokenizerBase,
    *,
    hidden_size: int,
    layers: int,
    heads: int,
    intermediate_size: int,
    max_length: int,
    seed: int,
    output_layer: str = "architecture",
) -> PreTrainedModel:
    """A freshly initialised model of ``architecture`` sized for ``tokenizer``; ``output_layer``
    (:data:`OUTPUT_LAYERS`) says whether its output layer shares the input embeddings' weights."""
    torch.manual_seed(seed)
    return _architecture(architecture).model(
        tokenizer, hidden_size, layers, heads, intermediate_size, max_length, **OUTPUT_LAYERS[output_layer]
    )


# models.<name>.build.output_layer -> the transformers config choice it makes. Untied, the output
# layer has weights of its own, which whole-network attribution differentiates with the rest of
# the network while the input embeddings stay excluded (README, "Whole-network attribution that
# works on the demo"); tied, they are the embeddings.
OUTPUT_LAYERS: dict[str, dict] = {
    "architecture": {},
    "tied": {"tie_word_embeddings": True},
    "untied": {"tie_word_embeddings": False},
}


# The masking rate of BERT's and XLM-R's pretraining, used for the demo's tiny masked LMs.
PRETRAINING_MLM_PROBABILITY = 0.15


def build_model(
    texts: list[str], out_dir: Path, settings: ModelBuild, option_spans: list[tuple[int, int] | None] | None = None
) -> None:
    """Train a tokenizer and pretrain a tiny model on ``texts`` (with its kind's objective); save both to ``out_dir``.

    ``option_spans``: per text the characters of a probe-like statement's option (None in other
    text), always masked in pretraining where ``settings.mask_options`` asks for it."""
    # Imported here: it brings in the Trainer and datasets, which scoring and attribution jobs
    # (everything else that loads a model) do not need.
    from valuetrace.training import train_language_model

    if not texts:
        raise InputError("the pretraining corpus is empty")
    if settings.mask_options and option_spans is None:
        raise InputError("build.mask_options is set but no option spans were given (corpus.read_pretraining_corpus reads them)")
    log.info(
        "training a %s tokenizer (vocabulary %d) on %d sentences", settings.architecture, settings.vocab_size, len(texts)
    )
    tokenizer = train_tokenizer(texts, settings.architecture, settings.vocab_size)
    model = tiny_model(
        settings.architecture,
        tokenizer,
        hidden_size=settings.hidden_size,
        layers=settings.layers,
        heads=settings.heads,
        intermediate_size=settings.intermediate_size,
        max_length=settings.max_length,
        seed=settings.seed,
        output_layer=settings.output_layer,
    )
    # Like a hub tokenizer, the saved one declares how many tokens its model can take.
    tokenizer.model_max_length = settings.max_length
    # Training pads its batches, as a loaded tokenizer does (a causal one gets a padding token).
    kind_of_config(model.config, str(out_dir)).check_tokenizer(tokenizer, str(out_dir))
    log.info("pretraining %d parameters for %d steps", model.num_parameters(), settings.steps)
    with atomic_directory(out_dir) as partial:
        with tempfile.TemporaryDirectory(dir=partial.parent) as trainer_dir:
            train_language_model(
                model,
                tokenizer,
                texts,
                output_dir=Path(trainer_dir),
                steps=settings.steps,
                batch_size=settings.batch_size,
                learning_rate=settings.learning_rate,
                max_length=settings.max_length,
                seed=settings.seed,
                mlm_probability=PRETRAINING_MLM_PROBABILITY,
                always_masked=option_spans if settings.mask_options else None,
            )
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
