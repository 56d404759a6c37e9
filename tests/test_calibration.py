"""Calibrated value scores (valuetrace.calibration): by hand, in the scorer and in TRAK's target."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from valuetrace.calibration import calibrate, content_free_sentence
from valuetrace.errors import InputError
from valuetrace.models import load_model
from valuetrace.scoring import score_probes


def test_content_free_sentence_keeps_only_the_mask_and_closing_punctuation():
    assert content_free_sentence("Family is [MASK] in my life.") == "[MASK]."
    assert content_free_sentence("Is God [MASK] in your life?") == "[MASK]?"
    assert content_free_sentence("I am [MASK] of my nationality") == "[MASK]"
    assert content_free_sentence("가족은 내 삶에서 [MASK].") == "[MASK]."
    assert content_free_sentence("আমার জীবনে পরিবার [MASK]।") == "[MASK]।"
    assert content_free_sentence("Η οικογένεια είναι [MASK] στη ζωή μου;") == "[MASK];"
    assert content_free_sentence("All things considered, I am [MASK].") == "[MASK]."


def probe(probe_id: str, sentence: str, a: str, b: str, lang: str = "en") -> dict:
    return {"probe_set": "wvs", "probe_lang": lang, "probe_id": probe_id, "question_id": probe_id,
            "sentence": sentence, "option_a": a, "option_b": b}  # fmt: skip


HAND_PROBES = pl.DataFrame(
    [
        probe("Q1", "Family is [MASK] in my life.", "important", "unimportant"),
        probe("Q4", "Politics is [MASK] in my life.", "important", "unimportant"),
        probe("Q164", "God is [MASK] in my life.", "important", "unimportant"),
        probe("Q46", "All things considered, I am [MASK].", "happy", "unhappy"),
        probe("Q1", "Familie ist in meinem Leben [MASK].", "wichtig", "unwichtig", lang="de"),
    ]
)


def test_calibrations_are_the_weighted_raw_scores_they_say():
    none = calibrate(HAND_PROBES, "none")
    assert none.raw.equals(HAND_PROBES) and none.terms == [((i, 1.0),) for i in range(5)]

    content_free = calibrate(HAND_PROBES, "content_free")
    added = content_free.raw[5:]
    # One content-free row per language and option pair, shared by the probes that have it.
    assert added["sentence"].to_list() == ["[MASK].", "[MASK].", "[MASK]."]
    assert added.select("option_a", "probe_lang").rows() == [("important", "en"), ("happy", "en"), ("wichtig", "de")]
    assert content_free.terms[0] == ((0, 1.0), (5, -1.0)) and content_free.terms[2] == ((2, 1.0), (5, -1.0))
    assert content_free.terms[3] == ((3, 1.0), (6, -1.0))

    option_pair = calibrate(HAND_PROBES, "option_pair")
    assert dict(option_pair.terms[1]) == pytest.approx({0: -1 / 3, 1: 2 / 3, 2: -1 / 3})
    # Q46 and the German probe share their pair with no other probe: content-free instead.
    assert option_pair.terms[3] == ((3, 1.0), (5, -1.0)) and option_pair.terms[4] == ((4, 1.0), (6, -1.0))
    assert option_pair.rows_for([1]) == [0, 1, 2]

    with pytest.raises(InputError, match="calibration 'pmi' is not one of"):
        calibrate(HAND_PROBES, "pmi")


@pytest.mark.parametrize("architecture", ["bert", "xlm-roberta", "gpt2", "llama"])
def test_scorer_calibrates_as_computed_by_hand(tiny_model_dirs, architecture):
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    settings = dict(model_name="m", method="joint", normalisation="none", batch_size=4, max_length=64)
    content_free = HAND_PROBES.with_columns(sentence=pl.lit("[MASK]."))
    raw = score_probes(model, tokenizer, HAND_PROBES, **settings)["score"].to_numpy()
    free = score_probes(model, tokenizer, content_free, **settings)["score"].to_numpy()

    calibrated = score_probes(model, tokenizer, HAND_PROBES, calibration="content_free", **settings)
    np.testing.assert_allclose(calibrated["raw_score"].to_numpy(), raw, atol=1e-6)
    np.testing.assert_allclose(calibrated["score"].to_numpy(), raw - free, atol=1e-6)
    assert set(calibrated["calibration"]) == {"content_free"}

    centred = score_probes(model, tokenizer, HAND_PROBES, calibration="option_pair", **settings)["score"].to_numpy()
    mean = raw[:3].mean()
    np.testing.assert_allclose(centred, [raw[0] - mean, raw[1] - mean, raw[2] - mean, raw[3] - free[3], raw[4] - free[4]], atol=1e-6)
    # The choice follows the calibrated score.
    assert (calibrated["choice"] == np.where(raw - free > 0, "A", "B")).all()


def test_scoring_some_probes_calibrates_them_as_scoring_all(tiny_model_dirs, shipped_probes):
    model, tokenizer = load_model(str(tiny_model_dirs["bert"]))
    probes = shipped_probes.filter(pl.col("probe_lang") == "en")
    settings = dict(model_name="m", method="joint", normalisation="none", batch_size=8, max_length=64, calibration="option_pair")
    everything = score_probes(model, tokenizer, probes, **settings)
    some = score_probes(model, tokenizer, probes, only=[3, 0, 20], **settings)
    np.testing.assert_allclose(some["score"].to_numpy(), everything["score"].to_numpy()[[3, 0, 20]], atol=1e-6)
    assert some["probe_id"].to_list() == everything["probe_id"].gather([3, 0, 20]).to_list()
