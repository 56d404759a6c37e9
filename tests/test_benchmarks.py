"""The benchmarks keep working: the paper-scale one in its CPU smoke mode (benchmarks/gpu_paper_scale.py),
the others as they are run (slow)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from workflow_runs import REPO


def load(name: str):
    # A benchmark run as a script finds its sibling modules (benchmarks/demo_inputs.py) on sys.path.
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_paper_scale_benchmark_runs_its_cpu_smoke_mode_and_prints_every_figure(capsys, tmp_path):
    benchmark = load("gpu_paper_scale")
    result = benchmark.main(["--cpu-smoke", "--models", "xlmr-base", "--rounds", "1", "--json", str(tmp_path / "figures.json")])
    printed = capsys.readouterr().out
    assert result["smoke"] and "CPU SMOKE RUN" in printed
    measured = result["figures"]["xlmr-base"]
    assert measured["training"]["fp32"]["examples_per_s"] > 0 and measured["training"]["bf16"]["examples_per_s"] > 0
    assert "bf16/fp32 = " in printed and "probes/s" in printed and "s per 1,000 examples and checkpoint" in printed
    # A run's checkpoints as written hold optimiser state; as kept, weights and config only.
    disk = measured["disk"]
    assert disk["checkpoint_bytes_written"] > 3 * disk["checkpoint_bytes_kept"] > 0
    assert "as written" in printed and "kept (" in printed
    for precision in ("fp32", "bf16"):
        assert result["grid"][precision]["total_hours"] > 0 and result["grid"][precision]["disk"]["runs"] > 0
    assert "the paper grid (config/paper.yaml)" in printed and "mbert not measured" in printed
    assert (tmp_path / "figures.json").exists()


@pytest.mark.slow
def test_trak_cost_per_example_is_never_negative():
    """Timing noise can make the larger of the two featurisations the faster (CI failed on a
    negative grid estimate): the cost per example is then the larger run's time per example."""
    per_example = load("gpu_paper_scale").per_example_seconds
    assert per_example({16: 1.0, 24: 1.8}) == pytest.approx(0.1)
    assert per_example({24: 1.5, 16: 1.6}) == pytest.approx(1.5 / 24)


@pytest.mark.parametrize(
    ("name", "printed"),
    [
        ("bench_scoring", ["forward passes: shared", "speed-up"]),
        ("bench_tables", ["check_table", "faster"]),
        ("bench_lds", ["one fine-tuning epoch", "the LDS with the demo's"]),
    ],
)
def test_benchmark_runs_and_prints_its_ratio(capsys, name, printed):
    load(name).main()
    out = capsys.readouterr().out
    assert all(fragment in out for fragment in printed), out


def test_featurisation_benchmark_prints_each_setting_against_an_epoch(capsys):
    """benchmarks/bench_featurize.py on 40 examples (the README quotes 1,000)."""
    seconds = load("bench_featurize").main(["--examples", "40"])
    out = capsys.readouterr().out
    assert len(seconds) == 4 and all(value > 0 for value in seconds.values())
    assert "one fine-tuning epoch" in out and out.count(" epochs, ") == 3 and "untied, tensor_rms" in out, out


@pytest.mark.slow
def test_demo_benchmark_reports_on_a_finished_tree(capsys, completed_small_run):
    """benchmarks/bench_demo.py --tree: per-rule job-seconds, checkpoint bytes and both dry runs."""
    arguments = ["--tree", str(completed_small_run.workdir), "--configfile", str(completed_small_run.config), "--repeats", "1"]
    figures = load("bench_demo").main(arguments)
    printed = capsys.readouterr().out
    assert figures["rules"]["finetune"][0] == 6 and "job-seconds per rule" in printed
    assert figures["checkpoints"]["written"] > figures["checkpoints"]["kept"] > 0
    assert 0 < figures["no-op dry run"] and 0 < figures["paper dry run"]
    assert "no-op dry run" in printed and "paper dry run" in printed


def test_the_demo_benchmark_runs_the_readmes_first_command():
    assert load("bench_demo").readme_demo_command(REPO / "README.md").startswith("bash envs/install.sh && ")
