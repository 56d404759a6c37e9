"""Which fine-tuning examples moved each probe's score: TRAK, per run, in three steps.

1. ``featurize``: for one checkpoint of a run, trak's ``TRAKer`` projects the per-example
   gradients of the training examples' function (``influence``) and finalises the features,
   in a save directory of its own (several jobs writing one save directory race on its
   metadata).
2. ``score``: in a fresh ``TRAKer`` on a private copy of those features (trak 0.3.2 frees its
   projection matrix when finalising, so scoring in the featurizing TRAKer can fail), the
   targets' gradients are projected and scored against every training example. The targets
   are the run's probes (all, or those whose choice flipped) plus copies of a few training
   examples, the built-in self-check: a copy must be attributed to its original.
3. ``gather``: averages the checkpoints' scores (as trak's ``finalize_scores`` does over model
   ids) and keeps what the report needs: per target the top examples in the direction the
   probe moved, with their text and source metadata, and the influence summed per example
   language and source.

An influence is TRAK's estimate of how much an example raised the probe's score log P(A) -
log P(B); rank 1 is the example that pushed the probe furthest in the direction it moved.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import torch
from tqdm import tqdm
from trak import TRAKer
from trak.projectors import BasicProjector, ProjectionType
from transformers import AutoModelForMaskedLM, AutoTokenizer

from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.influence import (
    SelectedParameterGradients,
    SignedLogProbability,
    collate,
    example_functions,
    parameters_with_gradients,
    probe_functions,
)
from valuetrace.models import resolve_device
from valuetrace.scoring import choice
from valuetrace.tables import atomic_directory, write_table

log = logging.getLogger(__name__)

TARGETS = ("all", "flipped")
# Example columns short enough to show in the report (the rest stay in the parquet table).
_EXAMPLE_SHOWN = ("example_id", "example_lang", "example_source", "example_text")
SELF_CHECK_COPIES = 8
_EXPERIMENT = "targets"
_PROBE_KEY = ["probe_lang", "probe_id", "question_id"]
RUN_SCHEMA = {"model": pl.String, "dataset": pl.String, "finetune_lang": pl.String, "size": pl.Int64, "seed": pl.Int64}


def checkpoint_dir(run_dir: Path, index: int, used: int) -> Path:
    """The ``index``-th (1-based) of the last ``used`` checkpoints a fine-tuning run saved."""
    saved = sorted((run_dir / "checkpoints").glob("step-*"), key=lambda path: int(path.name.split("-")[1]))
    if len(saved) < used:
        raise InputError(
            f"{run_dir}: attribution.checkpoints is {used} but the run saved {len(saved)} checkpoints "
            "(raise finetuning.checkpoints, which reruns fine-tuning)"
        )
    return saved[len(saved) - used + index - 1]


def _traker(model, n_train: int, save_dir: Path, settings: dict, device: str) -> TRAKer:
    names = parameters_with_gradients(model, settings["include_parameters"], settings["exclude_parameters"])
    grad_dim = sum(parameter.numel() for name, parameter in model.named_parameters() if name in names)
    projector = None  # on a GPU trak picks its CUDA projector when fast_jl is installed
    if device == "cpu":
        # trak's default CPU projector regenerates its matrix in blocks of 100 columns for
        # every batch; one block made once per checkpoint is many times faster.
        projector = BasicProjector(
            grad_dim=grad_dim,
            proj_dim=settings["proj_dim"],
            seed=settings["projector_seed"],
            proj_type=ProjectionType.normal,
            device="cpu",
            block_size=settings["proj_dim"],
            dtype=torch.float32,
        )
    return TRAKer(
        model=model,
        task=SignedLogProbability(),
        train_set_size=n_train,
        save_dir=str(save_dir),
        device=device,
        gradient_computer=SelectedParameterGradients,
        projector=projector,
        proj_dim=settings["proj_dim"],
        projector_seed=settings["projector_seed"],
        grad_wrt=names,
        lambda_reg=settings["lambda_reg"],
        logging_level=logging.WARNING,
    )


def _load(checkpoint: Path, tokenizer_dir: Path, device: str):
    # Eager attention: sdpa falls back to a slow path under vmap.
    model = AutoModelForMaskedLM.from_pretrained(checkpoint, attn_implementation="eager").to(device).eval()
    return model, AutoTokenizer.from_pretrained(tokenizer_dir)


def _batches(functions, batch_size: int, pad_id: int, device: str, desc: str):
    for start in tqdm(range(0, len(functions), batch_size), desc=desc, unit="batch", mininterval=5):
        chunk = functions[start : start + batch_size]
        yield len(chunk), [tensor.to(device) for tensor in collate(chunk, pad_id)]


def featurize(
    run_dir: Path, train_path: Path, out_dir: Path, *, checkpoint: int, settings: dict, device: str = "auto"
) -> None:
    """TRAK features of a run's training examples at one checkpoint, in ``out_dir``."""
    device = resolve_device(device)
    source = checkpoint_dir(run_dir, checkpoint, settings["checkpoints"])
    model, tokenizer = _load(source, run_dir / "model", device)
    texts = pl.read_parquet(train_path)["text"].to_list()
    functions = example_functions(tokenizer, texts, settings["mask_copies"], settings["max_length"])
    log.info("%s: %d examples, %d masked copies each", source, len(texts), settings["mask_copies"])
    with atomic_directory(out_dir) as partial:
        traker = _traker(model, len(functions), partial, settings, device)
        traker.load_checkpoint(model.state_dict(), model_id=checkpoint)
        for size, batch in _batches(functions, settings["batch_size"], tokenizer.pad_token_id, device, "featurizing"):
            traker.featurize(batch=batch, num_samples=size)
        traker.finalize_features(model_ids=[checkpoint])
        # The raw projected gradients are only needed to finalise; features are kept.
        traker.saver.del_grads(checkpoint)


