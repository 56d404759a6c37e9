"""Benchmark: what the paper grid (``config/paper.yaml``) costs, from figures measured on this machine.

Builds models of the paper's two sizes without any download: XLM-R base (12 layers, hidden 768,
the full vocabulary of 250,002 tokens) and mBERT (the same encoder, 119,547 tokens), each with a
tokenizer trained here on the shipped probes. A tokenizer of 250,002 real pieces would need far
more text than ships with the workflow (and minutes of training), so the tokenizer is a small
Unigram (or WordPiece) one and the model's vocabulary is padded to the real size
(``resize_token_embeddings``): the embedding matrix and the masked-LM output layer, which every
training step computes over the whole vocabulary at the masked positions, are those of the real model;
the texts use the first few thousand ids only, which costs the same.

With the paper config's settings (batch size, lengths, projection dimension 4,096, the parameters
TRAK differentiates) it measures, through the library's own functions, on the GPU it finds:

- fine-tuning examples per second in fp32 and in bf16 mixed precision (``finetuning.precision``),
  and their ratio (the baseline, in the same process, is fp32);
- probe scoring throughput (probes per second; the 351 probes of a paper scoring job) in both;
- TRAK featurisation: seconds per 1,000 training examples at one checkpoint, and its ratio to one
  fine-tuning epoch on the same examples (trak's CUDA projector where ``fast_jl`` is installed,
  else its basic projector);
- peak memory of each step, and the bytes of a run's checkpoints as the Trainer writes them and as
  the run keeps them for attribution (``disk.json``);

then prints the GPU hours and disk of the whole paper grid extrapolated from those per-step
figures, for both precisions. Without a GPU (or with ``--cpu-smoke``) it runs a shrunken version
of everything on the CPU in well under a minute, so that CI keeps it working; its figures then
describe a tiny model on a CPU, not the paper's cost. Run:

    .venv/bin/python benchmarks/gpu_paper_scale.py                  # on a GPU node: about 5-10 minutes
    .venv/bin/python benchmarks/gpu_paper_scale.py --cpu-smoke      # anywhere
    .venv/bin/python benchmarks/gpu_paper_scale.py --json out.json  # also writes every figure
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import torch
from transformers import TrainerCallback

from valuetrace import attribution, disk, finetune, grid, scoring, settings
from valuetrace.corpus import balanced_probe_corpus
from valuetrace.models import load_model, resolve_device, tiny_model, train_tokenizer
from valuetrace.plan import Plan
from valuetrace.probes import LANGUAGE_NAMES, compile_probes
from valuetrace.training import train_language_model

REPO = Path(__file__).resolve().parent.parent
# Probes of a paper scoring job: the 27 shipped WVS probes in each of the 13 languages.
PAPER_PROBES = 351


@dataclasses.dataclass(frozen=True)
class Size:
    """A model size to measure: the architecture built here, its vocabulary and encoder."""

    architecture: str
    vocab_size: int
    hidden_size: int
    layers: int
    heads: int
    intermediate_size: int
    tokenizer_vocab: int  # pieces the tokenizer trained here has (its ids are a subset of the model's)


# The paper's models by their names in config/paper.yaml.
PAPER_SIZES = {
    "xlmr-base": Size("xlm-roberta", 250_002, 768, 12, 12, 3072, 8000),
    "mbert": Size("bert", 119_547, 768, 12, 12, 3072, 8000),
}
# The CPU smoke run stands in the demo's tiny models for them (config/config.yaml).
SMOKE_MODELS = {"xlmr-base": "tiny-xlmr", "mbert": "tiny-bert"}


def smoke_sizes() -> dict[str, Size]:
    demo = settings.validate_config(settings.read_config(REPO / "config" / "config.yaml"))
    sizes = {}
    for name, tiny in SMOKE_MODELS.items():
        build = settings.ModelBuild.from_config(demo, tiny)
        sizes[name] = Size(build.architecture, build.vocab_size, build.hidden_size, build.layers, build.heads,
                           build.intermediate_size, min(build.vocab_size, 1000))  # fmt: skip
    return sizes


@dataclasses.dataclass(frozen=True)
class Scale:
    """How much of each step is measured."""

    warmup_steps: int
    timed_steps: int
    trak_examples: int  # examples featurised (besides one batch, to separate the fixed cost)
    proj_dim: int | None  # None: the paper config's
    tokens_per_example: int  # the examples' length the README's estimate assumes
    tokenizer_sentences_per_option: int
    rounds: int  # of timing fine-tuning in each precision
    scored_probes: int | None  # None: all 351


GPU_SCALE = Scale(warmup_steps=5, timed_steps=30, trak_examples=256, proj_dim=None, tokens_per_example=64,
                  tokenizer_sentences_per_option=2, rounds=2, scored_probes=None)  # fmt: skip
SMOKE_SCALE = Scale(warmup_steps=1, timed_steps=4, trak_examples=8, proj_dim=64, tokens_per_example=48,
                    tokenizer_sentences_per_option=1, rounds=2, scored_probes=96)  # fmt: skip


class StepTimer(TrainerCallback):
    """Wall time of the optimiser steps after the first ``warmup`` ones."""

    def __init__(self, warmup: int, device: str):
        self.warmup, self.device = warmup, device
        self.start = self.end = None

    def _now(self) -> float:
        if self.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.warmup:
            self.start = self._now()
        self.end = self._now()


class Memory:
    """Peak memory of each step: the GPU's allocated bytes, or on a CPU the process's peak RSS so far."""

    def __init__(self, device: str):
        self.cuda = device.startswith("cuda")

    def reset(self) -> None:
        if self.cuda:
            torch.cuda.reset_peak_memory_stats()

    def peak(self) -> int:
        if self.cuda:
            return torch.cuda.max_memory_allocated()
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    @property
    def label(self) -> str:
        return "GPU peak allocated" if self.cuda else "process peak RSS so far"


def human(n_bytes: float) -> str:
    """Bytes in the largest binary unit that keeps a number of at least 1."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n_bytes < 1024:
            return f"{n_bytes:.1f} {unit}" if unit != "B" else f"{n_bytes:.0f} B"
        n_bytes /= 1024
    return f"{n_bytes:.2f} TiB"


