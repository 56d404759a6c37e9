"""End-to-end runs of the Snakemake workflow on small configs, in a temporary working directory:
outputs, reruns after config edits and deleted files, resumption, and the paper-scale plan."""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from valuetrace.arora import sha256
from valuetrace.tables import check_table
from workflow_runs import REPO, job_counts, planned_jobs, planned_outputs, small_config, snakemake

SHIFT_FIGURES = ("cross_language", "flip_rates", "alignment_change", "distinctiveness", "planted", "beyond_control",
                 "significant_shifts", "magnitude_model", "multilingual_comparison")  # fmt: skip
SHIFT_TABLES = ("shifts", "run_shifts", "cross_language", "distinctiveness", "planted", "shift_tests", "magnitude_model",
                "multilingual_comparison")  # fmt: skip
ATTRIBUTION_FIGURES = ("attribution_languages", "attribution_sources", "attribution_planted", "counterfactual")
ATTRIBUTION_TABLES = ("attribution_checks", "attribution_planted", "attribution_flipped", "counterfactual")


@pytest.mark.slow
def test_workflow_end_to_end_with_both_mask_conventions(completed_small_run):
    workdir = completed_small_run.workdir
    scores = {model: pl.read_parquet(workdir / f"results/scores/{model}/base.parquet") for model in ("tiny-xlmr", "local-bert")}
    for table in scores.values():
        check_table(table, "scores")
        assert set(table["probe_lang"]) == {"en", "de", "ko"}
        assert table.filter(pl.col("probe_set") == "wvs").height == 3 * 27
        assert table.filter(pl.col("probe_set") == "hofstede").height == 3 * 24  # the VSM items in en, de, ko
    alignment = pl.read_parquet(workdir / "results/tables/alignment.parquet")
    check_table(alignment, "alignment")
    # Base models in 3 languages, plus 2 datasets x (en, ko, multi) fine-tuned runs of tiny-xlmr.
    assert alignment.height == 2 * 3 + 2 * 3 * 3
    shifts = pl.read_parquet(workdir / "results/tables/shifts.parquet")
    check_table(shifts, "shifts")
    assert shifts.height == 2 * 3 * 3 * 27
    assert set(shifts["finetune_lang"]) == {"en", "ko", "multi"}
    run_dir = workdir / "results/finetuned/tiny-xlmr/planted/ko/n30_s0"
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step-1", "step-2"]
    assert not (workdir / "results/work").exists() or not any((workdir / "results/work").rglob("checkpoint-*"))
    assert alignment["survey_data"].str.contains("synthetic").all()
    assert ((alignment["agreement_low"] <= alignment["agreement"]) & (alignment["agreement"] <= alignment["agreement_high"])).all()

    for name in ("attribution_top", "attribution_groups", "attribution_checks", "attribution_planted", "counterfactual"):
        check_table(pl.read_parquet(workdir / f"results/tables/{name}.parquet"), name)
    checks = pl.read_parquet(workdir / "results/tables/attribution_checks.parquet")
    assert checks.height == 3 * 8 and checks["passed"].all()  # the self-check of the 3 planted runs
    counterfactual = pl.read_parquet(workdir / "results/tables/counterfactual.parquet")
    assert counterfactual.height == 2 * (1 + 3)  # en and ko: top-k and 3 random draws

    assert planned_jobs(workdir, completed_small_run.config) == {}


@pytest.mark.slow
def test_every_job_writes_its_log_and_benchmark(completed_small_run):
    workdir = completed_small_run.workdir
    logs = {path.relative_to(workdir / "results/logs").with_suffix("") for path in (workdir / "results/logs").rglob("*.log")}
    benchmarks = {path.relative_to(workdir / "results/benchmarks").with_suffix("") for path in (workdir / "results/benchmarks").rglob("*.tsv")}
    assert logs == benchmarks and len(logs) > 60
    assert "valuetrace.probes" in (workdir / "results/logs/compile_probes.log").read_text()  # the library's log messages
    assert "scoring" in (workdir / "results/logs/score_probes/tiny-xlmr/base.log").read_text()  # its progress bar


