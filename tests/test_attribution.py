"""TRAK attribution: the model output function, the steps featurize/score/gather, the
built-in copy self-check, the planted-question precision and the counterfactual retraining."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from valuetrace import attribution, counterfactual
from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.influence import (
    SignedLogProbability,
    collate,
    default_copies,
    example_functions,
    parameters_with_gradients,
    probe_functions,
)
from valuetrace.models import load_masked_lm
from valuetrace.scoring import score_probes
from valuetrace.settings import check_attribution
from valuetrace.tables import check_table

SETTINGS = dict(
    checkpoints=2, proj_dim=64, lambda_reg=0.1, include_parameters=[], exclude_parameters=[],
    mask_copies=4, batch_size=8, max_length=32, probe_max_length=64, projector_seed=0,
)  # fmt: skip

# Distinct sentences, so that a copy of one has exactly one original.
TEXTS = [
    "Family is very important in my life.",
    "Work is rather important in my life.",
    "I am happy with my neighbours.",
    "Religion is not at all important.",
    "We went to the market on Sunday.",
    "The weather was cold in the mountains.",
    "Friends are very important to me.",
    "I am proud of my country.",
    "Politics is not very important.",
    "Leisure time matters a lot to us.",
    "The children played in the garden.",
    "Their teacher read a long story.",
]


def _function_value(model, function) -> float:
    batch = collate([function], pad_id=0)
    weights, buffers = dict(model.named_parameters()), dict(model.named_buffers())
    with torch.no_grad():
        return float(SignedLogProbability().get_output(model, weights, buffers, *[t[0] for t in batch]))


@pytest.mark.parametrize("architecture", ["bert", "xlm-roberta"])
@pytest.mark.parametrize("method", ["joint", "pll"])
def test_probe_function_is_the_probe_score(tiny_model_dirs, shipped_probes, architecture, method):
    model, tokenizer = load_masked_lm(str(tiny_model_dirs[architecture]))
    probes = shipped_probes.filter(pl.col("probe_lang").is_in(["en", "ko"])).head(40)
    expected = score_probes(model, tokenizer, probes, model_name="m", method=method, batch_size=16, max_length=64)
    functions = probe_functions(tokenizer, probes, method, 64)
    values = [_function_value(model, function) for function in functions]
    np.testing.assert_allclose(values, expected["score"].to_numpy(), atol=1e-4)


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
    assert default_copies(0.15) == 7


def test_parameters_with_gradients_include_and_exclude(tiny_model_dirs):
    model = AutoModelForMaskedLM.from_pretrained(tiny_model_dirs["bert"])
    without_embeddings = parameters_with_gradients(model, [], ["embeddings"])
    assert without_embeddings and not any("embeddings" in name for name in without_embeddings)
    assert parameters_with_gradients(model, [r"^cls\.predictions\.bias$"], []) == ["cls.predictions.bias"]
    with pytest.raises(InputError, match="leave no parameter"):
        parameters_with_gradients(model, ["no-such-parameter"], [])


def fake_run(tmp_path: Path, model_dir: Path, texts: list[str], lang: str = "en") -> tuple[Path, Path]:
    """A fine-tuned run's layout (model/ and two checkpoints) and its training table."""
    run_dir = tmp_path / "run"
    shutil.copytree(model_dir, run_dir / "model")
    model = AutoModelForMaskedLM.from_pretrained(model_dir)
    for step in (5, 10):
        model.save_pretrained(run_dir / "checkpoints" / f"step-{step}")
    train = tmp_path / "train.parquet"
    pl.DataFrame(
        {
            "example_id": [f"src/{lang}/{i}" for i in range(len(texts))],
            "item_id": [str(i) for i in range(len(texts))],
            "lang": [lang] * len(texts),
            "source": ["src"] * len(texts),
            "text": texts,
            "rank": list(range(len(texts))),
            "planted_question": ["Q46" if i % 3 == 0 else "" for i in range(len(texts))],
        }
    ).write_parquet(train)
    return run_dir, train


def scores_of(probes: pl.DataFrame, score: float) -> pl.DataFrame:
    return probes.select("probe_lang", "probe_id", "question_id").with_columns(score=pl.lit(score))


