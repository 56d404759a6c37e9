"""End-to-end runs of the Snakemake workflow on small configs, in a temporary working directory."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml

from valuetrace.tables import check_table

REPO = Path(__file__).resolve().parent.parent


def snakemake(workdir: Path, config: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir),
        "--configfile", str(config),
        "--cores", "2",
        *args,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def planned_jobs(workdir: Path, config: Path) -> dict[str, int]:
    """Rule -> number of jobs that a dry run would execute (empty when nothing is to be done)."""
    output = snakemake(workdir, config, "--dry-run").stdout
    if "Job stats:" not in output:
        return {}
    table = output.split("Job stats:", 1)[1]
    jobs = {}
    for line in table.splitlines()[3:]:
        match = re.fullmatch(r"(\S+)\s+(\d+)", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def small_config(tmp_path: Path, bert_dir: Path, **changes) -> Path:
    """The demo config cut down to three languages, a short build and a local BERT directory."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["languages"] = ["en", "de", "ko"]
    config["countries"] = {lang: config["countries"][lang] for lang in config["languages"]}
    probes = tmp_path / "probes"
    if not probes.exists():
        shutil.copytree(REPO / "config" / "probes", probes, ignore=shutil.ignore_patterns("questions.tsv"))
    config["probes"]["path"] = str(probes)
    config["probes"]["questions"] = str(REPO / "config" / "probes" / "questions.tsv")
    config["models"] = {
        "tiny-xlmr": {"build": {**config["models"]["tiny-xlmr"]["build"], "steps": 30, "vocab_size": 1500}},
        "local-bert": {"source": str(bert_dir)},
    }
    config["pretraining_corpus"]["sentences_per_option"] = 2
    config["pretraining_corpus"]["demo_text"] = str(REPO / "config" / "demo_text")
    config["pretraining_corpus"]["demo_text_per_language"] = 40
    for dataset in config["datasets"].values():
        dataset["generate"]["text"] = str(REPO / "config" / "demo_text")
        dataset["generate"]["sentences"] = 60
        dataset["languages"] = ["en", "ko"]
    config["finetuning"].update(models=["tiny-xlmr"], sizes=[30], epochs=1, checkpoints=2)
    config["survey"]["synthetic"]["respondents_per_country"] = 60
    config["alignment"]["bootstrap_resamples"] = 200
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.slow
def test_workflow_end_to_end_with_both_mask_conventions(tmp_path, tiny_model_dirs):
    workdir = tmp_path / "run"
    config = small_config(tmp_path, tiny_model_dirs["bert"])
    snakemake(workdir, config)

    scores = {model: pl.read_parquet(workdir / f"results/scores/{model}/base.parquet") for model in ("tiny-xlmr", "local-bert")}
    for table in scores.values():
        check_table(table, "scores")
        assert set(table["probe_lang"]) == {"en", "de", "ko"}
        assert table.height == 3 * 27
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

    assert planned_jobs(workdir, config) == {}

    report = workdir / "results/report.html"
    snakemake(workdir, config, "--report", str(report))
    html = report.read_text()
    for figure in ("alignment.png", "human_values.png", "scores_tiny-xlmr.png", "scores_local-bert.png",
                   "cross_language.png", "flip_rates.png", "planted.png", "distinctiveness.png"):
        assert figure in html
    assert "SYNTHETIC" in html

    # A changed scoring setting reruns scoring and what depends on it, nothing upstream.
    changed = small_config(tmp_path, tiny_model_dirs["bert"], **{"scoring.method": "pll"})
    jobs = planned_jobs(workdir, changed)
    assert jobs.get("score_probes") == 2 + 2 * 3
    assert {"compile_probes", "build_model", "pretraining_corpus", "finetune", "human_values"}.isdisjoint(jobs)

    # An edited probe file (not just a new file in the folder) reruns the probe table and what follows.
    german = tmp_path / "probes" / "de.tsv"
    german.write_text(german.read_text(encoding="utf-8").replace("wichtig", "bedeutend", 1), encoding="utf-8")
    assert planned_jobs(workdir, config).get("compile_probes") == 1
    german.write_text(german.read_text(encoding="utf-8").replace("bedeutend", "wichtig", 1), encoding="utf-8")

    # A changed setting of one dataset reruns that dataset's jobs and the summaries, nothing else.
    changed = small_config(tmp_path, tiny_model_dirs["bert"], **{"datasets.neutral.generate.seed": 99})
    jobs = planned_jobs(workdir, changed)
    assert jobs["generate_source"] == 2 and jobs["finetune"] == 3 and jobs["score_probes"] == 3
    assert {"build_model", "compile_probes", "pretraining_corpus"}.isdisjoint(jobs)
    listing = snakemake(workdir, changed, "--dry-run").stdout
    outputs = [line for line in listing.splitlines() if line.startswith("    output:")]
    assert any("/neutral/" in line for line in outputs)
    assert not any("/planted/" in line for line in outputs)  # no job of the other dataset


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"probes.colour": "blue"}, "colour"),
        ({"scoring.method": "average"}, "average"),
        ({"languages": ["en", "de", "ko", "xx"]}, "countries"),
        ({"probes.path": "/nonexistent/probes"}, "probes.path"),
        ({"datasets.planted.languages": ["en", "xx"]}, "datasets.planted.languages"),
        ({"finetuning.sizes": [61]}, "finetuning.sizes"),
        ({"datasets.neutral.generate.sentences": 0}, "sentences"),
    ],
)
def test_bad_config_stops_before_any_job_naming_the_key(tmp_path, change, message):
    workdir = tmp_path / "run"
    config = small_config(tmp_path, tmp_path, **change)
    result = snakemake(workdir, config, "--dry-run", check=False)
    assert result.returncode != 0
    assert message in result.stderr + result.stdout
    assert not (workdir / "results").exists()


def test_empty_local_corpus_stops_before_any_job_naming_the_key(tmp_path):
    empty = tmp_path / "empty.en.txt"
    empty.write_text("\n\n", encoding="utf-8")
    config = small_config(tmp_path, tmp_path)
    settings = yaml.safe_load(config.read_text())
    settings["datasets"]["wiki"] = {"languages": ["en"], "files": {"en": str(empty)}}
    config.write_text(yaml.safe_dump(settings))
    result = snakemake(tmp_path / "run", config, "--dry-run", check=False)
    assert result.returncode != 0
    assert "datasets.wiki" in result.stderr + result.stdout and "empty" in result.stderr + result.stdout


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
    snakemake(workdir, config, target)
    log = (workdir / "results/logs/finetune/tiny-xlmr/neutral/en/n60_s0.log").read_text()
    assert f"resuming from checkpoint-{saved[-1]}" in log
    steps = sorted(int(p.name.split("-")[1]) for p in (workdir / target / "checkpoints").iterdir())
    assert steps[-1] == 180 and len(steps) == 6
