"""The config (valuetrace.settings): schema validation with its defaults, cross-key checks, and the
typed settings each step reads from it."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import pytest
import yaml
from snakemake.utils import update_config

from valuetrace import settings
from valuetrace.errors import InputError
from valuetrace.plan import Plan

REPO = Path(__file__).resolve().parent.parent
DEMO = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
PAPER = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
# config/validation.yaml merged over the demo config, as `--configfile config/config.yaml
# config/validation.yaml` merges them.
VALIDATION = copy.deepcopy(DEMO)
update_config(VALIDATION, yaml.safe_load((REPO / "config" / "validation.yaml").read_text()))


def validated(**changes) -> dict:
    """The demo config with dotted keys changed (a value of None deletes the key), validated.

    Changes under ``attribution.lds`` are made to the validation config, the demo with LDS."""
    lds = any(dotted.startswith("attribution.lds") for dotted in changes)
    config = copy.deepcopy(VALIDATION if lds else DEMO)
    for dotted, value in changes.items():
        node = config
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return settings.validate_config(config)


def check(config: dict) -> list[str]:
    return settings.check_config(config, REPO)


def test_demo_and_paper_configs_are_valid():
    assert check(validated()) == []
    paper = settings.validate_config(copy.deepcopy(PAPER))
    warnings = check(paper)  # the user's data files are not here: warnings, not errors
    assert any("survey.path" in warning for warning in warnings)


def test_the_configs_merged_over_the_demo_are_valid():
    """config/validation.yaml, config/harder_plantings.yaml, config/causal.yaml and
    config/whole_network.yaml, each merged over the demo config."""
    assert check(settings.validate_config(copy.deepcopy(VALIDATION))) == []
    harder = copy.deepcopy(DEMO)
    update_config(harder, yaml.safe_load((REPO / "config" / "harder_plantings.yaml").read_text()))
    harder = settings.validate_config(harder)
    assert check(harder) == []  # the planted questions have paraphrases in every planted language
    assert harder["models"]["tiny-bert"]["build"]["mask_options"] and not harder["models"]["tiny-xlmr"]["build"]["mask_options"]
    assert harder["datasets"]["planted"]["planted_questions"] == ["Q1", "Q164", "Q30"]
    causal = copy.deepcopy(DEMO)
    update_config(causal, yaml.safe_load((REPO / "config" / "causal.yaml").read_text()))
    causal = settings.validate_config(causal)
    assert check(causal) == []
    assert {run.model for run in Plan(causal).runs} == {"tiny-bert", "tiny-llama"}
    whole = copy.deepcopy(DEMO)
    update_config(whole, yaml.safe_load((REPO / "config" / "whole_network.yaml").read_text()))
    whole = settings.validate_config(whole)
    assert check(whole) == []
    builds = {name: model["build"]["output_layer"] for name, model in whole["models"].items()}
    assert builds == {"tiny-xlmr": "architecture", "tiny-bert": "untied", "tiny-llama": "architecture"}
    trak = settings.Trak.from_config(whole)
    assert (trak.include_parameters, trak.exclude_parameters, trak.gradient_scaling) == ((), ("embeddings",), "tensor_rms")


@pytest.mark.parametrize("planting", sorted((REPO / "config" / "plantings").glob("*.yaml")), ids=lambda path: path.stem)
def test_the_plantings_merged_over_the_demo_are_valid(planting):
    """config/plantings/*.yaml: other plantings of the demo, alone and with the whole network."""
    config = copy.deepcopy(DEMO)
    update_config(config, yaml.safe_load(planting.read_text()))
    config = settings.validate_config(config)
    assert check(config) == []
    planted = config["datasets"]["planted"]
    assert planted["planted_questions"] != DEMO["datasets"]["planted"]["planted_questions"]
    assert set(config["attribution"]["counterfactual"]["finetune_languages"]) == set(planted["languages"])
    update_config(config, yaml.safe_load((REPO / "config" / "whole_network.yaml").read_text()))
    assert check(settings.validate_config(config)) == []


def test_validation_fills_in_the_schema_defaults():
    config = validated(**{"scoring.batch_size": None, "finetuning.checkpoints": None, "attribution.top_k": None, "significance": None})
    assert config["significance"]["fdr"] == settings.schema_default("significance", "fdr") == 0.05  # a whole section
    assert config["scoring"]["batch_size"] == settings.schema_default("scoring", "batch_size") == 64
    assert config["finetuning"]["checkpoints"] == settings.schema_default("finetuning", "checkpoints")
    assert config["attribution"]["top_k"] == settings.schema_default("attribution", "top_k")
    assert config["datasets"]["neutral"]["parallel"] is False  # defaults inside a named dataset too


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"scoring.colour": "blue"}, "config key 'scoring': unknown key 'colour' (allowed: method, normalisation, batch_size, max_length"),
        ({"colour": "blue"}, "the config: unknown key 'colour' (allowed: languages,"),
        ({"scoring.method": "pseudo"}, "config key 'scoring.method': 'pseudo' is not one of ['joint', 'pll']"),
        ({"survey.path": "wvs.csv"}, "config key 'survey': set exactly one of path, synthetic"),
        ({"datasets.neutral.generate.sentences": -3}, "config key 'datasets.neutral.generate.sentences': -3 is less than"),
        ({"scoring.method": None}, "config key 'scoring': 'method' is a required property"),
        ({"attribution.lds.subsets": 2}, "config key 'attribution.lds.subsets': 2 is less than the minimum of 3"),
        ({"attribution.lds.alpha": 1}, "config key 'attribution.lds.alpha': 1 is greater than or equal to the maximum of 1"),
        # trak adds lambda_reg to the kernel in float16: 1e5 would be inf there and every score NaN (measured).
        ({"attribution.lambda_reg": 1e5}, "config key 'attribution.lambda_reg': 100000.0 is greater than or equal to the maximum of 65504"),
    ],
)
def test_a_config_that_breaks_the_schema_is_one_line_naming_the_key(changes, message):
    with pytest.raises(InputError) as error:
        validated(**changes)
    assert str(error.value).startswith(message) and "\n" not in str(error.value)


def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("languages: [en\nmodels:\n  tiny: {}\n")
    with pytest.raises(InputError, match=rf"{path}:2:7: not valid YAML"):
        settings.read_config(path)
    path.write_text("- just a list\n")
    with pytest.raises(InputError, match="a config is a mapping"):
        settings.read_config(path)


SETTINGS_OF_DEMO = {
    settings.Scoring: lambda config: settings.Scoring.from_config(config),
    settings.Alignment: lambda config: settings.Alignment.from_config(config),
    settings.Significance: lambda config: settings.Significance.from_config(config),
    settings.SyntheticSurvey: lambda config: settings.SyntheticSurvey.from_config(config),
    settings.PretrainingCorpus: lambda config: settings.PretrainingCorpus.from_config(config),
    settings.ModelBuild: lambda config: settings.ModelBuild.from_config(config, "tiny-bert"),
    settings.Training: lambda config: settings.Training.from_config(config, "3"),
    settings.Trak: lambda config: settings.Trak.from_config(config),
    settings.Counterfactual: lambda config: settings.Counterfactual.from_config(config),
    settings.LdsSubsets: lambda config: settings.LdsSubsets.from_config(config),
    settings.LdsSummary: lambda config: settings.LdsSummary.from_config(config),
}


@pytest.mark.parametrize("kind", SETTINGS_OF_DEMO, ids=lambda kind: kind.__name__)
def test_settings_travel_through_params_as_builtin_values(kind):
    """Snakemake compares only built-in values of params: between runs; the job gets the same settings back."""
    config = settings.validate_config(copy.deepcopy(VALIDATION))  # the demo with every stage, LDS included
    read = SETTINGS_OF_DEMO[kind](config)
    params = read.params()
    assert all(isinstance(value, (str, int, float, bool, tuple)) for value in params.values()), params
    assert kind.from_params(params) == read
    assert repr(params) == repr(SETTINGS_OF_DEMO[kind](settings.validate_config(copy.deepcopy(VALIDATION))).params())  # the same text every time


def test_settings_classes_declare_no_defaults_of_their_own():
    for kind in SETTINGS_OF_DEMO:
        assert all(field.default is dataclasses.MISSING for field in dataclasses.fields(kind)), kind


def test_training_takes_the_run_seed_and_trak_derives_mask_copies():
    assert settings.Training.from_config(validated(), "3").seed == 3
    config = validated(**{"finetuning.mlm_probability": 0.25})
    assert settings.Trak.from_config(config).mask_copies == 4  # every token masked once
    assert settings.Trak.from_config(validated(**{"attribution.mask_copies": 2})).mask_copies == 2
    assert settings.Trak.from_config(config).max_length == config["finetuning"]["max_length"]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"countries": {"en": "USA"}}, "no WVS country for languages"),
        ({"pretraining_corpus": None}, "needs the config key 'pretraining_corpus'"),
        ({"probes.path": "config/no-such-probes"}, "'probes.path': config/no-such-probes does not exist"),
        ({"datasets.neutral.languages": ["en", "xx"]}, r"'datasets.neutral.languages': \['xx'\] are not probe languages"),
        ({"datasets.planted.planted_questions": ["Q9999"]}, r"planted_questions': \['Q9999'\]"),
        ({"finetuning.sizes": [300, 900]}, "size 900 is larger than the 800 examples"),
        ({"finetuning.models": ["gpt"]}, r"'finetuning.models': \['gpt'\]"),
        ({"datasets.neutral.generate.text": "config/probes"}, "generate.text.: no .*config/probes/en.yaml for language en"),
        ({"finetuning": None, "attribution": None}, "'datasets' is set but 'finetuning'"),
        ({"attribution.datasets": ["wiki"]}, r"'attribution.datasets': \['wiki'\] are not in the fine-tuning grid"),
        ({"attribution.counterfactual.sizes": [1000]}, "attribution.counterfactual.sizes"),
        ({"attribution.checkpoints": 4}, r"'attribution.checkpoints' \(4\) exceeds the 3 checkpoints"),
        ({"attribution.checkpoints": 0, "attribution.base_model": False}, r"'attribution.base_model' \(false\) and 'attribution.checkpoints' \(0\) leave no checkpoint"),
        ({"attribution.counterfactual.k": 30}, r"'attribution.counterfactual.k' \(30\) exceeds 'attribution.top_k' \(25\)"),
        ({"attribution.counterfactual.k": 300, "attribution.top_k": 400}, r"counterfactual.k' \(300\): the counterfactual of run planted/en/n300_s0 would remove all of its 300"),
        ({"attribution.include_parameters": ["cls.(bias"]}, r"'attribution.include_parameters': 'cls.\(bias' is not a regular expression"),
        ({"attribution.lds.finetune_languages": ["fr"]}, r"'attribution.lds.finetune_languages': \['fr'\] are not in the fine-tuning grid"),
        ({"attribution.counterfactual.models": ["tiny-xlmr"]}, r"'attribution.counterfactual.models': \['tiny-xlmr'\] are not in the fine-tuning grid"),
        ({"attribution.counterfactual.targets": "planted", "attribution.datasets": ["neutral", "planted"]},
         r"'attribution.counterfactual.targets' is 'planted', but sources \['neutral'\] plant no question"),
        ({"attribution.counterfactual.targets": "planted", "datasets.planted.generate.planted_fraction": 0},
         r"'attribution.counterfactual.targets' is 'planted', but sources \['planted'\] plant no question"),
        ({"attribution.lds.alpha": 0.001}, r"'attribution.lds.alpha' \(0.001\): a subset of run planted/en/n300_s0 would hold 0 of its 300"),
        ({"attribution.lds.alpha": 0.9999, "attribution.lds.finetune_languages": ["multi"]},
         r"'attribution.lds.alpha' \(0.9999\): a subset of run planted/multi/n300_s0 would hold 900 of its 900"),
        ({"datasets.planted.control": True}, r"only one source can be the control, not \['neutral', 'planted'\]"),
        ({"models.tiny-llama.build.mask_options": True}, r"'models.tiny-llama.build.mask_options': a llama model is a causal LM"),
        ({"datasets.neutral.languages": ["en", "de"]}, r"'datasets.neutral.control': the control has no runs in \['ko'\], languages of datasets.planted"),
    ],
)
def test_keys_that_contradict_each_other_or_the_disk_are_named(changes, message):
    with pytest.raises(InputError, match=message):
        check(validated(**changes))


def test_a_multilingual_run_mixing_other_languages_than_the_control_is_a_warning():
    (warning,) = check(validated(**{"datasets.neutral.languages": ["en", "de", "ko", "el"]}))
    assert "'datasets.neutral.control': the multilingual runs of datasets.planted mix ['en', 'de', 'ko']" in warning


def test_local_corpus_files_are_counted_and_missing_ones_are_warnings(tmp_path):
    (tmp_path / "en.txt").write_text("one\ntwo\n\nthree\n")
    (tmp_path / "de.txt").write_text("")
    wiki = {"languages": ["en"], "files": str(tmp_path / "{lang}.txt")}
    config = validated(**{"finetuning.sizes": [3], "attribution": None, "datasets.neutral.control": None, "datasets.wiki": wiki})
    assert check(config) == []
    config["finetuning"]["sizes"] = [4]
    with pytest.raises(InputError, match="size 4 is larger than the 3 examples of datasets.wiki in en"):
        check(config)
    config["finetuning"]["sizes"] = [3]
    config["datasets"]["wiki"]["languages"] = ["en", "de"]
    with pytest.raises(InputError, match="the de corpus is empty"):
        check(config)
    config["datasets"]["wiki"]["files"] = {"en": str(tmp_path / "en.txt"), "de": str(tmp_path / "absent.txt")}
    (warning,) = check(config)
    assert "datasets.wiki.files" in warning and "absent.txt" in warning
    config["datasets"]["wiki"]["files"] = {"en": str(tmp_path / "en.txt")}
    with pytest.raises(InputError, match=r"'datasets.wiki.files' has no file for languages \['de'\]"):
        check(config)


def test_a_model_directory_that_does_not_exist_is_a_warning_when_planning(tmp_path):
    config = validated()
    config["models"]["mine"] = {"source": str(tmp_path / "models" / "mine")}
    config["models"]["hub"] = {"source": "FacebookAI/xlm-roberta-base"}
    (warning,) = check(config)
    assert "'models.mine.source'" in warning and "no local directory" in warning
    (tmp_path / "models" / "mine").mkdir(parents=True)
    assert check(config) == []


def test_the_enums_the_library_checks_are_the_config_schemas():
    from valuetrace import attribution_summary, lds, retraining
    from valuetrace.settings import schema_choices

    assert retraining.BATCHES == ("same", "reshuffled") == schema_choices("attribution", "retraining_batches")
    assert lds.TARGETS == ("run_languages", "all") and attribution_summary.TARGETS == ("all", "flipped")