@pytest.mark.slow
def test_report_holds_every_figure_and_names_the_synthetic_survey(completed_small_run):
    html = completed_small_run.report.read_text()
    for figure in ("alignment.png", "human_values.png", "scores_tiny-xlmr.png", "scores_local-bert.png",
                   "cross_language.png", "flip_rates.png", "planted.png", "distinctiveness.png",
                   "attribution_languages.png", "attribution_planted.png", "counterfactual.png"):
        assert figure in html
    assert "SYNTHETIC" in html


@pytest.mark.slow
def test_changed_scoring_method_reruns_scoring_and_what_depends_on_it(completed_small_run, tiny_model_dirs):
    changed = small_config(completed_small_run.root, tiny_model_dirs["bert"], "pll.yaml", **{"scoring.method": "pll"})
    jobs = planned_jobs(completed_small_run.workdir, changed)
    assert jobs.get("score_probes") == 2 + 2 * 3
    assert {"compile_probes", "build_model", "pretraining_corpus", "finetune", "human_values"}.isdisjoint(jobs)


@pytest.mark.slow
def test_edited_probe_file_reruns_the_probe_table(completed_small_run):
    """An edited file, not just a new file in the folder, reruns the probe table and what follows."""
    german = completed_small_run.root / "probes" / "de.tsv"
    original = german.read_text(encoding="utf-8")
    german.write_text(original.replace("wichtig", "bedeutend", 1), encoding="utf-8")
    try:
        assert planned_jobs(completed_small_run.workdir, completed_small_run.config).get("compile_probes") == 1
    finally:
        german.write_text(original, encoding="utf-8")


@pytest.mark.slow
def test_changed_dataset_setting_reruns_only_that_dataset(completed_small_run, tiny_model_dirs):
    changed = small_config(completed_small_run.root, tiny_model_dirs["bert"], "neutral_seed.yaml", **{"datasets.neutral.generate.seed": 99})
    jobs = planned_jobs(completed_small_run.workdir, changed)
    assert jobs["generate_source"] == 2 and jobs["finetune"] == 3 and jobs["score_probes"] == 3
    assert {"build_model", "compile_probes", "pretraining_corpus"}.isdisjoint(jobs)
    outputs = planned_outputs(snakemake(completed_small_run.workdir, changed, "--dry-run").stdout, "finetune")
    assert len(outputs) == 3 and all("/neutral/" in output for output in outputs)  # no run of the other dataset


@pytest.mark.slow
def test_changed_projection_dimension_reruns_only_attribution(completed_small_run, tiny_model_dirs):
    changed = small_config(completed_small_run.root, tiny_model_dirs["bert"], "proj.yaml", **{"attribution.proj_dim": 32})
    jobs = planned_jobs(completed_small_run.workdir, changed)
    # 3 planted runs (en, ko, multi) x 2 checkpoints; the counterfactuals read the new top examples.
    assert jobs["attribution_features"] == 6 and jobs["attribution_scores"] == 6 and jobs["attribution_gather"] == 3
    attribution_rules = {"attribution_features", "attribution_scores", "attribution_gather", "attribution_tables",
                         "counterfactual_finetune", "counterfactual", "all"}
    others = {rule for rule in jobs if rule not in attribution_rules}
    # the attribution and counterfactual figures and report tables only
    assert others <= {f"figure_{name}" for name in ("attribution_languages", "attribution_sources", "attribution_planted", "counterfactual")} | {
        f"report_table_{name}" for name in ("attribution_checks", "attribution_planted", "attribution_flipped", "counterfactual")
    }, jobs


@pytest.mark.slow
def test_changed_country_of_one_language_reruns_only_the_survey_side(completed_small_run, tiny_model_dirs):
    """German compared with Austria instead of Germany: no model is scored or trained again."""
    changed = small_config(completed_small_run.root, tiny_model_dirs["bert"], "austria.yaml", **{"countries.de": "AUT"})
    assert planned_jobs(completed_small_run.workdir, changed) == {
        "synthetic_survey": 1,  # its countries changed (with a real WVS file there is no such job)
        "human_values": 1,
        "paper_subset": 1,  # which probes have human values in every country
        "alignment": 1,
        "shifts": 1,  # the direction of a shift is towards or away from the human choice
        "figure_alignment": 1,
        "figure_human_values": 1,
        **{f"figure_{name}": 1 for name in SHIFT_FIGURES},
        # every report table that holds survey numbers
        **{f"report_table_{name}": 1 for name in ("human_values", "alignment", "probe_alignment", "paper_subset", *SHIFT_TABLES)},
        "all": 1,
    }