def targets(probes: pl.DataFrame, base_scores: pl.DataFrame, run_scores: pl.DataFrame, which: str) -> pl.DataFrame:
    """The probes to attribute, with their score shift in the run (``shift``)."""
    if which not in TARGETS:
        raise InputError(f"attribution.targets {which!r} is not one of {TARGETS}")
    before = base_scores.select(*_PROBE_KEY, score_before="score")
    after = run_scores.select(*_PROBE_KEY, score_after="score")
    chosen = probes.join(before, on=_PROBE_KEY).join(after, on=_PROBE_KEY)
    chosen = chosen.with_columns(shift=pl.col("score_after") - pl.col("score_before"))
    if which == "flipped":
        chosen = chosen.filter(choice(pl.col("score_before")) != choice(pl.col("score_after")))
    return chosen.sort(_PROBE_KEY)


def self_check_indices(n_train: int) -> list[int]:
    """Training examples whose copies are scored as extra targets (spread over the set)."""
    return np.unique(np.linspace(0, n_train - 1, SELF_CHECK_COPIES).round().astype(int)).tolist()


def score(
    run_dir: Path,
    features_dir: Path,
    train_path: Path,
    chosen: pl.DataFrame,
    out_dir: Path,
    *,
    checkpoint: int,
    method: str,
    settings: dict,
    device: str = "auto",
) -> None:
    """Influence of every training example on every chosen probe at one checkpoint.

    Writes ``scores.npy`` (examples × targets, the chosen probes then the self-check copies)
    and ``targets.parquet``.
    """
    device = resolve_device(device)
    source = checkpoint_dir(run_dir, checkpoint, settings["checkpoints"])
    model, tokenizer = _load(source, run_dir / "model", device)
    texts = pl.read_parquet(train_path)["text"].to_list()
    copies = self_check_indices(len(texts))
    functions = probe_functions(tokenizer, chosen, method, settings["probe_max_length"])
    functions += example_functions(
        tokenizer, [texts[i] for i in copies], settings["mask_copies"], settings["max_length"]
    )
    with atomic_directory(out_dir) as partial:
        # A private copy of the features: trak writes the targets' gradients and scores
        # into its save directory, which belongs to the featurizing job.
        store = partial / "trak"
        shutil.copytree(features_dir, store)
        traker = _traker(model, len(texts), store, settings, device)
        traker.start_scoring_checkpoint(_EXPERIMENT, model.state_dict(), model_id=checkpoint, num_targets=len(functions))
        for size, batch in _batches(functions, settings["batch_size"], tokenizer.pad_token_id, device, "scoring"):
            traker.score(batch=batch, num_samples=size)
        influence = np.asarray(traker.finalize_scores(_EXPERIMENT, model_ids=[checkpoint]), dtype=np.float32)
        np.save(partial / "scores.npy", influence)
        shutil.rmtree(store)
        (partial / "targets.json").write_text(
            json.dumps({"probes": chosen.select(_PROBE_KEY).to_dicts(), "self_check": copies})
        )


def _example_columns(train: pl.DataFrame) -> pl.DataFrame:
    """The training examples with every column named ``example_<name>``."""
    return train.rename({name: f"example_{name}" for name in train.columns if not name.startswith("example_")})