@pytest.mark.parametrize("architecture", ["bert", "xlm-roberta"])
def test_copies_of_training_examples_are_attributed_to_themselves(tmp_path, tiny_model_dirs, shipped_probes, architecture):
    """The built-in self-check: the whole pipeline, two checkpoints, every copy finds its original."""
    run_dir, train = fake_run(tmp_path, tiny_model_dirs[architecture], TEXTS)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(5)
    chosen = attribution.targets(probes, scores_of(probes, 0.0), scores_of(probes, 1.0), "all")
    score_dirs = []
    for checkpoint in (1, 2):
        features, scores = tmp_path / f"features{checkpoint}", tmp_path / f"scores{checkpoint}"
        attribution.featurize(run_dir, train, features, checkpoint=checkpoint, settings=SETTINGS, device="cpu")
        attribution.score(
            run_dir, features, train, chosen, scores, checkpoint=checkpoint, method="joint", settings=SETTINGS, device="cpu"
        )
        score_dirs.append(scores)
    top, groups, checks = attribution.gather(Run("m", "src", "en", 12, 0), score_dirs, train, chosen, top_k=4)
    assert checks.height == attribution.SELF_CHECK_COPIES
    assert checks["passed"].all(), checks
    check_table(top, "attribution_top")
    check_table(groups, "attribution_groups")
    check_table(checks, "attribution_checks")
    assert top.height == 5 * 4 and "example_planted_question" in top.columns
    assert groups["n_examples"].sum() == 5 * len(TEXTS)


def write_scores(directory: Path, influence: np.ndarray, probes: pl.DataFrame, copies: list[int]) -> Path:
    directory.mkdir(parents=True)
    np.save(directory / "scores.npy", influence.astype(np.float32))
    (directory / "targets.json").write_text(
        json.dumps({"probes": probes.select("probe_lang", "probe_id", "question_id").to_dicts(), "self_check": copies})
    )
    return directory


def test_gather_ranks_along_the_shift_and_sums_by_language(tmp_path, shipped_probes):
    texts = ["a", "b", "c", "d"]
    train = tmp_path / "train.parquet"
    pl.DataFrame(
        {"example_id": ["0", "1", "2", "3"], "lang": ["en", "en", "de", "de"], "source": ["s"] * 4, "text": texts}
    ).write_parquet(train)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(2)
    base = scores_of(probes, 1.0)
    run_scores = base.with_columns(score=pl.Series([3.0, -2.0]))  # one moved to A, one flipped to B
    chosen = attribution.targets(probes, base, run_scores, "all")
    influence = np.array(
        # probe 1, probe 2, then copies of examples 0 and 3
        [[0.5, 0.5, 9.0, 0.0], [2.0, -1.0, 0.0, 0.0], [-1.0, -3.0, 0.0, 1.0], [0.1, 2.0, 0.0, 8.0]]
    )
    directories = [write_scores(tmp_path / f"c{i}", influence, chosen, [0, 3]) for i in (1, 2)]
    top, groups, checks = attribution.gather(Run("m", "s", "multi", 2, 0), directories, train, chosen, top_k=2)
    by_probe = top.partition_by("probe_id", as_dict=True)
    first, second = chosen["probe_id"].to_list()
    assert by_probe[(first,)].sort("rank")["example_id"].to_list() == ["1", "0"]  # largest towards A
    assert by_probe[(second,)].sort("rank")["example_id"].to_list() == ["2", "1"]  # largest towards B
    assert by_probe[(second,)]["flipped"].all() and not by_probe[(first,)]["flipped"].any()
    german = groups.filter(pl.col("probe_id") == second, pl.col("example_lang") == "de").row(0, named=True)
    assert german["influence"] == pytest.approx(-1.0) and german["support"] == pytest.approx(3.0)
    assert checks["passed"].to_list() == [True, True]
    shown = attribution.flipped_top(top.with_columns(example_note=pl.lit("x")), 1)
    assert shown["probe_id"].to_list() == [second] and shown["example_id"].to_list() == ["2"]
    assert "example_note" not in shown.columns and "example_text" in shown.columns

    planted = attribution.planted_precision(
        top.with_columns(example_planted_question=pl.when(pl.col("example_id") == "1").then(pl.col("question_id")).otherwise(pl.lit(""))),
        groups,
        {"s": [chosen["question_id"][0]]},
        at=2,
    )
    check_table(planted, "attribution_planted")
    assert planted.filter(pl.col("probe_lang") == "en")["precision"].to_list() == [0.5]


def test_gather_refuses_checkpoints_that_scored_different_targets(tmp_path, shipped_probes):
    train = tmp_path / "train.parquet"
    pl.DataFrame({"example_id": ["0"], "lang": ["en"], "source": ["s"], "text": ["a"]}).write_parquet(train)
    probes = shipped_probes.head(2)
    chosen = attribution.targets(probes, scores_of(probes, 0.0), scores_of(probes, 1.0), "all")
    one = write_scores(tmp_path / "c1", np.zeros((1, 2)), chosen, [])
    other = write_scores(tmp_path / "c2", np.zeros((1, 1)), chosen.head(1), [])
    with pytest.raises(InputError, match="different targets"):
        attribution.gather(Run("m", "s", "en", 1, 0), [one, other], train, chosen, top_k=1)


