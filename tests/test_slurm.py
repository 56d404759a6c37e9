"""profiles/slurm: the resources it gives every rule, and the workflow on a real SLURM cluster.

For the slow test tests/cluster/slurm.sh installs and starts a single-node cluster (munged,
MariaDB, slurmdbd, slurmctld, slurmd) as root; every job of a small config then runs as a SLURM
job, its status read with `sacct` as on a site. The job ids and the stopped daemons are printed
past pytest's output capture, so that CI's log shows them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest
import yaml

from valuetrace.settings import schema_default
from valuetrace.tables import check_table
from workflow_runs import planned_jobs, small_config, snakemake

REPO = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = REPO / "tests" / "cluster" / "slurm.sh"
SLURM_PROFILE = REPO / "profiles" / "slurm" / "config.yaml"

# Fine-tuning, probing and TRAK: the jobs that need a GPU at paper scale.
GPU_RULES = {"finetune", "score_probes", "attribution_features", "attribution_scores", "counterfactual_finetune", "lds_finetune"}

# About twice the slowest run seen (442 s on two shared cores); past it Snakemake gets SIGINT
# and cancels its jobs.
WORKFLOW_TIMEOUT_S = 900


def test_profile_gives_a_gpu_to_exactly_the_gpu_rules(tmp_path):
    """A dry run through the profile resolves every job's resources, no cluster needed."""
    config = small_config(tmp_path, tmp_path)  # every stage, attribution and counterfactuals included
    workdir = tmp_path / "run"
    listing = snakemake(workdir, config, "--dry-run", "--profile", str(SLURM_PROFILE.parent)).stdout
    gpu_requests = {}  # rule -> whether its jobs ask for a GPU
    runtimes = {}  # (rule, output) -> minutes
    for block in listing.split("\nrule ")[1:]:
        rule, _, body = block.partition(":")
        resources = re.search(r"^\s+resources: (.+)$", body, flags=re.MULTILINE).group(1).split(", ")
        gpu_requests.setdefault(rule, set()).add("gpu=1" in resources)
        assert any(r.startswith("runtime=") for r in resources) and any(r.startswith("mem_mb=") for r in resources)
        output = re.search(r"^\s+output: (.+)$", body, flags=re.MULTILINE)
        runtimes[rule, output.group(1) if output else None] = next(int(r.split("=")[1]) for r in resources if r.startswith("runtime="))
    assert GPU_RULES <= set(gpu_requests), "the small config no longer plans every GPU rule"
    assert {rule for rule, asks in gpu_requests.items() if True in asks} == GPU_RULES
    assert all(len(asks) == 1 for asks in gpu_requests.values())
    # A retraining job's time limit is a fine-tuning's times the retrainings it makes: the LDS job of
    # subsets 0-1 two, that of subset 2 one (small_config), a counterfactual job 1 + the default
    # random draws + the 2 planted removals.
    finetune = {minutes for (rule, _), minutes in runtimes.items() if rule == "finetune"}
    lds_jobs = {Path(output).name: minutes for (rule, output), minutes in runtimes.items() if rule == "lds_finetune"}
    assert len(finetune) == 1 and lds_jobs == {"subsets0-1.parquet": 2 * min(finetune), "subsets2-2.parquet": min(finetune)}
    draws = schema_default("attribution", "counterfactual", "random_draws")
    assert {minutes for (rule, _), minutes in runtimes.items() if rule == "counterfactual_finetune"} == {(1 + draws + 2) * min(finetune)}
    # Snakemake ignores set-resources of a rule it does not know, so a misspelt name would pass unseen.
    assert set(yaml.safe_load(SLURM_PROFILE.read_text())["set-resources"]) <= set(gpu_requests)


def show(pytestconfig, text: str) -> None:
    """Print to the terminal even while pytest captures output (what `capsys.disabled` does)."""
    with pytestconfig.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(text, flush=True)


