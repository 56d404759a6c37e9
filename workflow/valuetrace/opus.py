"""OPUS corpora as downloaded: Moses plain text, TMX, and XML with sentence or verse ids.

The format is detected from the file's content (:func:`format_of`), gzip-compressed or not:

- **XML** with one element per item and its id: OPUS sentence files (``<s id="...">``, raw
  text or tokens in ``<w>``, as in bible-uedin's ``raw/`` and ``xml/`` downloads), the Bible
  corpus behind bible-uedin (``<seg type="verse" id="b.GEN.1.1">``) and Tanzil's translations
  (``<sura index="2"><aya index="255" text="..."/>``, id ``2:255``). An id that occurs twice is
  an error naming both lines.
- **TMX**: the ``<tuv>`` of the language in every ``<tu>``; the id is the unit's ``tuid``, or
  its number. A file without a ``<tuv>`` of the language is an error naming those it has.
- **Moses**: one sentence a line, the id the line number (from 1). Moses files are aligned by
  line, so the files of all languages of a source must have as many lines, unless each comes
  with an *ids* file aligned with it by line: OPUS's ``.ids`` (document and sentence ids of
  both sides, tab-separated; the side whose document lies under ``<lang>/`` gives the id) or
  one id per line. Either mismatch is an error naming both files and their line counts.

Each reader returns the source table of :func:`valuetrace.data.normalise`: ``item_id`` and
``text``; an empty item (a verse missing in this translation) is dropped there.
"""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import polars as pl

from valuetrace.data import normalise
from valuetrace.errors import InputError

_HEAD = 1 << 20  # bytes sniffed to tell the format and the XML layout


def _open(path: Path):
    """A binary handle on ``path``, decompressed if it is gzip (OPUS serves .gz files)."""
    with path.open("rb") as handle:
        magic = handle.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else path.open("rb")


def _head(path: Path) -> bytes:
    try:
        with _open(path) as handle:
            return handle.read(_HEAD)
    except (OSError, EOFError) as error:
        raise InputError(f"{path}: cannot read it ({error})") from None


def format_of(path: Path) -> str:
    """``xml``, ``tmx`` or ``moses``, from the file's first bytes (whatever its name)."""
    head = _head(path).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return "moses"
    return "tmx" if re.search(rb"<tmx[\s>]", head) else "xml"


def _table(ids: list[str], texts: list[str], path: Path, where: str) -> pl.DataFrame:
    frame = pl.DataFrame({"item_id": ids, "text": texts}, schema={"item_id": pl.String, "text": pl.String})
    return normalise(frame, "text", "item_id", f"{where}: {path}")


# --- XML with ids --------------------------------------------------------------------------


@dataclass(frozen=True)
class XmlLayout:
    """One kind of XML corpus: the tag that tells it (searched in the file's head), the element
    that holds an item, the element whose character data opustools' BlockParser keeps, and how
    an item's id and text are read from its block (and the words of its ``<w>`` elements)."""

    name: str
    sign: bytes
    element: str
    data_tag: str | None
    item: Callable  # (block, words) -> (id, text)


def _opus_tokens(block, words):
    return block.attributes.get("id"), " ".join(words)


def _text_of(block, words):
    return block.attributes.get("id"), block.data


def _tanzil_aya(block, words):
    sura = block.parent.attributes.get("index") if block.parent else None
    aya = block.attributes.get("index")
    return (f"{sura}:{aya}" if sura and aya else None), block.attributes.get("text", "")


# In the order they are recognised: an OPUS sentence file has <s> but no <seg> or <aya>, and a
# tokenised one has <w> inside its <s>.
XML_LAYOUTS = (
    XmlLayout("Tanzil translation (<sura index><aya index text>)", rb"<aya[\s>/]", "aya", None, _tanzil_aya),
    XmlLayout("Bible corpus (<seg id>)", rb"<seg[\s>]", "seg", "seg", _text_of),
    XmlLayout("OPUS tokenised (<s id><w>)", rb"<w[\s>]", "s", "w", _opus_tokens),
    XmlLayout("OPUS raw (<s id>)", rb"<s[\s>]", "s", "s", _text_of),
)


def _layout(path: Path) -> XmlLayout:
    head = _head(path)
    for layout in XML_LAYOUTS:
        if re.search(layout.sign, head):
            return layout
    raise InputError(
        f"{path}: no item element in its first MB: an XML corpus holds <s id=...> (OPUS), "
        "<seg id=...> (the Bible corpus) or <aya index=...> (Tanzil) elements"
    )


def _xml_items(path: Path, layout: XmlLayout) -> Iterator[tuple[int, str | None, str]]:
    """(line, id, text) of every item. opustools' BlockParser streams the file element by element
    (expat); its SentenceParser is not used because it keeps one sentence per id, so that a
    repeated id would silently replace the first instead of being refused with its line."""
    from opustools.parse.block_parser import BlockParser, BlockParserError

    with _open(path) as handle:
        parser = BlockParser(handle, data_tag=layout.data_tag, doc_size=0)
        words: list[str] = []
        try:
            blocks, position = parser.get_complete_blocks(0)
            while blocks:
                # The end tags were on the line just parsed, the one before expat's current line.
                line = parser.p.CurrentLineNumber - 1
                for block in blocks:
                    if block.name == "w" and layout.data_tag == "w":
                        words.append(block.data.strip())
                    elif block.name == layout.element:
                        item_id, text = layout.item(block, words)
                        words = []
                        yield max(line, 1), item_id, " ".join(text.split())
                blocks, position = parser.get_complete_blocks(position)
        except BlockParserError as error:
            raise InputError(f"{path}: not well-formed XML ({error.message.split(': ', 1)[-1]})") from None