def paper_config() -> dict:
    return settings.validate_config(settings.read_config(REPO / "config" / "paper.yaml"))


def examples(tokenizer, sentences: list[str], count: int, tokens: int) -> list[str]:
    """``count`` training texts of about ``tokens`` tokens each, joined from ``sentences``."""
    lengths = [len(ids) for ids in tokenizer(sentences[:200])["input_ids"]]
    per_text = max(1, round(tokens / (sum(lengths) / len(lengths))))
    return [" ".join(sentences[(i * per_text + j) % len(sentences)] for j in range(per_text)) for i in range(count)]


def build(size: Size, texts: list[str], max_length: int, seed: int = 0):
    tokenizer = train_tokenizer(texts, size.architecture, size.tokenizer_vocab)
    tokenizer.model_max_length = max_length
    model = tiny_model(
        size.architecture, tokenizer, hidden_size=size.hidden_size, layers=size.layers, heads=size.heads,
        intermediate_size=size.intermediate_size, max_length=max_length, seed=seed,
    )  # fmt: skip
    # The real model's vocabulary: its embeddings and output layer at their full size.
    model.resize_token_embeddings(size.vocab_size, mean_resizing=False)
    return model, tokenizer


def measure_training(model, tokenizer, texts, training: settings.Training, scale: Scale, device: str, memory: Memory, work: Path) -> dict:
    """Examples per second of fine-tuning in fp32 and bf16 (after warm-up steps; the faster of
    ``scale.rounds`` alternating rounds, which keeps other load on the machine out), and peak memory."""
    result = {name: {"examples_per_s": 0.0, "peak_bytes": 0} for name in ("fp32", "bf16")}
    initial = {name: tensor.detach().clone() for name, tensor in model.state_dict().items()}
    steps = scale.warmup_steps + scale.timed_steps
    for round_ in range(scale.rounds):
        for name in result:
            model.load_state_dict(initial)
            model.to(device)
            memory.reset()
            timer = StepTimer(scale.warmup_steps, device)
            train_language_model(
                model, tokenizer, texts[: steps * training.batch_size], output_dir=work / f"{name}-{round_}", steps=steps,
                batch_size=training.batch_size, learning_rate=training.learning_rate, max_length=training.max_length,
                seed=training.seed, mlm_probability=training.mlm_probability, precision=name, callbacks=[timer],
            )  # fmt: skip
            rate = scale.timed_steps * training.batch_size / (timer.end - timer.start)
            result[name] = {"examples_per_s": max(rate, result[name]["examples_per_s"]),
                            "peak_bytes": max(memory.peak(), result[name]["peak_bytes"])}  # fmt: skip
    return result


