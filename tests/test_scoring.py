"""Value scores of masked LMs under both mask conventions: XLM-R style (``<mask>``, Unigram,
``▁`` pieces) and BERT style (``[MASK]``, WordPiece), checked against hand computations with the
raw model; normalisation of either kind. Causal LMs: tests/test_causal_scoring.py."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
import torch
import yaml
from polars.testing import assert_frame_equal

from conftest import MASKED_ARCHITECTURES
from valuetrace import methods, scoring
from valuetrace.errors import InputError
from valuetrace.kinds import KINDS
from valuetrace.models import load_model
from valuetrace.probes import MASK
from valuetrace.tables import check_table, schema_path

MAX_LENGTH = 64


@dataclass
class Family:
    name: str
    path: Path
    model: torch.nn.Module
    tokenizer: object


def load(tiny_model_dirs, name: str) -> Family:
    model, tokenizer = load_model(str(tiny_model_dirs[name]), "cpu")
    return Family(name, tiny_model_dirs[name], model, tokenizer)


@pytest.fixture(scope="module", params=MASKED_ARCHITECTURES)
def family(request, tiny_model_dirs) -> Family:
    """One tiny model, loaded once per module; tests that change it load their own copy."""
    return load(tiny_model_dirs, request.param)


def score(family: Family, probes: pl.DataFrame, method: str = "joint", **options) -> pl.DataFrame:
    settings = dict(
        model_name=f"tiny-{family.name}", run="base", method=method, normalisation="none", batch_size=64, max_length=MAX_LENGTH
    )
    return scoring.score_probes(family.model, family.tokenizer, probes, **(settings | options))


@pytest.fixture(scope="module")
def joint(family, shipped_probes) -> pl.DataFrame:
    return score(family, shipped_probes, "joint")


# PLL costs one forward pass per token of every filled sentence: it is tested on fewer probes.
PLL_LANGUAGES = ["en", "ko", "ur"]


@pytest.fixture(scope="module")
def pll_probes(shipped_probes) -> pl.DataFrame:
    return shipped_probes.filter(pl.col("probe_lang").is_in(PLL_LANGUAGES))


@pytest.fixture(scope="module")
def joint_subset(joint, shipped_probes) -> pl.DataFrame:
    """Joint scores of the PLL probes, row for row."""
    return joint.filter(shipped_probes["probe_lang"].is_in(PLL_LANGUAGES))


@pytest.fixture(scope="module")
def pll(family, pll_probes) -> pl.DataFrame:
    return score(family, pll_probes, "pll")


def needed_for(family: Family, probes: pl.DataFrame, method: str = "joint", normalisation: str = "none"):
    return scoring.readouts(family.tokenizer, probes, method, MAX_LENGTH, KINDS["masked"], normalisation)


def filled(row: dict, option: str) -> str:
    return row["sentence"].replace(MASK, row[f"option_{option}"])


def single_token_rows(probes: pl.DataFrame, scores: pl.DataFrame) -> list[dict]:
    both = scores.with_row_index("_row").filter((pl.col("n_tokens_a") == 1) & (pl.col("n_tokens_b") == 1))
    rows = [probes.row(i, named=True) for i in both["_row"]]
    assert len(rows) >= 3, "too few probes with single-token options to test with"
    return rows


def log_probs_at(model, ids: list[int], positions: list[int]) -> torch.Tensor:
    """log-softmax of the raw model's logits at ``positions`` for one unpadded input."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0]
    return torch.log_softmax(logits[positions].float(), dim=-1)


# --- the score table ----------------------------------------------------------------------


def test_tokenizers_follow_their_family_conventions(family):
    tokens = family.tokenizer.tokenize("Family is important in my life.")
    if family.name == "xlm-roberta":
        assert family.tokenizer.mask_token == "<mask>"
        assert tokens[0].startswith("▁") and "▁is" in tokens
    else:
        assert family.tokenizer.mask_token == "[MASK]"
        assert "is" in tokens and not any(token.startswith("▁") for token in tokens)
        assert any(token.startswith("##") for token in family.tokenizer.tokenize("Homosexuality unjustifiable"))


@pytest.mark.parametrize("method", ["joint", "pll"])
def test_score_table_holds_consistent_numbers(family, shipped_probes, pll_probes, joint, pll, method):
    scores, probes = {"joint": (joint, shipped_probes), "pll": (pll, pll_probes)}[method]
    required = yaml.safe_load(schema_path("scores").read_text())["required"]
    assert set(required) <= set(scores.columns)
    check_table(scores, "scores")
    assert scores.height == probes.height
    assert scores.select("probe_lang", "probe_id", "question_id").equals(
        probes.select("probe_lang", "probe_id", "question_id")
    )
    assert set(scores["scoring_method"]) == {method}
    assert set(scores["model"]) == {f"tiny-{family.name}"}
    assert scores["logprob_a"].is_finite().all() and scores["logprob_b"].is_finite().all()
    assert (scores["logprob_a"] <= 0).all() and (scores["logprob_b"] <= 0).all()
    assert ((scores["score"] - (scores["logprob_a"] - scores["logprob_b"])).abs() < 1e-12).all()
    assert ((scores["choice"] == "A") == (scores["score"] > 0)).all()
    assert ((scores["n_tokens_a"] >= 1) & (scores["n_tokens_b"] >= 1)).all()
    # A random model still has preferences: not every score is zero or of one sign.
    assert set(scores["choice"]) == {"A", "B"}


