"""Counterfactual retraining (valuetrace.counterfactual): which probe, which examples, the shift undone."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pytest

from attribution_runs import TEXTS, fake_run
from valuetrace import counterfactual
from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.models import load_model
from valuetrace.scoring import score_probes
from valuetrace.settings import Counterfactual, Scoring, Training
from valuetrace.tables import check_table


def top_table(probe: dict, example_ids: list[str], shift: float) -> pl.DataFrame:
    return pl.DataFrame(
        {**{k: [v] * len(example_ids) for k, v in probe.items()}, "shift": [shift] * len(example_ids),
         "rank": list(range(1, len(example_ids) + 1)), "example_id": example_ids}
    )  # fmt: skip


def examples(ids: str, planted: dict[str, str] | None = None) -> pl.DataFrame:
    """A training table of one-letter example ids, each planted for the question its letter maps to in ``planted``."""
    return pl.DataFrame({"example_id": list(ids), "planted_question": [(planted or {}).get(i, "") for i in ids]})


def test_counterfactual_picks_the_most_shifted_probe_and_its_top_examples():
    small = {"probe_lang": "en", "probe_id": "Q1", "question_id": "Q1"}
    large = {"probe_lang": "en", "probe_id": "Q2", "question_id": "Q2"}
    elsewhere = {"probe_lang": "de", "probe_id": "Q3", "question_id": "Q3"}
    top = pl.concat(
        [top_table(small, ["a", "b"], 1.0), top_table(large, ["c", "d"], -4.0), top_table(elsewhere, ["e", "f"], 9.0)]
    )
    probe = counterfactual.target_probe(top, ["en"], 1)
    assert probe["probe_id"] == "Q2"
    assert counterfactual.removed_examples(top, examples("abcdef"), probe, "top", 2, 0) == ["c", "d"]
    drawn = counterfactual.removed_examples(top, examples("abcdef"), probe, "random", 3, 0)
    assert len(set(drawn)) == 3 and drawn == counterfactual.removed_examples(top, examples("abcdef"), probe, "random", 3, 0)
    with pytest.raises(InputError, match="top_k"):
        counterfactual.removed_examples(top, examples("abcdef"), probe, "top", 3, 0)
    with pytest.raises(InputError, match="targets_per_run"):
        counterfactual.target_probe(top, ["en"], 3)
    # Removing every example would leave nothing to train on; numpy would say "Cannot take a larger sample".
    with pytest.raises(InputError, match="only 6 examples .attribution.counterfactual.k"):
        counterfactual.removed_examples(top, examples("abcdef"), probe, "random", 6, 0)


def test_planted_targets_are_the_most_shifted_probes_of_the_planted_questions(tmp_path):
    """targets: planted skips a larger shift of an unplanted question (an option-mate or a
    diffuse shift) for the planted question's, whose causes the source records."""
    planted = {"probe_lang": "en", "probe_id": "Q21", "question_id": "Q21"}
    unplanted = {"probe_lang": "en", "probe_id": "Q30", "question_id": "Q30"}
    top = pl.concat([top_table(planted, ["a", "b"], 3.0), top_table(unplanted, ["c", "d"], 4.8)])
    train = examples("abcd", {"a": "Q21", "b": "Q21", "c": "Q181"})
    assert counterfactual.planted_questions(train) == ["Q181", "Q21"]
    assert counterfactual.planted_questions(train.drop("planted_question")) == []
    assert counterfactual.target_probe(top, ["en"], 1)["probe_id"] == "Q30"
    assert counterfactual.target_probe(top, ["en"], 1, questions=counterfactual.planted_questions(train))["probe_id"] == "Q21"
    with pytest.raises(InputError, match=r"only 1 attributed probes of its planted questions \['Q181', 'Q21'\]"):
        counterfactual.target_probe(top, ["en"], 2, questions=counterfactual.planted_questions(train))
    # A run whose examples record no planting has no planted target, before anything is retrained.
    unrecorded = tmp_path / "train.parquet"
    train.drop("planted_question").with_columns(lang=pl.lit("en")).write_parquet(unrecorded)
    settings = Counterfactual(k=1, random_draws=1, seed=0, planted_removals=True, targets="planted")
    with pytest.raises(InputError, match="train.parquet: attribution.counterfactual.targets is 'planted', but no example of src/en/n4_s0"):
        counterfactual.retrain_target(Run("m", "src", "en", 4, 0), train_path=unrecorded, top=top, target=1, counterfactual=settings)


