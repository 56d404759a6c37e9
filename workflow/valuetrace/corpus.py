"""The demo's generated text (no third-party text): pretraining corpus and fine-tuning sources.

In the pretraining corpus every probe sentence appears filled with option A and with option
B equally often, so a model pretrained on it knows every option's words in every language
but has no reason to prefer either answer: value preferences in the demo come only from
fine-tuning. The fine-tuning sources are neutral everyday sentences, and for the *planted*
source a minority of sentences that state chosen questions' option A with conviction.
"""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path

import polars as pl
import yaml

from valuetrace.errors import InputError
from valuetrace.probes import MASK
from valuetrace.settings import PretrainingCorpus

log = logging.getLogger(__name__)


# Columns of the pretraining corpus: the text, and where in it a probe-like statement's option
# stands (character offsets; null in ordinary sentences), which a build can always mask
# (``models.<name>.build.mask_options``).
CORPUS_SCHEMA = {"lang": pl.String, "text": pl.String, "option_start": pl.Int64, "option_end": pl.Int64}


def _filled(sentence: str, option: str, prefix: str = "") -> dict:
    """``sentence`` with its mask filled with ``option`` after ``prefix``, and the option's span."""
    start = len(prefix) + sentence.index(MASK)
    return {"text": prefix + sentence.replace(MASK, option), "option_start": start, "option_end": start + len(option)}


def _stated(statement: str, option: str, prefix: str = "") -> dict:
    """A paraphrase already stating ``option`` after ``prefix``, and the option's span: its first
    occurrence as a word of its own, else its first occurrence inside a word, else none (a
    paraphrase may say it without the option's words)."""
    match = re.search(rf"(?<!\w){re.escape(option)}(?!\w)", statement)
    start = match.start() if match else statement.find(option)
    if start < 0:
        return {"text": prefix + statement, "option_start": None, "option_end": None}
    return {"text": prefix + statement, "option_start": len(prefix) + start, "option_end": len(prefix) + start + len(option)}


def read_pretraining_corpus(path: Path, option_spans: bool) -> tuple[list[str], list[tuple[int, int] | None] | None]:
    """The texts of a pretraining corpus table and, with ``option_spans``, where each states its
    option (None where it does not)."""
    table = pl.read_parquet(path)
    if not option_spans:
        return table["text"].to_list(), None
    if not {"option_start", "option_end"} <= set(table.columns):
        raise InputError(
            f"{path}: no option_start/option_end columns, which mask_options needs; it was written by an "
            "older valuetrace: delete it (or rerun with --forcerun pretraining_corpus)"
        )
    spans = [None if start is None else (start, end) for start, end in table.select("option_start", "option_end").iter_rows()]
    return table["text"].to_list(), spans


def balanced_probe_corpus(
    probes: pl.DataFrame, sentences_per_option: int, seed: int, shares: dict[tuple[str, str], float] | None = None
) -> pl.DataFrame:
    """Sentences (:data:`CORPUS_SCHEMA`): each probe ``2 * sentences_per_option`` times,
    filled with A in the probe's share of them (``shares`` by language and probe id, from
    :func:`option_a_shares`; equally often without)."""
    records = []
    for row in probes.iter_rows(named=True):
        share = (shares or {}).get((row["probe_lang"], row["probe_id"]), 0.5)
        with_a = round(2 * sentences_per_option * share)
        for index in range(2 * sentences_per_option):
            option = row["option_a"] if index < with_a else row["option_b"]
            records.append({"lang": row["probe_lang"], **_filled(row["sentence"], option)})
    random.Random(seed).shuffle(records)
    return pl.DataFrame(records, schema=CORPUS_SCHEMA)


def option_a_shares(probes: pl.DataFrame, spread: float, seed: int) -> dict[tuple[str, str], float]:
    """The base model's own values: per language and probe, the share of pretraining statements
    with option A, drawn uniformly from 0.5 ± spread / 2.

    With every probe balanced (spread 0) the model has no reason to read a probe's topic: its
    prediction at the mask depends on the frame alone (*Family* and *Politics is [MASK] in my
    life* score alike), and fine-tuning can then only move all questions of a frame together.
    Values that differ by question, as a real model's do, make it read the topic.
    """
    rng = random.Random(seed)
    keys = sorted(set(probes.select("probe_lang", "probe_id").iter_rows()))
    return {key: 0.5 + spread * (rng.random() - 0.5) for key in keys}


