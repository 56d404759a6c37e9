"""How TRAK turns per-example gradients into features (``attribution.projection``).

* ``random``, TRAK's own: trak projects every gradient to ``proj_dim`` dimensions with a random
  (Johnson-Lindenstrauss) matrix and solves the ridge regression on the projected features. It
  scales to any model, but every dot product of two projected gradients carries noise of about
  |g| |t| / sqrt(proj_dim): where a target's gradient shares only a small part with each training
  example's (cosine well below 1 / sqrt(proj_dim)), that noise swamps the ranking (README,
  "Attribution", measured on the tiny Llama's multilingual runs).
* ``none``: the gradients themselves (trak's ``NoOpProjector``), so the scores are TRAK's
  estimator without projection noise. trak's score computer inverts the p x p kernel XᵀX of the
  features, which for a million parameters does not fit in memory; :class:`DualScoreComputer`
  solves the same ridge regression in its dual form, through the n x n kernel of the training
  examples (``X (XᵀX + λI)⁻¹ = (XXᵀ + λI)⁻¹ X``). It stores n x p gradients in float32 (unprojected
  coordinates divided by trak's sqrt(p) fall below float16's normal range) and solves in float64,
  a block of columns at a time, so it suits what the demo attributes, hundreds of examples and up
  to a few million parameters.
"""

from __future__ import annotations

import os

import torch
from trak.projectors import BasicProjector, NoOpProjector, ProjectionType
from trak.score_computers import AbstractScoreComputer

from valuetrace.errors import InputError

# Rows of the features moved to the device at once when scoring (they stay in trak's memory map
# on the host, and on a GPU the whole n x p matrix need not fit beside the targets).
_BLOCK_ROWS = 256
# Gradient entries converted to float64 at once to build the kernel and the features (256 MiB).
_BLOCK_ELEMENTS = 2**25


def _column_blocks(grads: torch.Tensor, device):
    """The columns of ``grads`` in float64 on ``device``, a block of at most _BLOCK_ELEMENTS at a
    time: the n x p matrix itself in float64 would take twice its float32 memory."""
    width = max(1, _BLOCK_ELEMENTS // max(1, grads.shape[0]))
    for start in range(0, grads.shape[1], width):
        yield grads[:, start : start + width].to(device, torch.float64)


class DualScoreComputer(AbstractScoreComputer):
    """trak's ridge-regression scores, X (XᵀX + λI)⁻¹ x_t, computed through the training examples' kernel.

    trak calls ``get_xtx`` and hands its result to ``get_x_xtx_inv``; here the first returns the
    n x n kernel XXᵀ and the second the features (XXᵀ + λI)⁻¹ X, which equal X (XᵀX + λI)⁻¹ (the
    push-through identity), so the scores of ``get_scores`` are the same numbers without a p x p matrix.
    """

    def __init__(self, dtype: torch.dtype, device, logging_level=None, lambda_reg: float = 0.0) -> None:
        super().__init__(dtype, device)
        self.lambda_reg = lambda_reg

    def get_xtx(self, grads: torch.Tensor) -> torch.Tensor:
        # In float64: with more examples than gradient dimensions the kernel is singular but for
        # λ, and a float32 solve then lost 1e-4 of the scores' scale (CPU- and BLAS-dependent).
        kernel = torch.zeros(grads.shape[0], grads.shape[0], device=self.device, dtype=torch.float64)
        for block in _column_blocks(grads, self.device):
            kernel += block @ block.T
        return kernel

    def get_x_xtx_inv(self, grads: torch.Tensor, xtx: torch.Tensor) -> torch.Tensor:
        kernel = xtx + self.lambda_reg * torch.eye(xtx.shape[0], device=xtx.device, dtype=xtx.dtype)
        factors, pivots = torch.linalg.lu_factor(kernel)
        features = torch.empty(grads.shape, dtype=torch.float32, device=self.device)
        start = 0
        for block in _column_blocks(grads, self.device):
            features[:, start : start + block.shape[1]] = torch.linalg.lu_solve(factors, pivots, block).float()
            start += block.shape[1]
        return features

    def get_scores(self, features: torch.Tensor, target_grads: torch.Tensor, accumulator: torch.Tensor) -> None:
        targets = target_grads.to(self.device, torch.float32)
        for start in range(0, features.shape[0], _BLOCK_ROWS):
            block = features[start : start + _BLOCK_ROWS].to(self.device, torch.float32)
            accumulator[start : start + _BLOCK_ROWS] += (block @ targets.T).cpu()


def _random(grad_dim: int, n_train: int, proj_dim: int, seed: int, device: str) -> dict:
    projector = None  # on a GPU trak picks its CUDA projector when fast_jl is installed
    if device == "cpu":
        # trak's default CPU projector regenerates its matrix in blocks of 100 columns for
        # every batch; one block made once per checkpoint is many times faster.
        projector = BasicProjector(
            grad_dim=grad_dim,
            proj_dim=proj_dim,
            seed=seed,
            proj_type=ProjectionType.normal,
            device="cpu",
            block_size=proj_dim,
            dtype=torch.float32,
        )
    # Half precision is trak's default, made explicit: projected gradients, features and target
    # gradients are stored as float16 (half the disk and memory of float32) and multiplied in
    # it; XᵀX is summed in float16 and inverted in float32. Per-example gradients are computed
    # in the model's float32 and projected in float32 by the CPU projector above, in float16
    # by trak's CUDA projector.
    return {"projector": projector, "proj_dim": proj_dim, "projector_seed": seed, "use_half_precision": True}


def _none(grad_dim: int, n_train: int, proj_dim: int, seed: int, device: str) -> dict:
    # trak keeps the gradients and the features, n x p float32 each, and loads both to finalise.
    needed = 2 * n_train * grad_dim * 4
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if needed > memory / 2:
        raise InputError(
            f"config key 'attribution.projection': 'none' keeps {n_train} x {grad_dim:,} gradients, "
            f"{needed / 2**30:.1f} GiB, more than half of this machine's {memory / 2**30:.0f} GiB; "
            "differentiate fewer parameters (attribution.include_parameters) or use 'random'"
        )
    return {
        "projector": NoOpProjector(device=device),
        "score_computer": DualScoreComputer,
        "use_half_precision": False,
    }


# attribution.projection -> (gradient dimension, training examples, proj_dim, projector seed,
# device) -> the TRAKer arguments that make its features.
PROJECTIONS = {"random": _random, "none": _none}
