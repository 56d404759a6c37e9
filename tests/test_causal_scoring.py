"""Value scores of causal LMs of both tokenizer families: GPT-2 style (byte-level BPE, no start
token of its own) and Llama style (SentencePiece BPE, ``<s>`` in front), checked against the raw
model's next-token log-probabilities; normalisation; what a masked-LM-only method does with them."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
import pytest
import torch
from polars.testing import assert_frame_equal

from conftest import CAUSAL_ARCHITECTURES
from valuetrace import scoring
from valuetrace.errors import InputError
from valuetrace.kinds import KINDS
from valuetrace.models import load_model
from valuetrace.probes import MASK
from valuetrace.tables import check_table

MAX_LENGTH = 64
LANGUAGES = ["en", "ko", "ur", "bn"]


@dataclass
class Causal:
    name: str
    model: torch.nn.Module
    tokenizer: object


@pytest.fixture(scope="module", params=CAUSAL_ARCHITECTURES)
def causal(request, tiny_model_dirs) -> Causal:
    model, tokenizer = load_model(str(tiny_model_dirs[request.param]), "cpu")
    return Causal(request.param, model, tokenizer)


@pytest.fixture(scope="module")
def probes(shipped_probes) -> pl.DataFrame:
    return shipped_probes.filter(pl.col("probe_lang").is_in(LANGUAGES))


def score(causal: Causal, probes: pl.DataFrame, normalisation: str = "none", **options) -> pl.DataFrame:
    settings = dict(
        model_name=f"tiny-{causal.name}", method="joint", normalisation=normalisation, batch_size=64, max_length=MAX_LENGTH
    )
    return scoring.score_probes(causal.model, causal.tokenizer, probes, **(settings | options))


@pytest.fixture(scope="module")
def scores(causal, probes) -> pl.DataFrame:
    return score(causal, probes)


def with_start(causal: Causal, text: str) -> list[int]:
    """The ids of ``text`` with the start token in front: BOS (Llama's tokenizer adds it), else EOS (GPT-2)."""
    ids = causal.tokenizer(text)["input_ids"]
    if causal.name == "gpt2":
        assert causal.tokenizer.bos_token_id == causal.tokenizer.eos_token_id not in ids
        return [causal.tokenizer.eos_token_id, *ids]
    assert ids[0] == causal.tokenizer.bos_token_id
    return ids


def next_token_logprobs(model, ids: list[int]) -> list[float]:
    """log P(ids[t] | ids[:t]) for every t >= 1, from one pass of the raw model."""
    with torch.no_grad():
        log_probs = torch.log_softmax(model(input_ids=torch.tensor([ids])).logits[0].float(), dim=-1)
    return [log_probs[t - 1, ids[t]].item() for t in range(1, len(ids))]


def filled(row: dict, option: str) -> str:
    return row["sentence"].replace(MASK, row[f"option_{option}"])


def test_score_table_of_a_causal_lm(causal, probes, scores):
    check_table(scores, "scores")
    assert scores.height == probes.height
    assert set(scores["model_kind"]) == {"causal"} and set(scores["scoring_method"]) == {"joint"}
    assert set(scores["normalisation"]) == {"none"}
    assert (scores["logprob_a"] < 0).all() and (scores["logprob_b"] < 0).all()
    assert ((scores["score"] - (scores["logprob_a"] - scores["logprob_b"])).abs() < 1e-12).all()
    assert set(scores["choice"]) == {"A", "B"}
    # Both tokenizers spell every script without the unknown token (bytes, or byte fallback).
    assert not scores["unknown_token"].any() and not scores["truncated"].any()


def test_log_p_option_sums_the_option_and_every_later_token(causal, probes, scores):
    """Hand computation: from the option's first token to the end of the sentence, each token's
    log-probability given everything before it, start token included."""
    by_probe = {(r["probe_lang"], r["probe_id"]): r for r in scores.iter_rows(named=True)}
    for row in probes.iter_rows(named=True):
        if row["sentence"].startswith(MASK):
            continue
        prefix = row["sentence"].split(MASK)[0].rstrip()
        for option in ("a", "b"):
            ids = with_start(causal, filled(row, option))
            shared = len(with_start(causal, prefix))  # tokens before the option, start token included
            assert ids[:shared] == with_start(causal, prefix)
            expected = sum(next_token_logprobs(causal.model, ids)[shared - 1 :])
            assert by_probe[row["probe_lang"], row["probe_id"]][f"logprob_{option}"] == pytest.approx(expected, abs=1e-4)


def test_score_is_the_difference_of_whole_sentence_log_likelihoods(causal, probes, scores):
    """The tokens before the option are shared and cancel: wherever the mask stands, the score is
    log P(sentence with A) - log P(sentence with B)."""
    whole = [
        sum(next_token_logprobs(causal.model, with_start(causal, filled(row, "a"))))
        - sum(next_token_logprobs(causal.model, with_start(causal, filled(row, "b"))))
        for row in probes.iter_rows(named=True)
    ]
    assert scores["score"].to_list() == pytest.approx(whole, abs=1e-4)
    # The mask stands in different places, the first word among them.
    positions = {row["sentence"].index(MASK) for row in probes.iter_rows(named=True)}
    assert len(positions) > 10


def test_an_option_at_the_start_of_the_sentence_is_predicted_from_the_start_token(causal, probes):
    row = probes.row(0, named=True)
    first = pl.DataFrame([{**row, "sentence": f"{MASK} {row['sentence'].replace(MASK, row['option_a'])}"}])
    needed, options = scoring.readouts(causal.tokenizer, first, "joint", MAX_LENGTH, KINDS["causal"], "none")
    a = options[0, "a"]
    assert a.positions[0] == 1 and a.ids[0] == (causal.tokenizer.bos_token_id or causal.tokenizer.eos_token_id)
    assert min(r.position for r in needed if r.option == "a") == 0  # read at the start token
    scored = score(causal, first)
    expected = sum(next_token_logprobs(causal.model, a.ids))
    assert scored["logprob_a"][0] == pytest.approx(expected, abs=1e-4)


def test_one_forward_pass_per_filled_sentence(causal, probes):
    needed, options = scoring.readouts(causal.tokenizer, probes, "joint", MAX_LENGTH, KINDS["causal"], "none")
    sentences = {tuple(option.ids) for option in options.values()}
    assert {r.model_input for r in needed} == sentences
    rows = []
    handle = causal.model.register_forward_hook(lambda m, args, kwargs, out: rows.append(kwargs["input_ids"].shape[0]), with_kwargs=True)
    try:
        scoring.log_probabilities(causal.model, causal.tokenizer, needed, batch_size=16)
    finally:
        handle.remove()
    assert sum(rows) == len(sentences) and len(rows) == -(-len(sentences) // 16)


def test_batching_and_padding_do_not_change_causal_scores(causal, probes, scores):
    for batch_size in (1, 7, 256):
        assert (score(causal, probes, batch_size=batch_size)["score"] - scores["score"]).abs().max() < 1e-4


def test_causal_scores_are_deterministic(tiny_model_dirs, causal, probes, scores):
    again = Causal(causal.name, *load_model(str(tiny_model_dirs[causal.name]), "cpu"))
    assert_frame_equal(score(again, probes), scores, check_exact=True)


def test_normalisation_divides_by_the_tokens_read_or_the_bytes_they_cover(causal, probes, scores):
    per_token, per_byte = score(causal, probes, "token"), score(causal, probes, "byte")
    assert set(per_token["normalisation"]) == {"token"} and set(per_byte["normalisation"]) == {"byte"}
    needed, options = scoring.readouts(causal.tokenizer, probes, "joint", MAX_LENGTH, KINDS["causal"], "none")
    for index, row in enumerate(probes.iter_rows(named=True)):
        for option in ("a", "b"):
            read = [r for r in needed if r.probe == index and r.option == option]
            raw = scores[f"logprob_{option}"][index]
            assert per_token[f"logprob_{option}"][index] == pytest.approx(raw / len(read), rel=1e-6)
            if not row["sentence"].startswith(MASK):
                # lm-evaluation-harness's continuation: the option with the space before it, and the rest.
                start = row["sentence"].index(MASK)
                continuation = filled(row, option)[start - 1 :]
                assert continuation[0] == " "
                assert per_byte[f"logprob_{option}"][index] == pytest.approx(raw / len(continuation.encode()), rel=1e-6)


def test_pll_is_refused_for_a_causal_lm_naming_the_model(causal, probes):
    with pytest.raises(InputError) as error:
        score(causal, probes.head(2), method="pll")
    message = str(error.value)
    model_class = type(causal.model).__name__
    for fragment in ("config key 'scoring.method'", "pll", "masked LMs only", f"tiny-{causal.name} ({model_class})",
                     "causal LM", "score it with joint"):  # fmt: skip
        assert fragment in message, message
