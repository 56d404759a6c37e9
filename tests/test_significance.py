"""Tests of shifts against seed noise and a control source (valuetrace.significance), on synthetic
scores with a known planted difference and on pure noise."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from scipy import stats

from valuetrace import significance
from valuetrace.settings import Significance

SETTINGS = Significance(resamples=200, fdr=0.05, confidence_level=0.95, seed=0)
PROBES = [f"Q{i}" for i in range(1, 28)]  # 27 probes, as in the demo


@pytest.mark.parametrize(
    "seeds, noise",
    [(2, "normal"), (3, "laplace")],
    ids=["2 seeds, normal noise", "3 seeds, heavy-tailed noise"],
)
def test_pure_noise_is_significant_at_the_stated_rate(seeds, noise):
    """Over many draws of pure seed noise, p < 0.05 in 5 % of them and the 95 % interval covers 0
    in 95 %, within sampling error (one probe per draw, so the draws are independent)."""
    rng = np.random.default_rng(0)
    draws = 2000
    rejected = covered = 0
    for _ in range(draws):
        values = rng.normal(size=(len(PROBES), seeds)) if noise == "normal" else rng.laplace(size=(len(PROBES), seeds))
        result = significance.seed_noise_test(values, SETTINGS.resamples, 0.95, rng)
        rejected += result["p"][0] < 0.05
        covered += result["low"][0] <= 0 <= result["high"][0]
    assert stats.binomtest(rejected, draws, 0.05).pvalue > 0.001, rejected / draws
    assert stats.binomtest(covered, draws, 0.95).pvalue > 0.001, covered / draws


def test_planted_difference_is_detected_and_its_interval_covers_it():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(len(PROBES), 2))
    values[:3] += 6.0  # three probes shifted by six times the seed noise
    result = significance.seed_noise_test(values, SETTINGS.resamples, 0.95, rng)
    assert (result["p"][:3] < 0.001).all()
    assert ((result["low"][:3] < 6.0) & (6.0 < result["high"][:3])).all()
    assert result["noise_sd"] == pytest.approx(1.0, rel=0.5)


def test_one_seed_or_identical_seeds_leave_nothing_to_test():
    rng = np.random.default_rng(2)
    one_seed = significance.seed_noise_test(rng.normal(size=(27, 1)), 100, 0.95, rng)
    assert np.isnan(one_seed["p"]).all() and np.isnan(one_seed["low"]).all()
    identical = significance.seed_noise_test(np.ones((27, 2)), 100, 0.95, rng)
    assert np.isnan(identical["p"]).all() and identical["noise_sd"] == 0


def synthetic_shifts(
    rng: np.random.Generator, seeds=(0, 1), planted_shift: float = 4.0, drift: float = 1.0, noise: float = 0.3,
    languages=("en", "de"), probe_noise: np.ndarray | None = None,
) -> pl.DataFrame:  # fmt: skip
    """A shifts table of runs on a ``planted`` source and the ``neutral`` control, fine-tuned in
    en and de and probed in ``languages``.

    Every run moves every probe by ``drift`` (what fine-tuning on any text does) plus seed noise
    of sd ``noise`` times the probe's ``probe_noise`` (default 1); the planted source moves Q1 and
    Q2 by ``planted_shift`` more in English, probed in English.
    """
    relative = dict(zip(PROBES, np.ones(len(PROBES)) if probe_noise is None else probe_noise))
    base = {(lang, probe): rng.normal() for lang in languages for probe in PROBES}
    rows = []
    for dataset in ("planted", "neutral"):
        for finetune_lang in ("en", "de"):
            for seed in seeds:
                for (probe_lang, probe), before in base.items():
                    planted = dataset == "planted" and finetune_lang == probe_lang == "en" and probe in ("Q1", "Q2")
                    delta = drift + noise * relative[probe] * rng.normal() + (planted_shift if planted else 0.0)
                    rows.append(
                        {
                            "model": "m", "dataset": dataset, "finetune_lang": finetune_lang, "size": 100, "seed": seed,
                            "run": f"{dataset}/{finetune_lang}/n100_s{seed}", "probe_lang": probe_lang, "probe_id": probe,
                            "question_id": probe, "score_before": before, "score_after": before + delta,
                            "delta_score": delta,
                        }
                    )  # fmt: skip
    return pl.DataFrame(rows)


def test_control_removes_what_any_fine_tuning_does_and_keeps_the_planted_shift():
    tests = significance.shift_tests(synthetic_shifts(np.random.default_rng(3)), "neutral", {"planted": ["Q1"]}, SETTINGS)
    # Against seed noise alone the common drift is a real shift, in both sources.
    assert tests.filter(pl.col("dataset") == "neutral")["seed_significant"].mean() > 0.9
    beyond = tests.filter(pl.col("dataset") == "planted")
    assert (beyond["control_dataset"] == "neutral").all()
    planted = beyond.filter(pl.col("finetune_lang") == "en", pl.col("probe_lang") == "en", pl.col("probe_id").is_in(["Q1", "Q2"]))
    assert planted["control_significant"].all() and (planted["control_q"] < 0.01).all()
    assert ((planted["beyond_control_low"] < 4.0) & (4.0 < planted["beyond_control_high"])).all()
    assert planted["planted"].to_list() == [True, False]  # only Q1 is declared planted
    others = beyond.join(planted, on=["finetune_lang", "probe_lang", "probe_id"], how="anti")
    assert others["control_significant"].mean() < 0.05
    assert beyond["beyond_control"].to_numpy() == pytest.approx(
        (beyond["delta_mean"] - beyond["control_delta_mean"]).to_numpy()
    )
    control = tests.filter(pl.col("dataset") == "neutral")
    assert control["control_dataset"].is_null().all() and control["control_q"].is_null().all()


def test_q_values_keep_the_false_discovery_rate_of_pure_noise():
    """Under pure noise no shift is real, so any q < 0.05 is a false discovery: Benjamini-Hochberg
    keeps the share of configurations with one at or below 5 % (within sampling error)."""
    rng = np.random.default_rng(4)
    families = with_discovery = 0
    for _ in range(150):
        tests = significance.shift_tests(
            synthetic_shifts(rng, planted_shift=0.0, drift=0.0), "neutral", {}, Significance(100, 0.05, 0.95, 0)
        )
        discoveries = tests.group_by("dataset", "finetune_lang").agg(
            pl.col("seed_significant").any(), pl.col("control_significant").any()
        )
        # 4 configurations tested against seed noise, the 2 planted ones against the control
        found = pl.concat([discoveries["seed_significant"], discoveries["control_significant"].drop_nulls()])
        families += found.len()
        with_discovery += found.sum()
    assert stats.binomtest(with_discovery, families, 0.05, alternative="greater").pvalue > 0.001, with_discovery / families


def test_one_seed_gives_null_tests_and_the_shifts_table_gets_the_q_values():
    shifts = synthetic_shifts(np.random.default_rng(5), seeds=(0,))
    tests = significance.shift_tests(shifts, "neutral", {}, SETTINGS)
    assert tests["seed_q"].is_null().all() and tests["control_q"].is_null().all()
    assert tests.filter(pl.col("dataset") == "planted")["beyond_control"].is_not_null().all()  # still the difference
    annotated = significance.annotate_shifts(synthetic_shifts(np.random.default_rng(5)), tests, "neutral")
    assert {"seed_q", "seed_significant", "control_q", "control_significant", "control_delta_score"} <= set(annotated.columns)
    planted = annotated.filter(pl.col("dataset") == "planted")
    assert planted["control_delta_score"].is_not_null().all()
    assert annotated.filter(pl.col("dataset") == "neutral")["control_delta_score"].is_null().all()


def test_tests_are_deterministic_and_each_configuration_is_tested_on_its_own():
    shifts = synthetic_shifts(np.random.default_rng(6))
    first = significance.shift_tests(shifts, "neutral", {}, SETTINGS)
    assert first.equals(significance.shift_tests(shifts, "neutral", {}, SETTINGS))
    # Dropping the German runs changes nothing in the English ones.
    english = significance.shift_tests(shifts.filter(pl.col("finetune_lang") == "en"), "neutral", {}, SETTINGS)
    assert english.equals(first.filter(pl.col("finetune_lang") == "en"))
    without_control = significance.shift_tests(shifts, None, {}, SETTINGS)
    assert without_control["control_q"].is_null().all()
    assert without_control.select("seed_p").equals(first.select("seed_p"))


def test_probes_noisier_than_the_others_keep_the_stated_rate(monkeypatch):
    """Probes whose seed noise is six times the variance of others' (as on the demo): scaled by
    their relative noise, the noisiest and the quietest probe are each significant (p < 0.05)
    in 5 % of pure-noise tests; pooled unscaled, the noisiest would be about 13 %."""
    rng = np.random.default_rng(7)
    variance = np.linspace(0.4, 2.3, len(PROBES))
    languages = [f"l{index}" for index in range(16)]  # 2 x 2 x 16 groups: 64 degrees of freedom per probe
    settings = Significance(100, 0.05, 0.95, 0)
    tests = pl.concat(
        [
            significance.shift_tests(
                synthetic_shifts(rng, planted_shift=0.0, drift=0.0, languages=languages, probe_noise=np.sqrt(variance)),
                "neutral", {}, settings,
            )  # fmt: skip
            for _ in range(20)
        ]
    )
    for probe in (PROBES[0], PROBES[-1]):
        rejected = tests.filter(pl.col("probe_id") == probe)["seed_p"] < 0.05
        assert stats.binomtest(rejected.sum(), rejected.len(), 0.05).pvalue > 0.001, (probe, rejected.mean())
    noisy = tests.filter(pl.col("probe_id") == PROBES[-1])
    assert noisy["seed_noise_sd"].mean() == pytest.approx(0.3 * np.sqrt(2.3), rel=0.2)

    # With too few degrees of freedom to estimate them, probes are not scaled: one noise sd per group.
    monkeypatch.setattr(significance, "MIN_WEIGHT_DEGREES", 65)
    unscaled = significance.shift_tests(
        synthetic_shifts(rng, planted_shift=0.0, drift=0.0, languages=languages, probe_noise=np.sqrt(variance)),
        "neutral", {}, settings,
    )  # fmt: skip
    assert unscaled.group_by(significance.GROUP).agg(pl.col("seed_noise_sd").n_unique())["seed_noise_sd"].max() == 1


def test_each_model_scales_its_probes_by_its_own_noise():
    """Another model's runs, whose noisy probes are other ones, change nothing in a model's tests."""
    rng = np.random.default_rng(8)
    languages = [f"l{index}" for index in range(16)]  # enough degrees of freedom to scale probes
    variance = np.linspace(0.4, 2.3, len(PROBES))
    first = synthetic_shifts(rng, planted_shift=0.0, languages=languages, probe_noise=np.sqrt(variance))
    other = synthetic_shifts(rng, planted_shift=0.0, languages=languages, probe_noise=np.sqrt(variance[::-1]))
    alone = significance.shift_tests(first, "neutral", {}, SETTINGS)
    together = significance.shift_tests(pl.concat([first, other.with_columns(model=pl.lit("m2"))]), "neutral", {}, SETTINGS)
    assert together.filter(pl.col("model") == "m").equals(alone)
    # Each model's own noise profile is found: m's noise grows along the probes, m2's falls.
    noise = together.group_by("model", "probe_id").agg(pl.col("seed_noise_sd").mean())
    for model, sign in (("m", 1), ("m2", -1)):
        estimated = noise.filter(pl.col("model") == model).sort(pl.col("probe_id").str.slice(1).cast(pl.Int64))
        assert sign * stats.spearmanr(estimated["seed_noise_sd"], variance).statistic > 0.8
