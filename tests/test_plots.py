"""Report figures (valuetrace.plots): the registry, and every figure drawn from its tables."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import polars as pl
import pytest

from conftest import compiled_hofstede_probes, compiled_probes
from result_tables import result_tables
from valuetrace import plots
from valuetrace.tables import TABLES

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tables(tmp_path_factory) -> dict[str, pl.DataFrame]:
    languages = ("de", "en", "ko")
    probes = pl.concat([compiled_probes(languages), compiled_hofstede_probes(languages)])
    return result_tables(probes, tmp_path_factory.mktemp("tables"))


def test_every_figure_reads_known_tables_and_has_a_caption():
    for figure in plots.FIGURES.values():
        assert figure.tables and all(table in TABLES for table in figure.tables)
        assert (REPO / "workflow" / "report" / "figures" / f"{figure.name}.rst").exists(), figure.name
    assert {figure.stage for figure in plots.FIGURES.values()} <= {
        "probes", "runs", "planted", "control", "multilingual", "attribution", "counterfactual", "lds", "hofstede"
    }
    assert plots.FIGURES["scores"].per_model and plots.FIGURES["scores"].path == "results/figures/scores_{model}.png"
    assert not plots.FIGURES["alignment"].per_model


def test_a_figure_of_an_unknown_table_is_refused():
    with pytest.raises(KeyError, match="no_such_table"):
        plots.report_figure("broken", tables=("no_such_table",), category="x", stage="probes")(lambda table: None)
    assert "broken" not in plots.FIGURES


@pytest.mark.parametrize("name", sorted(plots.FIGURES))
def test_every_figure_draws_a_png_from_its_tables(tables, tmp_path, name):
    out = tmp_path / f"{name}.png"
    plots.render(name, [tables[table] for table in plots.FIGURES[name].tables], out)
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert [path.name for path in tmp_path.iterdir()] == [out.name]  # written atomically, nothing else left


def test_figures_say_when_there_is_nothing_to_draw(tables, tmp_path):
    monolingual = tables["attribution_groups"].filter(pl.col("finetune_lang") != "multi")
    figure = plots.attribution_languages_figure(monolingual)
    assert "No multilingual run" in figure.axes[0].texts[0].get_text()


def test_human_values_title_says_whether_the_survey_is_synthetic(tables):
    assert "SYNTHETIC" in plots.human_values_figure(tables["human_values"]).axes[0].get_title()
    real = tables["human_values"].with_columns(survey_data=pl.lit("WVS-7 (WVS7.csv)"))
    assert plots.human_values_figure(real).axes[0].get_title() == "Human values (WVS-7)"
