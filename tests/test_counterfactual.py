"""Counterfactual retraining (valuetrace.counterfactual): which probe, which examples, the shift undone."""

from __future__ import annotations

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


def test_counterfactual_picks_the_most_shifted_probe_and_its_top_examples():
    small = {"probe_lang": "en", "probe_id": "Q1", "question_id": "Q1"}
    large = {"probe_lang": "en", "probe_id": "Q2", "question_id": "Q2"}
    elsewhere = {"probe_lang": "de", "probe_id": "Q3", "question_id": "Q3"}
    top = pl.concat(
        [top_table(small, ["a", "b"], 1.0), top_table(large, ["c", "d"], -4.0), top_table(elsewhere, ["e", "f"], 9.0)]
    )
    probe = counterfactual.target_probe(top, ["en"], 1)
    assert probe["probe_id"] == "Q2"
    assert counterfactual.removed_examples(top, list("abcdef"), probe, "top", 2, 0) == ["c", "d"]
    drawn = counterfactual.removed_examples(top, list("abcdef"), probe, "random", 3, 0)
    assert len(set(drawn)) == 3 and drawn == counterfactual.removed_examples(top, list("abcdef"), probe, "random", 3, 0)
    with pytest.raises(InputError, match="top_k"):
        counterfactual.removed_examples(top, list("abcdef"), probe, "top", 3, 0)
    with pytest.raises(InputError, match="targets_per_run"):
        counterfactual.target_probe(top, ["en"], 3)
    # Removing every example would leave nothing to train on; numpy would say "Cannot take a larger sample".
    with pytest.raises(InputError, match="only 6 examples .attribution.counterfactual.k"):
        counterfactual.removed_examples(top, list("abcdef"), probe, "random", 6, 0)


@pytest.mark.parametrize("architecture", ["bert", "gpt2"])
def test_counterfactual_retrain_reports_the_shift_undone(tmp_path, tiny_model_dirs, shipped_probes, architecture):
    _, train = fake_run(tmp_path, tiny_model_dirs[architecture], TEXTS)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(1)
    probe = probes.select("probe_lang", "probe_id", "question_id").row(0, named=True)
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    base_scores = score_probes(
        model, tokenizer, probes, model_name="m", method="joint", normalisation="none", batch_size=1, max_length=64, calibration="none"
    )
    top = top_table(probe, ["src/en/0", "src/en/1"], 2.0)
    training = Training(epochs=1, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, precision="fp32", seed=0)
    rows = counterfactual.retrain_target(
        Run("m", "src", "en", 12, 0), base=str(tiny_model_dirs[architecture]), train_path=train, top=top, probes=probes,
        base_scores=base_scores, target=1, counterfactual=Counterfactual(k=2, random_draws=1, seed=0),
        training=training, scoring=Scoring(method="joint", normalisation="none", calibration="none", batch_size=1, max_length=64, precision="fp32"), device="cpu",
    )  # fmt: skip
    check_table(rows, "counterfactual")
    # One job retrains the target without its top-k, then without k random examples per draw.
    assert rows.select("removal", "draw").rows() == [("top", 0), ("random", 0)]
    for shift_after, fraction in zip(rows["shift_after_removal"], rows["fraction_undone"]):
        assert fraction == pytest.approx((2.0 - shift_after) / 2.0)


def test_a_targets_retrainings_keep_their_draws_when_more_are_asked_for():
    assert Counterfactual(k=2, random_draws=3, seed=0).removals()[:2] == Counterfactual(k=2, random_draws=1, seed=0).removals()
