"""What a config asks the workflow for (valuetrace.plan): stages, runs, figures, tables, targets."""

from __future__ import annotations

import copy

from test_settings import VALIDATION, validated
from valuetrace import settings
from valuetrace.plan import Plan, job_subsets


def test_demo_plan_activates_every_stage_but_parallel():
    plan = Plan(validated())
    assert plan.stages == {"probes", "runs", "planted", "control", "multilingual", "attribution", "counterfactual", "hofstede"}  # no parallel source, no LDS
    # 1 model x 2 datasets x (3 languages + multi) x 1 size x 2 seeds
    assert len(plan.runs) == 16
    assert plan.control == "neutral"
    assert {run.name for run in plan.attributed_runs} == {f"planted/{lang}/n300_s0" for lang in ("en", "de", "ko", "multi")}
    assert len(plan.counterfactual_runs) == 3
    # The causal LM fine-tuned too: twice the runs, each attributed and retrained.
    both = Plan(validated(**{"finetuning.models": ["tiny-bert", "tiny-llama"]}))
    assert len(both.runs) == 2 * 16 and len(both.attributed_runs) == 2 * 4 and len(both.counterfactual_runs) == 2 * 3
    assert plan.planted == {"planted": ["Q46", "Q49", "Q254"]}
    assert plan.counterfactual_targets() == [f"results/counterfactual/tiny-bert/planted/{lang}/n300_s0/t1.parquet" for lang in ("en", "de", "ko")]
    assert plan.run_languages("planted", "multi") == ["en", "de", "ko"] and plan.run_languages("planted", "de") == ["de"]


def test_built_models_pretrain_on_the_demo_text_of_the_listed_and_the_generated_sources_languages():
    # The demo names its own and its plantings' languages, so that they share one base model.
    assert Plan(validated()).demo_text_languages == ["en", "de", "el", "ko"]
    turkish = Plan(validated(**{"datasets.planted.languages": ["tr", "ro"]}))
    assert turkish.demo_text_languages == ["en", "de", "el", "ko", "ro", "tr"]  # in the config's language order
    assert Plan(validated(**{"pretraining_corpus.demo_text_languages": None})).demo_text_languages == ["en", "de", "ko"]
    wiki = {"wiki": {"languages": ["el"], "files": "data/{lang}.txt"}}
    assert Plan(validated(datasets=wiki, **{"pretraining_corpus.demo_text_languages": ["vi"]})).demo_text_languages == ["vi"]


def test_retraining_jobs_take_consecutive_subsets_the_last_the_rest():
    assert job_subsets(8, 3) == [range(0, 3), range(3, 6), range(6, 8)]
    assert job_subsets(3, 1) == [range(0, 1), range(1, 2), range(2, 3)] and job_subsets(3, 5) == [range(0, 3)]


def test_lds_plans_the_retrainings_of_each_run_when_asked_for_and_none_otherwise():
    plan = Plan(settings.validate_config(copy.deepcopy(VALIDATION)))
    assert [run.name for run in plan.lds_runs] == ["planted/en/n300_s0", "planted/de/n300_s0"]
    # The validation config retrains all 8 subsets of a run in one job; by default each has its own.
    assert plan.lds_subsets("tiny-bert", "planted/en/n300_s0") == ["results/lds/tiny-bert/planted/en/n300_s0/subsets0-7.parquet"]
    one_each = copy.deepcopy(VALIDATION)
    del one_each["attribution"]["lds"]["subsets_per_job"]
    assert Plan(settings.validate_config(one_each)).lds_subsets("m", "planted/en/n300_s0") == [
        f"results/lds/m/planted/en/n300_s0/subsets{subset}-{subset}.parquet" for subset in range(8)
    ]
    assert plan.lds_tables() == [f"results/lds/tiny-bert/planted/{lang}/n300_s0/lds.parquet" for lang in ("en", "de")]
    assert {"results/report/lds.csv", "results/report/lds_summary.csv", "results/figures/lds.png"} <= set(plan.targets())
    # The selection narrows the attributed runs; without it every attributed run is retrained.
    assert len(Plan(validated(**{"attribution.lds.finetune_languages": None})).lds_runs) == 4
    # A model selection narrows them too.
    both = validated(**{"finetuning.models": ["tiny-bert", "tiny-llama"], "attribution.lds.models": ["tiny-llama"]})
    assert {run.model for run in Plan(both).lds_runs} == {"tiny-llama"}
    off = Plan(validated(**{"attribution.lds": None}))
    assert "lds" not in off.stages and off.lds_runs == [] and off.lds_tables() == []
    assert not any("lds" in target for target in off.targets())
    assert "counterfactual" in off.stages  # the other checks stay


def test_targets_are_the_report_tables_and_figures_with_one_figure_per_model():
    plan = Plan(validated())
    targets = plan.targets()
    assert "results/report/alignment.csv" in targets and "results/report/counterfactual.csv" in targets
    assert "results/report/attribution_top.csv" not in targets  # too large for the report
    assert {f"results/figures/scores_{model}.png" for model in ("tiny-xlmr", "tiny-bert", "tiny-llama")} <= set(targets)
    assert len(targets) == len(set(targets))


def test_a_parallel_source_tables_its_items():
    plan = Plan(validated(**{"datasets.neutral.parallel": True}))
    assert "parallel" in plan.stages
    assert plan.parallel_counts() == ["results/tables/parallel/neutral.parquet"]
    assert "results/report/parallel_items.csv" in plan.targets()


def test_stages_not_asked_for_make_no_tables_or_figures():
    plan = Plan(
        validated(
            attribution=None, hofstede=None,
            **{"datasets.planted.planted_questions": None, "datasets.neutral.control": None, "finetuning.multilingual": False},
        )
    )  # fmt: skip
    assert plan.stages == {"probes", "runs"} and plan.control is None
    assert "results/figures/planted.png" not in plan.targets()
    assert "results/figures/beyond_control.png" not in plan.targets()
    assert "results/report/multilingual_comparison.csv" not in plan.targets()
    assert {"results/report/shift_tests.csv", "results/figures/magnitude_model.png"} <= set(plan.targets())
    assert not any(word in target for target in plan.targets() for word in ("attribution", "counterfactual", "hofstede"))
    without_runs = Plan(validated(attribution=None, hofstede=None, datasets=None, finetuning=None))
    assert without_runs.stages == {"probes"} and without_runs.runs == []
    assert "results/report/shifts.csv" not in without_runs.targets()
    assert without_runs.scores("tiny-bert") == ["results/scores/tiny-bert/base.parquet"]
