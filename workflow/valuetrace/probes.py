"""Probe sets: reading the project's own format and the Arora et al. (2023) format, checking
them, and compiling them against their key.

The project's own format is a folder with one ``<lang>.tsv`` per language (header
``probe_id, sentence, option_a, option_b``; the sentence holds one literal ``[MASK]``). What a
probe id measures, and which end of its answer scale option A stands for, is in the key
(``valuetrace.key``).

Arora, Kaffee & Augenstein (2023) published probes as tab-separated files with a header row,
then: row index, question number (WVS sub-items such as ``106a``; VSM items numbered from 0),
sentence with a literal ``[MASK]``, option A, option B. Some published rows lack option B or the
mask; such rows are reported and skipped, never fatal.

A probe set is ``wvs`` (WVS-7 questions: ids ``Q1`` ... ``Q106a``) or ``hofstede`` (the 24 items
of Hofstede's VSM 2013: ids ``VSM01`` ... ``VSM24``); each has its own key.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from valuetrace.errors import InputError

log = logging.getLogger(__name__)

MASK = "[MASK]"
OWN_HEADER = ["probe_id", "sentence", "option_a", "option_b"]
PROBE_SETS = ("wvs", "hofstede")

# ISO 639-1 codes and English names of the languages the shipped probes and the
# published Arora et al. files cover; file names carry one or the other.
LANGUAGE_NAMES = {
    "en": "english",
    "bn": "bengali",
    "de": "german",
    "el": "greek",
    "fa": "persian",
    "id": "indonesian",
    "ko": "korean",
    "ms": "malay",
    "ro": "romanian",
    "sr": "serbian",
    "tl": "tagalog",
    "tr": "turkish",
    "ur": "urdu",
    "vi": "vietnamese",
}
_LANGUAGE_ALIASES = {name: code for code, name in LANGUAGE_NAMES.items()} | {
    "farsi": "fa",
    "filipino": "tl",
    "bangla": "bn",
}


def choice(score: pl.Expr) -> pl.Expr:
    """The option a value score prefers: A when positive, else B."""
    return pl.when(score > 0).then(pl.lit("A")).otherwise(pl.lit("B"))


@dataclass(frozen=True)
class SkippedRow:
    path: Path
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class ProbeFile:
    """The usable probes of one file and the rows that were skipped, with reasons."""

    path: Path
    language: str
    format: str
    rows: list[dict] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)


def language_of(path: Path) -> str:
    """The probe language named by a file name: an ISO 639 code (``de.tsv``, ``fr.tsv``) or one of
    the English names of the languages Arora et al. published (``WVS_German.tsv``)."""
    if re.fullmatch(r"[a-z]{2,3}", path.stem):
        return path.stem
    for token in re.split(r"[^A-Za-z]+", path.stem):
        token = token.lower()
        if token in LANGUAGE_NAMES:
            return token
        if token in _LANGUAGE_ALIASES:
            return _LANGUAGE_ALIASES[token]
    raise InputError(
        f"{path}: cannot tell the probe language from the file name; name it <code>.tsv with an "
        f"ISO 639 code (de.tsv, fr.tsv) or an English language name ({', '.join(sorted(_LANGUAGE_ALIASES))})"
    )


def _read_tsv(path: Path) -> list[list[str]]:
    try:
        # utf-8-sig: a byte order mark (spreadsheet exports) must not hide the header.
        with path.open(encoding="utf-8-sig", newline="") as handle:
            return [row for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error})") from error


def _row_problem(sentence: str, option_a: str, option_b: str) -> str | None:
    if not sentence:
        return "empty sentence"
    count = sentence.count(MASK)
    if count == 0:
        return f"sentence has no {MASK}"
    if count > 1:
        return f"sentence has {count} {MASK} (one expected)"
    if not option_a:
        return "option A is missing"
    if not option_b:
        return "option B is missing"
    if option_a == option_b:
        return f"options A and B are the same ({option_a!r})"
    return None


def _probe_row(probe_id: str, sentence: str, a: str, b: str, line: int) -> dict:
    return {"probe_id": probe_id, "sentence": sentence, "option_a": a, "option_b": b, "source_line": line}


_OWN_PROBE_ID = re.compile(r"[A-Z]+\d+[a-z]?")


def read_own_file(path: Path, language: str | None = None, probe_set: str = "wvs") -> ProbeFile:
    rows = _read_tsv(path)
    if not rows or [cell.strip() for cell in rows[0]] != OWN_HEADER:
        found = rows[0] if rows else "an empty file"
        raise InputError(f"{path}: header must be {' <tab> '.join(OWN_HEADER)!r}, found {found!r}")
    result = ProbeFile(path, language or language_of(path), "valuetrace")
    seen: dict[str, int] = {}
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        cells = [cell.strip() for cell in cells] + [""] * (4 - len(cells))
        if len(cells) > 4:
            result.skipped.append(SkippedRow(path, line, f"{len(cells)} fields (4 expected)"))
            continue
        probe_id, sentence, option_a, option_b = cells
        problem = _row_problem(sentence, option_a, option_b)
        if not _OWN_PROBE_ID.fullmatch(probe_id):
            problem = f"probe_id {probe_id!r} is not an id such as Q46 or Q106a"
        elif probe_id in seen:
            problem = f"probe {probe_id} already has a row on line {seen[probe_id]}"
        if problem:
            result.skipped.append(SkippedRow(path, line, problem))
            continue
        seen[probe_id] = line
        result.rows.append(_probe_row(probe_id, sentence, option_a, option_b, line))
    return result


_ARORA_NUMBER = re.compile(r"^[Qq]?(\d+)[._-]?([A-Za-z]?)$")


def arora_probe_id(number: int, letter: str, probe_set: str) -> str:
    """The probe id of a published question number: WVS ``106`` + ``a`` -> ``Q106a``; the VSM
    items are numbered from 0 in the published files, so Hofstede ``0`` -> ``VSM01``."""
    if probe_set == "hofstede":
        return f"VSM{number + 1:02d}{letter}"
    return f"Q{number}{letter}"


def read_arora_file(path: Path, language: str | None = None, probe_set: str = "wvs") -> ProbeFile:
    """Rows of a published Arora et al. file; defective rows are skipped with a reason."""
    rows = _read_tsv(path)
    result = ProbeFile(path, language or language_of(path), "arora")
    seen: dict[str, int] = {}
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        cells = [cell.strip() for cell in cells]
        if len(cells) < 3:
            result.skipped.append(SkippedRow(path, line, f"only {len(cells)} fields (5 expected)"))
            continue
        cells += [""] * (5 - len(cells))
        _, number, sentence, option_a, option_b = cells[:5]
        match = _ARORA_NUMBER.match(number)
        problem = _row_problem(sentence, option_a, option_b)
        if match is None:
            problem = f"question number {number!r} is not a number such as 106 or 106a"
        if problem is None:
            probe_id = arora_probe_id(int(match.group(1)), match.group(2).lower(), probe_set)
            if probe_id in seen:
                problem = f"question {number} already has a probe on line {seen[probe_id]}"
        if problem:
            result.skipped.append(SkippedRow(path, line, problem))
            continue
        seen[probe_id] = line
        result.rows.append(_probe_row(probe_id, sentence, option_a, option_b, line))
    return result


def detect_format(path: Path) -> str:
    """``valuetrace`` for the project's own header, ``arora`` for the published layout."""
    rows = _read_tsv(path)
    if not any(cell.strip() for row in rows for cell in row):
        raise InputError(f"{path}: the probe file is empty (remove it, or leave its language out of 'languages')")
    header = [cell.strip() for cell in rows[0]]
    if header == OWN_HEADER:
        return "valuetrace"
    if header and header[0] == OWN_HEADER[0]:
        raise InputError(
            f"{path}:1: the header is {'/'.join(header)}; the valuetrace probe format has the columns "
            f"{'/'.join(OWN_HEADER)}, separated by tabs"
        )
    if len(rows) > 1 and len(rows[0]) >= 3:
        return "arora"
    raise InputError(
        f"{path}: neither the valuetrace probe format (header {'/'.join(OWN_HEADER)}) "
        "nor the Arora et al. format (index, question, sentence, option A, option B)"
    )


