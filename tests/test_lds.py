"""The linear datamodeling score (valuetrace.lds): subsets, LDS of known datamodels, tables, a real retraining."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import yaml
from transformers import AutoTokenizer

from attribution_runs import TEXTS, fake_run, scores_of
from valuetrace import attribution_summary, lds
from valuetrace.baselines import BASELINES
from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.settings import LdsSubsets, LdsSummary, Scoring, Training
from valuetrace.tables import check_table, schema_path

RUN = Run("m", "planted", "en", 12, 0)
SUMMARY = LdsSummary(bootstrap_resamples=500, confidence_level=0.95, seed=0)


def test_subsets_are_random_fixed_by_seed_and_index_and_kept_when_more_are_added():
    subsets = LdsSubsets(alpha=0.3, seed=4)
    first = lds.subset_indices(100, subsets, 0)
    assert len(first) == 30 and len(set(first)) == 30 and list(first) == sorted(first)
    assert np.array_equal(first, lds.subset_indices(100, subsets, 0))
    assert not np.array_equal(first, lds.subset_indices(100, subsets, 1))
    assert not np.array_equal(first, lds.subset_indices(100, LdsSubsets(alpha=0.3, seed=5), 0))
    assert np.array_equal(lds.membership(100, subsets, 5)[:3], lds.membership(100, subsets, 3))
    assert lds.membership(100, subsets, 5).sum(axis=1).tolist() == [30] * 5


def test_lds_of_a_known_linear_datamodel_is_recovered():
    """Outputs made as a linear function of subset membership plus noise: the true weights get an
    LDS near 1, random weights near 0, and the bootstrap intervals say so."""
    rng = np.random.default_rng(0)
    n, targets, m = 200, 40, 50
    weights = rng.normal(size=(n, targets))
    masks = lds.membership(n, LdsSubsets(alpha=0.5, seed=0), m)
    outputs = masks @ weights + rng.normal(scale=1.0, size=(m, targets))  # noise: a tenth of the signal's spread
    true, constant = lds.scores(weights, outputs, masks)
    random, _ = lds.scores(rng.normal(size=(n, targets)), outputs, masks)
    assert not constant.any()
    assert true.mean() > 0.95 and abs(random.mean()) < 0.1
    picked = pl.DataFrame({"probe_lang": ["en"] * targets, "probe_id": [f"Q{i}" for i in range(targets)],
                           "question_id": [f"Q{i}" for i in range(targets)], "shift": [1.0] * targets})  # fmt: skip
    attributions = {"trak": weights, "token_overlap": rng.normal(size=(n, targets)), "tfidf": -weights}
    table = lds.table(RUN, picked, attributions, outputs, masks, 0.5)
    check_table(table, "lds")
    summary = lds.summarise(table, SUMMARY)
    check_table(summary, "lds_summary")
    assert lds.summarise(table.sample(fraction=1.0, shuffle=True, seed=1), SUMMARY).equals(summary)  # order-free
    assert summary["method"].to_list() == ["trak", "token_overlap", "tfidf"]
    trak, overlap, tfidf = summary.iter_rows(named=True)
    assert trak["lds_low"] > 0.9 and overlap["lds_low"] < 0 < overlap["lds_high"] and tfidf["lds_high"] < -0.9
    assert trak["n_targets"] == targets and trak["subsets"] == m
    # TRAK's advantage over each baseline, paired over the same targets.
    assert trak["trak_minus_method"] is None and trak["trak_minus_method_low"] is None
    lds_of = {method: table.filter(pl.col("method") == method)["lds"].to_numpy() for method in lds.METHODS}
    assert overlap["trak_minus_method"] == pytest.approx((lds_of["trak"] - lds_of["token_overlap"]).mean())
    assert overlap["trak_minus_method_low"] > 0.8 and tfidf["trak_minus_method_low"] > 1.8


def test_the_paired_difference_finds_an_advantage_that_overlapping_intervals_hide():
    """Two methods whose LDS vary a lot over targets but alike: TRAK a little higher on every
    target. Their intervals overlap; the paired difference's lies above 0."""
    rng = np.random.default_rng(1)
    common = rng.uniform(-0.5, 0.5, size=30)
    picked = pl.DataFrame({"probe_lang": ["en"] * 30, "probe_id": [f"Q{i}" for i in range(30)],
                           "question_id": [f"Q{i}" for i in range(30)], "shift": [1.0] * 30})  # fmt: skip
    rows = [
        picked.with_columns(**{key: pl.lit(value) for key, value in RUN.columns().items()}, method=pl.lit(method),
                            lds=pl.Series(common + offset), constant_prediction=False, subsets=pl.lit(8, dtype=pl.Int64), alpha=0.5)  # fmt: skip
        for method, offset in (("trak", 0.05), ("token_overlap", 0.0), ("tfidf", 0.0))
    ]
    summary = lds.summarise(pl.concat(rows), SUMMARY)
    trak, overlap, _ = summary.iter_rows(named=True)
    assert overlap["lds_high"] > trak["lds_low"]
    assert overlap["trak_minus_method"] == pytest.approx(0.05) and overlap["trak_minus_method_low"] == pytest.approx(0.05)


