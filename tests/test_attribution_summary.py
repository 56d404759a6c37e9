"""Attribution summarised without the model (valuetrace.attribution_summary): targets, checkpoints
averaged, top examples along the shift, sums per language, precision on planted questions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from attribution_runs import scores_of
from valuetrace import attribution_summary
from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.tables import check_table


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
    chosen = attribution_summary.targets(probes, base, run_scores, "all")
    influence = np.array(
        # probe 1, probe 2, then copies of examples 0 and 3
        [[0.5, 0.5, 9.0, 0.0], [2.0, -1.0, 0.0, 0.0], [-1.0, -3.0, 0.0, 1.0], [0.1, 2.0, 0.0, 8.0]]
    )
    directories = [write_scores(tmp_path / f"c{i}", influence, chosen, [0, 3]) for i in (1, 2)]
    top, groups, checks = attribution_summary.gather(Run("m", "s", "multi", 2, 0), directories, train, chosen, top_k=2)
    by_probe = top.partition_by("probe_id", as_dict=True)
    first, second = chosen["probe_id"].to_list()
    assert by_probe[(first,)].sort("rank")["example_id"].to_list() == ["1", "0"]  # largest towards A
    assert by_probe[(second,)].sort("rank")["example_id"].to_list() == ["2", "1"]  # largest towards B
    assert by_probe[(second,)]["flipped"].all() and not by_probe[(first,)]["flipped"].any()
    german = groups.filter(pl.col("probe_id") == second, pl.col("example_lang") == "de").row(0, named=True)
    assert german["influence"] == pytest.approx(-1.0) and german["support"] == pytest.approx(3.0)
    assert checks["passed"].to_list() == [True, True]
    shown = attribution_summary.flipped_top(top.with_columns(example_note=pl.lit("x")), 1)
    assert shown["probe_id"].to_list() == [second] and shown["example_id"].to_list() == ["2"]
    assert "example_note" not in shown.columns and "example_text" in shown.columns

    planted = attribution_summary.planted_precision(
        top.with_columns(example_planted_question=pl.when(pl.col("example_id") == "1").then(pl.col("question_id")).otherwise(pl.lit(""))),
        groups,
        {"s": [chosen["question_id"][0]]},
        at=2,
    )
    check_table(planted, "attribution_planted")
    assert planted.filter(pl.col("probe_lang") == "en")["precision"].to_list() == [0.5]


def test_precision_counts_the_top_n_where_only_n_examples_plant_the_question(tmp_path, shipped_probes):
    """A question planted in 2 of 6 examples, both ranked first: precision@4 counts the top 2 (1.0,
    not 0.5); a question planted in more examples than ``at`` is counted at ``at``."""
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(2)
    first, second = probes["question_id"].to_list()
    planted = [first, first, "", second, second, second]
    train = tmp_path / "train.parquet"
    pl.DataFrame(
        {"example_id": [str(i) for i in range(6)], "lang": ["en"] * 6, "source": ["s"] * 6, "text": list("abcdef"),
         "planted_question": planted}
    ).write_parquet(train)  # fmt: skip
    chosen = attribution_summary.targets(probes, scores_of(probes, 0.0), scores_of(probes, 1.0), "all")
    # probe 1 ranks its 2 planting examples first, then neutral and the other's; probe 2 ranks 3, 2, 4, 5
    influence = np.array([[6.0, 1.0], [5.0, 2.0], [4.0, 5.0], [3.0, 6.0], [2.0, 4.0], [1.0, 3.0]])
    top, groups, _ = attribution_summary.gather(Run("m", "s", "en", 6, 0), [write_scores(tmp_path / "c0", influence, chosen, [])], train, chosen, top_k=4)
    check_table(top, "attribution_top")
    assert dict(top.select("question_id", "question_planted_examples").unique().iter_rows()) == {first: 2, second: 3}
    precision = attribution_summary.planted_precision(top, groups, {"s": [first, second]}, at=4)
    check_table(precision, "attribution_planted")
    assert dict(precision.select("question_id", "precision").iter_rows()) == {first: 1.0, second: pytest.approx(2 / 3)}
    assert dict(precision.select("question_id", "at").iter_rows()) == {first: 2, second: 3}
    at_two = attribution_summary.planted_precision(top, groups, {"s": [second]}, at=2)
    assert at_two["precision"].to_list() == [0.5] and at_two["at"].to_list() == [2]
    # a question no example of the run plants is counted at ``at``, not at 0 or 1 examples
    unplanted = top.with_columns(question_planted_examples=pl.when(pl.col("question_id") == first).then(0).otherwise("question_planted_examples"))
    assert attribution_summary.planted_precision(unplanted, groups, {"s": [first]}, at=4)["at"].to_list() == [4]


def test_self_check_does_not_count_duplicates_of_the_copied_text(tmp_path, shipped_probes):
    """Planted sources repeat sentences; a copy's duplicate ties with the original, so it may rank
    above it without failing the check, while any other text above the original fails it."""
    train = tmp_path / "train.parquet"
    texts = ["same", "other", "same", "third"]
    pl.DataFrame({"example_id": ["0", "1", "2", "3"], "lang": ["en"] * 4, "source": ["s"] * 4, "text": texts}).write_parquet(train)
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(1)
    chosen = attribution_summary.targets(probes, scores_of(probes, 0.0), scores_of(probes, 1.0), "all")
    # probe, then copies of example 0 (its duplicate 2 scores higher) and of example 3 (example 1 higher)
    influence = np.array([[0.0, 5.0, 0.0], [0.0, 0.0, 7.0], [0.0, 5.5, 0.0], [0.0, 0.0, 6.0]])
    directories = [write_scores(tmp_path / "c1", influence, chosen, [0, 3])]
    _, _, checks = attribution_summary.gather(Run("m", "s", "en", 4, 0), directories, train, chosen, top_k=2)
    assert checks["top_example"].to_list() == ["2", "1"]
    assert checks["original_rank"].to_list() == [1, 2]
    assert checks["passed"].to_list() == [True, False]


def test_gather_refuses_checkpoints_that_scored_different_targets(tmp_path, shipped_probes):
    train = tmp_path / "train.parquet"
    pl.DataFrame({"example_id": ["0"], "lang": ["en"], "source": ["s"], "text": ["a"]}).write_parquet(train)
    probes = shipped_probes.head(2)
    chosen = attribution_summary.targets(probes, scores_of(probes, 0.0), scores_of(probes, 1.0), "all")
    one = write_scores(tmp_path / "c1", np.zeros((1, 2)), chosen, [])
    other = write_scores(tmp_path / "c2", np.zeros((1, 1)), chosen.head(1), [])
    with pytest.raises(InputError, match="different targets"):
        attribution_summary.gather(Run("m", "s", "en", 1, 0), [one, other], train, chosen, top_k=1)


def test_flipped_targets_are_the_probes_whose_choice_changed(shipped_probes):
    probes = shipped_probes.filter(pl.col("probe_lang") == "en").head(3)
    base = scores_of(probes, 1.0)
    run_scores = base.with_columns(score=pl.Series([2.0, -0.5, 0.5]))
    flipped = attribution_summary.targets(probes, base, run_scores, "flipped")
    assert flipped["probe_id"].to_list() == [probes["probe_id"][1]]
    with pytest.raises(InputError, match="attribution.targets"):
        attribution_summary.targets(probes, base, run_scores, "some")
