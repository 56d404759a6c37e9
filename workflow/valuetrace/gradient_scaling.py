"""How TRAK weighs the parameters in its inner products of gradients (``attribution.gradient_scaling``).

TRAK's kernel is that of gradient descent: an example's first-order effect on a probe is the
plain inner product of their gradients, every parameter counted alike. The runs are fine-tuned
with AdamW, which divides each parameter's step by the root of its gradients' running mean square,
so a parameter whose gradients are large moves less per unit of gradient than gradient descent
assumes. On the demo's tiny BERT the difference decides the ranking: the 16,768 parameters of the
output head's transform have gradients 50 times larger per parameter than the million of the
output layer, and through them every rare word a neutral example holds looks like a push towards
a rare option (README, "Whole-network attribution that works on the demo").

* ``none``: the gradients as they are, TRAK's own kernel.
* ``tensor_rms``: every parameter tensor's gradients multiplied by 1/sqrt(r), r the root mean
  square of that tensor's training-example gradients at the checkpoint, so that an inner product
  weighs each tensor by 1/r, as an Adam step does. The mean square is taken over the whole tensor
  because a few hundred examples do not estimate it per parameter (most output-layer rows see no
  token of theirs; measured per parameter, precision@10 fell instead of rising). The scales are
  computed once per checkpoint from the training examples and serve its targets too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import torch

# Beside a checkpoint's TRAK features: the scale of every differentiated tensor (absent: none).
SCALES_FILE = "gradient_scales.json"


# A tensor whose RMS is below this share of the largest tensor's has no gradient but rounding
# (an attention key bias, which the softmax ignores; an output bias the model does not use): it
# gets the scale 0, where 1/sqrt(RMS) would blow its rounding up (measured: 5e-12, scale 4e5).
NO_GRADIENT = 1e-6


def _tensor_rms(per_sample_gradients: Iterable[dict[str, torch.Tensor]]) -> dict[str, float]:
    """1/sqrt(root mean square) of each tensor's per-example gradients (0 for a tensor without any)."""
    squares: dict[str, float] = {}
    entries: dict[str, int] = {}
    for gradients in per_sample_gradients:
        for name, gradient in gradients.items():
            squares[name] = squares.get(name, 0.0) + float(gradient.detach().double().pow(2).sum())
            entries[name] = entries.get(name, 0) + gradient.numel()
    rms = {name: (squares[name] / entries[name]) ** 0.5 for name in squares}
    floor = NO_GRADIENT * max(rms.values(), default=0.0)
    return {name: value**-0.5 if value > floor and value > 0 else 0.0 for name, value in rms.items()}


# attribution.gradient_scaling -> (the training examples' per-example gradients, a dict per
# batch) -> the factor of each tensor's gradients; None: the gradients as they are.
GRADIENT_SCALINGS = {"none": None, "tensor_rms": _tensor_rms}


def scales_for(scaling: str, per_sample_gradients: Iterable[dict[str, torch.Tensor]]) -> dict[str, float] | None:
    """The scales ``scaling`` gives the tensors, from the training examples' gradients (read only if it needs them)."""
    compute = GRADIENT_SCALINGS[scaling]
    return None if compute is None else compute(per_sample_gradients)


def save(scales: dict[str, float] | None, features_dir: Path) -> None:
    if scales is not None:
        (features_dir / SCALES_FILE).write_text(json.dumps(scales, indent=1, sort_keys=True))


def load(features_dir: Path) -> dict[str, float] | None:
    path = features_dir / SCALES_FILE
    return json.loads(path.read_text()) if path.exists() else None
