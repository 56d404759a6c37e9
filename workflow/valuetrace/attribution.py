"""Which fine-tuning examples moved each probe's score: TRAK's two steps that need the model.

1. :func:`featurize`: for one checkpoint of a run (checkpoint 0 is the model its fine-tuning
   started from: :func:`checkpoint_source`), trak's ``TRAKer`` projects the per-example
   gradients of the training examples' function (``influence``) and finalises the features,
   in a save directory of its own (several jobs writing one save directory race on its
   metadata).
2. :func:`score`: in a fresh ``TRAKer`` on a private copy of those features (trak 0.3.2 frees
   its projection matrix when finalising, so scoring in the featurizing TRAKer can fail), the
   targets' gradients are projected and scored against every training example. The targets
   are the run's probes (all, or those whose choice flipped) plus copies of a few training
   examples, the built-in self-check: a copy must be attributed to its original.

The third step, averaging the checkpoints and summarising, needs no model and lives in
``valuetrace.attribution_summary``. An influence is TRAK's estimate of how much an example
raised the probe's score log P(A) - log P(B).
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import torch
from tqdm import tqdm
from trak import TRAKer

from valuetrace import gradient_scaling
from valuetrace.attribution_summary import PROBE_KEY, self_check_indices
from valuetrace.errors import InputError
from valuetrace.finetune import RUN_FILE
from valuetrace.influence import (
    SelectedParameterGradients,
    SignedLogProbability,
    collate,
    example_functions,
    parameters_with_gradients,
    probe_functions,
)
from valuetrace.kinds import kind_of_config
from valuetrace.models import load_tokenizer, load_weights, resolve_device
from valuetrace.projection import PROJECTIONS
from valuetrace.settings import Scoring, Trak
from valuetrace.tables import atomic_directory

log = logging.getLogger(__name__)

_EXPERIMENT = "targets"


def checkpoint_source(run_dir: Path, index: int, used: int, base: str) -> str:
    """Where checkpoint ``index`` of a run loads from: 0 is ``base``, the model its fine-tuning
    started from (a directory or a hub name); 1 to ``used`` are the last ``used`` checkpoints it saved.

    Why the start: TRAK's linearisation around a checkpoint predicts the effect of an example
    through the gradients there, and by a late checkpoint the planted option words are learned
    (their gradients are small) while what every sentence of a planting shares is not, so the
    whole network's gradients rank any planting alike; around the starting point they rank
    each question's own (README, "Attribution at the start of fine-tuning")."""
    return base if index == 0 else str(checkpoint_dir(run_dir, index, used))


def checkpoint_dir(run_dir: Path, index: int, used: int) -> Path:
    """The ``index``-th (1-based) of the last ``used`` checkpoints a fine-tuning run saved."""
    saved = sorted((run_dir / "checkpoints").glob("step-*"), key=lambda path: int(path.name.split("-")[1]))
    planned = json.loads((run_dir / RUN_FILE).read_text())["checkpoints"] if (run_dir / RUN_FILE).exists() else None
    if planned is not None and len(saved) < planned:
        raise InputError(
            f"{run_dir}: the run holds {len(saved)} of the {planned} checkpoints its training saves, so it is "
            f"damaged or was written by an interrupted attempt; delete {run_dir} and run the workflow again"
        )
    if len(saved) < used:
        raise InputError(
            f"{run_dir}: attribution.checkpoints is {used} but the run saved {len(saved)} checkpoints "
            "(raise finetuning.checkpoints, which reruns fine-tuning)"
        )
    return saved[len(saved) - used + index - 1]


def _differentiated(model, settings: Trak) -> tuple[list[str], int]:
    names = parameters_with_gradients(model, list(settings.include_parameters), list(settings.exclude_parameters))
    return names, sum(parameter.numel() for name, parameter in model.named_parameters() if name in names)


def _traker(
    model, differentiated: tuple[list[str], int], n_train: int, save_dir: Path, settings: Trak, device: str, scales: dict[str, float] | None
) -> TRAKer:
    names, grad_dim = differentiated
    features = PROJECTIONS[settings.projection](grad_dim, n_train, settings.proj_dim, settings.projector_seed, device)
    return TRAKer(
        model=model,
        task=SignedLogProbability(),
        train_set_size=n_train,
        save_dir=str(save_dir),
        device=device,
        gradient_computer=functools.partial(SelectedParameterGradients, scales=scales),
        grad_wrt=names,
        lambda_reg=settings.lambda_reg,
        logging_level=logging.WARNING,
        **features,
    )


