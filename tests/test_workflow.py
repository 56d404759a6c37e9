"""End-to-end runs of the Snakemake workflow on small configs, in a temporary working directory:
outputs, reruns after config edits and deleted files, resumption, and the paper-scale plan."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import torch
import yaml
from safetensors.torch import load_file

from valuetrace.arora import sha256
from valuetrace.tables import check_table
from workflow_runs import REPO, job_counts, planned_jobs, planned_outputs, small_config, snakemake

SHIFT_FIGURES = ("cross_language", "flip_rates", "alignment_change", "distinctiveness", "planted", "planted_specificity",
                 "calibration", "beyond_control", "significant_shifts", "magnitude_model", "multilingual_comparison")  # fmt: skip
SHIFT_TABLES = ("shifts", "run_shifts", "cross_language", "distinctiveness", "planted", "shift_tests", "magnitude_model",
                "multilingual_comparison")  # fmt: skip
ATTRIBUTION_FIGURES = ("attribution_languages", "attribution_sources", "attribution_planted", "counterfactual")
ATTRIBUTION_TABLES = ("attribution_checks", "attribution_planted", "attribution_flipped", "counterfactual")
LDS_TABLES = ("lds", "lds_summary")


@pytest.mark.slow
def test_workflow_end_to_end_with_both_mask_conventions_and_a_causal_lm(completed_small_run):
    workdir = completed_small_run.workdir
    kinds = {"tiny-xlmr": "masked", "local-bert": "masked", "tiny-llama": "causal"}
    scores = {model: pl.read_parquet(workdir / f"results/scores/{model}/base.parquet") for model in kinds}
    for model, table in scores.items():
        check_table(table, "scores")
        assert set(table["model_kind"]) == {kinds[model]} and set(table["scoring_method"]) == {"joint"}
        assert set(table["probe_lang"]) == {"en", "de", "ko"}
        assert table.filter(pl.col("probe_set") == "wvs").height == 3 * 27
        assert table.filter(pl.col("probe_set") == "hofstede").height == 3 * 24  # the VSM items in en, de, ko
    alignment = pl.read_parquet(workdir / "results/tables/alignment.parquet")
    check_table(alignment, "alignment")
    # 3 base models in 3 languages, plus 2 datasets x (en, ko, multi) fine-tuned runs of tiny-xlmr.
    assert alignment.height == 3 * 3 + 2 * 3 * 3
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
    # The demo's exact kernel: its features, the gradients themselves, are deleted once scored.
    scored = sorted(path.name for path in (workdir / "results/attribution").glob("*/*/*/*/scores/c*"))
    assert scored == ["c0", "c0", "c0", "c1", "c1", "c1"]  # the start and the last checkpoint of 3 runs
    assert not list((workdir / "results/attribution").glob("*/*/*/*/features/c*"))
    counterfactual = pl.read_parquet(workdir / "results/tables/counterfactual.parquet")
    assert counterfactual.height == 2 * (1 + 3)  # en and ko: top-k and 3 random draws
    # LDS of the English planted run, 3 subsets: every method for each of its English probes
    lds = pl.read_parquet(workdir / "results/tables/lds.parquet")
    check_table(lds, "lds")
    assert lds.height == 3 * (27 + 24) and set(lds["probe_lang"]) == {"en"} and set(lds["subsets"]) == {3}
    summary = pl.read_parquet(workdir / "results/tables/lds_summary.parquet")
    check_table(summary, "lds_summary")
    assert summary["method"].to_list() == ["trak", "token_overlap", "tfidf"]
    assert ((summary["lds_low"] <= summary["lds"]) & (summary["lds"] <= summary["lds_high"])).all()

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
    for figure in ("alignment.png", "human_values.png", "scores_tiny-xlmr.png", "scores_local-bert.png", "scores_tiny-llama.png",
                   "cross_language.png", "flip_rates.png", "planted.png", "distinctiveness.png",
                   "attribution_languages.png", "attribution_planted.png", "counterfactual.png", "lds.png"):
        assert figure in html
    assert "SYNTHETIC" in html


@pytest.mark.slow
def test_changed_scoring_setting_reruns_scoring_and_what_depends_on_it(completed_small_run, tiny_model_dirs):
    changed = small_config(completed_small_run.root, tiny_model_dirs["bert"], "token.yaml", **{"scoring.normalisation": "token"})
    jobs = planned_jobs(completed_small_run.workdir, changed)
    assert jobs.get("score_probes") == 3 + 2 * 3  # the 3 base models and the 6 runs
    assert {"compile_probes", "build_model", "pretraining_corpus", "finetune", "human_values"}.isdisjoint(jobs)
    # pll has no causal counterpart: with the causal LM in the config nothing is planned.
    refused = small_config(completed_small_run.root, tiny_model_dirs["bert"], "pll.yaml", **{"scoring.method": "pll"})
    result = snakemake(completed_small_run.workdir, refused, "--dry-run", check=False)
    assert result.returncode != 0 and "tiny-llama (build.architecture llama) is a causal LM" in result.stdout + result.stderr


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
def test_changed_projection_reruns_only_attribution(completed_small_run, tiny_model_dirs):
    """The exact kernel's features were deleted once scored (temp), and are made again, projected."""
    changed = small_config(completed_small_run.root, tiny_model_dirs["bert"], "proj.yaml", **{"attribution.projection": "random"})
    jobs = planned_jobs(completed_small_run.workdir, changed)
    # 3 planted runs (en, ko, multi) x 2 checkpoints (the start and the last); the counterfactuals
    # read the new top examples, the LDS the new influence (its retrainings do not depend on TRAK and are kept).
    assert jobs["attribution_features"] == 6 and jobs["attribution_scores"] == 6 and jobs["attribution_gather"] == 3
    assert jobs["lds_run"] == 1 and "lds_finetune" not in jobs
    attribution_rules = {"attribution_features", "attribution_scores", "attribution_gather", "attribution_tables",
                         "counterfactual_finetune", "counterfactual", "lds_run", "lds", "all"}
    others = {rule for rule in jobs if rule not in attribution_rules}
    # the attribution, counterfactual and LDS figures and report tables only
    assert others <= {f"figure_{name}" for name in (*ATTRIBUTION_FIGURES, "lds")} | {
        f"report_table_{name}" for name in (*ATTRIBUTION_TABLES, *LDS_TABLES)
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
        **{f"report_table_{name}": 1 for name in ("human_values", "survey_coverage", "alignment", "probe_alignment", "paper_subset", *SHIFT_TABLES)},
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
        # the run is attributed: its scores at both checkpoints (the start and the last; their
        # exact-kernel features were deleted once scored, so they are made again), its summary, its counterfactuals
        "attribution_features": 2,
        "attribution_scores": 2,
        "attribution_gather": 1,
        "attribution_tables": 1,
        "counterfactual_finetune": 1,  # top-k and 3 random removals
        "counterfactual": 1,
        **{f"figure_{name}": 1 for name in ATTRIBUTION_FIGURES},
        # and its LDS (the targets' shifts are read again; the retrainings on subsets are kept)
        "lds_run": 1,
        "lds": 1,
        "figure_lds": 1,
        "hofstede": 1,  # the VSM probes are scored in every run too
        "figure_hofstede": 1,
        # all report tables but the probes, the human values and the paper subset
        **{f"report_table_{name}": 1 for name in ("alignment", "probe_alignment", *SHIFT_TABLES, *ATTRIBUTION_TABLES,
                                                  *LDS_TABLES, "hofstede_indices", "hofstede_alignment")},
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


def test_config_without_attribution_counterfactual_or_lds_plans_none_of_them(tmp_path):
    config = yaml.safe_load(small_config(tmp_path, tmp_path).read_text())
    # 3 LDS subsets, two to a job and the last alone
    assert planned_jobs(tmp_path / "run", small_config(tmp_path, tmp_path))["lds_finetune"] == 2
    del config["attribution"]["counterfactual"]
    del config["attribution"]["lds"]
    (tmp_path / "no_counterfactual.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(tmp_path / "run", tmp_path / "no_counterfactual.yaml")
    # 3 attributed runs, each at the model fine-tuning started from and its last checkpoint
    assert jobs["attribution_features"] == 6 and not any(rule.startswith(("counterfactual", "lds")) for rule in jobs)
    del config["attribution"]
    (tmp_path / "no_attribution.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(tmp_path / "run", tmp_path / "no_attribution.yaml")
    assert jobs["finetune"] == 6 and not any(rule.startswith(("attribution", "counterfactual", "lds")) for rule in jobs)


def test_paper_config_plans_the_whole_grid_without_network_or_data(tmp_path):
    """`snakemake --configfile config/paper.yaml -n` on a machine without the hub and the data."""
    (tmp_path / "config").symlink_to(REPO / "config")  # the config's paths are relative to the working directory
    plan = snakemake(tmp_path, REPO / "config" / "paper.yaml", "--dry-run")
    warnings = plan.stdout + plan.stderr
    assert "config key 'survey.path'" in warnings and "config key 'hofstede.scores'" in warnings  # warnings, no error

    languages = ["bn", "de", "el", "fa", "id", "ko", "ms", "ro", "sr", "tl", "tr", "ur", "vi"]
    models = ["xlmr-base", "mbert"]
    datasets = ["wiki", "bible", "tanzil", "news-left", "news-centre", "news-right"]
    sizes, seeds = [2000, 10000], [0, 1, 2]
    monolingual = list(itertools.product(models, datasets, languages, sizes, seeds))
    # the paper's multilingual runs: 2,500 multi-parallel verses per language of each parallel source
    multi_parallel = list(itertools.product(models, ["bible", "tanzil"], ["multi"], [2500], seeds))
    runs = monolingual + multi_parallel
    assert len(runs) == 936 + 12
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
    assert "results/data/bible/multi/n2500.parquet" in planned_outputs(plan.stdout, "subsample")
    assert job_counts(plan.stdout) == {
        "arora_release": 1,  # Arora et al.'s published probes, fetched
        "compile_probes": 1,
        "human_values": 1,
        "paper_subset": 1,
        "hofstede": 1,
        "figure_hofstede": 1,
        "prepare_source": 6 * 13,
        "align_parallel": 2,  # bible and tanzil cut to the verses all 13 languages have
        "parallel_items": 1,
        "subsample": 6 * 13 * 2 + 2,
        "finetune": 948,
        "run_disk": 1,  # the disk every run takes
        "score_probes": 950,
        "alignment": 1,
        "shifts": 1,
        "figure_scores": 2,
        "figure_alignment": 1,
        "figure_human_values": 1,
        # no planting source, no control source
        **{f"figure_{name}": 1 for name in SHIFT_FIGURES if name not in ("planted", "planted_specificity", "calibration", "beyond_control")},
        # TRAK on the seed-0 runs of size 2000 (2 models x 6 sources x 13 languages) and the
        # 4 multilingual ones of seed 0, at the model their fine-tuning started from
        "attribution_features": 160,
        "attribution_scores": 160,
        "attribution_gather": 160,
        "attribution_tables": 1,
        # one job for each of the 156 monolingual ones: top-k and 3 random removals
        "counterfactual_finetune": 156,
        "counterfactual": 1,
        **{f"figure_{name}": 1 for name in ATTRIBUTION_FIGURES},
        **{f"report_table_{name}": 1 for name in ("probes", "human_values", "survey_coverage", "alignment", "probe_alignment", "paper_subset",
                                                  "parallel_items", "run_disk", *SHIFT_TABLES, *ATTRIBUTION_TABLES, "hofstede_indices",
                                                  "hofstede_alignment")},
        "all": 1,
    }
    assert sum(job_counts(plan.stdout).values()) == 2822
    # Models by hub name are loaded from the name: nothing is built here (no build_model job).


def start_and_kill(workdir: Path, config: Path, target: str, work: Path, whole_group: bool) -> list[int]:
    """Start Snakemake on ``target``, SIGKILL it (with its job, or alone) once a checkpoint is saved;
    returns the checkpoints saved by then. A job that outlives Snakemake is left stopped (SIGSTOP),
    so that its rerun surely finds it still training; the caller continues it."""
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
        "--configfile", str(config), "--cores", "2", target,
    ]  # fmt: skip
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while not list(work.glob("checkpoint-*/trainer_state.json")) and time.time() < deadline and first.poll() is None:
        time.sleep(0.1)
    if whole_group:
        os.killpg(first.pid, signal.SIGKILL)
    else:
        first.send_signal(signal.SIGKILL)  # the job goes on, orphaned, as after a lost login session
        os.kill(orphan_pid(work), signal.SIGSTOP)
    first.wait()
    return sorted(int(p.name.split("-")[1]) for p in work.glob("checkpoint-*"))


def orphan_pid(work: Path) -> int:
    """The process that holds the lock of the run in ``work`` (finetune writes its PID there)."""
    return int(work.with_name(f"{work.name}.lock").read_text())


def wait_for(path: Path, text: str, process: subprocess.Popen) -> None:
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{path} never said {text!r}")


@pytest.mark.slow
def test_killed_workflow_neither_loses_nor_changes_fine_tuning(tmp_path):
    """SIGKILL of Snakemake mid fine-tuning, then --unlock and a rerun, two ways:
    - Snakemake and its job killed: the rerun resumes from the last checkpoint;
    - Snakemake alone killed: its job trains on, orphaned; the rerun waits for it and keeps its output.
    Either way every checkpoint is there, and both end with the same weights (the orphan was never
    interrupted, so the resumed run equals an uninterrupted one)."""
    config = small_config(
        tmp_path, tmp_path,
        **{"finetuning.sizes": [60], "finetuning.epochs": 3, "finetuning.batch_size": 1, "finetuning.checkpoints": 6},
    )  # fmt: skip
    target = "results/finetuned/tiny-xlmr/neutral/en/n60_s0"
    runs = {}
    for scenario, whole_group in (("resumed", True), ("orphaned", False)):
        workdir = tmp_path / scenario
        work = workdir / "results/work/finetune/tiny-xlmr/neutral/en/n60_s0"
        log = workdir / "results/logs/finetune/tiny-xlmr/neutral/en/n60_s0.log"
        saved = start_and_kill(workdir, config, target, work, whole_group)
        assert saved and saved[-1] < 180, "fine-tuning should have been killed mid-run"
        snakemake(workdir, config, "--unlock", target)
        assert planned_jobs(workdir, config, target) == {"finetune": 1}  # its data was prepared before the kill
        if whole_group:
            snakemake(workdir, config, target)
            assert f"resuming from checkpoint-{saved[-1]}" in log.read_text()
        else:
            orphan = orphan_pid(work)
            rerun = subprocess.Popen(
                [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
                 "--configfile", str(config), "--cores", "2", target],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            wait_for(log, f"process {orphan} is still training this run", rerun)
            os.kill(orphan, signal.SIGCONT)
            output, _ = rerun.communicate(timeout=600)
            assert rerun.returncode == 0, output[-3000:]
            assert "an earlier attempt finished this run" in log.read_text()
        steps = sorted(int(p.name.split("-")[1]) for p in (workdir / target / "checkpoints").iterdir())
        assert steps == [30, 60, 90, 120, 150, 180]
        runs[scenario] = load_file(workdir / target / "model" / "model.safetensors")
    assert runs["resumed"].keys() == runs["orphaned"].keys()
    assert all(torch.equal(runs["resumed"][name], runs["orphaned"][name]) for name in runs["resumed"])


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
