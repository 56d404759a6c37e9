"""OPUS corpora as downloaded (valuetrace.opus): every format reads to the table of its TSV twin."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from valuetrace import data, opus
from valuetrace.errors import InputError

VERSES = {"b.GEN.1.1": "Am Anfang schuf Gott Himmel und Erde.", "b.GEN.1.2": "Und die Erde war wüst & leer.", "b.GEN.1.3": "Und Gott sprach."}


def tsv_twin(tmp_path: Path, items: dict[str, str]):
    path = tmp_path / "twin.tsv"
    path.write_text("id\ttext\n" + "".join(f"{key}\t{text}\n" for key, text in items.items()), encoding="utf-8")
    return data.read_local(path, "text", "id")


def escape(text: str) -> str:
    return text.replace("&", "&amp;")


def opus_raw(items: dict[str, str]) -> str:
    sentences = "".join(f'<s id="{key}">{escape(text)}</s>\n' for key, text in items.items())
    return f'<?xml version="1.0" encoding="utf-8"?>\n<cesDoc version="4.0">\n<text>\n<body id="German">\n<div id="b.GEN" type="book">\n{sentences}</div>\n</body>\n</text>\n</cesDoc>\n'


def opus_tokenised(items: dict[str, str]) -> str:
    def words(key, text):
        tokens = text[:-1].split() + [text[-1]]
        return "".join(f'  <w id="w{key}.{i}">{escape(token)}</w>\n' for i, token in enumerate(tokens, 1))

    sentences = "".join(f'<s id="{key}">\n{words(key, text)}</s>\n' for key, text in items.items())
    return f'<?xml version="1.0" encoding="utf-8"?>\n<text>\n{sentences}</text>\n'


def bible_corpus(items: dict[str, str]) -> str:
    verses = "".join(f'<seg type="verse" id="{key}">\n  {escape(text)}\n</seg>\n' for key, text in items.items())
    return f'<?xml version="1.0" encoding="utf-8"?>\n<cesDoc>\n<text>\n<body>\n<div type="book" id="b.GEN">\n{verses}</div>\n</body>\n</text>\n</cesDoc>\n'


def test_opus_raw_and_bible_corpus_xml_read_as_their_tsv_twin(tmp_path):
    expected = tsv_twin(tmp_path, VERSES)
    for name, text in (("raw.xml", opus_raw(VERSES)), ("seg.xml", bible_corpus(VERSES))):
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert opus.format_of(tmp_path / name) == "xml"
        assert opus.read_xml(tmp_path / name, "test").equals(expected)


def test_tokenised_opus_xml_joins_its_words(tmp_path):
    (tmp_path / "de.xml").write_text(opus_tokenised(VERSES), encoding="utf-8")
    frame = opus.read_xml(tmp_path / "de.xml", "test")
    assert frame["item_id"].to_list() == list(VERSES)
    assert frame["text"][0] == "Am Anfang schuf Gott Himmel und Erde ."  # OPUS's tokens, as opustools prints them


def test_tanzil_xml_is_read_with_sura_and_aya_ids(tmp_path):
    ayas = {"1:1": "Im Namen Allahs.", "1:2": "Alles Lob gehört Allah.", "2:1": "Alif-Lam-Mim."}
    (tmp_path / "de.bubenheim.xml").write_text(
        '<?xml version="1.0" encoding="utf-8" ?>\n<quran>\n<sura index="1" name="Al-Fatiha">\n'
        '<aya index="1" text="Im Namen Allahs."/>\n<aya index="2" text="Alles Lob gehört Allah."/>\n</sura>\n'
        '<sura index="2" name="Al-Baqara">\n<aya index="1" text="Alif-Lam-Mim."/>\n</sura>\n</quran>\n',
        encoding="utf-8",
    )
    assert opus.read_xml(tmp_path / "de.bubenheim.xml", "test").equals(tsv_twin(tmp_path, ayas))


def test_gzipped_xml_reads_as_the_plain_file(tmp_path):
    (tmp_path / "de.xml.gz").write_bytes(gzip.compress(opus_raw(VERSES).encode()))
    assert opus.read(tmp_path / "de.xml.gz", "de", "test").equals(tsv_twin(tmp_path, VERSES))


def test_xml_with_a_repeated_id_names_both_lines(tmp_path):
    path = tmp_path / "de.xml"
    path.write_text(opus_raw({**VERSES, "b.GEN.1.4": "x"}).replace('id="b.GEN.1.4"', 'id="b.GEN.1.2"'), encoding="utf-8")
    with pytest.raises(InputError, match=rf"{path}:9: id 'b.GEN.1.2' occurs again \(first on line 7\)"):
        opus.read_xml(path, "test")


def test_broken_xml_names_file_and_line(tmp_path):
    path = tmp_path / "de.xml"
    path.write_text(opus_raw(VERSES).replace("</s>\n<s id=\"b.GEN.1.3\">", "\n<s id=\"b.GEN.1.3\">", 1), encoding="utf-8")
    with pytest.raises(InputError, match=rf"{path}: not well-formed XML \(mismatched tag: line 9"):
        opus.read_xml(path, "test")


def tmx(units: list[tuple[str | None, dict[str, str]]]) -> str:
    body = ""
    for tuid, variants in units:
        attribute = f' tuid="{tuid}"' if tuid else ""
        body += f"<tu{attribute}>" + "".join(f'<tuv xml:lang="{lang}"><seg>{escape(text)}</seg></tuv>' for lang, text in variants.items()) + "</tu>\n"
    return f'<?xml version="1.0" encoding="utf-8"?>\n<tmx version="1.4">\n<header srclang="de" datatype="plaintext"/>\n<body>\n{body}</body>\n</tmx>\n'


def test_tmx_reads_the_languages_variants_by_tuid_or_unit_number(tmp_path):
    path = tmp_path / "de-en.tmx"
    units = [(key, {"de": text, "EN-GB": f"English {key}"}) for key, text in VERSES.items()]
    path.write_text(tmx(units), encoding="utf-8")
    assert opus.format_of(path) == "tmx"
    assert opus.read_tmx(path, "de", "test").equals(tsv_twin(tmp_path, VERSES))
    assert opus.read_tmx(path, "en", "test")["text"][0] == "English b.GEN.1.1"  # en matches EN-GB
    path.write_text(tmx([(None, variants) for _, variants in units]), encoding="utf-8")
    assert opus.read_tmx(path, "de", "test")["item_id"].to_list() == ["1", "2", "3"]


def test_tmx_without_the_language_names_those_it_has(tmp_path):
    path = tmp_path / "de-en.tmx"
    path.write_text(tmx([("1", {"de": "Eins.", "en": "One."})]), encoding="utf-8")
    with pytest.raises(InputError, match=rf"{path}: no <tuv> in language 'ko' \(it has de, en\)"):
        opus.read_tmx(path, "ko", "test")


def moses(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def test_moses_lines_are_numbered_and_an_empty_line_is_a_missing_item(tmp_path):
    de = moses(tmp_path, "bible-uedin.de-en.de", ["Eins.", "", "Drei."])
    en = moses(tmp_path, "bible-uedin.de-en.en", ["One.", "Two.", "Three."])
    assert opus.format_of(de) == "moses"
    frame = opus.read_moses(de, None, [en], "de", "test")
    assert frame["item_id"].to_list() == ["1", "3"] and frame["text"].to_list() == ["Eins.", "Drei."]


def test_a_moses_pair_with_different_line_counts_is_refused(tmp_path):
    de = moses(tmp_path, "x.de", ["Eins.", "Zwei."])
    en = moses(tmp_path, "x.en", ["One.", "Two.", "Three."])
    with pytest.raises(InputError, match=rf"{de} has 2 lines but {en} has 3; Moses files are aligned by line"):
        opus.read_moses(de, None, [en], "de", "test")


def test_moses_ids_from_opus_ids_file_or_one_id_per_line(tmp_path):
    ko = moses(tmp_path, "bible-uedin.en-ko.ko", ["하나.", "둘."])
    ids = moses(tmp_path, "bible-uedin.en-ko.ids", ["en/English.xml\tko/Korean.xml\tb.GEN.1.1\tb.GEN.1.1", "en/English.xml\tko/Korean.xml\tb.GEN.1.2\tb.GEN.1.2 b.GEN.1.3"])
    assert opus.read_moses(ko, ids, [], "ko", "test")["item_id"].to_list() == ["b.GEN.1.1", "b.GEN.1.2 b.GEN.1.3"]
    plain = moses(tmp_path, "ko.ids", ["v1", "v2"])
    assert opus.read_moses(ko, plain, [], "ko", "test")["item_id"].to_list() == ["v1", "v2"]
    with pytest.raises(InputError, match=r"neither document \(en/English.xml, ko/Korean.xml\) lies under de/"):
        opus.read_moses(ko, ids, [], "de", "test")
    short = moses(tmp_path, "short.ids", ["v1"])
    with pytest.raises(InputError, match=rf"{ko} has 2 lines but its ids file {short} has 1"):
        opus.read_moses(ko, short, [], "ko", "test")
