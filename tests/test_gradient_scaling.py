"""attribution.gradient_scaling: each parameter tensor weighed by 1 / the RMS of its training
examples' gradients, as an Adam step weighs it (valuetrace.gradient_scaling)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import polars as pl
import torch

from attribution_runs import TEXTS, fake_run, scores_of
from test_attribution import SCORING, TRAK
from valuetrace import attribution, attribution_summary, gradient_scaling
from valuetrace.grid import Run
from valuetrace.influence import SignedLogProbability, collate, example_functions, parameters_with_gradients, probe_functions
from valuetrace.kinds import kind_of_config
from valuetrace.models import load_tokenizer, load_weights


def test_tensor_rms_scales_are_one_over_the_root_of_each_tensors_rms():
    """Two batches of per-example gradients: a tensor's scale is 1/sqrt(RMS over every example
    and entry); a tensor the output never uses (all zeros) gets 0, not a division by zero, and so
    does one whose gradient is only rounding beside the others'."""
    batches = [
        {"a": torch.tensor([[3.0, 4.0]]), "b": torch.tensor([[[1.0]], [[1.0]]]), "unused": torch.zeros(1, 3)},
        {"a": torch.tensor([[0.0, 0.0]]), "b": torch.tensor([[[3.0]]]), "unused": torch.zeros(1, 3)},
    ]
    batches[1]["rounding"] = batches[0]["rounding"] = torch.full((1, 2), 1e-14)
    scales = gradient_scaling.scales_for("tensor_rms", iter(batches))
    assert scales["a"] == (((9 + 16) / 4) ** 0.5) ** -0.5
    assert scales["b"] == (((1 + 1 + 9) / 3) ** 0.5) ** -0.5
    assert scales["unused"] == scales["rounding"] == 0.0
    assert gradient_scaling.scales_for("none", iter(batches)) is None


def _gradients(model, functions, names, pad_id):
    """Per-example gradients of the selected parameters by plain autograd, one function at a time."""
    task = SignedLogProbability()
    weights = {name: p for name, p in model.named_parameters() if name in names}
    constants = {**dict(model.named_buffers()), **{n: p.detach() for n, p in model.named_parameters() if n not in names}}
    rows = []
    for function in functions:
        tensors = [t[0] for t in collate([function], pad_id)]
        output = task.get_output(model, weights, constants, *tensors)
        rows.append(dict(zip(names, torch.autograd.grad(output, [weights[n] for n in names], allow_unused=True, materialize_grads=True))))
    return rows


def test_scaled_exact_kernel_scores_are_the_hand_computed_ridge_regression(tmp_path, tiny_model_dirs, shipped_probes):
    """The whole pipeline with tensor_rms and the exact kernel: the saved scales are those of the
    examples' gradients computed by hand, the scores are TRAK's ridge regression on the gradients
    scaled by them (trak divides features and targets by sqrt(p)), and the self-check still passes."""
    trak = dataclasses.replace(TRAK, projection="none", gradient_scaling="tensor_rms", checkpoints=0, lambda_reg=0.01)
    run_dir, train = fake_run(tmp_path, tiny_model_dirs["bert"], TEXTS)
    base = str(tiny_model_dirs["bert"])
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(4)
    chosen = attribution_summary.targets(probes, scores_of(probes, 0.0), scores_of(probes, 1.0), "all")
    features, scores = tmp_path / "features", tmp_path / "scores"
    attribution.featurize(run_dir, train, features, checkpoint=0, settings=trak, base=base, device="cpu")
    attribution.score(run_dir, features, train, probes, chosen, scores, checkpoint=0, trak=trak, scoring=SCORING, base=base, device="cpu")

    model = load_weights(base, "cpu", attn_implementation="eager")
    kind = kind_of_config(model.config, base)
    tokenizer = load_tokenizer(base, kind)
    names = parameters_with_gradients(model, [], [])
    examples = _gradients(model, example_functions(tokenizer, TEXTS, trak.mask_copies, trak.max_length, kind), names, tokenizer.pad_token_id)
    rms = {n: float(torch.stack([g[n] for g in examples]).double().pow(2).mean().sqrt()) for n in names}
    saved = json.loads((features / gradient_scaling.SCALES_FILE).read_text())
    assert saved.keys() == set(names)
    floor = gradient_scaling.NO_GRADIENT * max(rms.values())
    expected_scales = [rms[name] ** -0.5 if rms[name] > floor else 0.0 for name in names]
    assert 0 < expected_scales.count(0.0) < len(names)  # the attention key biases
    np.testing.assert_allclose([saved[name] for name in names], expected_scales, rtol=1e-5)

    targets = _gradients(model, probe_functions(tokenizer, probes, "joint", SCORING.max_length, kind, "none"), names, tokenizer.pad_token_id)
    p = sum(model.get_parameter(name).numel() for name in names)

    def scaled(rows):
        return np.stack([np.concatenate([(g[n] * saved[n]).reshape(-1).double().numpy() for n in names]) for g in rows]) / p**0.5

    x, t = scaled(examples), scaled(targets)
    # X (XᵀX + λI)⁻¹ tᵀ in its n x n form (p is tens of thousands here).
    expected = np.linalg.solve(x @ x.T + trak.lambda_reg * np.eye(len(x)), x @ t.T)
    measured = np.load(scores / "scores.npy")[:, : probes.height]
    np.testing.assert_allclose(measured, expected, rtol=2e-3, atol=1e-3 * np.abs(expected).max())

    _, _, checks = attribution_summary.gather(Run("m", "src", "en", len(TEXTS), 0), [scores], train, chosen, top_k=4)
    assert checks["passed"].all(), checks