def _load(checkpoint: str, tokenizer_dir: Path, device: str):
    # Eager attention: sdpa falls back to a slow path under vmap.
    model = load_weights(checkpoint, device, attn_implementation="eager")
    kind = kind_of_config(model.config, checkpoint)
    return model, load_tokenizer(str(tokenizer_dir), kind), kind


def _batches(functions, batch_size: int, pad_id: int, device: str, desc: str):
    for start in tqdm(range(0, len(functions), batch_size), desc=desc, unit="batch", mininterval=5):
        chunk = functions[start : start + batch_size]
        yield len(chunk), [tensor.to(device) for tensor in collate(chunk, pad_id)]


def featurize(
    run_dir: Path,
    train_path: Path,
    out_dir: Path,
    *,
    checkpoint: int,
    settings: Trak,
    base: str,
    device: str = "auto",
) -> None:
    """TRAK features of a run's training examples at one checkpoint, in ``out_dir``; ``base``
    is the model the run's fine-tuning started from (checkpoint 0)."""
    device = resolve_device(device)
    source = checkpoint_source(run_dir, checkpoint, settings.checkpoints, base)
    model, tokenizer, kind = _load(source, run_dir / "model", device)
    texts = pl.read_parquet(train_path)["text"].to_list()
    functions = example_functions(tokenizer, texts, settings.mask_copies, settings.max_length, kind)
    inputs = sum(len(function) for function in functions)
    log.info("%s: %d examples of a %s LM, %d inputs to differentiate", source, len(texts), kind.name, inputs)
    # Selected once: the selection checks the parameters with a forward pass of its own.
    differentiated = _differentiated(model, settings)
    scales = _gradient_scales(model, differentiated, functions, settings, tokenizer.pad_token_id, device)
    with atomic_directory(out_dir) as partial:
        gradient_scaling.save(scales, partial)
        traker = _traker(model, differentiated, len(functions), partial, settings, device, scales)
        traker.load_checkpoint(model.state_dict(), model_id=checkpoint)
        for size, batch in _batches(functions, settings.batch_size, tokenizer.pad_token_id, device, "featurizing"):
            traker.featurize(batch=batch, num_samples=size)
        # The raw projected gradients are only needed to finalise; features are kept.
        traker.finalize_features(model_ids=[checkpoint], del_grads=True)


def _gradient_scales(
    model, differentiated: tuple[list[str], int], functions, settings: Trak, pad_id: int, device: str
) -> dict[str, float] | None:
    """The factors ``attribution.gradient_scaling`` gives each tensor's gradients at this
    checkpoint, from its training examples' gradients: a pass of its own (trak projects each
    batch's gradients as it computes them, before the last batch could set the scales), which a
    scaling that needs no gradients never starts."""
    names, grad_dim = differentiated
    computer = SelectedParameterGradients(model, SignedLogProbability(), grad_dim, torch.float32, device, grad_wrt=names)
    batches = _batches(functions, settings.batch_size, pad_id, device, "gradient scales")
    return gradient_scaling.scales_for(settings.gradient_scaling, (computer.compute_per_sample_grad(batch) for _, batch in batches))


