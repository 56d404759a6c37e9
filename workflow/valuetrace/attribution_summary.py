"""Attribution results summarised, without the model: targets, checkpoints averaged, top examples.

:func:`targets` chooses a run's target probes, :func:`gather` averages the influence of its
checkpoints (as trak's ``finalize_scores`` does over model ids) and keeps what the report needs:
per target the top examples in the direction the probe moved, with their text and source
metadata, and the influence summed per example language and source; :func:`planted_precision`
checks the top examples of planted questions. These run in table jobs, which should not pay for
importing torch and trak (``valuetrace.attribution`` holds the steps that need the model).

An influence is TRAK's estimate of how much an example raised the probe's score log P(A) -
log P(B); rank 1 is the example that pushed the probe furthest in the direction it moved.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import polars as pl

from valuetrace.errors import InputError
from valuetrace.grid import Run
from valuetrace.probes import choice
from valuetrace.settings import schema_choices

log = logging.getLogger(__name__)

TARGETS = schema_choices("attribution", "targets")
PROBE_KEY = ["probe_lang", "probe_id", "question_id"]
RUN_SCHEMA = {"model": pl.String, "dataset": pl.String, "finetune_lang": pl.String, "size": pl.Int64, "seed": pl.Int64}
SELF_CHECK_COPIES = 8
# Precision on planted questions is measured over this many top examples.
PLANTED = "planted_question"  # the examples' column naming the question a sentence was planted for
PRECISION_AT = 10
# Top examples per flipped probe in the report's table.
FLIPPED_SHOWN = 5
# Example columns short enough to show in the report (the rest stay in the parquet table).
_EXAMPLE_SHOWN = ("example_id", "example_lang", "example_source", "example_text")


def targets(probes: pl.DataFrame, base_scores: pl.DataFrame, run_scores: pl.DataFrame, which: str) -> pl.DataFrame:
    """The probes to attribute, with their score shift in the run (``shift``)."""
    if which not in TARGETS:
        raise InputError(f"attribution.targets {which!r} is not one of {TARGETS}")
    before = base_scores.select(*PROBE_KEY, score_before="score")
    after = run_scores.select(*PROBE_KEY, score_after="score")
    chosen = probes.join(before, on=PROBE_KEY).join(after, on=PROBE_KEY)
    chosen = chosen.with_columns(shift=pl.col("score_after") - pl.col("score_before"))
    if which == "flipped":
        chosen = chosen.filter(choice(pl.col("score_before")) != choice(pl.col("score_after")))
    log.info("%d target probes (%s)", chosen.height, which)
    return chosen.sort(PROBE_KEY)


def read_targets(probes: Path, base_scores: Path, run_scores: Path, which: str) -> pl.DataFrame:
    """:func:`targets` from the probe table and the score tables of the base model and the run."""
    return targets(pl.read_parquet(probes), pl.read_parquet(base_scores), pl.read_parquet(run_scores), which)


def self_check_indices(n_train: int) -> list[int]:
    """Training examples whose copies are scored as extra targets (spread over the set)."""
    return np.unique(np.linspace(0, n_train - 1, SELF_CHECK_COPIES).round().astype(int)).tolist()


def _example_columns(train: pl.DataFrame) -> pl.DataFrame:
    """The training examples with every column named ``example_<name>``."""
    return train.rename({name: f"example_{name}" for name in train.columns if not name.startswith("example_")})


def mean_influence(score_dirs: list[Path], chosen: pl.DataFrame) -> tuple[np.ndarray, list[int]]:
    """The influence of every example on every target (the ``chosen`` probes, then the self-check
    copies), averaged over the checkpoints' score directories; and the copied examples."""
    manifests = [json.loads((directory / "targets.json").read_text()) for directory in score_dirs]
    if any(manifest != manifests[0] for manifest in manifests):
        raise InputError(f"{', '.join(map(str, score_dirs))}: the checkpoints scored different targets")
    if manifests[0]["probes"] != chosen.select(PROBE_KEY).to_dicts():
        raise InputError(f"{score_dirs[0]}: scored targets differ from the run's current targets")
    return np.mean([np.load(directory / "scores.npy") for directory in score_dirs], axis=0), manifests[0]["self_check"]


