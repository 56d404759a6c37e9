"""Probe sets: reading the project's own format and the Arora et al. (2023) format, and checking them.

The project's own format is a folder with one ``<lang>.tsv`` per language (header
``question_id, sentence, option_a, option_b``; the sentence holds one literal ``[MASK]``)
and a ``questions.tsv`` that gives, per WVS question, its answer scale and which end of
the scale option A stands for.

Arora, Kaffee & Augenstein (2023) published probes as tab-separated files with a header
row, then: row index, WVS question number (sub-items such as ``106a``), sentence with a
literal ``[MASK]``, option A, option B. Some published rows lack option B or the mask;
such rows are reported and skipped, never fatal.
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
OWN_HEADER = ["question_id", "sentence", "option_a", "option_b"]
QUESTION_COLUMNS = ["question_id", "section", "description", "scale_min", "scale_max", "option_a_end"]
QUESTIONS_FILE = "questions.tsv"

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
    """The probe language named by a file name such as ``de.tsv`` or ``WVS_German.tsv``."""
    for token in re.split(r"[^A-Za-z]+", path.stem):
        token = token.lower()
        if token in LANGUAGE_NAMES:
            return token
        if token in _LANGUAGE_ALIASES:
            return _LANGUAGE_ALIASES[token]
    raise InputError(
        f"{path}: cannot tell the probe language from the file name; "
        f"name it <code>.tsv with a code among {sorted(LANGUAGE_NAMES)}"
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


def _probe_row(question_id: str, probe_id: str, sentence: str, a: str, b: str, line: int) -> dict:
    return {
        "probe_id": probe_id,
        "question_id": question_id,
        "sentence": sentence,
        "option_a": a,
        "option_b": b,
        "source_line": line,
    }


def read_own_file(path: Path, language: str | None = None) -> ProbeFile:
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
        question_id, sentence, option_a, option_b = cells
        problem = _row_problem(sentence, option_a, option_b)
        if not question_id:
            problem = "question_id is empty"
        elif question_id in seen:
            problem = f"question {question_id} already has a probe on line {seen[question_id]}"
        if problem:
            result.skipped.append(SkippedRow(path, line, problem))
            continue
        seen[question_id] = line
        result.rows.append(_probe_row(question_id, question_id, sentence, option_a, option_b, line))
    return result


_ARORA_NUMBER = re.compile(r"^[Qq]?(\d+)[._-]?([A-Za-z]?)$")


def read_arora_file(path: Path, language: str | None = None) -> ProbeFile:
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
            question_id = f"Q{int(match.group(1))}"
            probe_id = question_id + match.group(2).lower()
            if probe_id in seen:
                problem = f"question {number} already has a probe on line {seen[probe_id]}"
        if problem:
            result.skipped.append(SkippedRow(path, line, problem))
            continue
        seen[probe_id] = line
        result.rows.append(_probe_row(question_id, probe_id, sentence, option_a, option_b, line))
    return result


def detect_format(path: Path) -> str:
    """``valuetrace`` for the project's own header, ``arora`` for the published layout."""
    rows = _read_tsv(path)
    if rows and [cell.strip() for cell in rows[0]] == OWN_HEADER:
        return "valuetrace"
    if len(rows) > 1 and len(rows[0]) >= 3:
        return "arora"
    raise InputError(
        f"{path}: neither the valuetrace probe format (header {'/'.join(OWN_HEADER)}) "
        "nor the Arora et al. format (index, question, sentence, option A, option B)"
    )


