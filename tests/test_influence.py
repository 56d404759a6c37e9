"""The functions TRAK differentiates (valuetrace.influence): a probe's score, a training
example's masked-LM fit, the head at read-out positions and the parameters differentiated."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from attribution_runs import TEXTS
from valuetrace.errors import InputError
from valuetrace.influence import (
    SignedLogProbability,
    collate,
    example_functions,
    parameters_with_gradients,
    probe_functions,
)
from valuetrace.models import load_masked_lm
from valuetrace.scoring import score_probes
from valuetrace.settings import default_mask_copies


def _function_value(model, function) -> float:
    batch = collate([function], pad_id=0)
    weights, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    with torch.no_grad():
        return float(SignedLogProbability().get_output(model, weights, buffers, *[t[0] for t in batch]))


@pytest.mark.parametrize("architecture", ["bert", "xlm-roberta"])
@pytest.mark.parametrize(("method", "calibration"), [("joint", "none"), ("pll", "none"), ("joint", "content_free"), ("pll", "option_pair")])
def test_probe_function_is_the_probe_score(tiny_model_dirs, shipped_probes, architecture, method, calibration):
    model, tokenizer = load_masked_lm(str(tiny_model_dirs[architecture]))
    probes = shipped_probes.filter(pl.col("probe_lang").is_in(["en", "ko"])).head(40)
    expected = score_probes(
        model, tokenizer, probes, model_name="m", method=method, batch_size=16, max_length=64, calibration=calibration
    )
    chosen = [0, 5, 17, 30, 39]
    functions = probe_functions(tokenizer, probes, method, 64, calibration, chosen)
    values = [_function_value(model, function) for function in functions]
    np.testing.assert_allclose(values, expected["score"].to_numpy()[chosen], atol=1e-4)


def test_gradient_reaches_the_embeddings_through_the_tied_decoder(tiny_model_dirs, shipped_probes):
    """The head runs on its own; the decoder tied to the embeddings must still get gradient."""
    model, tokenizer = load_masked_lm(str(tiny_model_dirs["bert"]))
    function = probe_functions(tokenizer, shipped_probes.head(1), "joint", 64)[0]
    batch = [t[0] for t in collate([function], tokenizer.pad_token_id)]
    weights, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    grads = torch.func.grad(SignedLogProbability().get_output, argnums=1)(model, weights, buffers, *batch)
    input_ids, attention, positions, tokens, read, signs = batch
    value = 0
    for copy in range(input_ids.shape[0]):
        logits = model(input_ids=input_ids[copy : copy + 1], attention_mask=attention[copy : copy + 1]).logits[0]
        log_p = torch.log_softmax(logits, -1)[positions[copy], tokens[copy]]
        value = value + signs[copy] * (log_p * read[copy]).sum()
    value.backward()
    name = "bert.embeddings.word_embeddings.weight"
    torch.testing.assert_close(grads[name], weights[name].grad, atol=1e-5, rtol=1e-4)


def test_example_copies_mask_every_token_exactly_once(tiny_model_dirs):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dirs["xlm-roberta"])
    (function,) = example_functions(tokenizer, [TEXTS[0]], copies=3, max_length=32)
    ids = tokenizer(TEXTS[0])["input_ids"]
    read = sorted(position for copy in function for position, _ in copy.labels)
    assert read == list(range(1, len(ids) - 1))  # every token but <s> and </s>
    for copy in function:
        assert all(copy.input_ids[p] == tokenizer.mask_token_id for p, _ in copy.labels)
        assert all(ids[p] == token for p, token in copy.labels)
    assert default_mask_copies(0.15) == 7


def test_parameters_with_gradients_include_and_exclude(tiny_model_dirs):
    model = AutoModelForMaskedLM.from_pretrained(tiny_model_dirs["bert"])
    without_embeddings = parameters_with_gradients(model, [], ["embeddings"])
    assert without_embeddings and not any("embeddings" in name for name in without_embeddings)
    assert parameters_with_gradients(model, [r"^cls\.predictions\.bias$"], []) == ["cls.predictions.bias"]
    with pytest.raises(InputError, match="leave no parameter"):
        parameters_with_gradients(model, ["no-such-parameter"], [])
