"""Result tables (valuetrace.tables): the registry, schema checks, atomic writing."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import yaml

from valuetrace import tables

REPO = Path(__file__).resolve().parent.parent


def test_every_registered_table_has_a_schema_and_every_report_table_a_caption():
    paths = [table.path for table in tables.TABLES.values()]
    assert len(set(paths)) == len(paths)
    for table in tables.TABLES.values():
        assert tables.schema_path(table.schema).exists(), table.name
        if table.report:
            assert (REPO / "workflow" / "report" / "tables" / f"{table.name}.rst").exists(), table.name


def test_check_table_names_missing_columns_and_bad_values():
    with pytest.raises(ValueError, match=r"lacks columns \['run', 'probe_set', 'probe_lang'"):
        tables.check_table(pl.DataFrame({"model": ["m"]}), "scores")
    frame = pl.DataFrame({"copied_example": ["a"], "top_example": ["a"], "original_rank": [0], "passed": [True],
                          "model": ["m"], "dataset": ["d"], "finetune_lang": ["en"], "size": [1], "seed": [0]})  # fmt: skip
    with pytest.raises(ValueError, match="does not match"):
        tables.check_table(frame, "attribution_checks")  # a rank of 0


def test_check_table_refuses_a_schema_it_cannot_check_column_by_column(tmp_path, monkeypatch):
    for table in tables.TABLES.values():  # every shipped schema is column-wise
        assert set(yaml.safe_load(tables.schema_path(table.schema).read_text())) <= tables.COLUMN_WISE_KEYWORDS
    schema = tmp_path / "pairs.schema.yaml"
    schema.write_text("type: object\nproperties: {a: {type: integer}}\nif: {properties: {a: {const: 1}}}\nthen: {required: [b]}\n")
    monkeypatch.setattr(tables, "schema_path", lambda name: schema)
    with pytest.raises(ValueError, match=r"\['if', 'then'\] would constrain rows across columns"):
        tables.check_table(pl.DataFrame({"a": [1]}), "pairs")


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "table.parquet"
    pl.DataFrame({"a": [1]}).write_parquet(path)
    with pytest.raises(RuntimeError):
        with tables.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert pl.read_parquet(path)["a"].to_list() == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


def test_a_failed_directory_leaves_no_partial_one(tmp_path):
    with pytest.raises(RuntimeError):
        with tables.atomic_directory(tmp_path / "model") as partial:
            (partial / "weights").write_text("half")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_read_tables_and_csv_copy(tmp_path):
    for index in range(2):
        pl.DataFrame({"a": [index]}).write_parquet(tmp_path / f"{index}.parquet")
    joined = tables.read_tables([tmp_path / "0.parquet", tmp_path / "1.parquet"])
    assert joined["a"].to_list() == [0, 1]
    tables.write_csv(tmp_path / "1.parquet", tmp_path / "report" / "1.csv")
    assert (tmp_path / "report" / "1.csv").read_text() == "a\n1\n"