def test_planted_removals_take_every_sentence_planted_for_the_question_or_for_the_others():
    probe = {"probe_lang": "en", "probe_id": "Q46", "question_id": "Q46"}
    train = examples("abcdefg", {"a": "Q46", "c": "Q46", "d": "Q49", "f": "Q254"})
    assert counterfactual.planted_removals(train, probe) == ("planted", "other_planted")
    assert counterfactual.removed_examples(None, train, probe, "planted", 25, 0) == ["a", "c"]
    assert counterfactual.removed_examples(None, train, probe, "other_planted", 25, 0) == ["d", "f"]
    # Only the target's question planted: nothing else to remove; not planted, or no record: neither.
    assert counterfactual.planted_removals(examples("abc", {"a": "Q46"}), probe) == ("planted",)
    assert counterfactual.planted_removals(train, {**probe, "question_id": "Q1"}) == ()
    assert counterfactual.planted_removals(train.drop("planted_question"), probe) == ()
    # Every example planted for it: removing them would leave nothing to train on.
    assert counterfactual.planted_removals(examples("ab", {"a": "Q46", "b": "Q46"}), probe) == ()
    with pytest.raises(InputError, match="'other_planted' of Q46 would remove 0 of the run's 3 examples .only .'planted',. apply"):
        counterfactual.removed_examples(None, examples("abc", {"a": "Q46"}), probe, "other_planted", 25, 0)


def test_planted_removals_follow_the_drawn_ones_unless_turned_off():
    settings = Counterfactual(k=2, random_draws=2, seed=0, planted_removals=True, targets="shifted")
    drawn = [("top", 0), ("random", 0), ("random", 1)]
    assert settings.removals(("planted", "other_planted")) == [*drawn, ("planted", 0), ("other_planted", 0)]
    assert settings.removals() == drawn
    assert replace(settings, planted_removals=False).removals(("planted",)) == drawn


@pytest.mark.parametrize("architecture", ["bert", "gpt2"])
def test_counterfactual_retrain_reports_the_shift_undone(tmp_path, tiny_model_dirs, shipped_probes, architecture):
    _, train = fake_run(tmp_path, tiny_model_dirs[architecture], TEXTS)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en", pl.col("question_id") == "Q46")
    probe = probes.select("probe_lang", "probe_id", "question_id").row(0, named=True)
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    base_scores = score_probes(
        model, tokenizer, probes, model_name="m", method="joint", normalisation="none", batch_size=1, max_length=64, calibration="none"
    )
    top = top_table(probe, ["src/en/0", "src/en/1"], 2.0)
    training = Training(epochs=1, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, precision="fp32", seed=0)
    rows = counterfactual.retrain_target(
        Run("m", "src", "en", 12, 0), base=str(tiny_model_dirs[architecture]), train_path=train, top=top, probes=probes,
        base_scores=base_scores, target=1, counterfactual=Counterfactual(k=2, random_draws=1, seed=0, planted_removals=True, targets="shifted"), batches="same",
        training=training, scoring=Scoring(method="joint", normalisation="none", calibration="none", batch_size=1, max_length=64, precision="fp32"), device="cpu",
    )  # fmt: skip
    check_table(rows, "counterfactual")
    # One job retrains the target without its top-k, then without k random examples per draw,
    # then without the sentences planted for its question (fake_run plants every third for Q46).
    assert rows.select("removal", "draw").rows() == [("top", 0), ("random", 0), ("planted", 0)]
    assert rows["k"].to_list() == [2, 2, len(range(0, len(TEXTS), 3))]
    for shift_after, fraction in zip(rows["shift_after_removal"], rows["fraction_undone"]):
        assert fraction == pytest.approx((2.0 - shift_after) / 2.0)


def test_a_targets_retrainings_keep_their_draws_when_more_are_asked_for():
    more, fewer = (Counterfactual(k=2, random_draws=draws, seed=0, planted_removals=True, targets="shifted") for draws in (3, 1))
    assert more.removals()[:2] == fewer.removals()
