"""A parallel source aligned by id: only the items that every language has are kept.

A ``parallel`` source holds the same items (verses, sentences) in several languages, named by
the same ``item_id``. Translations differ in what they have — a verse left out, or merged with
the next one — so each language's prepared table (``valuetrace.data.prepare``) is cut to the
ids common to all of them, and its sampling ranks are numbered again. The ranks come from the
same keyed hash of the id in every language, so after the cut the first *n* items of every
language are the same items: monolingual samples of any size hold the same verses in every
language, and a multilingual run of *n* per language is *n* multi-parallel items.
"""

from __future__ import annotations

import logging

import polars as pl

from valuetrace.errors import InputError

log = logging.getLogger(__name__)

COUNTS_SCHEMA = {"dataset": pl.String, "lang": pl.String, "items": pl.Int64, "common": pl.Int64, "dropped": pl.Int64}


def align(prepared: list[pl.DataFrame], dataset: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The languages' tables cut to their common ids (one table, ``lang`` telling them apart),
    and per language the items read, the common ones and those dropped."""
    common = set.intersection(*(set(table["item_id"]) for table in prepared))
    if not common:
        languages = [table["lang"][0] for table in prepared]
        raise InputError(
            f"datasets.{dataset}: declared parallel, but its languages {languages} have no item id in common; "
            "are the files of the same corpus, with ids that name the same verse or sentence?"
        )
    aligned, counts = [], []
    for table in prepared:
        kept = table.filter(pl.col("item_id").is_in(list(common))).sort("rank")
        aligned.append(kept.with_columns(rank=pl.int_range(pl.len(), dtype=pl.Int64)))
        lang, dropped = table["lang"][0], table.height - kept.height
        counts.append({"dataset": dataset, "lang": lang, "items": table.height, "common": kept.height, "dropped": dropped})
        log.info("%s/%s: %d items, %d in every language, %d dropped", dataset, lang, table.height, kept.height, dropped)
    return pl.concat(aligned, how="diagonal_relaxed"), pl.DataFrame(counts, schema=COUNTS_SCHEMA)
