"""TRAK attribution (valuetrace.attribution): featurize and score a run's checkpoints, and the
built-in copy self-check through the whole pipeline."""

from __future__ import annotations

import dataclasses

import polars as pl
import pytest

from attribution_runs import TEXTS, fake_run, scores_of
from conftest import CAUSAL_ARCHITECTURES
from valuetrace import attribution, attribution_summary
from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.settings import Scoring, Trak
from valuetrace.tables import check_table

TRAK = Trak(
    base_model=True, checkpoints=2, projection="random", proj_dim=64, lambda_reg=0.1, include_parameters=(), exclude_parameters=(),
    gradient_scaling="none", mask_copies=4, batch_size=8, max_length=32, projector_seed=0,
)  # fmt: skip
SCORING = Scoring(method="joint", normalisation="none", calibration="none", batch_size=8, max_length=64, precision="fp32")


@pytest.mark.parametrize("projection", ["random", "none"])
@pytest.mark.parametrize("architecture", ["bert", "xlm-roberta", *CAUSAL_ARCHITECTURES])
def test_copies_of_training_examples_are_attributed_to_themselves(tmp_path, tiny_model_dirs, shipped_probes, architecture, projection):
    """The built-in self-check: the whole pipeline, the model fine-tuning started from and two
    checkpoints, every copy finds its original, with trak's random projection and the exact kernel."""
    trak = dataclasses.replace(TRAK, projection=projection)
    run_dir, train = fake_run(tmp_path, tiny_model_dirs[architecture], TEXTS)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(5)
    chosen = attribution_summary.targets(probes, scores_of(probes, 0.0), scores_of(probes, 1.0), "all")
    score_dirs = []
    base = str(tiny_model_dirs[architecture])
    for checkpoint in trak.checkpoint_ids():
        features, scores = tmp_path / f"features{checkpoint}", tmp_path / f"scores{checkpoint}"
        attribution.featurize(run_dir, train, features, checkpoint=checkpoint, settings=trak, base=base, device="cpu")
        attribution.score(
            run_dir, features, train, probes, chosen, scores, checkpoint=checkpoint, trak=trak, scoring=SCORING, base=base, device="cpu"
        )
        score_dirs.append(scores)
    top, groups, checks = attribution_summary.gather(Run("m", "src", "en", 12, 0), score_dirs, train, chosen, top_k=4)
    assert checks.height == attribution_summary.SELF_CHECK_COPIES
    assert checks["passed"].all(), checks
    check_table(top, "attribution_top")
    check_table(groups, "attribution_groups")
    check_table(checks, "attribution_checks")
    assert top.height == 5 * 4 and "example_planted_question" in top.columns
    assert groups["n_examples"].sum() == 5 * len(TEXTS)


def test_checkpoint_zero_is_the_model_fine_tuning_started_from(tmp_path):
    for step in (4, 8):
        (tmp_path / "checkpoints" / f"step-{step}").mkdir(parents=True)
    assert attribution.checkpoint_source(tmp_path, 0, 2, "org/base-model") == "org/base-model"
    assert attribution.checkpoint_source(tmp_path, 1, 2, "org/base-model") == str(tmp_path / "checkpoints" / "step-4")
    assert dataclasses.replace(TRAK, base_model=False).checkpoint_ids() == [1, 2]
    assert dataclasses.replace(TRAK, checkpoints=0).checkpoint_ids() == [0]
    assert TRAK.checkpoint_ids() == [0, 1, 2]


def test_checkpoint_dir_picks_the_last_checkpoints(tmp_path):
    for step in (3, 12, 6):
        (tmp_path / "checkpoints" / f"step-{step}").mkdir(parents=True)
    assert attribution.checkpoint_dir(tmp_path, 1, 2).name == "step-6"
    assert attribution.checkpoint_dir(tmp_path, 2, 2).name == "step-12"
    with pytest.raises(InputError, match="saved 3 checkpoints .raise finetuning.checkpoints"):
        attribution.checkpoint_dir(tmp_path, 1, 4)
    (tmp_path / "run.json").write_text('{"checkpoints": 4}')
    with pytest.raises(InputError, match="holds 3 of the 4 checkpoints its training saves, so it is damaged"):
        attribution.checkpoint_dir(tmp_path, 1, 2)


def test_a_calibrated_score_through_the_output_bias_alone_is_refused(tmp_path, tiny_model_dirs, shipped_probes):
    """The output bias's gradient of log P(A) - log P(B) is the same in every probe, so a calibrated
    score cancels it: TRAK would rank examples by rounding noise, and the scoring step says so.
    The same probes uncalibrated, or through the whole network, are attributed."""
    bias_only = dataclasses.replace(TRAK, projection="none", include_parameters=(r"^cls\.predictions\.bias$",), checkpoints=0)
    run_dir, train = fake_run(tmp_path, tiny_model_dirs["bert"], TEXTS)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en")
    one_token = probes.filter(pl.col("question_id").is_in(["Q46", "Q49"]))
    chosen = attribution_summary.targets(one_token, scores_of(one_token, 0.0), scores_of(one_token, 1.0), "all")
    base = str(tiny_model_dirs["bert"])
    calibrated = dataclasses.replace(SCORING, calibration="content_free")
    for trak, scoring, refused in ((bias_only, calibrated, True), (bias_only, SCORING, False), (dataclasses.replace(bias_only, include_parameters=()), calibrated, False)):
        features, scores = tmp_path / f"features-{refused}-{scoring.calibration}", tmp_path / f"scores-{refused}-{scoring.calibration}"
        attribution.featurize(run_dir, train, features, checkpoint=0, settings=trak, base=base, device="cpu")
        arguments = dict(checkpoint=0, trak=trak, scoring=scoring, base=base, device="cpu")
        if refused:
            with pytest.raises(InputError, match=r"2 of 2 probes .* scoring.calibration 'content_free'.*include_parameters: \[\]"):
                attribution.score(run_dir, features, train, probes, chosen, scores, **arguments)
            assert not scores.exists()  # nothing half-written
        else:
            attribution.score(run_dir, features, train, probes, chosen, scores, **arguments)
            assert (scores / "scores.npy").exists()
