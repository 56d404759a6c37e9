"""config/README.md is generated from the config schema (valuetrace.config_doc)."""

from __future__ import annotations

from valuetrace import config_doc
from valuetrace.settings import schema


def test_config_readme_is_the_schema_rendered():
    assert config_doc.main(["--check"]) == 0, "run: .venv/bin/python -m valuetrace.config_doc"


def test_every_key_is_described_and_listed():
    rows = config_doc._rows(schema(), "")
    assert len(rows) > 80
    undescribed = [key for key, _, _, meaning in rows if not meaning]
    assert undescribed == []
    text = config_doc.README.read_text()
    assert "`attribution.counterfactual.k`" in text and "`datasets.<name>.hub.split`" in text
    assert "| `scoring.batch_size` | integer | `64` |" in text