def probe_files(path: Path) -> list[Path]:
    """Probe files under ``path`` (a file, or a folder searched recursively)."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(f"{path}: no such file or folder")
    files = sorted(
        p for p in path.rglob("*") if p.suffix in {".tsv", ".txt", ".csv"} and p.name != QUESTIONS_FILE
    )
    if not files:
        raise InputError(f"{path}: no probe files (*.tsv) found")
    return files


def read_probe_file(path: Path, fmt: str = "auto", language: str | None = None) -> ProbeFile:
    fmt = detect_format(path) if fmt == "auto" else fmt
    reader = {"valuetrace": read_own_file, "arora": read_arora_file}[fmt]
    return reader(path, language)


def read_questions(path: Path) -> pl.DataFrame:
    """The question metadata file: scale and the polarity of option A per WVS question."""
    rows = _read_tsv(path)
    if not rows or [cell.strip() for cell in rows[0]] != QUESTION_COLUMNS:
        found = rows[0] if rows else "an empty file"
        raise InputError(f"{path}: header must be {' <tab> '.join(QUESTION_COLUMNS)!r}, found {found!r}")
    records = []
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(QUESTION_COLUMNS):
            raise InputError(f"{path}:{line}: {len(cells)} fields ({len(QUESTION_COLUMNS)} expected)")
        record = dict(zip(QUESTION_COLUMNS, (cell.strip() for cell in cells)))
        try:
            record["scale_min"] = int(record["scale_min"])
            record["scale_max"] = int(record["scale_max"])
        except ValueError:
            raise InputError(f"{path}:{line}: scale_min and scale_max must be integers") from None
        if record["scale_min"] >= record["scale_max"]:
            raise InputError(f"{path}:{line}: scale_min must be below scale_max")
        if record["option_a_end"] not in {"low", "high"}:
            raise InputError(
                f"{path}:{line}: option_a_end is {record['option_a_end']!r}; "
                "it must say which end of the scale option A stands for: low or high"
            )
        if not re.fullmatch(r"Q\d+", record["question_id"]):
            raise InputError(
                f"{path}:{line}: question_id {record['question_id']!r} is not a WVS-7 column such as Q1"
            )
        if any(r["question_id"] == record["question_id"] for r in records):
            raise InputError(f"{path}:{line}: question {record['question_id']} is listed twice")
        records.append(record)
    if not records:
        raise InputError(f"{path}: no questions listed")
    return pl.DataFrame(records, schema={c: (pl.Int64 if c.startswith("scale") else pl.String) for c in QUESTION_COLUMNS})


def compile_probes(
    path: Path,
    questions_path: Path,
    languages: list[str],
    fmt: str = "auto",
    skip_defective_rows: bool = False,
) -> tuple[pl.DataFrame, list[SkippedRow]]:
    """One table of usable probes for ``languages``, joined with their question metadata.

    Defective rows are fatal unless ``skip_defective_rows`` (meant for published probe
    sets with known defects); a probe whose question has no metadata is always fatal,
    because without polarity its score cannot be compared with the survey.
    """
    questions = read_questions(questions_path)
    by_language: dict[str, list[ProbeFile]] = {}
    for file in probe_files(path):
        probe_file = read_probe_file(file, fmt)
        by_language.setdefault(probe_file.language, []).append(probe_file)
    several = {lang: files for lang, files in by_language.items() if lang in languages and len(files) > 1}
    if several:
        lang, files = next(iter(several.items()))
        raise InputError(
            f"{path}: several probe files for language {lang!r} ({', '.join(str(f.path) for f in files)}); "
            "point probes.path at a folder with one file per language (e.g. Arora et al.'s WVS folder, "
            "not its parent, whose Hofstede items would be read as WVS questions)"
        )
    missing = [lang for lang in languages if lang not in by_language]
    if missing:
        raise InputError(f"{path}: no probe file for languages {missing} (config key 'languages')")
    skipped: list[SkippedRow] = []
    records = []
    known = set(questions["question_id"])
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
                if row["question_id"] not in known:
                    raise InputError(
                        f"{probe_file.path}:{row['source_line']}: question {row['question_id']} "
                        f"is not described in {questions_path} (its scale and polarity are needed)"
                    )
                records.append({"probe_lang": lang, **row, "source_file": str(probe_file.path)})
        if not any(r["probe_lang"] == lang for r in records):
            raise InputError(f"{path}: no usable probe for language {lang!r}")
    table = pl.DataFrame(records).join(questions, on="question_id", how="left")
    for row in skipped:
        log.warning("skipped %s", row)
    log.info("%d probes in %d languages", table.height, len(languages))
    return table, skipped


def check(path: Path, fmt: str = "auto") -> tuple[str, bool]:
    """A per-language report on the probe files under ``path`` and whether all are usable."""
    files = [read_probe_file(file, fmt) for file in probe_files(path)]
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