def measure_run(base: Path, texts, training: settings.Training, device: str, work: Path) -> tuple[Path, dict, float]:
    """One fine-tuning job as the workflow runs it, saving every checkpoint: its disk.json and wall time."""
    run_dir = work / "run"
    train_path = work / "train.parquet"
    steps = training.checkpoints
    pl.DataFrame({"text": texts[: steps * training.batch_size]}).write_parquet(train_path)
    start = time.perf_counter()
    finetune.finetune(str(base), train_path, run_dir, work / "run-work", dataclasses.replace(training, epochs=1), device=device)
    seconds = time.perf_counter() - start
    return run_dir, json.loads((run_dir / disk.DISK_FILE).read_text()), seconds


def measure_scoring(run_dir: Path, probes: pl.DataFrame, scoring_settings: settings.Scoring, device: str, memory: Memory) -> dict:
    start = time.perf_counter()
    model, tokenizer = load_model(str(run_dir / "model"), device)
    result = {"load_s": time.perf_counter() - start}
    options = dict(model_name="bench", method=scoring_settings.method, normalisation=scoring_settings.normalisation,
                   batch_size=scoring_settings.batch_size, max_length=scoring_settings.max_length)  # fmt: skip
    scores = {}
    for name in ("fp32", "bf16"):
        scoring.score_probes(model, tokenizer, probes.head(8), precision=name, **options)  # warm-up
        memory.reset()
        start = time.perf_counter()
        scores[name] = scoring.score_probes(model, tokenizer, probes, precision=name, **options)
        result[name] = {"probes_per_s": probes.height / (time.perf_counter() - start), "peak_bytes": memory.peak()}
    result["bf16_max_score_error"] = (scores["bf16"]["score"] - scores["fp32"]["score"]).abs().max()
    return result


def per_example_seconds(timings: dict[int, float]) -> float:
    """Seconds per example from the times of two runs on different numbers of examples.

    Where timing noise exceeds the extra examples' cost (the CPU smoke run featurises 8 more, on
    a shared machine) the difference is not positive: the larger run's whole time is charged to
    its examples, an upper bound, rather than a negative cost that would make the grid's
    estimate negative.
    """
    small, big = sorted(timings)
    difference = (timings[big] - timings[small]) / (big - small)
    return difference if difference > 0 else timings[big] / big


def measure_trak(run_dir: Path, base: Path, texts, trak: settings.Trak, scale: Scale, device: str, memory: Memory, work: Path) -> dict:
    """Seconds of featurising one checkpoint (the last the config attributes at; each costs the
    same): a fixed part (loading, projector) and a part per example."""
    timings = {}
    for count in (trak.batch_size, trak.batch_size + scale.trak_examples):
        train_path = work / f"trak-{count}.parquet"
        pl.DataFrame({"text": texts[:count]}).write_parquet(train_path)
        out = work / f"features-{count}"
        memory.reset()
        start = time.perf_counter()
        attribution.featurize(run_dir, train_path, out, checkpoint=trak.checkpoint_ids()[-1], settings=trak, base=str(base), device=device)
        timings[count] = time.perf_counter() - start
        peak = memory.peak()
        feature_bytes = disk.directory_bytes(out)
    small, big = sorted(timings)
    per_example = per_example_seconds(timings)
    if device == "cpu":
        projector = "valuetrace's CPU projector: trak's BasicProjector, one normal block"
    else:
        try:
            import fast_jl  # noqa: F401

            projector = "trak's CUDA projector (fast_jl)"
        except ImportError:
            projector = "trak's BasicProjector: fast_jl is not installed"
    return {
        "per_example_s": per_example,
        "fixed_s": max(0.0, timings[small] - per_example * small),
        "peak_bytes": peak,
        "feature_bytes_per_example": feature_bytes / big,
        "projector": projector,
    }


