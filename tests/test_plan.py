"""What a config asks the workflow for (valuetrace.plan): stages, runs, figures, tables, targets."""

from __future__ import annotations

from test_settings import validated
from valuetrace.plan import Plan


def test_demo_plan_activates_every_stage():
    plan = Plan(validated())
    assert plan.stages == {"probes", "runs", "planted", "control", "multilingual", "attribution", "counterfactual", "hofstede"}
    # 1 model x 2 datasets x (3 languages + multi) x 2 sizes x 2 seeds
    assert len(plan.runs) == 32
    assert plan.control == "neutral"
    assert {run.name for run in plan.attributed_runs} == {f"planted/{lang}/n300_s0" for lang in ("en", "de", "ko", "multi")}
    assert len(plan.counterfactual_runs) == 3
    assert plan.planted == {"planted": ["Q46", "Q49", "Q254"]}
    assert len(plan.counterfactual_rows()) == 3 * (1 + 3)
    assert plan.run_languages("planted", "multi") == ["en", "de", "ko"] and plan.run_languages("planted", "de") == ["de"]


def test_targets_are_the_report_tables_and_figures_with_one_figure_per_model():
    plan = Plan(validated())
    targets = plan.targets()
    assert "results/report/alignment.csv" in targets and "results/report/counterfactual.csv" in targets
    assert "results/report/attribution_top.csv" not in targets  # too large for the report
    assert {"results/figures/scores_tiny-xlmr.png", "results/figures/scores_tiny-bert.png"} <= set(targets)
    assert len(targets) == len(set(targets))


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
