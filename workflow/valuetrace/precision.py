"""Numeric precision of training and scoring (config key ``finetuning.precision``).

``fp32`` computes everything in 32-bit floats, as before the switch existed: its results are
bit for bit those of a run without it. ``bf16`` and ``fp16`` are *mixed* precision: the weights,
the optimiser state and every checkpoint stay 32-bit, and only the forward and backward passes
run under ``torch.autocast`` in the 16-bit type. Training hands this to transformers' Trainer
(its ``bf16`` / ``fp16`` arguments: autocast, and for fp16 a gradient scaler); scoring enters
``torch.autocast`` around each forward pass. bf16 runs on CPUs (autocast supports it; fast
where the CPU has AVX512-BF16 or AMX) and on NVIDIA GPUs from Ampere on (A100, H100); fp16
needs a CUDA GPU. Where the job's device cannot run the precision asked for, the job stops
with one message naming the key, before it loads a model.
"""

from __future__ import annotations

import contextlib

import torch

from valuetrace.errors import InputError

KEY = "finetuning.precision"

# precision -> the 16-bit type autocast computes in (None: no autocast)
PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def check(precision: str, device: str) -> None:
    """Raise InputError naming the config key if ``device`` ("cpu", "cuda", "cuda:1") cannot run ``precision``."""
    if precision not in PRECISIONS:
        raise InputError(f"config key {KEY!r}: {precision!r} is not one of {list(PRECISIONS)}")
    on_cuda = torch.device(device).type == "cuda"
    if precision == "fp16" and not on_cuda:
        raise InputError(
            f"config key {KEY!r}: fp16 mixed precision needs a CUDA GPU, and this job runs on {device} "
            "(torch sees no GPU here); use bf16, which CPUs run too, or fp32"
        )
    if precision == "bf16" and on_cuda and not torch.cuda.is_bf16_supported():
        raise InputError(
            f"config key {KEY!r}: bf16 needs an NVIDIA GPU of the Ampere generation or newer (A100, H100, ...), "
            f"and this job's {torch.cuda.get_device_name(torch.device(device))} is older; use fp16 or fp32"
        )


def trainer_arguments(precision: str, device: str) -> dict:
    """The TrainingArguments that make transformers' Trainer train in ``precision`` on ``device``.

    fp32 adds none, so a run in fp32 is configured exactly as one before the switch existed.
    """
    if precision == "fp32":
        return {}
    arguments = {precision: True}
    if torch.device(device).type == "cpu":
        # The Trainer refuses bf16 without a GPU unless it is told that it trains on the CPU.
        arguments["use_cpu"] = True
    return arguments


def autocast(precision: str, device: torch.device | str):
    """A context in which forward passes on ``device`` compute in ``precision`` (none for fp32)."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)