def test_both_methods_count_option_tokens_alike(joint_subset, pll):
    assert joint_subset["n_tokens_a"].equals(pll["n_tokens_a"]) and joint_subset["n_tokens_b"].equals(pll["n_tokens_b"])


def test_scores_are_deterministic(tiny_model_dirs, family, shipped_probes, pll_probes, joint, pll):
    """A fresh load of the same directory gives the very same numbers."""
    again = load(tiny_model_dirs, family.name)
    assert_frame_equal(score(again, shipped_probes, "joint"), joint, check_exact=True)
    assert_frame_equal(score(again, pll_probes, "pll"), pll, check_exact=True)


def test_unknown_method_is_refused(family, shipped_probes):
    with pytest.raises(InputError, match="average"):
        score(family, shipped_probes.head(2), "average")


# --- hand computations --------------------------------------------------------------------


def test_joint_score_of_single_token_options_is_one_cloze_readout(family, shipped_probes, joint):
    rows = single_token_rows(shipped_probes, joint)
    by_probe = {(r["probe_lang"], r["probe_id"]): r for r in joint.iter_rows(named=True)}
    for row in rows[::5]:
        ids_a = family.tokenizer(filled(row, "a"))["input_ids"]
        ids_b = family.tokenizer(filled(row, "b"))["input_ids"]
        assert len(ids_a) == len(ids_b)
        (position,) = [i for i, (a, b) in enumerate(zip(ids_a, ids_b)) if a != b]
        masked = list(ids_a)
        masked[position] = family.tokenizer.mask_token_id
        log_probs = log_probs_at(family.model, masked, [position])[0]
        expected_a, expected_b = log_probs[ids_a[position]].item(), log_probs[ids_b[position]].item()
        got = by_probe[row["probe_lang"], row["probe_id"]]
        assert got["logprob_a"] == pytest.approx(expected_a, abs=1e-4)
        assert got["logprob_b"] == pytest.approx(expected_b, abs=1e-4)
        assert got["score"] == pytest.approx(expected_a - expected_b, abs=1e-4)


def spaced_multi_token_cases(family, probes: pl.DataFrame, scores: pl.DataFrame) -> list[tuple[dict, str]]:
    """(probe, option) pairs whose option has several tokens and stands between spaces."""
    cases = []
    for row, scored in zip(probes.iter_rows(named=True), scores.iter_rows(named=True)):
        if f" {MASK} " not in row["sentence"]:
            continue
        for option in ("a", "b"):
            if scored[f"n_tokens_{option}"] > 1:
                cases.append((row, option))
    assert len(cases) >= 3, "too few multi-token options to test with"
    return cases


