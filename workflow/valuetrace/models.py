"""Masked language models: loading any Hugging Face masked LM, and building a tiny one for the demo.

Loading takes a hub name or a local ``save_pretrained`` directory; a model without a
trained masked-LM head is refused, because its value scores would be noise.

Building trains a tokenizer with ``tokenizers`` (Unigram for XLM-R style, WordPiece for
BERT style), hands its vocabulary to the transformers tokenizer class of that family so
the saved tokenizer behaves exactly like the real one, and pretrains a small model of
that family from a config.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import torch
from safetensors import SafetensorError
from tokenizers import Tokenizer, models as tokenizer_models, normalizers, pre_tokenizers, trainers
from transformers import (
    AutoConfig,
    AutoModelForMaskedLM,
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    XLMRobertaConfig,
    XLMRobertaForMaskedLM,
    XLMRobertaTokenizer,
)
from transformers.models.auto.modeling_auto import MODEL_FOR_MASKED_LM_MAPPING_NAMES

from valuetrace.errors import InputError
from valuetrace.settings import ModelBuild
from valuetrace.tables import atomic_directory
from valuetrace.training import train_masked_lm

log = logging.getLogger(__name__)

ARCHITECTURES = ("xlm-roberta", "bert")


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


def load_masked_lm(source: str, device: str = "cpu") -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """The masked LM and tokenizer at ``source`` (hub name or local directory), in eval mode."""
    try:
        config = AutoConfig.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError) as error:
        if not Path(source).exists():
            raise InputError(
                f"model {source!r}: no such local directory, and no model of that name could be "
                f"loaded from the hub ({_one_line(error)})"
            ) from error
        raise InputError(f"model {source!r}: cannot load its config ({_one_line(error)})") from error
    if config.model_type not in MODEL_FOR_MASKED_LM_MAPPING_NAMES:
        raise InputError(
            f"model {source!r}: model type {config.model_type!r} has no masked-LM head in "
            "transformers; value probing needs a masked LM such as xlm-roberta or bert"
        )
    pointer = _lfs_pointer(Path(source))
    if pointer is not None:
        raise InputError(
            f"model {source!r}: {pointer} is a git-lfs pointer, not the weights (the model was cloned without "
            f"git-lfs); run `git lfs pull` in {source}, or download the model again"
        )
    try:
        model, loading = AutoModelForMaskedLM.from_pretrained(
            source, trust_remote_code=False, output_loading_info=True
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
            f"model {source!r}: the checkpoint has no trained masked-LM head "
            f"(weights missing: {', '.join(missing[:4])}{' …' if len(missing) > 4 else ''})"
        )
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise InputError(f"model {source!r}: cannot load its tokenizer ({_one_line(error)})") from error
    # Without tokenizer files transformers builds an empty tokenizer that maps every word
    # to the unknown token, which would make every score 0.
    if len(tokenizer) <= len(tokenizer.all_special_ids):
        raise InputError(f"model {source!r}: no tokenizer files (its tokenizer has no vocabulary)")
    if tokenizer.mask_token is None:
        raise InputError(f"model {source!r}: its tokenizer has no mask token")
    model.to(resolve_device(device)).eval()
    return model, tokenizer


def train_tokenizer(texts: list[str], architecture: str, vocab_size: int) -> PreTrainedTokenizerBase:
    """A tokenizer of the family of ``architecture`` trained on ``texts``."""
    if architecture == "xlm-roberta":
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
    if architecture == "bert":
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
    raise InputError(f"architecture {architecture!r} is not one of {ARCHITECTURES}")


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
) -> PreTrainedModel:
    """A freshly initialised masked LM of ``architecture`` sized for ``tokenizer``."""
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate_size,
        pad_token_id=tokenizer.pad_token_id,
        type_vocab_size=1 if architecture == "xlm-roberta" else 2,
    )
    torch.manual_seed(seed)
    if architecture == "xlm-roberta":
        # XLM-R numbers positions from padding_idx + 1, so it needs two extra positions.
        config = XLMRobertaConfig(
            **common,
            max_position_embeddings=max_length + 2,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
        return XLMRobertaForMaskedLM(config)
    config = BertConfig(**common, max_position_embeddings=max_length)
    return BertForMaskedLM(config)


# The masking rate of BERT's and XLM-R's pretraining, used for the demo's tiny models.
PRETRAINING_MLM_PROBABILITY = 0.15


def build_model(texts: list[str], out_dir: Path, settings: ModelBuild) -> None:
    """Train a tokenizer and pretrain a tiny masked LM on ``texts``; save both to ``out_dir``."""
    if not texts:
        raise InputError("the pretraining corpus is empty")
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
    )
    # Like a hub tokenizer, the saved one declares how many tokens its model can take.
    tokenizer.model_max_length = settings.max_length
    log.info("pretraining %d parameters for %d steps", model.num_parameters(), settings.steps)
    with atomic_directory(out_dir) as partial:
        with tempfile.TemporaryDirectory(dir=partial.parent) as trainer_dir:
            train_masked_lm(
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
            )
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
