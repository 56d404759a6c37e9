"""Running the Snakemake workflow from tests: the command, dry-run job counts, small configs.

Shared by the end-to-end tests (test_workflow.py), the browser test of the report and the
session fixture in conftest.py that runs the small workflow once for all of them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

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


def job_counts(dry_run_output: str) -> dict[str, int]:
    """Rule -> number of jobs in the "Job stats" table of a dry run (empty when nothing is to be done)."""
    if "Job stats:" not in dry_run_output:
        return {}
    table = dry_run_output.split("Job stats:", 1)[1]
    jobs = {}
    for line in table.splitlines()[3:]:
        match = re.fullmatch(r"(\S+)\s+(\d+)", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs


def planned_jobs(workdir: Path, config: Path, *args: str) -> dict[str, int]:
    """Rule -> number of jobs that a dry run (with extra arguments or targets) would execute."""
    return job_counts(snakemake(workdir, config, "--dry-run", *args).stdout)


def planned_outputs(dry_run_output: str, rule: str) -> list[str]:
    """The outputs of every job of one rule in a dry run's job listing."""
    outputs = []
    for block in dry_run_output.split("\nrule ")[1:]:
        name, _, body = block.partition(":")
        if name.strip() == rule:
            outputs += re.findall(r"^\s+output: (.+)$", body, flags=re.MULTILINE)
    return outputs


def small_config(tmp_path: Path, bert_dir: Path, filename: str = "config.yaml", **changes) -> Path:
    """The demo config cut down to three languages, short builds and a local BERT directory.

    Written to ``tmp_path / filename``; ``changes`` set dotted keys (``"scoring.method"``).
    Configs written to one ``tmp_path`` share its copy of the probe folder, so that a changed
    config differs from the original only in the changed keys.
    """
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["languages"] = ["en", "de", "ko"]
    config["countries"] = {lang: config["countries"][lang] for lang in config["languages"]}
    probes = tmp_path / "probes"
    if not probes.exists():
        shutil.copytree(REPO / "config" / "probes" / "demo", probes)
    config["probes"]["path"] = str(probes)
    for key in ("key", "exclusions"):
        config["probes"][key] = str(REPO / config["probes"][key])
    config["hofstede"].update(
        probes=str(REPO / config["hofstede"]["probes"]),
        key=str(REPO / config["hofstede"]["key"]),
        countries={lang: config["countries"][lang] for lang in ("en", "de", "ko")},
    )
    # Both mask conventions, and a causal LM beside them (probed, not fine-tuned: its training and
    # attribution are tested in tests/test_training.py and test_attribution.py, and run in the demo).
    config["models"] = {
        "tiny-xlmr": {"build": {**config["models"]["tiny-xlmr"]["build"], "steps": 30, "vocab_size": 1500}},
        "local-bert": {"source": str(bert_dir)},
        "tiny-llama": {"build": {**config["models"]["tiny-llama"]["build"], "steps": 30, "vocab_size": 1500}},
    }
    config["pretraining_corpus"]["sentences_per_option"] = 2
    config["pretraining_corpus"]["demo_text"] = str(REPO / "config" / "demo_text")
    config["pretraining_corpus"]["demo_text_per_language"] = 40
    config["pretraining_corpus"]["demo_text_languages"] = config["languages"]
    for dataset in config["datasets"].values():
        dataset["generate"]["text"] = str(REPO / "config" / "demo_text")
        dataset["generate"]["sentences"] = 60
        dataset["languages"] = ["en", "ko"]
    # One seed: the tests of shifts against seed noise are then null (their statistics are tested
    # in tests/test_significance.py; the demo runs them with two seeds).
    config["finetuning"].update(models=["tiny-xlmr"], sizes=[30], seeds=[0], epochs=1, checkpoints=2)
    # Attribution of every planted run at two checkpoints (the model fine-tuning started from and
    # the last saved one), a counterfactual of the monolingual ones, the LDS of one.
    del config["attribution"]["sizes"]  # every size of the grid
    config["attribution"].update(base_model=True, checkpoints=1, proj_dim=64, top_k=5, include_parameters=[])
    config["attribution"]["counterfactual"].update(k=5, finetune_languages=["en", "ko"])
    # LDS of the English run on 3 random halves (the fewest a rank correlation takes), two to a
    # job and the last alone.
    config["attribution"]["lds"] = {**yaml.safe_load((REPO / "config" / "validation.yaml").read_text())["attribution"]["lds"],
                                     "subsets": 3, "subsets_per_job": 2, "finetune_languages": ["en"]}  # fmt: skip
    config["survey"]["synthetic"]["respondents_per_country"] = 60
    config["alignment"]["bootstrap_resamples"] = 200
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    path = tmp_path / filename
    path.write_text(yaml.safe_dump(config))
    return path


@dataclass(frozen=True)
class CompletedRun:
    """A finished run of the workflow: its config, working directory and HTML report."""

    root: Path  # holds the config and its probe folder; write changed configs here
    config: Path
    workdir: Path
    report: Path