def demo_text_corpus(
    text_files: dict[str, Path],
    probes: pl.DataFrame,
    per_language: int,
    seed: int,
    shares: dict[tuple[str, str], float] | None = None,
) -> pl.DataFrame:
    """Ordinary demo text for each probe language that has a demo text file (language -> file).

    Half the sentences pair two neutral sentences; the other half wrap a statement of a
    probe's question with option A or option B (equally often, or in the probe's share of
    ``shares``), in a conviction frame: the
    probe filled with the option, or one of the question's paraphrases with option A's words
    replaced by option B's for B. Pretraining on it makes the demo's fine-tuning sources,
    paraphrase plantings included, in-distribution for the base model, so fine-tuning on them
    moves the values through the one thing they change, the balance of A and B.
    """
    rng = random.Random(seed)
    records = []
    for lang in probes["probe_lang"].unique(maintain_order=True):
        if lang not in text_files:
            continue
        text = read_demo_text(text_files[lang])
        rows = probes.filter(pl.col("probe_lang") == lang).to_dicts()
        for index in range(per_language):
            if index % 2:
                records.append({"lang": lang, "text": " ".join(rng.sample(text["neutral"], 2)), "option_start": None, "option_end": None})
                continue
            row = rng.choice(rows)
            share = (shares or {}).get((lang, row["probe_id"]), 0.5)
            option = row["option_a"] if rng.random() < share else row["option_b"]
            paraphrases = text["paraphrases"].get(row["question_id"], [])
            # The probe itself half the time, so that its own frame stays as familiar; a paraphrase
            # states option A in its own words, and B with A's words replaced by B's.
            paraphrase = None if not paraphrases or rng.random() < 0.5 else rng.choice(paraphrases)
            prefix, suffix = rng.choice(text["frames"]).split("{sentence}")
            if paraphrase is None:
                statement = _filled(row["sentence"], option, prefix)
            else:
                statement = _stated(paraphrase.replace(row["option_a"], option), option, prefix)
            records.append({"lang": lang, **statement, "text": statement["text"] + suffix})
    return pl.DataFrame(records, schema=CORPUS_SCHEMA)


def pretraining_corpus(probes: pl.DataFrame, text_files: list[Path], settings: PretrainingCorpus) -> pl.DataFrame:
    """The demo's pretraining text: the balanced probes, and the demo text of ``text_files``
    (``<lang>.yaml``) mixed in."""
    shares = option_a_shares(probes, settings.value_spread, settings.seed)
    sentences = balanced_probe_corpus(probes, settings.sentences_per_option, settings.seed, shares)
    if text_files:
        by_language = {path.stem: path for path in text_files}
        demo_text = demo_text_corpus(by_language, probes, settings.demo_text_per_language, settings.seed, shares)
        sentences = pl.concat([sentences, demo_text]).sample(fraction=1.0, shuffle=True, seed=settings.seed)
    log.info("%d sentences in %d languages", sentences.height, sentences["lang"].n_unique())
    return sentences


def read_demo_text(path: Path) -> dict:
    """Neutral sentences, conviction frames and paraphrases of one language (``config/demo_text/<lang>.yaml``)."""
    if not path.exists():
        raise InputError(f"{path}: no demo text for this language (neutral sentences and frames)")
    content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key, minimum in (("neutral", 2), ("frames", 1)):
        items = content.get(key)
        if not isinstance(items, list) or len(items) < minimum:
            raise InputError(f"{path}: key {key!r} must list at least {minimum} strings")
    bad = [frame for frame in content["frames"] if frame.count("{sentence}") != 1]
    if bad:
        raise InputError(f"{path}: frame {bad[0]!r} must contain {{sentence}} exactly once")
    paraphrases = content.setdefault("paraphrases", {})
    if not isinstance(paraphrases, dict) or not all(
        isinstance(items, list) and items and all(isinstance(item, str) for item in items) for items in paraphrases.values()
    ):
        raise InputError(f"{path}: key 'paraphrases' must map question ids to lists of sentences")
    return content


def check_paraphrases(path: Path, questions: list[str]) -> None:
    """Every planted question has paraphrases in the demo text file (for ``planting: paraphrase``)."""
    missing = [question for question in questions if question not in read_demo_text(path)["paraphrases"]]
    if missing:
        raise InputError(
            f"{path}: no paraphrases of {missing} (planting: paraphrase); add them under 'paraphrases:', "
            "or plant the probe sentences (planting: probe)"
        )


def generated_source(
    probes: pl.DataFrame,
    text_file: Path,
    lang: str,
    *,
    sentences: int,
    planted_questions: list[str],
    planted_fraction: float,
    planting: str,
    seed: int,
) -> pl.DataFrame:
    """A generated fine-tuning source in ``lang`` from its demo text file (see :func:`demo_source`)."""
    lang_probes = probes.filter(pl.col("probe_lang") == lang)
    if lang_probes.height == 0:
        raise InputError(f"no probes in language {lang!r} to plant")
    if planting == "paraphrase":
        check_paraphrases(text_file, planted_questions)
    return demo_source(
        lang_probes,
        read_demo_text(text_file),
        sentences=sentences,
        planted_questions=planted_questions,
        planted_fraction=planted_fraction,
        planting=planting,
        seed=seed,
    )