@pytest.mark.slow
def test_deleted_intermediate_is_recomputed_with_its_downstream_on_request(completed_small_run):
    """What Snakemake 9 does when one intermediate file is deleted while everything after it is up to date.

    A plain rerun does nothing: no target is missing or older than its inputs, and Snakemake
    does not recreate an intermediate file that no outdated job needs. ``--forcerun FILE``
    (what README.md recommends) recreates it and reruns everything downstream of it, nothing
    upstream. Asking for the file as a target recreates it alone; what reads it reruns only if
    its content changed (Snakemake compares checksums of inputs newer than their outputs).
    """
    workdir, config = completed_small_run.workdir, completed_small_run.config
    deleted = "results/scores/tiny-xlmr/planted/en/n30_s0.parquet"
    (workdir / deleted).unlink()

    assert planned_jobs(workdir, config) == {}
    listing = snakemake(workdir, config, "--dry-run", "--forcerun", deleted).stdout
    assert job_counts(listing) == {
        "score_probes": 1,
        "alignment": 1,
        "shifts": 1,
        "figure_alignment": 1,
        **{f"figure_{name}": 1 for name in SHIFT_FIGURES},
        # the run is attributed: its scores at both checkpoints, its summary, its counterfactuals
        "attribution_scores": 2,
        "attribution_gather": 1,
        "attribution_tables": 1,
        "counterfactual_finetune": 1 + 3,
        "counterfactual": 1,
        **{f"figure_{name}": 1 for name in ATTRIBUTION_FIGURES},
        "hofstede": 1,  # the VSM probes are scored in every run too
        "figure_hofstede": 1,
        # all report tables but the probes, the human values and the paper subset
        **{f"report_table_{name}": 1 for name in ("alignment", "probe_alignment", *SHIFT_TABLES, *ATTRIBUTION_TABLES,
                                                  "hofstede_indices", "hofstede_alignment")},
        "all": 1,
    }
    assert planned_outputs(listing, "score_probes") == [deleted]

    assert planned_jobs(workdir, config, deleted) == {"score_probes": 1}
    snakemake(workdir, config, deleted)
    assert (workdir / deleted).exists()
    assert planned_jobs(workdir, config) == {}  # scoring is deterministic: the same file again