def test_flipped_targets_are_the_probes_whose_choice_changed(shipped_probes):
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(3)
    base = scores_of(probes, 1.0)
    run_scores = base.with_columns(score=pl.Series([2.0, -0.5, 0.5]))
    flipped = attribution.targets(probes, base, run_scores, "flipped")
    assert flipped["probe_id"].to_list() == [probes["probe_id"][1]]
    with pytest.raises(InputError, match="attribution.targets"):
        attribution.targets(probes, base, run_scores, "some")


def test_checkpoint_dir_picks_the_last_checkpoints(tmp_path):
    for step in (3, 12, 6):
        (tmp_path / "checkpoints" / f"step-{step}").mkdir(parents=True)
    assert attribution.checkpoint_dir(tmp_path, 1, 2).name == "step-6"
    assert attribution.checkpoint_dir(tmp_path, 2, 2).name == "step-12"
    with pytest.raises(InputError, match="saved 3 checkpoints"):
        attribution.checkpoint_dir(tmp_path, 1, 4)


def top_table(probe: dict, example_ids: list[str], shift: float) -> pl.DataFrame:
    return pl.DataFrame(
        {**{k: [v] * len(example_ids) for k, v in probe.items()}, "shift": [shift] * len(example_ids),
         "rank": list(range(1, len(example_ids) + 1)), "example_id": example_ids}
    )  # fmt: skip


def test_counterfactual_picks_the_most_shifted_probe_and_its_top_examples():
    small = {"probe_lang": "en", "probe_id": "Q1", "question_id": "Q1"}
    large = {"probe_lang": "en", "probe_id": "Q2", "question_id": "Q2"}
    elsewhere = {"probe_lang": "de", "probe_id": "Q3", "question_id": "Q3"}
    top = pl.concat(
        [top_table(small, ["a", "b"], 1.0), top_table(large, ["c", "d"], -4.0), top_table(elsewhere, ["e", "f"], 9.0)]
    )
    probe = counterfactual.target_probe(top, ["en"], 1)
    assert probe["probe_id"] == "Q2"
    assert counterfactual.removed_examples(top, list("abcdef"), probe, "top", 2, 0) == ["c", "d"]
    drawn = counterfactual.removed_examples(top, list("abcdef"), probe, "random", 3, 0)
    assert len(set(drawn)) == 3 and drawn == counterfactual.removed_examples(top, list("abcdef"), probe, "random", 3, 0)
    with pytest.raises(InputError, match="top_k"):
        counterfactual.removed_examples(top, list("abcdef"), probe, "top", 3, 0)
    with pytest.raises(InputError, match="targets_per_run"):
        counterfactual.target_probe(top, ["en"], 3)


def test_counterfactual_retrain_reports_the_shift_undone(tmp_path, tiny_model_dirs, shipped_probes):
    _, train = fake_run(tmp_path, tiny_model_dirs["bert"], TEXTS)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(1)
    probe = probes.select("probe_lang", "probe_id", "question_id").row(0, named=True)
    model, tokenizer = load_masked_lm(str(tiny_model_dirs["bert"]))
    base_scores = score_probes(model, tokenizer, probes, model_name="m", method="joint", batch_size=1, max_length=64)
    top = top_table(probe, ["src/en/0", "src/en/1"], 2.0)
    training = dict(epochs=1, batch_size=4, learning_rate=1e-3, max_length=32, mlm_probability=0.15, checkpoints=3, seed=0)
    row = counterfactual.retrain(
        Run("m", "src", "en", 12, 0), base=str(tiny_model_dirs["bert"]), train_path=train, top=top, probes=probes,
        base_scores=base_scores, target=1, removal="top", k=2, seed=0, method="joint", probe_max_length=64,
        training=training, device="cpu",
    )  # fmt: skip
    check_table(row, "counterfactual")
    shift_after = row["shift_after_removal"][0]
    assert row["fraction_undone"][0] == pytest.approx((2.0 - shift_after) / 2.0)


def attribution_config(**attribution_settings) -> dict:
    return {
        "datasets": {"planted": {"languages": ["en", "de"]}},
        "finetuning": {"sizes": [300], "seeds": [0], "checkpoints": 3},
        "attribution": attribution_settings,
    }


def test_attribution_config_must_fit_the_grid():
    check_attribution(attribution_config(datasets=["planted"], finetune_languages=["multi"], counterfactual={"k": 5}))
    with pytest.raises(InputError, match="attribution.datasets"):
        check_attribution(attribution_config(datasets=["wiki"]))
    with pytest.raises(InputError, match="attribution.counterfactual.sizes"):
        check_attribution(attribution_config(counterfactual={"k": 5, "sizes": [1000]}))
    with pytest.raises(InputError, match="attribution.checkpoints"):
        check_attribution(attribution_config(checkpoints=4))
    with pytest.raises(InputError, match="top_k"):
        check_attribution(attribution_config(top_k=10, counterfactual={"k": 20}))
