"""The functions TRAK differentiates (valuetrace.influence): a probe's score, a training
example's fit, the head at read-out positions and the parameters differentiated, for masked and
causal LMs."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from attribution_runs import TEXTS
from conftest import CAUSAL_ARCHITECTURES
from valuetrace.errors import InputError
from valuetrace.influence import (
    SignedLogProbability,
    collate,
    example_functions,
    parameters_with_gradients,
    probe_functions,
    unused_parameters,
)
from valuetrace.kinds import KINDS, kind_of_config
from valuetrace.models import load_model, tiny_model
from valuetrace.scoring import score_probes
from valuetrace.settings import default_mask_copies


def _function_value(model, function) -> float:
    batch = collate([function], pad_id=0)
    weights, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    with torch.no_grad():
        return float(SignedLogProbability().get_output(model, weights, buffers, *[t[0] for t in batch]))


@pytest.mark.parametrize(
    ("architecture", "method", "normalisation", "calibration"),
    [
        *[(masked, method, "none", "none") for masked in ("bert", "xlm-roberta") for method in ("joint", "pll")],
        ("bert", "joint", "byte", "none"),
        *[(causal, "joint", normalisation, "none") for causal in CAUSAL_ARCHITECTURES for normalisation in ("none", "token")],
        *[(masked, "joint", "none", "content_free") for masked in ("bert", "xlm-roberta")],
        ("xlm-roberta", "pll", "none", "option_pair"),
        *[(causal, "joint", "token", calibration) for causal in CAUSAL_ARCHITECTURES for calibration in ("content_free", "option_pair")],
    ],
)
def test_probe_function_is_the_probe_score(tiny_model_dirs, shipped_probes, architecture, method, normalisation, calibration):
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    probes = shipped_probes.filter(pl.col("probe_lang").is_in(["en", "ko"])).head(40)
    expected = score_probes(
        model, tokenizer, probes, model_name="m", method=method, normalisation=normalisation, batch_size=16, max_length=64,
        calibration=calibration,
    )  # fmt: skip
    chosen = [0, 5, 17, 30, 39]
    functions = probe_functions(tokenizer, probes, method, 64, kind_of_config(model.config, "m"), normalisation, calibration, chosen)
    values = [_function_value(model, function) for function in functions]
    np.testing.assert_allclose(values, expected["score"].to_numpy()[chosen], atol=1e-4)


@pytest.mark.parametrize(
    ("architecture", "embeddings"),
    [("bert", "bert.embeddings.word_embeddings.weight"), ("gpt2", "transformer.wte.weight")],
)
def test_gradient_reaches_the_embeddings_through_the_tied_decoder(tiny_model_dirs, shipped_probes, architecture, embeddings):
    """The head runs on its own; the decoder tied to the embeddings must still get gradient
    (for the causal GPT-2, through the causal attention mask built for vmap as well)."""
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    kind = kind_of_config(model.config, architecture)
    function = probe_functions(tokenizer, shipped_probes.head(1), "joint", 64, kind, "none")[0]
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
    torch.testing.assert_close(grads[embeddings], weights[embeddings].grad, atol=1e-5, rtol=1e-4)


def test_example_copies_mask_every_token_exactly_once(tiny_model_dirs):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dirs["xlm-roberta"])
    (function,) = example_functions(tokenizer, [TEXTS[0]], copies=3, max_length=32, kind=KINDS["masked"])
    ids = tokenizer(TEXTS[0])["input_ids"]
    read = sorted(position for copy in function for position, _, _ in copy.labels)
    assert read == list(range(1, len(ids) - 1))  # every token but <s> and </s>
    for copy in function:
        assert all(copy.input_ids[p] == tokenizer.mask_token_id for p, _, _ in copy.labels)
        assert all(ids[p] == token and weight == 1.0 for p, token, weight in copy.labels)
    assert default_mask_copies(0.15) == 7


@pytest.mark.parametrize("architecture", CAUSAL_ARCHITECTURES)
def test_causal_example_function_is_the_next_token_log_likelihood(tiny_model_dirs, architecture):
    """One copy, the text itself, every token after the start token read: minus the training loss
    (transformers' mean next-token loss) times the number of tokens predicted."""
    model, tokenizer = load_model(str(tiny_model_dirs[architecture]))
    (function,) = example_functions(tokenizer, [TEXTS[0]], copies=7, max_length=32, kind=KINDS["causal"])
    (copy,) = function
    ids = torch.tensor([copy.input_ids])
    assert copy.input_ids[0] == (tokenizer.bos_token_id if architecture == "llama" else tokenizer.eos_token_id)
    assert [position for position, _, _ in copy.labels] == list(range(len(copy.input_ids) - 1))
    with torch.no_grad():
        loss = model(input_ids=ids, labels=ids).loss
    assert _function_value(model, function) == pytest.approx(-loss.item() * (len(copy.input_ids) - 1), abs=1e-4)


def test_parameters_with_gradients_include_and_exclude(tiny_model_dirs):
    model = AutoModelForMaskedLM.from_pretrained(tiny_model_dirs["bert"])
    without_embeddings = parameters_with_gradients(model, [], ["embeddings"])
    assert without_embeddings and not any("embeddings" in name for name in without_embeddings)
    assert parameters_with_gradients(model, [r"^cls\.predictions\.bias$"], []) == ["cls.predictions.bias"]
    with pytest.raises(InputError, match="leave no parameter"):
        parameters_with_gradients(model, ["no-such-parameter"], [])


def test_parameters_the_forward_pass_never_uses_are_refused_alone_and_named_among_others(tiny_model_dirs, caplog):
    """An untied BERT keeps cls.predictions.bias but adds cls.predictions.decoder.bias: the demo's
    output-bias pattern would select the dead one, whose gradient is always 0, and TRAK would rank
    every example alike without a word."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dirs["bert"])
    untied = tiny_model("bert", tokenizer, hidden_size=32, layers=1, heads=2, intermediate_size=64, max_length=32, seed=0, output_layer="untied")
    assert unused_parameters(untied, ["cls.predictions.bias", "cls.predictions.decoder.bias"]) == ["cls.predictions.bias"]
    with pytest.raises(InputError, match=r"never uses \(cls\.predictions\.bias\).*cls\.predictions\.decoder\.bias"):
        parameters_with_gradients(untied, [r"^cls\.predictions\.bias$"], [])
    assert parameters_with_gradients(untied, [r"^cls\.predictions\.decoder\.bias$"], []) == ["cls.predictions.decoder.bias"]
    whole = parameters_with_gradients(untied, [], ["embeddings"])  # the dead bias among the others: a warning
    assert "cls.predictions.bias" in whole and "1 parameters the forward pass never uses" in caplog.text
    tied = AutoModelForMaskedLM.from_pretrained(tiny_model_dirs["bert"])
    assert unused_parameters(tied, [name for name, _ in tied.named_parameters()]) == []
