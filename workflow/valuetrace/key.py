"""The probe key: what each probe id measures and how its human value is computed.

A key is a tab-separated file with one row per probe id (``config/probes/wvs7_key.tsv`` for the
WVS-7 probes, ``config/probes/hofstede_key.tsv`` for the VSM 2013 items), written from the
survey's questionnaire and codebook:

``probe_id``
    the probe's id as in the probe files: the survey variable plus, for split items, a sub-item
    letter (``Q106a``). Polarity belongs to the probe id, never to its question: Arora et al.'s
    106a and 106b state opposite poles of one scale.
``question_id``
    the survey variable (a column of the respondent file), e.g. ``Q106``.
``section``, ``description``
    where the item sits in the questionnaire, and what it asks.
``kind``
    ``ordinal`` (a scale of three or more positions), ``binary`` (two positions), ``category``
    (one category of a nominal item: the human value is the share choosing it) or ``excluded``
    (cannot be compared with the survey; ``note`` says why).
``codes``
    the valid answer codes, space-separated, in order along the scale (a middle category coded
    out of order is listed where it belongs, e.g. ``1 3 2``); for a category item, all categories.
``low_label``, ``high_label``
    the labels of the first and last code.
``option_a_stands_for``
    ``low`` or ``high``: the end of the scale (first or last code) that option A stands for; for a
    category item, the category's code.
``not_on_line``
    valid answer codes that are no position on the scale (e.g. "I am not a citizen"): missing.
``note``
    sources, reasoning, exclusion reasons.

Negative codes (don't know, no answer, not asked) are always missing.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from valuetrace.errors import InputError

KEY_COLUMNS = [
    "probe_id",
    "question_id",
    "section",
    "description",
    "kind",
    "codes",
    "low_label",
    "high_label",
    "option_a_stands_for",
    "not_on_line",
    "note",
]
KINDS = ("ordinal", "binary", "category", "excluded")
# Columns the probe table takes over from the key.
PROBE_COLUMNS = ["section", "description", "kind", "codes", "low_label", "high_label", "option_a_stands_for", "not_on_line"]
_PROBE_ID = re.compile(r"[A-Z]+\d+[a-z]?")


@dataclass(frozen=True)
class Item:
    """One keyed probe id: how answers to its question become its human value."""

    probe_id: str
    question_id: str
    kind: str
    codes: tuple[int, ...]
    option_a_stands_for: str
    not_on_line: tuple[int, ...] = ()

    def human_value(self, shares: dict[int, float]) -> float:
        """The human value in [-1, 1] (+1 = option A) from the weighted share of each valid code."""
        if self.kind == "category":
            return 2.0 * shares.get(int(self.option_a_stands_for), 0.0) - 1.0
        position = sum(self.codes.index(code) * share for code, share in shares.items()) / (len(self.codes) - 1)
        towards_high = 2.0 * position - 1.0
        return towards_high if self.option_a_stands_for == "high" else -towards_high

    @classmethod
    def from_row(cls, row: dict) -> "Item":
        return cls(
            row["probe_id"],
            row["question_id"],
            row["kind"],
            _codes(row["codes"]),
            row["option_a_stands_for"],
            _codes(row["not_on_line"]),
        )


def _codes(text: str) -> tuple[int, ...]:
    return tuple(int(code) for code in text.split())


def _read_rows(path: Path) -> list[list[str]]:
    if not path.exists():
        raise InputError(f"{path}: no such key file")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error})") from error


def _row_problem(record: dict) -> str | None:
    """What is wrong with one key row, or None."""
    if not _PROBE_ID.fullmatch(record["probe_id"]):
        return f"probe_id {record['probe_id']!r} is not an id such as Q106 or Q106a"
    if not re.fullmatch(r"[A-Z]+\d+", record["question_id"]) or not record["probe_id"].startswith(record["question_id"]):
        return f"question_id {record['question_id']!r} is not the survey variable of probe {record['probe_id']}"
    kind = record["kind"]
    if kind not in KINDS:
        return f"kind {kind!r} is not one of {', '.join(KINDS)}"
    if kind == "excluded":
        return None if record["note"] else "an excluded probe needs its reason in note"
    try:
        codes, off_line = _codes(record["codes"]), _codes(record["not_on_line"])
    except ValueError:
        return "codes and not_on_line must be whole numbers separated by spaces"
    if any(code < 0 for code in codes + off_line):
        return "negative codes are missing values by definition; do not list them"
    if len(set(codes)) != len(codes):
        return f"codes {record['codes']!r} repeat a code"
    if set(codes) & set(off_line):
        return f"codes {sorted(set(codes) & set(off_line))} are listed both on the scale and in not_on_line"
    needed = {"ordinal": 3, "binary": 2, "category": 2}[kind]
    if (len(codes) < needed) or (kind == "binary" and len(codes) != 2):
        return f"a {kind} item needs {'exactly' if kind == 'binary' else 'at least'} {needed} codes, found {record['codes']!r}"
    stands_for = record["option_a_stands_for"]
    if kind == "category":
        if not stands_for.isdigit() or int(stands_for) not in codes:
            return f"option_a_stands_for {stands_for!r} is not one of the category codes {record['codes']!r}"
    elif stands_for not in {"low", "high"}:
        return f"option_a_stands_for is {stands_for!r}; for a {kind} item it says which end option A stands for: low or high"
    return None


def read_key(path: Path) -> pl.DataFrame:
    """The key at ``path``, checked row by row (an error names the line and what is wrong)."""
    rows = _read_rows(path)
    if not rows or [cell.strip() for cell in rows[0]] != KEY_COLUMNS:
        found = rows[0] if rows else "an empty file"
        raise InputError(f"{path}: header must be {' <tab> '.join(KEY_COLUMNS)!r}, found {found!r}")
    records, seen = [], {}
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(KEY_COLUMNS):
            raise InputError(f"{path}:{line}: {len(cells)} fields ({len(KEY_COLUMNS)} expected, tab-separated)")
        record = dict(zip(KEY_COLUMNS, (cell.strip() for cell in cells)))
        problem = _row_problem(record)
        if problem is None and record["probe_id"] in seen:
            problem = f"probe {record['probe_id']} is already keyed on line {seen[record['probe_id']]}"
        if problem:
            raise InputError(f"{path}:{line}: {problem}")
        seen[record["probe_id"]] = line
        records.append(record)
    if not records:
        raise InputError(f"{path}: no probe is keyed")
    # The answer codes belong to the question: every probe of a question must list the same ones.
    answers: dict[str, tuple[str, set[int]]] = {}
    for record in records:
        if record["kind"] == "excluded":
            continue
        valid = set(_codes(record["codes"])) | set(_codes(record["not_on_line"]))
        first, first_valid = answers.setdefault(record["question_id"], (record["probe_id"], valid))
        if valid != first_valid:
            raise InputError(
                f"{path}:{seen[record['probe_id']]}: probe {record['probe_id']} lists other answer codes for "
                f"{record['question_id']} than probe {first} (the codes belong to the question)"
            )
    return pl.DataFrame(records, schema={column: pl.String for column in KEY_COLUMNS})


def items(key: pl.DataFrame) -> list[Item]:
    """The keyed (not excluded) probe ids of a key, or of a probe table holding its columns."""
    rows = key.filter(pl.col("kind") != "excluded").unique("probe_id", keep="first", maintain_order=True)
    return [Item.from_row(row) for row in rows.iter_rows(named=True)]


def read_exclusions(path: Path) -> dict[str, str]:
    """Probe ids of Arora et al.'s published files whose text cannot measure their item -> reason."""
    rows = _read_rows(path)
    if not rows or [cell.strip() for cell in rows[0]] != ["probe_id", "reason"]:
        raise InputError(f"{path}: header must be 'probe_id <tab> reason'")
    excluded = {}
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != 2 or not _PROBE_ID.fullmatch(cells[0].strip()) or not cells[1].strip():
            raise InputError(f"{path}:{line}: expected a probe id and a reason, tab-separated")
        excluded[cells[0].strip()] = cells[1].strip()
    return excluded