def gather(
    run: Run,
    score_dirs: list[Path],
    train_path: Path,
    chosen: pl.DataFrame,
    *,
    top_k: int,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Top examples per probe, influence per example language and source, and the self-check."""
    influence, copied = mean_influence(score_dirs, chosen)
    train = pl.read_parquet(train_path)
    n_probes = chosen.height
    run_columns = run.columns()

    # Probes that did not move are ranked towards A.
    direction = np.where(chosen["shift"].to_numpy() < 0, -1.0, 1.0)
    along_shift = influence[:, :n_probes] * direction
    ranks = np.argsort(-along_shift, axis=0, kind="stable")[:top_k]
    examples = _example_columns(train)
    top = []
    flipped = choice(pl.col("score_before")) != choice(pl.col("score_after"))
    for column, probe in enumerate(chosen.select(*PROBE_KEY, "shift", flipped=flipped).iter_rows(named=True)):
        rows = ranks[:, column]
        top.append(
            examples[rows.tolist()].with_columns(
                **{key: pl.lit(value) for key, value in {**run_columns, **probe}.items()},
                rank=pl.Series(np.arange(1, len(rows) + 1), dtype=pl.Int64),
                influence=pl.Series(influence[rows, column], dtype=pl.Float64),
            )
        )
    leading = [*run_columns, *PROBE_KEY, "shift", "flipped", "rank", "example_id", "example_lang", "example_source", "influence"]
    top_table = pl.concat(top).select(*leading, pl.exclude(leading))
    if PLANTED in train.columns:
        top_table = top_table.join(_planted_counts(train), on="question_id", how="left", maintain_order="left").with_columns(
            pl.col("question_planted_examples").fill_null(0)
        )

    long = pl.DataFrame(
        {
            "target": np.repeat(np.arange(n_probes), len(train)),
            "example_lang": np.tile(train["lang"].to_numpy(), n_probes),
            "example_source": np.tile(train["source"].to_numpy(), n_probes),
            "influence": influence[:, :n_probes].T.reshape(-1).astype(np.float64),
            "support": np.clip(along_shift.T.reshape(-1), 0, None).astype(np.float64),
        }
    )
    groups = long.group_by("target", "example_lang", "example_source").agg(
        n_examples=pl.len(), influence=pl.col("influence").sum(), support=pl.col("support").sum()
    )
    probes = (
        chosen.select(*PROBE_KEY, "shift", flipped=flipped)
        .with_row_index("target")
        .with_columns(pl.col("target").cast(pl.Int64))
    )
    groups = (
        groups.with_columns(pl.col("target").cast(pl.Int64))
        .join(probes, on="target")
        .with_columns(**{key: pl.lit(value) for key, value in run_columns.items()})
        .select(*run_columns, *PROBE_KEY, "shift", "flipped", "example_lang", "example_source", "n_examples", "influence", "support")
        .sort(*PROBE_KEY, "example_lang", "example_source")
    )

    copies = influence[:, n_probes:]
    original = copies[copied, np.arange(len(copied))]
    # An exact duplicate of the copied text has the same gradient, so the two tie up to rounding
    # and either may come first: only examples of other texts count against the original.
    texts = train["text"].to_numpy()
    other_text = texts[:, None] != texts[copied][None, :]
    checks = pl.DataFrame(
        {
            **{key: [value] * len(copied) for key, value in run_columns.items()},
            "copied_example": [train["example_id"][i] for i in copied],
            "top_example": [train["example_id"][int(i)] for i in copies.argmax(axis=0)],
            "original_rank": (1 + ((copies > original) & other_text).sum(axis=0)).astype(np.int64),
        }
    ).with_columns(passed=pl.col("original_rank") == 1)
    if not checks["passed"].all():
        log.warning(
            "self-check: %d of %d copied training examples are not attributed to themselves first",
            (~checks["passed"]).sum(),
            checks.height,
        )
    return top_table, groups, checks


def _planted_counts(train: pl.DataFrame) -> pl.DataFrame:
    """How many of a run's examples plant each question (``question_planted_examples``)."""
    planted = train.filter(planted_question() != "")
    return planted.group_by(question_id=PLANTED).agg(question_planted_examples=pl.len().cast(pl.Int64))


def planted_question() -> pl.Expr:
    """An example's planted question (column ``PLANTED``); "" where it plants none (empty or null)."""
    return pl.col(PLANTED).fill_null("")


def planted_precision(top: pl.DataFrame, groups: pl.DataFrame, planted: dict[str, list[str]], at: int) -> pl.DataFrame:
    """Per planted question and probe language: the share of its top ``at`` examples that
    plant that very question (``example_planted_question``). Where the run has fewer than ``at``
    examples planting it (``question_planted_examples``), the share of its top that many, so
    that ranking every planting example first scores 1 whatever the planting rate."""
    schema = {
        **{key: dtype for key, dtype in RUN_SCHEMA.items()},
        "probe_lang": pl.String, "question_id": pl.String, "in_language": pl.Boolean,
        "precision": pl.Float64, "at": pl.Int64,
    }  # fmt: skip
    if "example_planted_question" not in top.columns or not planted:
        return pl.DataFrame(schema=schema)
    questions = pl.DataFrame(
        [{"dataset": d, "question_id": q} for d, qs in planted.items() for q in qs],
        schema={"dataset": pl.String, "question_id": pl.String},
    )
    run_keys = list(RUN_SCHEMA)
    languages = groups.select(*run_keys, probe_lang="example_lang").unique().with_columns(in_language=pl.lit(True))
    # A question no example of the run plants is counted at ``at`` (precision 0), not at 0 examples.
    planting = pl.col("question_planted_examples") if "question_planted_examples" in top.columns else pl.lit(at)
    counted = pl.when(planting > 0).then(pl.min_horizontal(pl.lit(at), planting)).otherwise(pl.lit(at))
    return (
        top.join(questions, on=["dataset", "question_id"])
        .with_columns(at=counted.cast(pl.Int64))
        .filter(pl.col("rank") <= pl.col("at"))
        .group_by(*run_keys, "probe_lang", "question_id")
        .agg(precision=(pl.col("example_planted_question") == pl.col("question_id")).mean(), at=pl.col("at").first())
        .join(languages, on=[*run_keys, "probe_lang"], how="left")
        .with_columns(pl.col("in_language").fill_null(False))
        .select(list(schema))
        .sort(*run_keys, "probe_lang", "question_id")
    )


def flipped_top(top: pl.DataFrame, n: int) -> pl.DataFrame:
    """For the report: the top ``n`` examples of every probe whose choice flipped, without the
    examples' source metadata (which stays in the full table)."""
    shown = [c for c in top.columns if not c.startswith("example_") or c in _EXAMPLE_SHOWN]
    return top.filter(pl.col("flipped"), pl.col("rank") <= n).select(shown)
