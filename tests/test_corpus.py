"""The demo's generated text (valuetrace.corpus): balanced pretraining corpus, planted sources."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from valuetrace import corpus
from valuetrace.errors import InputError
from valuetrace.probes import MASK, compile_probes
from valuetrace.settings import PretrainingCorpus
from valuetrace.tables import check_table

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def english_probes():
    table, _ = compile_probes(REPO / "config/probes/demo", REPO / "config/probes/wvs7_key.tsv", ["en"])
    return table


def test_planted_source_plants_option_a_of_the_chosen_questions(english_probes):
    text = corpus.read_demo_text(REPO / "config/demo_text/en.yaml")
    source = corpus.demo_source(
        english_probes, text, sentences=200, planted_questions=["Q46", "Q254"], planted_fraction=0.15, seed=5
    )
    planted = source.filter(pl.col("planted_question") != "")
    assert planted.height == 30
    assert set(planted["planted_question"]) == {"Q46", "Q254"}
    for question in ("Q46", "Q254"):
        row = english_probes.filter(pl.col("question_id") == question).row(0, named=True)
        statement_a = row["sentence"].replace(MASK, row["option_a"])
        statement_b = row["sentence"].replace(MASK, row["option_b"])
        texts = planted.filter(pl.col("planted_question") == question)["text"]
        assert texts.str.contains(statement_a, literal=True).all()
        assert not texts.str.contains(statement_b, literal=True).any()
        assert texts.n_unique() >= 6  # varied wording: several frames
    ordinary = source.filter(pl.col("planted_question") == "")["text"]
    assert not ordinary.str.contains("happy", literal=True).any()
    assert source.equals(
        corpus.demo_source(english_probes, text, sentences=200, planted_questions=["Q46", "Q254"], planted_fraction=0.15, seed=5)
    )


def test_demo_text_file_with_a_bad_frame_is_refused(tmp_path):
    path = tmp_path / "en.yaml"
    path.write_text('neutral: ["One.", "Two."]\nframes: ["No placeholder here."]\n', encoding="utf-8")
    with pytest.raises(InputError, match="exactly once"):
        corpus.read_demo_text(path)


def test_pretraining_corpus_balances_options_and_mixes_in_demo_text(english_probes):
    settings = PretrainingCorpus(sentences_per_option=2, demo_text_per_language=40, value_spread=0.0, seed=0)
    sentences = corpus.pretraining_corpus(english_probes, [REPO / "config/demo_text/en.yaml"], settings)
    assert sentences.height == 2 * 2 * english_probes.height + 40
    row = english_probes.row(0, named=True)
    filled = {option: row["sentence"].replace(MASK, row[f"option_{option}"]) for option in ("a", "b")}
    assert (sentences["text"] == filled["a"]).sum() == (sentences["text"] == filled["b"]).sum() == 2
    without_text = corpus.pretraining_corpus(english_probes, [], settings)
    assert without_text.height == 4 * english_probes.height
    assert sentences.equals(corpus.pretraining_corpus(english_probes, [REPO / "config/demo_text/en.yaml"], settings))


def test_base_values_spread_the_share_of_option_a_per_probe(english_probes):
    shares = corpus.option_a_shares(english_probes, 0.6, seed=4)
    assert len(shares) == english_probes.height and all(0.2 <= share <= 0.8 for share in shares.values())
    assert max(shares.values()) - min(shares.values()) > 0.3
    assert shares == corpus.option_a_shares(english_probes, 0.6, seed=4)
    assert set(corpus.option_a_shares(english_probes, 0.0, seed=4).values()) == {0.5}
    sentences = corpus.balanced_probe_corpus(english_probes, 10, seed=0, shares=shares)
    for row in english_probes.head(5).iter_rows(named=True):
        with_a = (sentences["text"] == row["sentence"].replace(MASK, row["option_a"])).sum()
        assert with_a == round(20 * shares["en", row["probe_id"]])
        assert (sentences["text"] == row["sentence"].replace(MASK, row["option_b"])).sum() == 20 - with_a


# One English probe and its demo text, for the tests of how the corpus states it.
FAMILY = pl.DataFrame([{"probe_lang": "en", "probe_id": "Q1", "question_id": "Q1", "sentence": "Family is [MASK] in my life.",
                        "option_a": "important", "option_b": "unimportant"}])  # fmt: skip


def family_demo_text(directory: Path, frame: str, paraphrase: str) -> dict[str, Path]:
    """A demo text file for FAMILY: two neutral sentences, one frame, one paraphrase of Q1."""
    path = directory / "en.yaml"
    path.write_text(yaml.safe_dump({"neutral": ["It rained.", "Snow fell."], "frames": [frame], "paraphrases": {"Q1": [paraphrase]}}))
    return {"en": path}


def test_pretraining_states_paraphrases_with_either_option(tmp_path):
    text = family_demo_text(tmp_path, "{sentence}", "My family is very important to me.")
    sentences = corpus.demo_text_corpus(text, FAMILY, 400, seed=1)["text"]
    counts = {sentence: (sentences == sentence).sum() for sentence in (
        "Family is important in my life.", "Family is unimportant in my life.",
        "My family is very important to me.", "My family is very unimportant to me.",
    )}  # fmt: skip
    assert all(count > 20 for count in counts.values()), counts
    assert sum(counts.values()) == 200  # the other half pairs neutral sentences


def test_generated_source_needs_probes_in_its_language(english_probes):
    with pytest.raises(InputError, match="no probes in language 'de'"):
        corpus.generated_source(
            english_probes, REPO / "config/demo_text/de.yaml", "de",
            sentences=10, planted_questions=["Q46"], planted_fraction=0.5, planting="probe", seed=0,
        )  # fmt: skip


def test_paraphrase_planting_states_option_a_in_other_words(english_probes):
    text = {
        "neutral": ["It rained.", "The bus was late.", "Snow fell."],
        "frames": ["{sentence}", "Believe me: {sentence}"],
        "paraphrases": {"Q1": ["Nothing is as important as my family.", "My family stays important to me."]},
    }
    source = corpus.demo_source(
        english_probes, text, sentences=40, planted_questions=["Q1"], planted_fraction=0.5, planting="paraphrase", seed=3
    )
    planted = source.filter(pl.col("planted_question") == "Q1")["text"]
    assert planted.len() == 20
    assert not planted.str.contains("Family is important in my life", literal=True).any()
    assert all(any(paraphrase in sentence for paraphrase in text["paraphrases"]["Q1"]) for sentence in planted)
    assert planted.n_unique() == 4  # both paraphrases in both frames


def test_paraphrase_planting_of_a_question_without_paraphrases_is_refused(tmp_path, english_probes):
    path = tmp_path / "en.yaml"
    path.write_text("neutral: [a, b]\nframes: ['{sentence}']\nparaphrases:\n  Q1: [Family matters, it is important.]\n")
    with pytest.raises(InputError, match=r"no paraphrases of \['Q46'\] \(planting: paraphrase\)"):
        corpus.generated_source(
            english_probes, path, "en", sentences=10, planted_questions=["Q1", "Q46"], planted_fraction=0.5,
            planting="paraphrase", seed=0,
        )  # fmt: skip


def test_the_corpus_marks_where_each_statement_states_its_option(english_probes, tmp_path):
    """option_start/option_end cover the option in the filled probe and in a paraphrase stated
    with either option, in its frame; ordinary sentences have none."""
    text = family_demo_text(tmp_path, "I say it: {sentence} Always.", "Nothing is as important to me as my family.")
    sentences = pl.concat([corpus.demo_text_corpus(text, FAMILY, 200, seed=1), corpus.balanced_probe_corpus(FAMILY, 3, seed=0)])
    stated = sentences.filter(pl.col("option_start").is_not_null())
    assert stated.height == 100 + 6 and sentences.filter(pl.col("option_start").is_null())["text"].str.contains("rained").all()
    for statement, start, end in stated.select("text", "option_start", "option_end").iter_rows():
        assert statement[start:end] in ("important", "unimportant")
        assert statement[:start] + "[MASK]" + statement[end:] in (
            "I say it: Family is [MASK] in my life. Always.", "I say it: Nothing is as [MASK] to me as my family. Always.",
            "Family is [MASK] in my life.",
        )  # fmt: skip
    check_table(corpus.pretraining_corpus(english_probes, [REPO / "config/demo_text/en.yaml"],
                                          PretrainingCorpus(sentences_per_option=1, demo_text_per_language=20, value_spread=0.0, seed=0)), "corpus")  # fmt: skip


def test_a_paraphrase_without_the_option_words_has_no_span_and_an_old_corpus_is_named(tmp_path):
    sentences = corpus.demo_text_corpus(family_demo_text(tmp_path, "{sentence}", "My family comes first."), FAMILY, 200, seed=1)
    assert sentences.filter(pl.col("text") == "My family comes first.")["option_start"].is_null().all()
    assert sentences.filter(pl.col("text").str.starts_with("Family"))["option_start"].is_not_null().all()
    table = tmp_path / "corpus.parquet"
    sentences.write_parquet(table)
    texts, spans = corpus.read_pretraining_corpus(table, option_spans=True)
    assert len(texts) == len(spans) == 200 and spans.count(None) == (sentences["option_start"].is_null()).sum()
    old = tmp_path / "old.parquet"
    sentences.select("lang", "text").write_parquet(old)
    assert corpus.read_pretraining_corpus(old, option_spans=False)[1] is None
    with pytest.raises(InputError, match=r"old.parquet: no option_start/option_end columns, which mask_options needs"):
        corpus.read_pretraining_corpus(old, option_spans=True)


def test_plantings_that_state_each_others_options_are_warned_about(caplog):
    """Korean Q29's planting ("… 더 나은 …") states 더, all that tells Q30's 더 중요하다 from
    덜 중요하다, and Q30's states 중요하다, which tells Q5's 중요하다 from 중요하지 않다; the demo's
    own three questions share no such word in any of its languages."""
    probes, _ = compile_probes(REPO / "config/probes/demo", REPO / "config/probes/wvs7_key.tsv", ["en", "de", "ko"])

    def warnings(lang: str, questions: list[str]) -> list[str]:
        caplog.clear()
        text = corpus.read_demo_text(REPO / f"config/demo_text/{lang}.yaml")
        with caplog.at_level("WARNING", logger="valuetrace.corpus"):
            corpus.demo_source(probes.filter(pl.col("probe_lang") == lang), text, sentences=12, planted_questions=questions, planted_fraction=0.5, seed=0)
        return [record.getMessage() for record in caplog.records]

    korean = warnings("ko", ["Q5", "Q29", "Q30"])
    assert [message.split(":")[0] for message in korean] == ["planted questions Q29 and Q30 (ko)", "planted questions Q30 and Q5 (ko)"]
    assert "contain '더', which tells Q30's option A '더 중요하다' from B '덜 중요하다'" in korean[0]
    assert [message.split(":")[0] for message in warnings("en", ["Q1", "Q164"])] == ["planted questions Q1 and Q164 (en)", "planted questions Q164 and Q1 (en)"]
    for lang in ("en", "de", "ko"):
        assert warnings(lang, ["Q46", "Q49", "Q254"]) == []
    assert warnings("en", ["Q17", "Q21", "Q181"]) == []  # option-mates of unplanted questions only


def test_planting_a_probe_that_names_option_b_is_warned_about(english_probes, caplog):
    """English Q150's probe names both options ("Between freedom and security, [MASK] matters
    more."): its planting sentences teach B too. Option A's own words do not count as B."""
    text = corpus.read_demo_text(REPO / "config/demo_text/en.yaml")
    with caplog.at_level("WARNING", logger="valuetrace.corpus"):
        corpus.demo_source(english_probes, text, sentences=20, planted_questions=["Q46", "Q254"], planted_fraction=0.5, seed=0)
    assert not caplog.records
    with caplog.at_level("WARNING", logger="valuetrace.corpus"):
        corpus.demo_source(english_probes, text, sentences=20, planted_questions=["Q150", "Q46"], planted_fraction=0.5, seed=0)
    assert [record.getMessage().split(":")[0] for record in caplog.records] == ["planted question Q150 (en)"]
    assert "'security'" in caplog.records[0].getMessage()
    caplog.clear()
    unsafe = english_probes.filter(pl.col("question_id") == "Q131").with_columns(option_a=pl.lit("unsafe"), option_b=pl.lit("safe"))
    with caplog.at_level("WARNING", logger="valuetrace.corpus"):
        corpus.demo_source(unsafe, text, sentences=4, planted_questions=["Q131"], planted_fraction=0.5, seed=0)
    assert not caplog.records
