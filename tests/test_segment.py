"""Sentences from documents (valuetrace.segment): the segmenter in every probe language, filters, ids."""

from __future__ import annotations

import polars as pl
import pytest

from valuetrace import data, segment
from valuetrace.errors import InputError

# Three sentences in each of the 13 probe languages, in their scripts and with their sentence ends.
THREE_SENTENCES = {
    "bn": "আমি ভাত খাই। তুমি কী খাও? সে বাড়ি যায়।",
    "de": "Dr. Müller kam um 3 Uhr. Er sagte z. B. nichts. Dann ging er.",
    "el": "Ο κ. Παπαδόπουλος ήρθε. Τι κάνεις; Καλά είμαι.",
    "fa": "من به مدرسه می‌روم. تو کجا می‌روی؟ او خانه است.",
    "id": "Saya pergi ke pasar. Dia tinggal di Jakarta. Apa kabar?",
    "ko": "나는 학교에 간다. 너는 어디 가니? 그는 집에 있다.",
    "ms": "Saya pergi ke sekolah. Dia duduk di rumah. Apa khabar?",
    "ro": "Eu merg la școală. Ce faci? Sunt bine.",
    "sr": "Ја идем у школу. Где ти идеш? Он је код куће.",
    "tl": "Pumunta ako sa palengke. Saan ka pupunta? Nasa bahay siya.",
    "tr": "Okula gidiyorum. Sen nereye gidiyorsun? O evde.",
    "ur": "میں اسکول جاتا ہوں۔ تم کہاں جاتے ہو؟ وہ گھر پر ہے۔",
    "vi": "Tôi đi học. Bạn đi đâu? Anh ấy ở nhà.",
}


@pytest.mark.parametrize("lang", THREE_SENTENCES)
def test_every_probe_language_is_split_at_its_own_sentence_ends(lang):
    assert len(segment.split(THREE_SENTENCES[lang], lang)) == 3


def documents(texts: list[str]) -> pl.DataFrame:
    frame = pl.DataFrame({"id": [f"d{i}" for i in range(len(texts))], "text": texts, "title": [f"T{i}" for i in range(len(texts))]})
    return data.normalise(frame, "text", "id", "test")


def test_sentences_are_filtered_deduplicated_and_named_by_document_and_number():
    frame = segment.sentences(
        documents(["Erster langer Satz hier. Kurz. Zweiter langer Satz hier.", "Zweiter langer Satz hier. Noch ein langer Satz."]),
        "de", min_chars=12, max_chars=40, where="datasets.news (de)",
    )  # fmt: skip
    assert frame["item_id"].to_list() == ["d0#1", "d0#3", "d1#2"]  # "Kurz." too short, d1#1 a repetition
    assert frame["text"].to_list() == ["Erster langer Satz hier.", "Zweiter langer Satz hier.", "Noch ein langer Satz."]
    assert frame["title"].to_list() == ["T0", "T0", "T1"]  # the document's metadata
    assert frame.columns == ["item_id", "text", "title"]


def test_a_source_with_no_sentence_left_names_it_and_the_bounds():
    with pytest.raises(InputError, match=r"datasets.news \(de\): no sentence left after filtering \(2 documents, 3 sentences: 3 shorter than min_chars"):
        segment.sentences(documents(["Ja. Nein.", "Gut."]), "de", min_chars=20, max_chars=500, where="datasets.news (de)")