def test_missing_data_files_are_planned_with_a_warning_and_fail_the_job_that_reads_them(tmp_path):
    config = small_config(tmp_path, tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["survey"] = {"path": str(tmp_path / "WVS7.csv")}
    settings["datasets"]["wiki"] = {"languages": ["en", "ko"], "files": str(tmp_path / "wiki" / "{lang}.txt")}
    config.write_text(yaml.safe_dump(settings))
    workdir = tmp_path / "run"

    plan = snakemake(workdir, config, "--dry-run")
    warnings = plan.stdout + plan.stderr
    assert "config key 'survey.path'" in warnings and "config key 'datasets.wiki.files'" in warnings
    assert job_counts(plan.stdout)["human_values"] == 1
    assert len(planned_outputs(plan.stdout, "prepare_source")) == 2 + 2 + 2  # wiki's en and ko among them

    result = snakemake(workdir, config, "results/tables/human_values.parquet", check=False)
    assert result.returncode != 0
    assert "does not exist (config key survey.path)" in result.stdout + result.stderr
    assert not (workdir / "results/tables/human_values.parquet").exists()


def test_config_without_attribution_or_counterfactual_plans_neither(tmp_path):
    config = yaml.safe_load(small_config(tmp_path, tmp_path).read_text())
    del config["attribution"]["counterfactual"]
    (tmp_path / "no_counterfactual.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(tmp_path / "run", tmp_path / "no_counterfactual.yaml")
    assert jobs["attribution_features"] == 6 and "counterfactual_finetune" not in jobs
    del config["attribution"]
    (tmp_path / "no_attribution.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(tmp_path / "run", tmp_path / "no_attribution.yaml")
    assert jobs["finetune"] == 6 and not any(rule.startswith(("attribution", "counterfactual")) for rule in jobs)


def test_paper_config_plans_the_whole_grid_without_network_or_data(tmp_path):
    """`snakemake --configfile config/paper.yaml -n` on a machine without the hub and the data."""
    (tmp_path / "config").symlink_to(REPO / "config")  # the config's paths are relative to the working directory
    plan = snakemake(tmp_path, REPO / "config" / "paper.yaml", "--dry-run")
    warnings = plan.stdout + plan.stderr
    assert "config key 'survey.path'" in warnings and "config key 'hofstede.scores'" in warnings  # warnings, no error

    languages = ["bn", "de", "el", "fa", "id", "ko", "ms", "ro", "sr", "tl", "tr", "ur", "vi"]
    models = ["xlmr-base", "mbert"]
    datasets = ["wiki", "bible", "quran", "news"]
    sizes, seeds = [2000, 10000], [0, 1, 2]
    runs = list(itertools.product(models, datasets, [*languages, "multi"], sizes, seeds))
    assert len(runs) == 672
    assert sorted(planned_outputs(plan.stdout, "finetune")) == sorted(
        f"results/finetuned/{model}/{dataset}/{lang}/n{size}_s{seed}" for model, dataset, lang, size, seed in runs
    )
    assert sorted(planned_outputs(plan.stdout, "score_probes")) == sorted(
        [f"results/scores/{model}/base.parquet" for model in models]
        + [f"results/scores/{model}/{dataset}/{lang}/n{size}_s{seed}.parquet" for model, dataset, lang, size, seed in runs]
    )
    assert sorted(planned_outputs(plan.stdout, "prepare_source")) == sorted(
        f"results/data/{dataset}/{lang}.parquet" for dataset in datasets for lang in languages
    )
    assert job_counts(plan.stdout) == {
        "arora_release": 1,  # Arora et al.'s published probes, fetched
        "compile_probes": 1,
        "human_values": 1,
        "paper_subset": 1,
        "hofstede": 1,
        "figure_hofstede": 1,
        "prepare_source": 4 * 13,
        "subsample": 4 * 14 * 2,
        "finetune": 672,
        "score_probes": 674,
        "alignment": 1,
        "shifts": 1,
        "figure_scores": 2,
        "figure_alignment": 1,
        "figure_human_values": 1,
        # no planting source, no control source
        **{f"figure_{name}": 1 for name in SHIFT_FIGURES if name not in ("planted", "beyond_control")},
        # TRAK on the seed-0 runs of size 2000: 2 models x 4 sources x 14 languages, 3 checkpoints
        "attribution_features": 112 * 3,
        "attribution_scores": 112 * 3,
        "attribution_gather": 112,
        "attribution_tables": 1,
        # for the 104 monolingual ones: top-k and 3 random removals
        "counterfactual_finetune": 104 * (1 + 3),
        "counterfactual": 1,
        **{f"figure_{name}": 1 for name in ATTRIBUTION_FIGURES},
        **{f"report_table_{name}": 1 for name in ("probes", "human_values", "alignment", "probe_alignment", "paper_subset",
                                                  *SHIFT_TABLES, *ATTRIBUTION_TABLES, "hofstede_indices", "hofstede_alignment")},
        "all": 1,
    }
    # Models by hub name are loaded from the name: nothing is built here (no build_model job).


@pytest.mark.slow
def test_killed_workflow_resumes_fine_tuning_from_its_checkpoint(tmp_path):
    """Kill Snakemake (and its job) mid fine-tuning; the rerun continues from the last checkpoint."""
    import os
    import signal
    import time

    workdir = tmp_path / "run"
    config = small_config(
        tmp_path, tmp_path,
        **{"finetuning.sizes": [60], "finetuning.epochs": 3, "finetuning.batch_size": 1, "finetuning.checkpoints": 6},
    )  # fmt: skip
    target = "results/finetuned/tiny-xlmr/neutral/en/n60_s0"
    work = workdir / "results/work/finetune/tiny-xlmr/neutral/en/n60_s0"
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(config), "--cores", "2", target,
    ]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not list(work.glob("checkpoint-*/trainer_state.json")) and time.time() < deadline and first.poll() is None:
        time.sleep(0.1)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    saved = sorted(int(p.name.split("-")[1]) for p in work.glob("checkpoint-*"))
    assert saved and saved[-1] < 180, "fine-tuning should have been killed mid-run"

    snakemake(workdir, config, "--unlock", target)
    assert planned_jobs(workdir, config, target) == {"finetune": 1}  # its data was prepared before the kill
    snakemake(workdir, config, target)
    log = (workdir / "results/logs/finetune/tiny-xlmr/neutral/en/n60_s0.log").read_text()
    assert f"resuming from checkpoint-{saved[-1]}" in log
    steps = sorted(int(p.name.split("-")[1]) for p in (workdir / target / "checkpoints").iterdir())
    assert steps[-1] == 180 and len(steps) == 6


@pytest.mark.slow
def test_arora_release_end_to_end_with_hofstede(tmp_path, tiny_model_dirs):
    """Arora et al.'s release (here the fixture in its layout) fetched by URL, keyed, compared with the
    survey and with Hofstede's dimensions; the report shows both."""
    from test_arora import release_zip

    archive = release_zip(tmp_path)
    config = yaml.safe_load(small_config(tmp_path, tiny_model_dirs["bert"]).read_text())
    for section in ("datasets", "finetuning", "attribution", "pretraining_corpus"):
        config.pop(section)
    config["models"] = {"local-bert": {"source": str(tiny_model_dirs["bert"])}}
    config["probes"] = {
        "source": "arora",
        "arora": {"url": archive.as_uri(), "sha256": sha256(archive)},
        "format": "arora",
        "key": str(REPO / "config/probes/wvs7_key.tsv"),
        "exclusions": str(REPO / "config/probes/arora_excluded.tsv"),
        "skip_defective_rows": True,
        "paper_subset": True,
    }
    config["hofstede"] = {
        "key": str(REPO / "config/probes/hofstede_key.tsv"),
        "countries": {"en": "USA", "de": "DEU", "ko": "KOR"},
        "synthetic": {"seed": 5},
    }
    path = tmp_path / "arora.yaml"
    path.write_text(yaml.safe_dump(config))
    workdir = tmp_path / "run"
    snakemake(workdir, path)
    snakemake(workdir, path, "--report", str(workdir / "report.html"))

    probes = pl.read_parquet(workdir / "results/probes/probes.parquet")
    wvs = probes.filter(pl.col("probe_set") == "wvs")
    assert set(wvs["probe_lang"]) == {"en", "de", "ko"}
    assert {"Q130a", "Q130d", "Q56", "Q106b"} <= set(wvs["probe_id"])
    assert "Q152a" not in set(wvs["probe_id"]) and "Q18" not in set(wvs["probe_id"])  # no option B; excluded
    log = (workdir / "results/logs/compile_probes.log").read_text()
    assert "option B is missing" in log and "published probe excluded" in log
    assert probes.filter(pl.col("probe_set") == "hofstede").height == 3 * 24

    humans = pl.read_parquet(workdir / "results/tables/human_values.parquet")
    assert set(humans.filter(pl.col("probe_id").is_in(["Q130a", "Q130d"]))["kind"]) == {"category"}
    assert humans.height == wvs.height  # one human value per probe and language's country
    subset = pl.read_parquet(workdir / "results/tables/paper_subset.parquet")
    assert subset["in_subset"].all() and subset.height == wvs["probe_id"].n_unique()
    alignment = pl.read_parquet(workdir / "results/tables/alignment.parquet")
    assert set(alignment["n_probes"]) == {wvs["probe_id"].n_unique()}

    indices = pl.read_parquet(workdir / "results/tables/hofstede_indices.parquet")
    assert indices.height == 3 * 6 and indices["index"].null_count() == 0
    agreement = pl.read_parquet(workdir / "results/tables/hofstede_alignment.parquet")
    assert set(agreement["n_languages"]) == {3} and agreement["scores_data"].str.contains("SYNTHETIC").all()
    html = (workdir / "report.html").read_text()
    assert "hofstede.png" in html and "Hofstede dimensions" in html