def test_a_constant_prediction_ranks_nothing_and_counts_zero():
    masks = lds.membership(10, LdsSubsets(alpha=0.5, seed=0), 6)
    outputs = np.arange(12, dtype=float).reshape(6, 2)
    rho, constant = lds.scores(np.zeros((10, 2)), outputs, masks)
    assert rho.tolist() == [0.0, 0.0] and constant.all()
    # A retrained score that never varied leaves the LDS undefined for every method.
    rho, constant = lds.scores(np.arange(10.0)[:, None], np.ones((6, 1)), masks)
    assert np.isnan(rho).all() and not constant.any()


def test_every_method_of_the_tables_is_trak_or_a_registered_baseline():
    assert lds.METHODS == ("trak", *BASELINES)
    for table in ("lds", "lds_summary"):
        schema = yaml.safe_load(schema_path(table).read_text())
        assert tuple(schema["properties"]["method"]["enum"]) == lds.METHODS


def retrained_scores(probes: pl.DataFrame, measured: np.ndarray, run: Run = RUN) -> pl.DataFrame:
    """The stacked score tables of the run retrained on each subset (a row of ``measured`` each)."""
    return pl.concat(
        scores_of(probes, 0.0).with_columns(score=pl.Series(row), run=pl.lit(lds.retraining_name(run, subset)))
        for subset, row in enumerate(measured)
    )


def test_run_lds_measures_trak_and_every_baseline_on_the_run_language_probes(tiny_model_dirs, shipped_probes):
    probes = shipped_probes.filter(pl.col("probe_lang").is_in(["en", "ko"])).head(40)
    chosen = attribution_summary.targets(probes, scores_of(probes, 0.0), scores_of(probes, 1.0), "all")
    train = pl.DataFrame({"example_id": [str(i) for i in range(len(TEXTS))], "lang": ["en"] * len(TEXTS), "text": TEXTS})
    subsets = LdsSubsets(alpha=0.5, seed=0)
    rng = np.random.default_rng(1)
    influence = rng.normal(size=(train.height, chosen.height))
    masks = lds.membership(train.height, subsets, 5)
    english = (chosen["probe_lang"] == "en").to_numpy()
    measured = masks @ influence + rng.normal(scale=0.1, size=(5, chosen.height))
    arguments = dict(
        influence=influence, chosen=chosen, train=train, tokenizer=AutoTokenizer.from_pretrained(tiny_model_dirs["bert"]),
        which="run_languages", subsets=subsets, max_length=64,
    )  # fmt: skip
    table = lds.run_lds(RUN, retrained=retrained_scores(chosen, measured), **arguments)
    check_table(table, "lds")
    assert table.group_by("method").len().sort("method").rows() == sorted((method, english.sum()) for method in lds.METHODS)
    assert set(table["probe_lang"]) == {"en"}
    trak = table.filter(pl.col("method") == "trak")["lds"].to_numpy()
    assert np.allclose(trak, lds.scores(influence[:, english], measured[:, english], masks)[0])
    everything = lds.run_lds(RUN, retrained=retrained_scores(chosen, measured), **{**arguments, "which": "all"})
    assert everything.height == len(lds.METHODS) * chosen.height

    # The jobs' tables in any order give the same table; a missing subset is named.
    shuffled = retrained_scores(chosen, measured).sample(fraction=1.0, shuffle=True, seed=0)
    assert lds.run_lds(RUN, retrained=shuffled, **arguments).equals(table)
    without_subset_1 = retrained_scores(chosen, measured).filter(pl.col("run") != lds.retraining_name(RUN, 1))
    with pytest.raises(InputError, match="subsets 0 to 3 were expected; missing .'planted/en/n12_s0/subset1'"):
        lds.run_lds(RUN, retrained=without_subset_1, **arguments)
    twice = pl.concat([retrained_scores(chosen, measured), retrained_scores(chosen, measured[:1])])
    with pytest.raises(InputError, match=r"hold \['planted/en/n12_s0/subset0'\] more than once"):
        lds.run_lds(RUN, retrained=twice, **arguments)
    with pytest.raises(InputError, match="at least 3"):
        lds.run_lds(RUN, retrained=retrained_scores(chosen, measured[:2]), **arguments)
    with pytest.raises(InputError, match="attribution.lds.targets: all"):
        lds.run_lds(RUN, retrained=retrained_scores(chosen, measured), **{**arguments, "train": train.with_columns(lang=pl.lit("fr"))})


