"""The hand-run command line (valuetrace.cli): probes check, probes compile, score."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from test_probes import ARORA, KEY, SHIPPED, write_tsv
from valuetrace import cli
from valuetrace.settings import schema_default
from valuetrace.tables import check_table


def test_option_defaults_are_the_config_schema_defaults():
    score = cli.parser().parse_args(["score", "--model", "m", "--model-name", "m", "--probes", "p", "--method", "joint", "--out", "o"])
    assert score.batch_size == schema_default("scoring", "batch_size")
    assert score.max_length == schema_default("scoring", "max_length")
    compile_ = cli.parser().parse_args(["probes", "compile", "--probes", "p", "--key", "k", "--languages", "de", "--out", "o"])
    assert compile_.format == schema_default("probes", "format")


def test_cli_compile_writes_validated_table(tmp_path: Path):
    out = tmp_path / "probes.parquet"
    code = cli.main(
        ["probes", "compile", "--probes", str(SHIPPED), "--key", str(KEY),
         "--languages", "de", "vi", "--out", str(out)]
    )
    assert code == 0
    table = pl.read_parquet(out)
    assert table.height == 54
    assert set(table["probe_lang"]) == {"de", "vi"}


def test_cli_check_exits_0_when_every_language_is_usable(capsys):
    assert cli.main(["probes", "check", str(ARORA)]) == 0
    out = capsys.readouterr().out
    assert "bn: 3 usable probes" in out
    assert f"{ARORA / 'WVS' / 'bn.tsv'}:5: option B is missing" in out
    assert "some languages have no usable probe" not in out


def test_cli_check_exits_1_when_a_language_has_no_usable_probe(tmp_path: Path, capsys):
    root = Path(shutil.copytree(ARORA, tmp_path / "arora"))
    write_tsv(
        root / "WVS" / "Greek.tsv",
        [
            ["", "question", "sentence", "option_a", "option_b"],
            ["0", "1", "Η οικογένεια είναι σημαντική.", "σημαντική", "ασήμαντη"],
            ["1", "4", "Η πολιτική είναι [MASK].", "σημαντική"],
        ],
    )
    assert cli.main(["probes", "check", str(root)]) == 1
    out = capsys.readouterr().out
    assert "el: 0 usable probes, 2 rows skipped" in out
    assert "some languages have no usable probe" in out
    assert "bn: 3 usable probes" in out


def test_cli_check_on_shipped_set(capsys):
    assert cli.main(["probes", "check", str(SHIPPED)]) == 0
    assert "14 languages, 14 files, 378 usable probes" in capsys.readouterr().out


def test_cli_check_of_missing_path_is_an_input_error(tmp_path: Path, capsys):
    assert cli.main(["probes", "check", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["joint", "pll"])
def test_cli_score_writes_a_valid_scores_table(tiny_model_dirs, shipped_probes, tmp_path, method):
    probes = shipped_probes.filter(pl.col("probe_lang").is_in(["en", "ko"]))
    probes_path = tmp_path / "probes.parquet"
    probes.write_parquet(probes_path)
    out = tmp_path / "scores" / "tiny.parquet"
    status = cli.main(
        ["score", "--model", str(tiny_model_dirs["bert"]), "--model-name", "tiny-bert", "--probes", str(probes_path),
         "--method", method, "--device", "cpu", "--max-length", "128", "--out", str(out)]
    )  # fmt: skip
    assert status == 0
    table = pl.read_parquet(out)
    check_table(table, "scores")
    assert table.height == probes.height
    assert set(table["scoring_method"]) == {method} and set(table["model"]) == {"tiny-bert"}


@pytest.mark.parametrize("bad", ["missing", "empty"])
def test_cli_score_with_a_bad_model_exits_2_with_one_line(shipped_probes, tmp_path, capsys, bad):
    model = tmp_path / "no-such-model"
    if bad == "empty":
        model.mkdir()
    probes_path = tmp_path / "probes.parquet"
    shipped_probes.head(3).write_parquet(probes_path)
    out = tmp_path / "scores.parquet"
    status = cli.main(
        ["score", "--model", str(model), "--model-name", "x", "--probes", str(probes_path), "--method", "joint",
         "--device", "cpu", "--out", str(out)]
    )  # fmt: skip
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("valuetrace: error:")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0]  # last, and one line
    assert str(model) in errors[0]
    assert ("no such local directory" if bad == "missing" else "cannot load its config") in errors[0]
    assert not out.exists()