def gather(
    run: Run,
    score_dirs: list[Path],
    train_path: Path,
    chosen: pl.DataFrame,
    *,
    top_k: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Top examples per probe, influence per example language and source, and the self-check."""
    manifests = [json.loads((directory / "targets.json").read_text()) for directory in score_dirs]
    if any(manifest != manifests[0] for manifest in manifests):
        raise InputError(f"{', '.join(map(str, score_dirs))}: the checkpoints scored different targets")
    if manifests[0]["probes"] != chosen.select(_PROBE_KEY).to_dicts():
        raise InputError(f"{score_dirs[0]}: scored targets differ from the run's current targets")
    influence = np.mean([np.load(directory / "scores.npy") for directory in score_dirs], axis=0)
    train = pl.read_parquet(train_path)
    n_probes = chosen.height
    run_columns = run.columns()

    # Probes that did not move are ranked towards A.
    direction = np.where(chosen["shift"].to_numpy() < 0, -1.0, 1.0)
    along_shift = influence[:, :n_probes] * direction
    ranks = np.argsort(-along_shift, axis=0, kind="stable")[:top_k]
    examples = _example_columns(train)
    top = []
    flipped = choice(pl.col("score_before")) != choice(pl.col("score_after"))
    for column, probe in enumerate(chosen.select(*_PROBE_KEY, "shift", flipped=flipped).iter_rows(named=True)):
        rows = ranks[:, column]
        top.append(
            examples[rows.tolist()].with_columns(
                **{key: pl.lit(value) for key, value in {**run_columns, **probe}.items()},
                rank=pl.Series(np.arange(1, len(rows) + 1), dtype=pl.Int64),
                influence=pl.Series(influence[rows, column], dtype=pl.Float64),
            )
        )
    leading = [*run_columns, *_PROBE_KEY, "shift", "flipped", "rank", "example_id", "example_lang", "example_source", "influence"]
    top_table = pl.concat(top).select(*leading, pl.exclude(leading))

    long = pl.DataFrame(
        {
            "target": np.repeat(np.arange(n_probes), len(train)),
            "example_lang": np.tile(train["lang"].to_numpy(), n_probes),
            "example_source": np.tile(train["source"].to_numpy(), n_probes),
            "influence": influence[:, :n_probes].T.reshape(-1).astype(np.float64),
            "support": np.clip(along_shift.T.reshape(-1), 0, None).astype(np.float64),
        }
    )
    groups = long.group_by("target", "example_lang", "example_source").agg(
        n_examples=pl.len(), influence=pl.col("influence").sum(), support=pl.col("support").sum()
    )
    probes = (
        chosen.select(*_PROBE_KEY, "shift", flipped=flipped)
        .with_row_index("target")
        .with_columns(pl.col("target").cast(pl.Int64))
    )
    groups = (
        groups.with_columns(pl.col("target").cast(pl.Int64))
        .join(probes, on="target")
        .with_columns(**{key: pl.lit(value) for key, value in run_columns.items()})
        .select(*run_columns, *_PROBE_KEY, "shift", "flipped", "example_lang", "example_source", "n_examples", "influence", "support")
        .sort(*_PROBE_KEY, "example_lang", "example_source")
    )

    copied = manifests[0]["self_check"]
    copies = influence[:, n_probes:]
    original = copies[copied, np.arange(len(copied))]
    checks = pl.DataFrame(
        {
            **{key: [value] * len(copied) for key, value in run_columns.items()},
            "copied_example": [train["example_id"][i] for i in copied],
            "top_example": [train["example_id"][int(i)] for i in copies.argmax(axis=0)],
            "original_rank": (1 + (copies > original).sum(axis=0)).astype(np.int64),
        }
    ).with_columns(passed=pl.col("original_rank") == 1)
    if not checks["passed"].all():
        log.warning(
            "self-check: %d of %d copied training examples are not attributed to themselves first",
            (~checks["passed"]).sum(),
            checks.height,
        )
    return top_table, groups, checks


def planted_precision(top: pl.DataFrame, groups: pl.DataFrame, planted: dict[str, list[str]], at: int) -> pl.DataFrame:
    """Per planted question and probe language: the share of its top ``at`` examples that
    plant that very question (``example_planted_question``)."""
    schema = {
        **{key: dtype for key, dtype in RUN_SCHEMA.items()},
        "probe_lang": pl.String, "question_id": pl.String, "in_language": pl.Boolean,
        "precision": pl.Float64, "at": pl.Int64,
    }  # fmt: skip
    if "example_planted_question" not in top.columns or not planted:
        return pl.DataFrame(schema=schema)
    questions = pl.DataFrame(
        [{"dataset": d, "question_id": q} for d, qs in planted.items() for q in qs],
        schema={"dataset": pl.String, "question_id": pl.String},
    )
    run_keys = list(RUN_SCHEMA)
    languages = groups.select(*run_keys, probe_lang="example_lang").unique().with_columns(in_language=pl.lit(True))
    return (
        top.join(questions, on=["dataset", "question_id"])
        .filter(pl.col("rank") <= at)
        .group_by(*run_keys, "probe_lang", "question_id")
        .agg(precision=(pl.col("example_planted_question") == pl.col("question_id")).mean())
        .join(languages, on=[*run_keys, "probe_lang"], how="left")
        .with_columns(pl.col("in_language").fill_null(False), at=pl.lit(at, dtype=pl.Int64))
        .select(list(schema))
        .sort(*run_keys, "probe_lang", "question_id")
    )


def flipped_top(top: pl.DataFrame, n: int) -> pl.DataFrame:
    """For the report: the top ``n`` examples of every probe whose choice flipped, without the
    examples' source metadata (which stays in the full table)."""
    shown = [c for c in top.columns if not c.startswith("example_") or c in _EXAMPLE_SHOWN]
    return top.filter(pl.col("flipped"), pl.col("rank") <= n).select(shown)