@pytest.mark.parametrize("batches", ["same", "reshuffled"])
def test_retrain_subset_trains_on_the_subset_and_scores_every_probe(tmp_path, tiny_model_dirs, shipped_probes, caplog, batches):
    _, train = fake_run(tmp_path, tiny_model_dirs["bert"], TEXTS)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(3)
    training = Training(epochs=1, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, precision="fp32", seed=0)
    with caplog.at_level("INFO"):
        scores = lds.retrain_subset(
            RUN, 2, base=str(tiny_model_dirs["bert"]), train_path=train, probes=probes,
            subsets=LdsSubsets(alpha=0.5, seed=0), batches=batches, training=training,
            scoring=Scoring(method="joint", normalisation="none", calibration="none", batch_size=8, max_length=64, precision="fp32"), device="cpu",
        )  # fmt: skip
    check_table(scores, "scores")
    assert scores.height == 3 and set(scores["run"]) == {"planted/en/n12_s0/subset2"}
    assert "subset 2, 6 of 12 examples" in caplog.text
    # The run's schedule: as many steps as 12 examples take, not 6; in the run's own batches
    # (same) the 6 examples outside the subset keep their places there.
    if batches == "same":
        assert "12 examples, 3 steps" in caplog.text and "6 of them left out of the loss" in caplog.text
    else:
        assert "6 examples, 3 steps" in caplog.text


def test_a_job_of_several_subsets_gives_each_the_scores_a_job_of_its_own_would(tmp_path, tiny_model_dirs, shipped_probes):
    _, train = fake_run(tmp_path, tiny_model_dirs["bert"], TEXTS)
    settings = dict(
        base=str(tiny_model_dirs["bert"]), train_path=train, probes=shipped_probes.filter(pl.col("probe_lang") == "en").head(3),
        subsets=LdsSubsets(alpha=0.5, seed=0), batches="same",
        training=Training(epochs=1, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, precision="fp32", seed=0),
        scoring=Scoring(method="joint", normalisation="none", calibration="none", batch_size=8, max_length=64, precision="fp32"), device="cpu",
    )  # fmt: skip
    together = lds.retrain_subsets(RUN, range(1, 3), **settings)
    alone = [lds.retrain_subset(RUN, subset, **settings) for subset in (2, 1)]
    assert together["run"].unique(maintain_order=True).to_list() == ["planted/en/n12_s0/subset1", "planted/en/n12_s0/subset2"]
    assert together.equals(pl.concat(alone[::-1]))
    # The subsets differ, and so do their scores: the equality is not of two copies of one table.
    assert not alone[0]["score"].equals(alone[1]["score"])
    with pytest.raises(InputError, match="no subset"):
        lds.retrain_subsets(RUN, range(3, 3), **settings)
