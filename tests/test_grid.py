"""The fine-tuning grid and run names."""

import pytest

from valuetrace.grid import Run, runs


def config(**finetuning):
    # The part of a validated config the grid reads (validation fills in multilingual: true).
    return {
        "models": {"m1": {}, "m2": {}},
        "datasets": {"wiki": {"languages": ["en", "de"]}, "bible": {"languages": ["ko"]}},
        "finetuning": {"sizes": [100, 200], "seeds": [0, 1], "multilingual": True, **finetuning},
    }


def test_grid_is_the_product_of_its_axes_plus_multilingual_runs():
    grid = runs(config())
    # wiki: en, de, multi; bible: ko only (no multilingual run for one language).
    assert len(grid) == 2 * (3 + 1) * 2 * 2
    assert Run("m1", "wiki", "multi", 200, 1) in grid
    assert not any(run.dataset == "bible" and run.finetune_lang == "multi" for run in grid)


def test_grid_respects_model_subset_and_multilingual_switch():
    grid = runs(config(models=["m2"], multilingual=False))
    assert {run.model for run in grid} == {"m2"}
    assert len(grid) == (2 + 1) * 2 * 2


def test_the_papers_multilingual_runs_are_multi_parallel_items_of_parallel_sources():
    parallel = config(multilingual={"parallel": 250})
    parallel["datasets"] = {"wiki": {"languages": ["en", "de"], "parallel": False}, "bible": {"languages": ["en", "ko"], "parallel": True}}
    multi = [run for run in runs(parallel) if run.finetune_lang == "multi"]
    assert {(run.dataset, run.size) for run in multi} == {("bible", 250)}  # one size, parallel sources only
    assert len(multi) == 2 * 2  # models x seeds
    assert len(runs(parallel)) == 2 * (2 + 2) * 2 * 2 + len(multi)  # the monolingual runs keep every size


def test_run_names_round_trip():
    run = Run("m1", "wiki", "de", 200, 1)
    assert run.name == "wiki/de/n200_s1"
    assert Run.parse("m1", run.name) == run
    with pytest.raises(ValueError):
        Run.parse("m1", "wiki/de/200")


def test_no_datasets_means_no_runs():
    assert runs({"models": {"m": {}}}) == []