def read_xml(path: Path, where: str) -> pl.DataFrame:
    layout = _layout(path)
    seen: dict[str, int] = {}
    ids, texts = [], []
    for line, item_id, text in _xml_items(path, layout):
        if not item_id:
            raise InputError(f"{path}:{line}: a <{layout.element}> without its id ({layout.name} expected)")
        if item_id in seen:
            raise InputError(
                f"{path}:{line}: id {item_id!r} occurs again (first on line {seen[item_id]}); "
                "the ids of an XML corpus name one item each"
            )
        seen[item_id] = line
        ids.append(item_id)
        texts.append(text)
    return _table(ids, texts, path, where)


# --- TMX -----------------------------------------------------------------------------------

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def _language_matches(code: str | None, lang: str) -> bool:
    """``de`` matches ``de``, ``DE``, ``de-AT`` and ``de_AT`` (TMX uses RFC 3066 codes)."""
    return bool(code) and re.split(r"[-_]", code.lower())[0] == lang.lower()


def read_tmx(path: Path, lang: str, where: str) -> pl.DataFrame:
    ids, texts, languages = [], [], set()
    try:
        with _open(path) as handle:
            number = 0
            for _, element in ElementTree.iterparse(handle, events=("end",)):
                if element.tag != "tu":
                    continue
                number += 1
                for tuv in element.iter("tuv"):
                    code = tuv.get(_XML_LANG) or tuv.get("lang")  # TMX 1.4 / 1.1
                    languages.add(code)
                    segment = tuv.find("seg")
                    if _language_matches(code, lang) and segment is not None:
                        ids.append(element.get("tuid") or str(number))
                        texts.append(" ".join("".join(segment.itertext()).split()))
                element.clear()
    except ElementTree.ParseError as error:
        raise InputError(f"{path}:{error.position[0]}: not well-formed TMX ({error})") from None
    if not ids:
        found = ", ".join(sorted(str(code) for code in languages)) or "no <tuv> at all"
        raise InputError(f"{path}: no <tuv> in language {lang!r} (it has {found}); is it the file of another language pair?")
    return _table(ids, texts, path, where)


# --- Moses ---------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    try:
        with _open(path) as handle:
            return handle.read().decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text (byte {error.start}: {error.reason}); a Moses file is text") from None
    except (OSError, EOFError) as error:
        raise InputError(f"{path}: cannot read it ({error})") from None


def line_count(path: Path, data_only: bool) -> int:
    """Lines of a Moses file; with ``data_only``, those that hold a sentence."""
    with _open(path) as handle:
        return sum(1 for line in handle if line.strip() or not data_only)


def _ids(path: Path, lines: list[str], lang: str) -> list[str]:
    """Item ids from an ids file: OPUS's four fields (the documents and sentence ids of both sides;
    the side whose document lies under ``<lang>/`` is this language's) or the whole line."""
    ids = []
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) != 4:
            ids.append(line.strip())
            continue
        source_doc, target_doc, source_ids, target_ids = fields
        if source_doc.startswith(f"{lang}/"):
            ids.append(source_ids)
        elif target_doc.startswith(f"{lang}/"):
            ids.append(target_ids)
        else:
            raise InputError(
                f"{path}:{number}: neither document ({source_doc}, {target_doc}) lies under {lang}/, "
                f"so which side's ids are {lang}'s is unknown; is it the ids file of another language pair?"
            )
    return ids


def read_moses(path: Path, ids_path: Path | None, aligned: list[Path], lang: str, where: str) -> pl.DataFrame:
    lines = _lines(path)
    if ids_path is not None:
        id_lines = _lines(ids_path)
        if len(id_lines) != len(lines):
            raise InputError(
                f"{where}: {path} has {len(lines)} lines but its ids file {ids_path} has {len(id_lines)}; "
                "a Moses file and its ids are aligned by line (are they of the same download?)"
            )
        ids = _ids(ids_path, id_lines, lang)
    else:
        for other in aligned:
            if not other.exists():
                raise InputError(f"{where}: {other}, the Moses file {path} is aligned with, does not exist")
            if format_of(other) != "moses":
                continue  # a language's XML or TMX file is aligned by its ids
            count = line_count(other, data_only=False)
            if count != len(lines):
                raise InputError(
                    f"{where}: {path} has {len(lines)} lines but {other} has {count}; Moses files are aligned by "
                    "line, so every language's file needs as many (or give each an ids file: opus.ids)"
                )
        ids = [str(number) for number in range(1, len(lines) + 1)]
    return _table(ids, lines, path, where)


def read(path: Path, lang: str, where: str, ids: Path | None = None, aligned: list[Path] = ()) -> pl.DataFrame:
    """The items of one language's corpus file, whatever its format (:func:`format_of`)."""
    readers = {
        "xml": lambda: read_xml(path, where),
        "tmx": lambda: read_tmx(path, lang, where),
        "moses": lambda: read_moses(path, ids, list(aligned), lang, where),
    }
    return readers[format_of(path)]()
