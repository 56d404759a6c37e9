"""Sentences from documents: a source with ``unit: sentence`` is split, filtered, then sampled.

Each document (a Wikipedia article, a news article, a line of a text file) is split into
sentences by ``sentencex``, Wikimedia's rule-based segmenter. It was chosen because it covers
all 13 probe languages and their scripts — Latin (de id ms ro tl tr vi), Cyrillic (sr), Greek
(el), Hangul (ko), Arabic script (fa ur) and Bengali (bn) — with each language's own sentence
ends (the Bengali danda ``।``, the Urdu full stop ``۔``, the Greek question mark ``;``, ``؟``)
and abbreviations (``z. B.``, ``κ.``), through a fallback chain for the ~300 languages of
Wikipedia, without a model to download. (pysbd and syntok cover few of these languages;
blingfire's one model misses the danda and the Greek question mark; wtpsplit needs model
weights from the hub; PyICU needs the ICU library built on the machine.)

Sentences outside ``min_chars``..``max_chars`` characters are left out (fragments, tables and
lists run together), and so is every exact repetition of an earlier sentence of the language
(boilerplate). The item id is ``<document id>#<sentence number>``, counted from 1 in the
document before filtering, so it stays put when the bounds change.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import polars as pl
import sentencex

from valuetrace.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counts:
    documents: int
    sentences: int
    short: int
    long: int
    duplicates: int
    kept: int

    def __str__(self) -> str:
        return (
            f"{self.documents} documents, {self.sentences} sentences: {self.short} shorter than min_chars, "
            f"{self.long} longer than max_chars, {self.duplicates} repeated, {self.kept} kept"
        )


def split(text: str, lang: str) -> list[str]:
    """The sentences of ``text`` in language ``lang``, stripped, without empty ones."""
    return [sentence.strip() for sentence in sentencex.segment(lang, text) if sentence.strip()]


def sentences(documents: pl.DataFrame, lang: str, min_chars: int, max_chars: int, where: str) -> pl.DataFrame:
    """The filtered sentences of a source table (``item_id``, ``text`` and metadata, as
    :func:`valuetrace.data.normalise` returns it), each with the document's metadata."""
    split_up = documents.with_columns(
        pl.col("text").map_elements(lambda text: split(text, lang), return_dtype=pl.List(pl.String))
    )
    exploded = (
        split_up.with_columns(number=pl.int_ranges(1, pl.col("text").list.len() + 1))
        .explode("text", "number")
        .filter(pl.col("text").is_not_null())
    )
    length = pl.col("text").str.len_chars()
    bounded = exploded.filter(length.is_between(min_chars, max_chars))
    kept = bounded.unique("text", keep="first", maintain_order=True)
    counts = Counts(
        documents=documents.height,
        sentences=exploded.height,
        short=exploded.filter(length < min_chars).height,
        long=exploded.filter(length > max_chars).height,
        duplicates=bounded.height - kept.height,
        kept=kept.height,
    )
    log.info("%s: %s", where, counts)
    if kept.height == 0:
        raise InputError(
            f"{where}: no sentence left after filtering ({counts}); check the files or widen "
            "the bounds (config key sentences.min_chars / max_chars of the dataset)"
        )
    item_id = pl.col("item_id") + "#" + pl.col("number").cast(pl.String)
    return kept.with_columns(item_id=item_id).drop("number")
