"""Benchmark: the README demo from a fresh clone, where its time goes, and how fast planning is.

Clones this repository's committed HEAD into a temporary directory and runs the README's first
command there (install included, exactly as written), then prints from the finished tree:

- the command's wall time, against the goal of 6 minutes on 2 cores, and of each of its
  ``&&``-joined parts (install, workflow, report);
- job-seconds per rule, from the ``benchmark:`` file Snakemake writes for every job, with the
  number of jobs and the mean per job (the baseline for every ratio is the whole run's
  job-seconds, measured in the same run);
- a run's checkpoint bytes as the Trainer wrote them and as kept for attribution (``run_disk``);
- the no-op dry run on the finished tree (goal: at most 5 s) and the paper grid's dry run
  (``config/paper.yaml``, goal: at most 30 s), each the fastest of three.

With ``--tree DIR`` it skips the run and reports on a finished working directory instead
(``--configfile``: the configs it was run with; its paper dry run plans in this checkout). Run:

    .venv/bin/python benchmarks/bench_demo.py                 # about 6 minutes on 2 cores
    .venv/bin/python benchmarks/bench_demo.py --tree results/..  # an existing demo tree
"""

from __future__ import annotations

import argparse
import csv
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_S = {"demo": 6 * 60, "no-op dry run": 5, "paper dry run": 30}


def readme_demo_command(readme: Path) -> str:
    """The README's first ``bash`` block: the one command that installs and runs the demo."""
    match = re.search(r"```bash\n(.+?)\n```", readme.read_text(), flags=re.DOTALL)
    if not match:
        raise SystemExit(f"{readme}: no ```bash block with the demo command")
    return match.group(1).strip()


def run_demo(repo: Path, clone: Path) -> tuple[str, dict[str, float]]:
    """Clone ``repo``'s HEAD into ``clone`` and run its README demo command there, each of its
    ``&&``-joined parts timed on its own (in order, stopping at the first failure): wall seconds per part."""
    subprocess.run(["git", "clone", "--quiet", str(repo), str(clone)], check=True)
    command = readme_demo_command(clone / "README.md")
    print(f"running in {clone}:\n  {command}", flush=True)
    seconds = {}
    with (clone / "demo.log").open("w") as log:
        for part in (part.strip() for part in command.split("&&")):
            start = time.perf_counter()
            result = subprocess.run(["bash", "-c", part], cwd=clone, stdout=log, stderr=subprocess.STDOUT)
            seconds[part] = time.perf_counter() - start
            if result.returncode != 0:
                raise SystemExit(f"{part!r} failed (exit status {result.returncode}); see {clone / 'demo.log'}")
    return command, seconds


def rule_seconds(tree: Path) -> dict[str, tuple[int, float]]:
    """Rule -> (jobs, job-seconds) from ``results/benchmarks/<rule>[/...].tsv``."""
    totals: dict[str, list] = defaultdict(lambda: [0, 0.0])
    root = tree / "results" / "benchmarks"
    for path in root.rglob("*.tsv"):
        rows = list(csv.DictReader(path.open(), delimiter="\t"))
        if rows:
            rule = path.relative_to(root).parts[0].removesuffix(".tsv")
            totals[rule][0] += 1
            totals[rule][1] += float(rows[-1]["s"])
    return {rule: (jobs, seconds) for rule, (jobs, seconds) in totals.items()}


def dry_run_seconds(tree: Path, *args: str, repeats: int, nothing_to_do: bool = False) -> float:
    """The fastest of ``repeats`` ``snakemake -n`` in ``tree`` (the first pays for cold caches);
    ``nothing_to_do``: the tree must be finished, with no job planned."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        snakefile = tree / "Snakefile" if (tree / "Snakefile").exists() else REPO / "Snakefile"
        command = [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(snakefile), "--directory", str(tree), *args]
        result = subprocess.run(command, check=True, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if nothing_to_do and "Nothing to be done" not in result.stdout + result.stderr:
            raise SystemExit(f"{tree} is not a finished tree: a dry run plans jobs\n{result.stdout[-2000:]}")
    return min(times)


def checkpoint_bytes(tree: Path) -> tuple[int, int, int] | None:
    """(runs, checkpoint bytes written, kept) summed over the tree's fine-tuning runs."""
    table = tree / "results" / "tables" / "run_disk.parquet"
    if not table.exists():
        return None
    import polars as pl

    disk = pl.read_parquet(table)
    return disk.height, int(disk["checkpoint_bytes_written"].sum()), int(disk["checkpoint_bytes_kept"].sum())


