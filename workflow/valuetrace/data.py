"""Fine-tuning data: reading each source per language, and deterministic subsamples.

A source (``datasets.<name>`` in the config) is local files (one per language: ``.txt`` with
one example per line, or ``.tsv``/``.csv``/``.parquet`` with a text column), a Hugging Face
dataset by name, or a corpus generated here for the demo. Every example gets a stable id,
its language and source; other columns of the source are kept as metadata.

Subsamples are nested and deterministic: examples are ordered by a keyed hash of their
``item_id`` and the first *n* are taken, so the 200-example sample lies inside the
400-example one, and in a *parallel* source (the same sentences in several languages,
aligned by ``item_id``: ``valuetrace.parallel``) every language gets the same sentences.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import random
from pathlib import Path

import polars as pl

from valuetrace.errors import InputError

log = logging.getLogger(__name__)

CORE_COLUMNS = ["example_id", "item_id", "lang", "source", "text", "rank"]


def _order_key(item_id: str, seed: int) -> str:
    # Python's hash() is salted per process; a keyed blake2b gives the same order everywhere.
    return hashlib.blake2b(item_id.encode(), key=str(seed).encode(), digest_size=8).hexdigest()


def _field(frame: pl.DataFrame, column: str, where: str) -> pl.Series:
    """A column, or a field of a struct column written ``translation.en``."""
    head, *fields = column.split(".")
    if head not in frame.columns:
        raise InputError(f"{where}: no column {head!r} (columns: {frame.columns})")
    series = frame[head]
    for name in fields:
        if series.dtype != pl.Struct or name not in [f.name for f in series.dtype.fields]:
            raise InputError(f"{where}: column {column!r} has no field {name!r}")
        series = series.struct.field(name)
    return series.cast(pl.String)


TEXT_SUFFIXES = {".txt", ".tsv", ".csv"}
_PARQUET_MAGIC = b"PAR1"


def check_file_kind(path: Path, where: str) -> None:
    """Refuse a file whose content does not match its suffix: binary data named .txt/.tsv/.csv
    (read as text it would give a few garbage lines), or anything but parquet named .parquet."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if path.suffix == ".parquet":
        if not head.startswith(_PARQUET_MAGIC):
            raise InputError(f"{where}: {path} is not a parquet file (it does not start with PAR1); is it text named .parquet?")
        return
    if path.suffix in TEXT_SUFFIXES:
        problem = "a NUL byte" if b"\0" in head else None
        try:
            # Incremental: the sample may end inside a multi-byte character.
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError as error:
            problem = f"byte {error.start}: {error.reason}"
        if problem:
            raise InputError(f"{where}: {path} is not UTF-8 text ({problem}); a {path.suffix} corpus is text")


def read_local(path: Path, text_column: str, id_column: str | None) -> pl.DataFrame:
    """Text and metadata of a local file; ``item_id`` is the id column or the row number."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    check_file_kind(path, str(path))
    try:
        if path.suffix == ".txt":
            lines = path.read_text(encoding="utf-8").splitlines()
            frame = pl.DataFrame({"text": lines}, schema={"text": pl.String})
            text_column = "text"
        elif path.suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif path.suffix in {".tsv", ".csv"}:
            frame = pl.read_csv(
                path, separator="\t" if path.suffix == ".tsv" else ",", infer_schema=False, quote_char=None if path.suffix == ".tsv" else '"'
            )
        else:
            raise InputError(f"{path}: unknown format {path.suffix!r} (use .txt, .tsv, .csv or .parquet)")
    except (pl.exceptions.PolarsError, UnicodeDecodeError) as error:
        raise InputError(f"{path}: cannot read it ({error})") from error
    return normalise(frame, text_column, id_column, str(path))


def read_hub(name: str, config_name: str | None, split: str, text_column: str, id_column: str | None, where: str) -> pl.DataFrame:
    """A split of a Hugging Face dataset (needs the hub or a local datasets cache)."""
    from datasets import load_dataset

    try:
        dataset = load_dataset(name, config_name, split=split)
    except Exception as error:  # datasets raises many types for a missing name, config or split
        raise InputError(f"{where}: cannot load dataset {name!r} ({config_name}, split {split}): {error}") from error
    return normalise(dataset.to_polars(), text_column, id_column, where)


def normalise(frame: pl.DataFrame, text_column: str, id_column: str | None, where: str) -> pl.DataFrame:
    """A source's table as every source type returns it: ``item_id`` (the id column, or the row
    number), ``text`` (stripped; empty rows dropped) and the other columns as string metadata."""
    text = _field(frame, text_column, where).str.strip_chars()
    item_id = (
        _field(frame, id_column, where)
        if id_column
        else pl.Series([str(i) for i in range(frame.height)], dtype=pl.String)
    )
    metadata = frame.drop([c for c in (text_column.split(".")[0], id_column) if c], strict=False)
    metadata = metadata.select([pl.col(c).cast(pl.String) for c in metadata.columns if c not in CORE_COLUMNS])
    result = pl.concat([pl.DataFrame({"item_id": item_id, "text": text}), metadata], how="horizontal")
    result = result.filter(pl.col("text").is_not_null() & (pl.col("text") != ""))
    if result.height == 0:
        raise InputError(f"{where}: no examples (the corpus is empty)")
    if result["item_id"].is_duplicated().any():
        duplicate = result.filter(pl.col("item_id").is_duplicated())["item_id"][0]
        raise InputError(f"{where}: id {duplicate!r} occurs more than once in {id_column!r}")
    return result


def prepare(frame: pl.DataFrame, source: str, lang: str, seed: int) -> pl.DataFrame:
    """Add stable ids, language, source and the deterministic sampling rank."""
    ordered = frame.with_columns(
        _key=pl.col("item_id").map_elements(lambda i: _order_key(i, seed), return_dtype=pl.String)
    ).sort("_key")
    ordered = ordered.with_row_index("rank").drop("_key")
    ordered = ordered.with_columns(
        example_id=pl.lit(f"{source}/{lang}/") + pl.col("item_id"),
        lang=pl.lit(lang),
        source=pl.lit(source),
        rank=pl.col("rank").cast(pl.Int64),
    )
    metadata = [c for c in ordered.columns if c not in CORE_COLUMNS]
    log.info("%d examples of %s in %s", ordered.height, source, lang)
    return ordered.select(*CORE_COLUMNS, *metadata)


def subsample(prepared: list[pl.DataFrame], size: int, seed: int, where: str) -> pl.DataFrame:
    """The first ``size`` examples of each language's table, mixed and shuffled with ``seed``.

    One table makes a monolingual sample; several make a multilingual one with ``size``
    examples from each language. The tables of a parallel source hold the same items in the
    same order (``valuetrace.parallel``), so its sample has the same items in every language.
    """
    parts = []
    for table in prepared:
        if table.height < size:
            raise InputError(
                f"{where}: size {size} is larger than the {table.height} examples of "
                f"{table['source'][0]}/{table['lang'][0]}"
            )
        parts.append(table.filter(pl.col("rank") < size))
    mixed = pl.concat(parts, how="diagonal_relaxed")
    order = list(range(mixed.height))
    random.Random(seed).shuffle(order)
    return mixed[order]