def probe_files(paths: str | Path | list, languages: list[str] | None = None) -> list[Path]:
    """Probe files under ``paths`` (files, or folders searched recursively); with ``languages``,
    only the files of those languages, so that a broken file of another language stops nothing
    (a file whose name says no language is then left out with a warning)."""
    files = []
    for path in [paths] if isinstance(paths, (str, Path)) else paths:
        path = Path(path)
        if path.is_file():
            files.append(path)
            continue
        if not path.is_dir():
            raise InputError(f"{path}: no such file or folder")
        found = sorted(p for p in path.rglob("*") if p.suffix in {".tsv", ".txt", ".csv"} and p.is_file())
        if not found:
            raise InputError(f"{path}: no probe files (*.tsv or *.csv) found")
        files += found
    if languages is None:
        return files
    wanted = []
    for file in files:
        try:
            if language_of(file) in languages:
                wanted.append(file)
        except InputError as error:
            log.warning("%s; the file is not read", error)
    return wanted


def read_probe_file(path: Path, fmt: str = "auto", language: str | None = None, probe_set: str = "wvs") -> ProbeFile:
    fmt = detect_format(path) if fmt == "auto" else fmt
    reader = {"valuetrace": read_own_file, "arora": read_arora_file}[fmt]
    return reader(path, language, probe_set)