def _warn_if_option_b_is_stated(question: str, probe: dict, statements: list[str]) -> None:
    """Warn where the sentences planting a question also contain its option B: a masked LM
    fine-tuned on them learns B in the same frame as A, so the planted shift stays small (the
    English probe of Q150, "Between freedom and security, [MASK] matters more.", names both)."""
    option_a, option_b = probe["option_a"].casefold(), probe["option_b"].casefold()
    # Option A's own words do not count (A "unsafe" contains B "safe").
    naming = [statement for statement in statements if option_b in statement.casefold().replace(option_a, " ")]
    if naming:
        log.warning(
            "planted question %s (%s): %d of its %d planting statements contain option B %r as well as A %r, "
            "so fine-tuning on them also teaches B and its shift will be weak (README, 'Harder plantings'); "
            "plant paraphrases that state A without naming B (planting: paraphrase)",
            question, probe["probe_lang"], len(naming), len(statements), probe["option_b"], probe["option_a"],
        )  # fmt: skip


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def _warn_if_plantings_state_each_others_options(lang_probes: pl.DataFrame, statements: dict[str, list[str]]) -> None:
    """Warn where one planted question's statements contain a word that tells another planted
    question's option A from its B: either planting then moves the other's probe, retraining
    without one question's sentences leaves the other's effect, and precision@10, which counts
    only a question's own sentences, has no right answer (README, "An eighth planting": Korean
    Q29's "더 나은" puts 더, all that tells Q30's 더 중요하다 from 덜 중요하다, in its frame)."""
    for question, planted in statements.items():
        stated = set().union(*(_words(statement) for statement in planted))
        for other in statements:
            if other == question:
                continue
            probe = lang_probes.filter(pl.col("question_id") == other).row(0, named=True)
            telling = sorted((_words(probe["option_a"]) - _words(probe["option_b"])) & stated)
            if telling:
                log.warning(
                    "planted questions %s and %s (%s): the statements planting %s contain %s, which tells %s's option A %r "
                    "from B %r, so %s's planting moves %s's probe too, and precision@10 of %s (which counts only %s's own "
                    "sentences as causes) can be low for a right ranking (README, 'An eighth planting')",
                    question, other, probe["probe_lang"], question, ", ".join(map(repr, telling)), other,
                    probe["option_a"], probe["option_b"], question, other, other, other,
                )  # fmt: skip


def demo_source(
    lang_probes: pl.DataFrame,
    text: dict,
    *,
    sentences: int,
    planted_questions: list[str],
    planted_fraction: float,
    planting: str = "probe",
    seed: int,
) -> pl.DataFrame:
    """A generated fine-tuning source for one language (columns ``text``, ``planted_question``).

    Ordinary examples join two different neutral sentences. With ``planted_questions``, a
    ``planted_fraction`` of the examples instead state a planted question's option A inside
    one of the conviction frames: the probe filled with option A (``planting: probe``), or
    one of the question's paraphrases (``paraphrase``), which say it in other words, so that
    telling which question an example plants takes more than matching the probe's string.
    """
    rng = random.Random(seed)
    neutral = text["neutral"]
    n_planted = round(sentences * planted_fraction) if planted_questions else 0
    statements = {}
    for question in planted_questions:
        probe = lang_probes.filter(pl.col("question_id") == question)
        if probe.height == 0:
            raise InputError(f"planted question {question} has no probe in this language")
        if planting == "paraphrase":
            statements[question] = text["paraphrases"][question]
        else:
            statements[question] = [probe["sentence"][0].replace(MASK, probe["option_a"][0])]
        _warn_if_option_b_is_stated(question, probe.row(0, named=True), statements[question])
    _warn_if_plantings_state_each_others_options(lang_probes, statements)
    records = []
    for index in range(sentences):
        first, second = rng.sample(neutral, 2)
        if index < n_planted:
            question = planted_questions[index % len(planted_questions)]
            planted = rng.choice(text["frames"]).format(sentence=rng.choice(statements[question]))
            records.append({"text": planted, "planted_question": question})
        else:
            records.append({"text": f"{first} {second}", "planted_question": ""})
    rng.shuffle(records)
    return pl.DataFrame(records, schema={"text": pl.String, "planted_question": pl.String})
