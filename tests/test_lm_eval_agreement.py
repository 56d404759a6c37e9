"""Agreement with lm-evaluation-harness: valuetrace's option log-likelihoods of a causal LM are
the ``loglikelihood`` lm-eval computes for the same strings (context: the sentence before the
mask; continuation: the option and the rest of the sentence).

Runs when ``lm_eval`` is installed (``pip install -e ".[agreement]"``); skipped otherwise.
"""

from __future__ import annotations

import polars as pl
import pytest

from conftest import CAUSAL_ARCHITECTURES
from valuetrace.kinds import start_token_id
from valuetrace.models import load_model
from valuetrace.probes import MASK
from valuetrace.scoring import score_probes

lm_eval = pytest.importorskip("lm_eval", reason="lm-evaluation-harness is not installed (extra 'agreement')")

from lm_eval.api.instance import Instance  # noqa: E402
from lm_eval.models.huggingface import HFLM  # noqa: E402


def requests(tokenizer, probes: pl.DataFrame) -> list[tuple[str, str]]:
    """(context, continuation) per probe and option, A then B: lm-eval moves the context's trailing
    space into the continuation itself. A tokenizer that adds no start token (GPT-2's) gets its
    text in front of the context, as valuetrace puts the token in front of the input."""
    start = "" if tokenizer("")["input_ids"] else tokenizer.decode([start_token_id(tokenizer)])
    pairs = []
    for row in probes.iter_rows(named=True):
        prefix, suffix = row["sentence"].split(MASK)
        pairs += [(start + prefix, row[f"option_{option}"] + suffix) for option in ("a", "b")]
    return pairs


def lm_eval_loglikelihoods(model, tokenizer, pairs: list[tuple[str, str]]) -> list[float]:
    harness = HFLM(pretrained=model, tokenizer=tokenizer, device="cpu", batch_size=8, dtype="float32")
    instances = [Instance("loglikelihood", {}, pair, index) for index, pair in enumerate(pairs)]
    return [loglikelihood for loglikelihood, _ in harness.loglikelihood(instances, disable_tqdm=True)]


@pytest.mark.parametrize("architecture", CAUSAL_ARCHITECTURES)
def test_option_log_likelihoods_equal_lm_eval(tiny_model_dirs, shipped_probes, architecture):
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    # A handful of probes in four scripts (Latin, Greek, Hangul, Arabic), the mask never first (lm-eval scores an empty
    # context from its own prefix token).
    probes = (
        shipped_probes.filter(pl.col("probe_lang").is_in(["en", "el", "ko", "ur"]), ~pl.col("sentence").str.starts_with(MASK))
        .group_by("probe_lang", maintain_order=True)
        .head(4)
    )
    ours = score_probes(
        model, tokenizer, probes, model_name="m", method="joint", normalisation="none", batch_size=8, max_length=64
    )
    theirs = lm_eval_loglikelihoods(model, tokenizer, requests(tokenizer, probes))
    mine = [value for row in ours.iter_rows(named=True) for value in (row["logprob_a"], row["logprob_b"])]
    difference = max(abs(a - b) for a, b in zip(mine, theirs))
    print(f"{architecture}: {len(mine)} option log-likelihoods, max |valuetrace - lm-eval| = {difference:.2e}")
    assert len(theirs) == 2 * probes.height == 32
    assert difference < 1e-4