def score(
    run_dir: Path,
    features_dir: Path,
    train_path: Path,
    probes: pl.DataFrame,
    chosen: pl.DataFrame,
    out_dir: Path,
    *,
    checkpoint: int,
    trak: Trak,
    scoring: Scoring,
    base: str,
    device: str = "auto",
) -> None:
    """Influence of every training example on every chosen probe at one checkpoint.

    Writes ``scores.npy`` (examples × targets, the chosen probes then the self-check copies)
    and ``targets.json``. Probes are read out as ``scoring`` scores them; ``probes`` is the
    whole probe table, which a calibrated score may read beyond the chosen probes. A calibrated
    score whose gradient the calibration cancels in the differentiated parameters is refused
    (:func:`check_calibration_leaves_a_gradient`), and nothing is written.
    """
    device = resolve_device(device)
    source = checkpoint_source(run_dir, checkpoint, trak.checkpoints, base)
    model, tokenizer, kind = _load(source, run_dir / "model", device)
    texts = pl.read_parquet(train_path)["text"].to_list()
    copies = self_check_indices(len(texts))
    rows = probes.with_row_index("_row").join(chosen.select(PROBE_KEY), on=PROBE_KEY, maintain_order="right")["_row"]
    functions = probe_functions(
        tokenizer, probes, scoring.method, scoring.max_length, kind, scoring.normalisation, scoring.calibration, rows.to_list()
    )
    functions += example_functions(tokenizer, [texts[i] for i in copies], trak.mask_copies, trak.max_length, kind)
    # A calibrated score is also scored raw, once, to see whether the calibration left the
    # differentiated parameters anything to attribute (check_calibration_leaves_a_gradient).
    raw = [] if scoring.calibration == "none" else probe_functions(
        tokenizer, probes, scoring.method, scoring.max_length, kind, scoring.normalisation, "none", rows.to_list()
    )  # fmt: skip
    kept = len(functions)
    functions += raw
    with atomic_directory(out_dir) as partial:
        # A private copy of the features: trak writes the targets' gradients and scores
        # into its save directory, which belongs to the featurizing job.
        store = partial / "trak"
        shutil.copytree(features_dir, store)
        traker = _traker(model, _differentiated(model, trak), len(texts), store, trak, device, gradient_scaling.load(features_dir))
        traker.start_scoring_checkpoint(_EXPERIMENT, model.state_dict(), model_id=checkpoint, num_targets=len(functions))
        for size, batch in _batches(functions, trak.batch_size, tokenizer.pad_token_id, device, "scoring"):
            traker.score(batch=batch, num_samples=size)
        influence = np.asarray(traker.finalize_scores(_EXPERIMENT, model_ids=[checkpoint]), dtype=np.float32)
        if raw:
            check_calibration_leaves_a_gradient(influence[:, : chosen.height], influence[:, kept:], chosen, source, trak, scoring)
        np.save(partial / "scores.npy", influence[:, :kept])
        shutil.rmtree(store)
        (partial / "targets.json").write_text(
            json.dumps({"probes": chosen.select(PROBE_KEY).to_dicts(), "self_check": copies})
        )


# A calibrated probe whose largest |influence| is below this share of its raw score's has lost
# its gradient to the calibration. Measured on the demo's tiny BERT through its output bias:
# 1e-8 for one-token options (exact cancellation), 3e-4 for options of four or five pieces;
# through the whole network, or for options the calibration does not share, 0.01 and more.
CANCELLED = 1e-3


def check_calibration_leaves_a_gradient(
    calibrated: np.ndarray, raw: np.ndarray, chosen: pl.DataFrame, source: str, trak: Trak, scoring: Scoring
) -> None:
    """Refuse a calibrated score whose gradient in the differentiated parameters cancels: TRAK
    would rank the examples for it by what is left of rounding. ``calibrated`` and ``raw``:
    examples × chosen probes, the influence on the calibrated score and on the raw one.

    The cause: a parameter that acts alike in every context, such as an output bias (the demo's
    attribution), has the same gradient of log P(A) - log P(B) in a probe and in its calibration
    (content-free or the probes sharing its options), so their difference has none.
    """
    ratio = np.abs(calibrated).max(axis=0) / np.maximum(np.abs(raw).max(axis=0), np.finfo(np.float32).tiny)
    cancelled = ratio < CANCELLED
    if not cancelled.any():
        return
    names = chosen.filter(pl.Series(cancelled))["probe_lang", "probe_id"].head(5).rows()
    raise InputError(
        f"{source}: the calibrated score of {int(cancelled.sum())} of {len(ratio)} probes (e.g. "
        f"{', '.join(f'{probe} ({lang})' for lang, probe in names)}) has almost no gradient in the parameters "
        f"differentiated (attribution.include_parameters {list(trak.include_parameters) or 'all'}, exclude_parameters "
        f"{list(trak.exclude_parameters)}): less than {CANCELLED:g} of the raw score's, so TRAK cannot attribute it. "
        f"With scoring.calibration {scoring.calibration!r} an output bias, which acts alike in every probe, cancels "
        "between a probe and its calibration. Differentiate more of the network (e.g. include_parameters: [], "
        "exclude_parameters: [embeddings]) or set scoring.calibration: none"
    )