def report(tree: Path, parts_s: dict[str, float] | None, config_args: list[str], checkout: Path, repeats: int) -> dict:
    """Print (and return) the figures of a finished ``tree`` (``parts_s``: the demo command's parts
    and their wall seconds, if it ran here); the paper grid is planned in ``checkout``."""
    figures: dict = {"parts_s": parts_s}
    if parts_s is not None:
        wall_s = figures["wall_s"] = sum(parts_s.values())
        verdict = "within" if wall_s <= GOAL_S["demo"] else "OVER"
        print(f"\nREADME demo command: {wall_s / 60:.1f} min ({wall_s:.0f} s), {verdict} the goal of {GOAL_S['demo'] / 60:.0f} min")
        for part, seconds in parts_s.items():
            print(f"  {seconds:6.1f} s  {part}")
    rules = rule_seconds(tree)
    total = sum(seconds for _, seconds in rules.values())
    jobs = sum(count for count, _ in rules.values())
    figures["rules"] = rules
    print(f"\njob-seconds per rule ({jobs} jobs, {total:.0f} job-seconds in all = 1.00):")
    for rule, (count, seconds) in sorted(rules.items(), key=lambda item: -item[1][1]):
        print(f"  {rule:28s} {count:4d} jobs {seconds:8.1f} s  {seconds / count:6.1f} s/job  {seconds / total:5.2f}")
    disk = checkpoint_bytes(tree)
    if disk:
        runs, written, kept = disk
        figures["checkpoints"] = {"runs": runs, "written": written, "kept": kept}
        print(f"\ncheckpoints of {runs} runs: {written / 1e6:.1f} MB as written, {kept / 1e6:.1f} MB kept "
              f"({kept / written:.2f} of written)")  # fmt: skip
    dry_runs = {"no-op dry run": (tree, config_args, True), "paper dry run": (checkout, ["--configfile", "config/paper.yaml"], False)}
    for name, (directory, args, nothing_to_do) in dry_runs.items():
        seconds = dry_run_seconds(directory, *args, repeats=repeats, nothing_to_do=nothing_to_do)
        figures[name] = seconds
        verdict = "within" if seconds <= GOAL_S[name] else "OVER"
        print(f"{name}: {seconds:.1f} s, {verdict} the goal of {GOAL_S[name]} s")
    return figures


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=Path, help="report on this finished working directory instead of running the demo")
    parser.add_argument("--configfile", nargs="+", help="the configs the --tree was run with (default: its config/config.yaml)")
    parser.add_argument("--keep", action="store_true", help="keep the clone the demo ran in")
    parser.add_argument("--repeats", type=int, default=3, help="dry runs timed per kind; the fastest counts (default: 3)")
    options = parser.parse_args(argv)
    if options.repeats < 1:
        parser.error("--repeats must be at least 1")
    config_args = ["--configfile", *options.configfile] if options.configfile else []
    if options.tree:
        return report(options.tree.resolve(), None, config_args, REPO, options.repeats)
    clone = Path(tempfile.mkdtemp(prefix="valuetrace-demo-")) / "valuetrace"
    _, parts_s = run_demo(REPO, clone)
    figures = report(clone, parts_s, config_args, clone, options.repeats)
    if options.keep:
        print(f"the demo tree: {clone}")
    else:
        shutil.rmtree(clone.parent, ignore_errors=True)
    return figures


if __name__ == "__main__":
    main()