def process_start_s() -> float:
    """Seconds a job spends starting Python and importing the library before it reads anything."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "import torch, valuetrace.finetune, valuetrace.attribution; torch.cuda.is_available()"],
        check=True, env={**os.environ, "PYTHONPATH": str(REPO / "workflow")},
    )  # fmt: skip
    return time.perf_counter() - start


def grid_cost(config: dict, figures: dict, precision: str, start_s: float) -> dict:
    """GPU hours and disk of every GPU job of the paper grid, from the per-step figures of each model."""
    plan = Plan(config)
    training = config["finetuning"]
    epochs = training["epochs"]
    hours = {"finetune": 0.0, "score_probes": 0.0, "attribution": 0.0, "counterfactual_finetune": 0.0}
    disk = {"runs": 0, "features": 0}

    def examples_of(run: grid.Run) -> int:
        return run.size * len(plan.run_languages(run.dataset, run.finetune_lang))

    def train_s(model: str, n_examples: int) -> float:
        measured = figures[model]
        return start_s + measured["job_overhead_s"] + n_examples * epochs / measured["training"][precision]["examples_per_s"]

    def score_s(model: str) -> float:
        measured = figures[model]["scoring"]
        return start_s + measured["load_s"] + PAPER_PROBES / measured[precision]["probes_per_s"]

    figures = {model: figures.get(model, next(iter(figures.values()))) for model in plan.models}
    for run in plan.runs:
        hours["finetune"] += train_s(run.model, examples_of(run))
        disk["runs"] += figures[run.model]["disk"]["run_bytes"]
    for model in plan.models:
        hours["score_probes"] += score_s(model)
    for run in plan.runs:
        hours["score_probes"] += score_s(run.model)
    trak_checkpoints = len(settings.Trak.from_config(config).checkpoint_ids())
    for run in plan.attributed_runs:
        measured = figures[run.model]["trak"]
        n = examples_of(run)
        # attribution_features: every example; attribution_scores: the targets (at most every
        # probe, if all flipped, and 8 self-check copies), featurised the same way
        targets = PAPER_PROBES + 8
        per_checkpoint = 2 * (start_s + measured["fixed_s"]) + (n + targets) * measured["per_example_s"]
        hours["attribution"] += trak_checkpoints * per_checkpoint
        disk["features"] += trak_checkpoints * n * measured["feature_bytes_per_example"]
    counterfactual = config["attribution"]["counterfactual"]
    retrainings = 1 + counterfactual["random_draws"]
    for run in plan.counterfactual_runs:
        per_job = train_s(run.model, examples_of(run)) + score_s(run.model) - start_s
        hours["counterfactual_finetune"] += counterfactual["targets_per_run"] * retrainings * per_job
    hours = {job: seconds / 3600 for job, seconds in hours.items()}
    return {"hours": hours, "total_hours": sum(hours.values()), "disk": disk}


def main(argv: list[str] | None = None) -> dict:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--cpu-smoke", action="store_true", help="a shrunken run on the CPU (automatic without a GPU)")
    arguments.add_argument("--models", nargs="+", choices=sorted(PAPER_SIZES), default=sorted(PAPER_SIZES))
    arguments.add_argument("--rounds", type=int, help="alternating rounds of timing fp32 and bf16 fine-tuning (the fastest counts)")
    arguments.add_argument("--threads", type=int, help="CPU threads of torch (default: 1 in the smoke run, where tiny models "
                           "gain nothing from more and slow down when other processes share the cores; else torch's)")
    arguments.add_argument("--json", type=Path, help="write every figure to this file")
    args = arguments.parse_args(argv)
    device = resolve_device("auto")
    smoke = args.cpu_smoke or device == "cpu"
    if smoke:
        device = "cpu"
    sizes, scale = (smoke_sizes(), SMOKE_SCALE) if smoke else (PAPER_SIZES, GPU_SCALE)
    if args.threads or smoke:
        torch.set_num_threads(args.threads or 1)
    if args.rounds:
        scale = dataclasses.replace(scale, rounds=args.rounds)
    memory = Memory(device)
    wall = time.perf_counter()

    config = paper_config()
    training = settings.Training.from_config(config, 0)
    scoring_settings = settings.Scoring.from_config(config)
    trak = settings.Trak.from_config(config)
    if smoke:
        # the demo's fine-tuning batches and lengths (config/config.yaml), a small projection
        training = dataclasses.replace(training, batch_size=16, max_length=64)
        trak = dataclasses.replace(trak, proj_dim=scale.proj_dim, batch_size=8, max_length=64)
    paper_languages = [lang for lang in config["languages"] if lang in LANGUAGE_NAMES]
    probes, _ = compile_probes(REPO / "config/probes/demo", REPO / "config/probes/wvs7_key.tsv", paper_languages)
    sentences = balanced_probe_corpus(probes, scale.tokenizer_sentences_per_option, seed=0)["text"].to_list()
    n_texts = max(
        (scale.warmup_steps + scale.timed_steps) * training.batch_size,
        training.checkpoints * training.batch_size,
        trak.batch_size + scale.trak_examples,
    )

    figures: dict = {}
    phases: dict[str, float] = {}  # wall seconds of each part of the benchmark

    def timed(phase: str, step, *args):
        start = time.perf_counter()
        value = step(*args)
        phases[phase] = phases.get(phase, 0.0) + time.perf_counter() - start
        return value

    for name in args.models:
        size = sizes[name]
        model, tokenizer = timed("building", build, size, sentences, 512 if not smoke else 128)
        texts = examples(tokenizer, sentences, n_texts, scale.tokens_per_example)
        tokens = sum(len(ids) for ids in tokenizer(texts[:200])["input_ids"]) / min(200, len(texts))
        with tempfile.TemporaryDirectory(prefix="bench-paper-") as scratch:
            scratch = Path(scratch)
            base = scratch / "base"
            model.save_pretrained(base)
            tokenizer.save_pretrained(base)
            measured = {
                "parameters": model.num_parameters(),
                "tokens_per_example": tokens,
                "training": timed("training", measure_training, model, tokenizer, texts, training, scale, device, memory, scratch / "train"),
            }
            del model
            gc.collect()
            if device.startswith("cuda"):
                torch.cuda.empty_cache()
            run_dir, disk, run_s = timed("a fine-tuning job", measure_run, base, texts, training, device, scratch)
            # A job's time beyond its optimiser steps: loading, tokenising, saving its checkpoints and model.
            steps_s = training.checkpoints * training.batch_size / measured["training"]["fp32"]["examples_per_s"]
            measured["disk"] = disk
            measured["job_overhead_s"] = max(0.0, run_s - steps_s)
            scored = probes.head(scale.scored_probes or probes.height)
            measured["scoring"] = timed("scoring", measure_scoring, run_dir, scored, scoring_settings, device, memory)
            measured["trak"] = timed("TRAK", measure_trak, run_dir, base, texts, trak, scale, device, memory, scratch)
        figures[name] = measured
    # Starting a job's Python and importing the library (seconds on a GPU node; not measured in the smoke run).
    start_s = 0.0 if smoke else process_start_s()
    cost = {precision: grid_cost(config, figures, precision, start_s) for precision in ("fp32", "bf16")}
    wall = time.perf_counter() - wall

    gpu = torch.cuda.get_device_name() if device.startswith("cuda") else None
    print(f"device: {gpu or 'CPU'} ({torch.get_num_threads()} threads); "
          + ("CPU SMOKE RUN: the demo's tiny models and few steps stand in for the paper's; the figures check the benchmark "
             "and describe demo-size runs, not the paper's cost" if smoke else "the paper's model sizes"))  # fmt: skip
    print(f"settings of config/paper.yaml: batch {training.batch_size}, max_length {training.max_length}, "
          f"TRAK proj_dim {trak.proj_dim}, exclude {list(trak.exclude_parameters)}, {trak.mask_copies} masked copies")  # fmt: skip
    for name, measured in figures.items():
        size, train, score, features, disk = sizes[name], measured["training"], measured["scoring"], measured["trak"], measured["disk"]
        fp32, bf16 = train["fp32"]["examples_per_s"], train["bf16"]["examples_per_s"]
        print(f"\n{name}: {size.architecture}, {size.layers} layers, hidden {size.hidden_size}, vocabulary {size.vocab_size:,} "
              f"({measured['parameters'] / 1e6:.1f}M parameters), {measured['tokens_per_example']:.0f} tokens per example")  # fmt: skip
        print(f"  fine-tuning: fp32 {fp32:.1f} examples/s (the baseline, 1.00), bf16 {bf16:.1f} examples/s "
              f"(bf16/fp32 = {bf16 / fp32:.2f}); {memory.label} {human(train['fp32']['peak_bytes'])} / "
              f"{human(train['bf16']['peak_bytes'])}")  # fmt: skip
        print(f"  scoring: fp32 {score['fp32']['probes_per_s']:.1f} probes/s, bf16 {score['bf16']['probes_per_s']:.1f} probes/s "
              f"(bf16/fp32 = {score['bf16']['probes_per_s'] / score['fp32']['probes_per_s']:.2f}; largest |score difference| "
              f"{score['bf16_max_score_error']:.3f} nats); loading the model {score['load_s']:.1f} s")  # fmt: skip
        epoch_per_1000 = 1000 / fp32
        trak_per_1000 = 1000 * features["per_example_s"]
        print(f"  TRAK featurisation ({features['projector']}): {trak_per_1000:.1f} s per 1,000 examples and checkpoint "
              f"+ {features['fixed_s']:.1f} s per job; {trak_per_1000 / epoch_per_1000:.1f} fp32 fine-tuning epochs "
              f"({trak_per_1000 / (1000 / bf16):.1f} bf16 epochs) on the same examples; {memory.label} "
              f"{human(features['peak_bytes'])}; features {human(features['feature_bytes_per_example'])} per example")  # fmt: skip
        print(f"  checkpoints of a run ({disk['checkpoints']}): {human(disk['checkpoint_bytes_written'])} as written, "
              f"{human(disk['checkpoint_bytes_kept'])} kept ({disk['checkpoint_bytes_written'] / max(1, disk['checkpoint_bytes_kept']):.1f}x less); "
              f"whole run {human(disk['run_bytes'])}; work directory at most {human(disk['work_peak_bytes'])}; "
              f"job overhead beyond its steps {measured['job_overhead_s']:.1f} s")  # fmt: skip
    unmeasured = [name for name in PAPER_SIZES if name not in figures]
    print(f"\nthe paper grid (config/paper.yaml), from these figures (+ {start_s:.1f} s to start each job, "
          f"{PAPER_PROBES} probes per scoring job"
          + (f"; {', '.join(unmeasured)} not measured, costed with {next(iter(figures))}'s figures" if unmeasured else "")
          + ("; SMOKE FIGURES OF TINY MODELS ON A CPU: this checks the arithmetic, it is not the paper's cost" if smoke else "")
          + "):")  # fmt: skip
    for precision, estimate in cost.items():
        parts = ", ".join(f"{job} {hours:.1f}" for job, hours in estimate["hours"].items())
        print(f"  {precision}: {estimate['total_hours']:.1f} GPU hours ({parts}); disk: runs "
              f"{human(estimate['disk']['runs'])}, TRAK features {human(estimate['disk']['features'])}")  # fmt: skip
    print(f"\nbenchmark wall time: {wall:.1f} s (" + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in phases.items()) + ")")
    result = {"device": gpu or "cpu", "smoke": smoke, "figures": figures, "grid": cost, "start_s": start_s, "wall_s": wall, "phases_s": phases}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    return result


if __name__ == "__main__":
    main()
