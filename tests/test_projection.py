"""How gradients become TRAK features (valuetrace.projection): the exact kernel's dual form
gives trak's ridge-regression scores, and refuses what would not fit in memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from valuetrace.errors import InputError
from valuetrace.projection import PROJECTIONS, DualScoreComputer


def primal_scores(train: np.ndarray, targets: np.ndarray, lambda_reg: float) -> np.ndarray:
    """X (XᵀX + λI)⁻¹ x_t for every target, the formula of trak's BasicScoreComputer (without its rescaling)."""
    kernel = train.T @ train + lambda_reg * np.eye(train.shape[1])
    return train @ np.linalg.solve(kernel, targets.T)


@pytest.mark.parametrize(("n_train", "grad_dim"), [(40, 12), (6, 700)])
@pytest.mark.parametrize("lambda_reg", [0.05, 3.0])
@pytest.mark.parametrize("block_elements", [2**25, 50])
def test_dual_scores_equal_trak_ridge_regression(n_train, grad_dim, lambda_reg, block_elements, monkeypatch):
    """More or fewer gradient dimensions than examples, the columns in one block or in many: the
    n x n dual form is the p x p formula, to float32's precision (solved in float32, the 40 x 12
    case lost 1e-4 of its scale on one CPU)."""
    monkeypatch.setattr("valuetrace.projection._BLOCK_ELEMENTS", block_elements)
    generator = np.random.default_rng(0)
    train = generator.normal(size=(n_train, grad_dim))
    targets = generator.normal(size=(3, grad_dim))
    computer = DualScoreComputer(dtype=torch.float32, device="cpu", lambda_reg=lambda_reg)
    grads = torch.tensor(train, dtype=torch.float32)
    features = computer.get_x_xtx_inv(grads, computer.get_xtx(grads))
    scores = torch.zeros(n_train, 3)
    computer.get_scores(features, torch.tensor(targets, dtype=torch.float32), accumulator=scores)
    np.testing.assert_allclose(scores.numpy(), primal_scores(train, targets, lambda_reg), rtol=1e-5, atol=1e-6)


def test_scores_in_blocks_of_rows_are_the_whole_product(monkeypatch):
    """Scoring moves 4 rows at a time here (10 rows: the last block is short), and adds to what
    the accumulator holds, as trak sums checkpoints into it."""
    monkeypatch.setattr("valuetrace.projection._BLOCK_ROWS", 4)
    features = torch.arange(70, dtype=torch.float32).reshape(10, 7) / 70
    computer = DualScoreComputer(dtype=torch.float32, device="cpu", lambda_reg=1.0)
    scores = torch.ones(10, 2)
    computer.get_scores(features, features[:2], accumulator=scores)
    torch.testing.assert_close(scores, 1 + features @ features[:2].T)


def test_exact_kernel_refuses_gradients_beyond_half_the_memory():
    with pytest.raises(InputError, match=r"attribution.projection': 'none' keeps 100000 x 10,000,000 gradients, .* use 'random'"):
        PROJECTIONS["none"](10_000_000, 100_000, 512, 0, "cpu")
    assert PROJECTIONS["none"](8_000, 300, 512, 0, "cpu")["use_half_precision"] is False