def compile_probes(
    paths: str | Path | list,
    key_path: Path,
    languages: list[str],
    fmt: str = "auto",
    skip_defective_rows: bool = False,
    *,
    probe_set: str = "wvs",
    exclusions: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, list[SkippedRow]]:
    """One table of usable probes for ``languages``, joined with their key.

    Defective rows are fatal unless ``skip_defective_rows`` (meant for published probe sets
    with known defects). A probe id the key does not describe is always fatal: without its
    scale and polarity its score cannot be compared with the survey. Probes the key excludes,
    and probe ids of Arora-format files listed in ``exclusions``, are skipped with their reason.
    """
    from valuetrace.key import PROBE_COLUMNS, read_key

    key = read_key(key_path)
    keyed = {row["probe_id"]: row for row in key.iter_rows(named=True)}
    by_language: dict[str, list[ProbeFile]] = {}
    for file in probe_files(paths, languages):
        probe_file = read_probe_file(file, fmt, probe_set=probe_set)
        by_language.setdefault(probe_file.language, []).append(probe_file)
    several = {lang: files for lang, files in by_language.items() if len(files) > 1}
    if several:
        lang, files = next(iter(several.items()))
        raise InputError(
            f"{paths}: several probe files for language {lang!r} ({', '.join(str(f.path) for f in files)}); "
            "give one file per language (e.g. Arora et al.'s wvs folder, not its parent, whose hofstede "
            "files are a probe set of their own: config key hofstede)"
        )
    missing = [lang for lang in languages if lang not in by_language]
    if missing:
        raise InputError(f"{paths}: no probe file for languages {missing} (config key 'languages')")
    skipped: list[SkippedRow] = []
    records = []
    for lang in languages:
        for probe_file in by_language[lang]:
            if probe_file.skipped and not skip_defective_rows:
                first = probe_file.skipped[0]
                raise InputError(
                    f"{first} ({len(probe_file.skipped)} defective rows in this file; "
                    "fix them, or set probes.skip_defective_rows: true to skip them)"
                )
            skipped += probe_file.skipped
            for row in probe_file.rows:
                entry = keyed.get(row["probe_id"])
                if entry is None:
                    raise InputError(
                        f"{probe_file.path}:{row['source_line']}: probe {row['probe_id']} is not described in "
                        f"{key_path} (its scale and polarity are needed: add a row for it, or remove the probe)"
                    )
                if entry["kind"] == "excluded":
                    skipped.append(SkippedRow(probe_file.path, row["source_line"], f"excluded by the key: {entry['note']}"))
                    continue
                if probe_file.format == "arora" and row["probe_id"] in (exclusions or {}):
                    reason = exclusions[row["probe_id"]]
                    skipped.append(SkippedRow(probe_file.path, row["source_line"], f"published probe excluded: {reason}"))
                    continue
                records.append(
                    {
                        "probe_set": probe_set,
                        "probe_lang": lang,
                        **row,
                        "question_id": entry["question_id"],
                        "source_file": str(probe_file.path),
                        **{column: entry[column] for column in PROBE_COLUMNS},
                    }
                )
        if not any(r["probe_lang"] == lang for r in records):
            raise InputError(f"{paths}: no usable probe for language {lang!r}")
    for row in skipped:
        log.warning("skipped %s", row)
    table = pl.DataFrame(records)
    log.info("%d %s probes in %d languages", table.height, probe_set, len(languages))
    return table, skipped


def check(path: Path, fmt: str = "auto", probe_set: str = "wvs") -> tuple[str, bool]:
    """A per-language report on the probe files under ``path`` and whether all are usable."""
    files = [read_probe_file(file, fmt, probe_set=probe_set) for file in probe_files(path)]
    lines = []
    usable = True
    by_language: dict[str, list[ProbeFile]] = {}
    for probe_file in files:
        by_language.setdefault(probe_file.language, []).append(probe_file)
    for lang in sorted(by_language):
        n_usable = sum(len(f.rows) for f in by_language[lang])
        n_skipped = sum(len(f.skipped) for f in by_language[lang])
        usable &= n_usable > 0
        lines.append(f"{lang}: {n_usable} usable probes, {n_skipped} rows skipped")
        for probe_file in by_language[lang]:
            lines += [f"  skipped {row}" for row in probe_file.skipped]
    total = sum(len(f.rows) for f in files)
    lines.append(
        f"{len(by_language)} languages, {len(files)} files, {total} usable probes"
        + ("" if usable else "; some languages have no usable probe")
    )
    return "\n".join(lines), usable