def running(pid: int, start_time: str) -> bool:
    """Whether the process recorded as (pid, start time) by slurm.sh still runs (not a zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z" and fields[19] == start_time


@pytest.fixture(scope="module")
def slurm_cluster(pytestconfig):
    """A started cluster: yields the environment in which SLURM's commands reach it."""
    if os.geteuid() != 0:
        pytest.skip("a SLURM cluster for the test needs root (to install packages and start daemons)")
    if shutil.which("apt-get") is None:
        pytest.skip("a SLURM cluster for the test needs apt-get to install Debian's slurm-wlm")
    # Not under pytest's tmp_path, whose root (/tmp/pytest-of-USER) only its owner may enter:
    # the daemons run as the munge, mysql and slurm users.
    state = Path(tempfile.mkdtemp(prefix="valuetrace-slurm-"))
    began = time.monotonic()
    start = subprocess.run([str(CLUSTER_SCRIPT), "start", str(state)], capture_output=True, text=True)
    show(pytestconfig, f"\n{start.stdout}{start.stderr}cluster start took {time.monotonic() - began:.0f}s")
    if start.returncode != 0:
        # slurm.sh stops what it started when a start fails; its logs stay in `state`.
        pytest.fail(f"starting the SLURM cluster failed (logs in {state}):\n{start.stdout}\n{start.stderr}")
    daemons = [line.split() for line in (state / "pids").read_text().splitlines()]

    yield {**os.environ, "SLURM_CONF": str(state / "etc" / "slurm.conf")}

    stop = subprocess.run([str(CLUSTER_SCRIPT), "stop", str(state)], capture_output=True, text=True)
    show(pytestconfig, f"\n{stop.stdout}{stop.stderr}")
    assert stop.returncode == 0, f"stopping the cluster failed:\n{stop.stdout}\n{stop.stderr}"
    left = [f"{name} (pid {pid})" for name, pid, started in daemons if running(int(pid), started)]
    assert not left, f"still running after stop: {left}"
    stopped = ", ".join(f"{name} (pid {pid})" for name, pid, _ in daemons)
    show(pytestconfig, f"all {len(daemons)} daemons stopped: {stopped}")
    shutil.rmtree(state)


def profile_for_test_node(directory: Path) -> Path:
    """profiles/slurm with only what a two-CPU test node cannot give scaled down.

    Everything else is the real profile, read from disk so that an edit of it is tested: the
    executor, the status-check settings, retries, runtimes and the GPU requests (the test node
    has stand-in GPUs, so GPU rules really ask SLURM for one). Scaled down: memory (a GPU job
    asks for more than the node has), CPUs per job (a GPU job asks for more than its two), and
    the first status check, which waits 2 s instead of the profile's 20 so that short jobs do
    not leave the run idle. (A workflow profile or --set-resources would replace the profile's
    whole set-resources, not patch it.)
    """
    settings = yaml.safe_load(SLURM_PROFILE.read_text())
    for resources in [settings["default-resources"], *settings["set-resources"].values()]:
        resources.update(mem_mb=1000, cpus_per_task=1)
    settings["slurm-init-seconds-before-status-checks"] = 2
    directory.mkdir()
    (directory / "config.yaml").write_text(yaml.safe_dump(settings, sort_keys=False))
    return directory


def tiny_grid_config(tmp_path: Path, bert_dir: Path) -> Path:
    """small_config cut to 20 SLURM jobs (and the report's 30 local ones): only the local BERT,
    fine-tuned on each source in Korean.

    Every SLURM job costs a few seconds of start-up on top of its work, and the test node has
    two CPUs, so the number of jobs sets the test's duration. Attribution is left out (17 more
    jobs); its rules' requests are checked by the dry run above.
    """
    path = small_config(tmp_path, bert_dir)
    config = yaml.safe_load(path.read_text())
    del config["models"]["tiny-xlmr"], config["models"]["tiny-llama"]
    del config["attribution"]
    config["finetuning"]["models"] = ["local-bert"]
    for dataset in config["datasets"].values():
        dataset["languages"] = ["ko"]
    config["finetuning"]["multilingual"] = False
    path.write_text(yaml.safe_dump(config))
    return path