def test_joint_masks_all_tokens_of_a_multi_token_option_at_once(family, shipped_probes, joint):
    tokenizer = family.tokenizer
    by_probe = {(r["probe_lang"], r["probe_id"]): r for r in joint.iter_rows(named=True)}
    cases = spaced_multi_token_cases(family, shipped_probes, joint)
    for row, option in cases[:: max(1, len(cases) // 6)]:
        prefix, suffix = row["sentence"].split(f" {MASK} ")
        texts = (prefix, row[f"option_{option}"], suffix)
        pieces = [tokenizer(text, add_special_tokens=False)["input_ids"] for text in texts]
        ids = tokenizer(filled(row, option))["input_ids"]
        # Both families tokenise space-separated words independently of their neighbours.
        assert ids == [ids[0], *pieces[0], *pieces[1], *pieces[2], ids[-1]]
        positions = list(range(1 + len(pieces[0]), 1 + len(pieces[0]) + len(pieces[1])))
        masked = [tokenizer.mask_token_id if i in positions else t for i, t in enumerate(ids)]
        log_probs = log_probs_at(family.model, masked, positions)
        expected = sum(log_probs[k, ids[p]].item() for k, p in enumerate(positions))
        got = by_probe[row["probe_lang"], row["probe_id"]]
        assert got[f"n_tokens_{option}"] == len(pieces[1]) > 1
        assert got[f"logprob_{option}"] == pytest.approx(expected, abs=1e-4)


def test_joint_readouts_share_one_fully_model_input_per_option(family, shipped_probes):
    needed, filled = needed_for(family, shipped_probes)
    n_tokens = {key: len(option.positions) for key, option in filled.items()}
    mask_id = family.tokenizer.mask_token_id
    groups: dict[tuple[int, str], list[scoring.Readout]] = {}
    for readout in needed:
        groups.setdefault((readout.probe, readout.option), []).append(readout)
    assert set(groups) == set(n_tokens) and len(groups) == 2 * shipped_probes.height
    for key, readouts in groups.items():
        (masked,) = {r.model_input for r in readouts}
        assert len(readouts) == n_tokens[key]
        assert sorted(i for i, t in enumerate(masked) if t == mask_id) == sorted(r.position for r in readouts)


def test_pll_is_the_pseudo_log_likelihood_of_the_filled_sentence(family, pll_probes, joint_subset, pll):
    tokenizer = family.tokenizer
    multi = joint_subset.with_row_index("_row").filter(pl.col("n_tokens_b") > 1)
    assert multi.height > 0
    # Joint reads only the option's tokens, PLL every token of the sentence.
    assert (pll[multi["_row"]]["logprob_b"] - multi["logprob_b"]).abs().min() > 1e-3
    row = pll_probes.row(multi["_row"][0], named=True)
    ids = tokenizer(filled(row, "b"))["input_ids"]
    positions = range(1, len(ids) - 1)  # every token but <s>/[CLS] and </s>/[SEP]
    masked = torch.tensor([[tokenizer.mask_token_id if i == p else t for i, t in enumerate(ids)] for p in positions])
    with torch.no_grad():
        log_probs = torch.log_softmax(family.model(input_ids=masked).logits, dim=-1)
    expected = sum(log_probs[k, p, ids[p]].item() for k, p in enumerate(positions))
    assert pll["logprob_b"][multi["_row"][0]] == pytest.approx(expected, abs=1e-3)


# --- forward passes -----------------------------------------------------------------------


class ForwardCounter:
    """Counts the model's forward calls and the input rows they processed."""

    def __init__(self, model):
        self.calls = 0
        self.rows = 0
        self.handle = model.register_forward_hook(self.hook, with_kwargs=True)

    def hook(self, module, args, kwargs, output):
        self.calls += 1
        self.rows += kwargs["input_ids"].shape[0]


def count_forward_passes(family, needed, batch_size=1) -> tuple[ForwardCounter, list[float]]:
    counter = ForwardCounter(family.model)
    try:
        values = scoring.log_probabilities(family.model, family.tokenizer, needed, batch_size)
    finally:
        counter.handle.remove()
    return counter, values


def test_single_token_options_share_one_forward_pass(family, shipped_probes, joint):
    row = single_token_rows(shipped_probes, joint)[0]
    needed, _ = needed_for(family, pl.DataFrame([row]))
    assert [r.option for r in needed] == ["a", "b"]
    assert needed[0].model_input == needed[1].model_input
    counter, values = count_forward_passes(family, needed)
    assert counter.calls == counter.rows == 1
    assert len(values) == 2 and values[0] != values[1]


def test_each_distinct_model_input_runs_once(family, shipped_probes):
    needed, _ = needed_for(family, shipped_probes)
    distinct = len({r.model_input for r in needed})
    counter, _ = count_forward_passes(family, needed, batch_size=64)
    assert counter.rows == distinct < len(needed)
    assert counter.calls == -(-distinct // 64)


def test_multi_token_option_needs_its_own_forward_pass(family, shipped_probes, joint):
    multi = joint.with_row_index("_row").filter(pl.col("n_tokens_a") != pl.col("n_tokens_b"))
    row = shipped_probes.row(multi["_row"][0], named=True)
    needed, _ = needed_for(family, pl.DataFrame([row]))
    counter, _ = count_forward_passes(family, needed)
    assert counter.calls == counter.rows == 2


def test_batching_and_padding_side_do_not_change_scores(tiny_model_dirs, family, pll_probes, joint_subset):
    # Batches mix inputs of different lengths, so padding must not move any position,
    # whichever side the tokenizer pads on by default.
    fresh = load(tiny_model_dirs, family.name)
    fresh.tokenizer.padding_side = "left"
    for batch_size in (1, 7, 256):
        other = score(fresh, pll_probes, "joint", batch_size=batch_size)
        assert (other["score"] - joint_subset["score"]).abs().max() < 1e-4


# --- a model edited to prefer one option -------------------------------------------------


@pytest.mark.parametrize("preferred", ["a", "b"])
def test_head_biased_towards_an_option_prefers_it(tiny_model_dirs, family, shipped_probes, preferred):
    edited = load(tiny_model_dirs, family.name)
    other = "b" if preferred == "a" else "a"
    option_ids = []
    for row in shipped_probes.iter_rows(named=True):
        ids = {}
        for option in ("a", "b"):
            sentence, text = row["sentence"], row[f"option_{option}"]
            filled = scoring.option_positions(edited.tokenizer, sentence, text, MAX_LENGTH, KINDS["masked"])
            ids[option] = [filled.ids[p] for p in filled.positions]
        option_ids.append(ids)
    boosted = sorted({ids[preferred][0] for ids in option_ids if len(ids[preferred]) == 1})
    eligible = [
        i for i, ids in enumerate(option_ids) if len(ids[preferred]) == 1 and not set(ids[other]) & set(boosted)
    ]
    assert len(eligible) >= 10, "too few probes with a single-token option to test with"

    probe_input = edited.tokenizer("Family is important in my life.", return_tensors="pt")
    with torch.no_grad():
        before = edited.model(**probe_input).logits
        edited.model.get_output_embeddings().bias[boosted] += 30.0
        after = edited.model(**probe_input).logits
    shift = (after - before)[0, 0]
    assert torch.allclose(shift[boosted], torch.full((len(boosted),), 30.0), atol=1e-3)
    assert shift.abs().sum() == pytest.approx(30.0 * len(boosted), abs=1e-2)

    scores = score(edited, shipped_probes, "joint")[eligible]
    sign = 1 if preferred == "a" else -1
    assert (sign * scores["score"] > 0).all()
    assert set(scores["choice"]) == {preferred.upper()}
    # The boost is what decides: the preferred option is now likely, the other is not.
    assert (scores[f"logprob_{preferred}"] > -10).all() and (scores[f"logprob_{other}"] < -15).all()


# --- lengths ------------------------------------------------------------------------------


def long_probe(row: dict, repeat: int, mask_first: bool) -> pl.DataFrame:
    tail = " ".join([row["sentence"].replace(MASK, row["option_a"])] * repeat)
    sentence = f"{row['sentence']} {tail}" if mask_first else f"{tail} {row['sentence']}"
    keys = ["probe_set", "probe_lang", "probe_id", "question_id", "option_a", "option_b"]
    return pl.DataFrame([{**{k: row[k] for k in keys}, "sentence": sentence}])


def test_inputs_longer_than_the_model_are_truncated_to_its_positions(family, shipped_probes):
    probe = long_probe(shipped_probes.row(0, named=True), repeat=12, mask_first=True)
    assert len(family.tokenizer(probe["sentence"][0])["input_ids"]) > MAX_LENGTH
    # The tokenizer declares 64 positions; asking for 128 must not index past them.
    scores = score(family, probe, "joint", max_length=128)
    fitting = score(family, probe, "joint", max_length=MAX_LENGTH)
    assert scores["score"].to_list() == pytest.approx(fitting["score"].to_list())


def test_an_option_cut_off_by_max_length_is_named(family, shipped_probes):
    probe = long_probe(shipped_probes.row(0, named=True), repeat=12, mask_first=False)
    with pytest.raises(InputError, match=r"en/Q1: option A .* cut off by max_length 32"):
        score(family, probe, "joint", max_length=32)


def test_scoring_methods_are_the_names_the_config_schema_allows():
    from valuetrace.settings import schema

    assert schema()["properties"]["scoring"]["properties"]["method"]["enum"] == list(methods.METHODS)
    assert schema()["properties"]["scoring"]["properties"]["normalisation"]["enum"] == list(methods.NORMALISATIONS)


def test_probes_whose_options_the_model_cannot_read_whole_are_flagged(family, shipped_probes, caplog):
    row = shipped_probes.row(0, named=True)
    unknown = pl.DataFrame([{**row, "option_a": "\u2603\u2604"}])  # characters the tokenizer never saw
    scores = score(family, unknown, "joint")
    assert scores["unknown_token"].to_list() == [True] and scores["truncated"].to_list() == [False]
    assert "1 probes have an option holding the unknown token" in caplog.text
    long = long_probe(row, repeat=12, mask_first=True)
    flagged = score(family, long, "joint", max_length=MAX_LENGTH)
    assert flagged["truncated"].to_list() == [True]
    assert "were cut (column truncated)" in caplog.text


def test_pll_reads_out_the_unknown_token_like_salazar_et_al(family, shipped_probes):
    """Every token of the filled sentence counts, [UNK] included; only the framing specials do not."""
    row = {**shipped_probes.row(0, named=True), "option_a": "\u2603"}
    needed, filled = needed_for(family, pl.DataFrame([row]), "pll")
    a = filled[0, "a"]
    assert a.unknown
    read = sorted(r.position for r in needed if r.option == "a")
    framing = set(family.tokenizer.all_special_ids) - {family.tokenizer.unk_token_id}
    assert read == [p for p, token in enumerate(a.ids) if token not in framing]
    assert any(a.ids[p] == family.tokenizer.unk_token_id for p in read)
