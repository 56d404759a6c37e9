"""The validation run (config/validation.yaml over the demo config), from scratch as CI runs it:
the demo's findings, as the README states them, hold on it, and its LDS is complete.

It makes only what the tests read (TARGETS) and every job that leads to them, with the demo's
settings (all three models are still built and scored: the shifts table reads the alignment of
every base model); the figures and the report's tables are left to the small run of the
workflow tests, which draws every figure with the same code. About 6 to 11 minutes on 2 cores:
the README demo's models, fine-tuning, attribution and counterfactual plus 16 LDS retrainings."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
import yaml

from workflow_runs import REPO, planned_jobs, snakemake

CONFIGS = ("config/config.yaml", "config/validation.yaml")
TABLES = ("planted", "shift_tests", "attribution_planted", "attribution_checks", "counterfactual", "lds_summary")
TARGETS = (*(f"results/tables/{name}.parquet" for name in TABLES), "results/figures/lds.png", "results/models/tiny-llama")


@pytest.fixture(scope="module")
def validation_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("validation")
    shutil.copytree(REPO / "config", workdir / "config")  # the configs' paths are relative to the working directory
    snakemake(workdir, workdir / CONFIGS[0], *TARGETS, *configfiles(workdir))
    return workdir


def configfiles(workdir) -> list[str]:
    """The demo config with the validation config merged over it (a later --configfile replaces the helper's)."""
    return ["--configfile", *(str(workdir / name) for name in CONFIGS)]


def table(workdir, name: str) -> pl.DataFrame:
    return pl.read_parquet(workdir / "results" / "tables" / f"{name}.parquet")


@pytest.mark.slow
def test_the_validation_run_reproduces_the_demos_findings(validation_run):
    workdir = validation_run
    assert planned_jobs(workdir, workdir / CONFIGS[0], *TARGETS, *configfiles(workdir)) == {}
    # Every planted question moves towards option A beyond every other question of each language
    # its run was trained on, beyond seed noise and beyond the control source.
    planted = table(workdir, "planted").filter(pl.col("in_language"))
    assert planted.height == 2 * 3 * (3 + 3)  # 2 seeds x 3 questions x (3 monolingual runs + multi in 3 languages)
    assert planted["towards_a_beyond_others"].all(), planted.filter(~pl.col("towards_a_beyond_others"))
    # So does what the planting added beyond the control run (the specificity beyond the control).
    assert planted["beyond_others_over_control"].all(), planted.filter(~pl.col("beyond_others_over_control"))
    run_languages = ["en", "de", "ko"]
    tests = table(workdir, "shift_tests").filter(
        (pl.col("dataset") == "planted") & pl.col("planted")
        & ((pl.col("probe_lang") == pl.col("finetune_lang")) | ((pl.col("finetune_lang") == "multi") & pl.col("probe_lang").is_in(run_languages)))
    )  # fmt: skip
    assert tests.height == 3 * (3 + 3) and tests["seed_significant"].all() and tests["control_significant"].all()
    # TRAK (output bias) ranks each planted question's own planting sentences first; copies find themselves.
    precision = table(workdir, "attribution_planted").filter(pl.col("in_language"))
    assert precision.height == 3 * (3 + 3) and precision["precision"].min() >= 0.8
    assert table(workdir, "attribution_checks")["passed"].all()
    # Removing the top 25 undoes at least half of each target's shift; 25 random examples at most a
    # tenth (the bar; retrained in the run's own batches, so a new data order adds nothing).
    # So does removing every sentence planted for the target's question, and removing those
    # planted for the other questions does not: the sentences precision counts are the causes.
    # The targets are planted questions (attribution.counterfactual.targets: planted), one per run.
    retrained = table(workdir, "counterfactual")
    planted_questions = yaml.safe_load((REPO / CONFIGS[0]).read_text())["datasets"]["planted"]["planted_questions"]
    targets = retrained.select("finetune_lang", "question_id").unique()
    assert targets.height == len(run_languages) and set(targets["question_id"]) <= set(planted_questions), targets
    counterfactual = retrained.group_by("finetune_lang", "removal").agg(pl.col("fraction_undone").mean())
    undone = {(row["finetune_lang"], row["removal"]): row["fraction_undone"] for row in counterfactual.iter_rows(named=True)}
    for lang in run_languages:
        assert undone[lang, "top"] >= 0.5 and undone[lang, "random"] <= 0.10 and undone[lang, "top"] - undone[lang, "random"] >= 0.4, undone
        assert undone[lang, "planted"] >= 0.5 and undone[lang, "other_planted"] <= 0.35, undone
        assert undone[lang, "planted"] - undone[lang, "other_planted"] >= 0.4, undone
    # The LDS of the English and German runs, for TRAK and both baselines, with intervals.
    summary = table(workdir, "lds_summary")
    assert sorted(summary["finetune_lang"].unique()) == ["de", "en"] and set(summary["method"]) == {"trak", "token_overlap", "tfidf"}
    assert ((summary["lds_low"] <= summary["lds"]) & (summary["lds"] <= summary["lds_high"])).all()
    # Each baseline's row gives TRAK's paired advantage over it, with its interval; TRAK's own row none.
    baselines = summary.filter(pl.col("method") != "trak")
    assert baselines["trak_minus_method"].null_count() == 0 and summary.filter(pl.col("method") == "trak")["trak_minus_method"].is_null().all()
    assert ((baselines["trak_minus_method_low"] <= baselines["trak_minus_method"]) & (baselines["trak_minus_method"] <= baselines["trak_minus_method_high"])).all()
    assert (workdir / "results" / "figures" / "lds.png").exists()


@pytest.mark.slow
def test_the_demos_causal_lm_keeps_the_planted_options_whole_enough_to_attribute(validation_run):
    """README, "Causal language models": with 2,000 pieces the tiny Llama split each planted option
    into four or five pieces that A and B mostly shared, and attribution failed; its 8,000 keep
    them to one or two in English and German."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(validation_run / "results" / "models" / "tiny-llama")
    planted = yaml.safe_load((REPO / CONFIGS[0]).read_text())["datasets"]["planted"]["planted_questions"]
    probes = pl.read_parquet(validation_run / "results" / "probes" / "probes.parquet").filter(
        pl.col("question_id").is_in(planted), pl.col("probe_lang").is_in(["en", "de"])
    )
    assert probes.height == 2 * len(planted)
    pieces = {(row["probe_lang"], option): len(tokenizer.tokenize(" " + option)) for row in probes.iter_rows(named=True) for option in (row["option_a"], row["option_b"])}
    assert max(pieces.values()) <= 2, pieces
