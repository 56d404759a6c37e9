"""Fixtures shared by the test modules: the shipped probes, four tiny models built here (two
masked LMs, two causal LMs) and one completed run of the workflow on a small config.

Nothing is downloaded: the models are randomly initialised from a config, with a tokenizer
trained locally on the shipped probes, and saved with ``save_pretrained`` so that tests load
them the way the workflow does, through ``valuetrace.models.load_model``.
"""

from __future__ import annotations

import os

# Tests never reach a model or dataset hub; a hub lookup fails at once instead of retrying.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from functools import lru_cache
from pathlib import Path

import polars as pl
import pytest
import torch

from valuetrace.corpus import balanced_probe_corpus
from valuetrace.kinds import kind_of
from valuetrace.models import ARCHITECTURES, tiny_model, train_tokenizer
from valuetrace.probes import LANGUAGE_NAMES, compile_probes
from workflow_runs import CompletedRun, small_config, snakemake

# The test models are tiny: one thread computes them as fast as two, and unlike two it does
# not slow to a crawl (OpenMP spin-waiting) when other processes share the CPU cores.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parent.parent
PROBES_DIR = REPO / "config" / "probes" / "demo"
KEY = REPO / "config" / "probes" / "wvs7_key.tsv"
HOFSTEDE_DIR = REPO / "config" / "probes" / "hofstede"
HOFSTEDE_KEY = REPO / "config" / "probes" / "hofstede_key.tsv"

# Latin (en, vi), Bengali, Greek, Persian and Urdu (Arabic script), Korean, Serbian Cyrillic.
SHIPPED_LANGUAGES = ["en", "bn", "el", "fa", "ko", "sr", "ur", "vi"]

# The architectures of each kind that models are built in: both mask conventions (XLM-R, BERT)
# and both tokenizer families of causal LMs (GPT-2's byte-level BPE, Llama's SentencePiece BPE).
MASKED_ARCHITECTURES = tuple(name for name in ARCHITECTURES if kind_of(name).name == "masked")
CAUSAL_ARCHITECTURES = tuple(name for name in ARCHITECTURES if kind_of(name).name == "causal")

# Sizes of the tiny models: big enough for every mechanism, small enough to score hundreds
# of probes in well under a second on two CPU cores.
TINY_VOCAB_SIZE = 1500
TINY_MAX_LENGTH = 64
TINY_SIZES = dict(hidden_size=32, layers=1, heads=2, intermediate_size=64, max_length=TINY_MAX_LENGTH, seed=0)


@lru_cache(maxsize=None)
def compiled_probes(languages: tuple[str, ...]) -> pl.DataFrame:
    """The shipped probe table for ``languages`` (cached: compiling is pure)."""
    table, skipped = compile_probes(PROBES_DIR, KEY, list(languages))
    assert not skipped, f"the shipped probes have defective rows: {skipped}"
    return table


@lru_cache(maxsize=None)
def compiled_hofstede_probes(languages: tuple[str, ...]) -> pl.DataFrame:
    """The shipped VSM 2013 probes for ``languages`` (en, de, id, ko, tr have them)."""
    table, skipped = compile_probes(HOFSTEDE_DIR, HOFSTEDE_KEY, list(languages), probe_set="hofstede")
    assert not skipped, f"the shipped VSM probes have defective rows: {skipped}"
    return table


def shipped_texts() -> list[str]:
    """Every shipped probe of every language, filled once with option A and once with B."""
    probes = compiled_probes(tuple(sorted(LANGUAGE_NAMES)))
    return balanced_probe_corpus(probes, sentences_per_option=1, seed=0)["text"].to_list()


@pytest.fixture(scope="session")
def shipped_probes() -> pl.DataFrame:
    """The compiled shipped probes (``compile_probes`` output) for ``SHIPPED_LANGUAGES``.

    Eight languages, 27 probes each, covering Latin, Bengali, Greek, Arabic (Persian and
    Urdu), Hangul and Cyrillic script, with single- and multi-token options. Treat it as
    read-only: it is shared by every test of the session.
    """
    return compiled_probes(tuple(SHIPPED_LANGUAGES))


@pytest.fixture(scope="session")
def tiny_model_dirs(tmp_path_factory) -> dict[str, Path]:
    """Four tiny, randomly initialised models saved with ``save_pretrained``, one per architecture.

    Returns ``{"xlm-roberta": Path, "bert": Path, "gpt2": Path, "llama": Path}``: masked LMs, an
    ``XLMRobertaForMaskedLM`` with a Unigram tokenizer (mask ``<mask>``, leading-space ``▁``
    pieces) and a ``BertForMaskedLM`` with a cased WordPiece tokenizer (mask ``[MASK]``, ``##``
    continuations); causal LMs, a ``GPT2LMHeadModel`` with a byte-level BPE tokenizer (``Ġ``
    pieces, ``<|endoftext|>`` and no start token of its own, no padding token) and a
    ``LlamaForCausalLM`` with a SentencePiece-style BPE tokenizer (``▁`` pieces, byte fallback,
    ``<s>`` added in front, no padding token). The tokenizers are trained on the shipped probes
    of all 14 languages filled with both options, so every probe language tokenises without
    unknown tokens; the models are not pretrained, so their preferences are arbitrary but
    deterministic. Each tokenizer declares ``model_max_length`` = 64, the models' number of
    positions. Each directory loads with ``valuetrace.models.load_model``; do not write into them.
    """
    texts = shipped_texts()
    root = tmp_path_factory.mktemp("tiny_models")
    dirs = {}
    for architecture in ARCHITECTURES:
        tokenizer = train_tokenizer(texts, architecture, TINY_VOCAB_SIZE)
        tokenizer.model_max_length = TINY_MAX_LENGTH
        model = tiny_model(architecture, tokenizer, **TINY_SIZES)
        out = root / architecture
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
        dirs[architecture] = out
    return dirs


@pytest.fixture(scope="session")
def completed_small_run(tmp_path_factory, tiny_model_dirs) -> CompletedRun:
    """The workflow run once to the end on the small config (``small_config``), with its report.

    Two models (a built tiny XLM-R and the tiny BERT directory), three probe languages, six
    fine-tuning runs; about 2.5 minutes on two cores. Shared by the end-to-end, rerun and
    browser tests so that the workflow runs once per session. A test may plan changes with
    configs of its own in ``root``, but whatever it changes in the working directory it must
    leave up to date (for example by rerunning what it deleted).
    """
    root = tmp_path_factory.mktemp("small_run")
    config = small_config(root, tiny_model_dirs["bert"])
    workdir = root / "run"
    snakemake(workdir, config)
    report = workdir / "results" / "report.html"
    snakemake(workdir, config, "--report", str(report))
    return CompletedRun(root=root, config=config, workdir=workdir, report=report)