def sacct(env: dict, job_ids: list[str]) -> dict[str, dict[str, str]]:
    """SLURM job id -> state, elapsed, tres (allocated) and comment (rule_<rule>..., by the plugin)."""
    output = subprocess.run(
        ["sacct", "--allocations", "--parsable2", "--noheader", "--jobs", ",".join(job_ids),
         "--format", "JobIDRaw,State,Elapsed,AllocTRES,Comment"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rows = [line.split("|") for line in output.splitlines()]
    return {job: dict(state=state, elapsed=elapsed, tres=tres, comment=comment)
            for job, state, elapsed, tres, comment in rows}  # fmt: skip


@pytest.mark.slow
def test_workflow_runs_as_slurm_jobs_through_the_profile(slurm_cluster, tmp_path, tiny_model_dirs, pytestconfig):
    env = slurm_cluster
    workdir = tmp_path / "run"
    workdir.mkdir()
    config = tiny_grid_config(tmp_path, tiny_model_dirs["bert"])
    profile = profile_for_test_node(tmp_path / "profile")
    planned = planned_jobs(workdir, config)
    # `all` only collects the targets, and the report's tables and figures are local rules
    # (workflow/rules/report.smk): they run inside Snakemake on the submit host, not as jobs.
    local_rules = {rule for rule in planned if rule == "all" or rule.startswith(("figure_", "report_table_"))}
    submitted_rules = set(planned) - local_rules

    began = time.monotonic()
    # In the foreground under `timeout -s INT`: a Snakemake that overruns is interrupted the way
    # a user would (it then cancels its SLURM jobs) rather than left polling.
    workflow = subprocess.run(
        ["timeout", "-s", "INT", "-k", "60", str(WORKFLOW_TIMEOUT_S),
         sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(workdir), "--configfile", str(config), "--profile", str(profile)],
        cwd=workdir, env=env, capture_output=True, text=True,
    )  # fmt: skip
    duration = time.monotonic() - began
    log = workflow.stdout + workflow.stderr
    assert workflow.returncode == 0, f"snakemake on SLURM exited with {workflow.returncode}:\n{log[-8000:]}"

    # "Job 5 has been submitted with SLURM jobid 17 (log: ...)", once per submitted job.
    job_ids = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    assert len(job_ids) == sum(count for rule, count in planned.items() if rule in submitted_rules), log[-8000:]
    # Snakemake names the rules it ran itself "localrule" in its log.
    assert set(re.findall(r"^localrule (\w+):", log, flags=re.MULTILINE)) == local_rules, log[-8000:]
    jobs = sacct(env, job_ids)
    show(pytestconfig, f"\nworkflow ran as {len(job_ids)} SLURM jobs in {duration:.0f}s:")
    for job_id in job_ids:
        job = jobs[job_id]
        line = f"  SLURM job {job_id:>4}  {job['state']:<10} {job['elapsed']}  {job['tres']:<45} {job['comment']}"
        show(pytestconfig, line)
    assert set(jobs) == set(job_ids), "sacct does not know every submitted job"
    # Every job completed at its first attempt (a retried failure would leave a FAILED job).
    assert {job["state"] for job in jobs.values()} == {"COMPLETED"}
    rule_of = re.compile(r"rule_(\w+?)(_wildcards_.*)?")
    rules = {job_id: rule_of.fullmatch(job["comment"]).group(1) for job_id, job in jobs.items()}
    assert set(rules.values()) == submitted_rules
    # SLURM allocated a GPU to the jobs of GPU rules, and to no other job.
    for job_id, rule in rules.items():
        assert ("gres/gpu=1" in jobs[job_id]["tres"]) == (rule in GPU_RULES), (rule, jobs[job_id]["tres"])

    for scored in ("base", "planted/ko/n30_s0", "neutral/ko/n30_s0"):
        check_table(pl.read_parquet(workdir / f"results/scores/local-bert/{scored}.parquet"), "scores")
    alignment = pl.read_parquet(workdir / "results/tables/alignment.parquet")
    check_table(alignment, "alignment")
    assert alignment.height == 3 * 3  # the base model and two fine-tuned runs, three languages
    shifts = pl.read_parquet(workdir / "results/tables/shifts.parquet")
    check_table(shifts, "shifts")
    assert set(shifts["dataset"]) == {"neutral", "planted"} and set(shifts["finetune_lang"]) == {"ko"}
    assert set(shifts["probe_lang"]) == {"en", "de", "ko"}

    report = workdir / "results/report.html"
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
         "--configfile", str(config), "--report", str(report)],
        cwd=workdir, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-5000:]
    html = report.read_text()
    for figure in ("alignment.png", "scores_local-bert.png", "flip_rates.png", "planted.png"):
        assert figure in html
    assert "SYNTHETIC" in html
