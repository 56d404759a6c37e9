"""Bad input as a new user brings it: every case ends with one clear message and no output.

The workflow meets bad input at two points, and so do these tests:

- **the config**, checked by the Snakefile before anything is planned. Cases run through
  ``valuetrace config check``, which calls the same functions (``settings.read_config``,
  ``validate_config``, ``check_config``) in-process; a few run a real ``snakemake --dry-run``
  to show that the Snakefile prints the same one line, without a traceback.
- **a job's input files**: each rule's script, run as Snakemake runs it (tests/rule_scripts.py).
  The job ends with exit status 2 and ``valuetrace: error: <message>`` in its log, without a
  traceback, and none of its outputs exists afterwards.

Each case asserts the parts of the message a user needs: where (file, line, key), what is
wrong, and, where it is not obvious, what to do. The README reports how many cases there are.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import polars as pl
import pyreadstat
import pytest
import torch
import yaml

from conftest import KEY, PROBES_DIR, compiled_probes
from rule_scripts import run_script
from valuetrace import cli, hofstede, sources, survey
from valuetrace.errors import InputError
from valuetrace.key import items
from valuetrace.settings import Scoring, validate_config
from workflow_runs import REPO, small_config, snakemake


def assert_one_clean_message(text: str, *fragments: str) -> None:
    """``text`` holds one ``valuetrace: error:`` paragraph with every fragment and no traceback."""
    assert "Traceback" not in text, text
    errors = [line for line in text.splitlines() if "valuetrace: error:" in line]
    assert len(errors) == 1, text
    for fragment in fragments:
        assert fragment in errors[0], f"{fragment!r} not in {errors[0]!r}"


# --- The config ------------------------------------------------------------------------


def config_check(path: Path, capsys) -> tuple[int, str]:
    status = cli.main(["config", "check", str(path)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def changed_config(tmp_path: Path, change) -> Path:
    """The small test config after ``change(config_dict)``, written next to it."""
    path = small_config(tmp_path, tmp_path / "no-model")
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config))
    return path


def _set(dotted: str, value):
    def change(config):
        *parents, leaf = dotted.split(".")
        node = config
        for key in parents:
            node = node[key]
        node[leaf] = value

    return change


def _delete(dotted: str):
    def change(config):
        *parents, leaf = dotted.split(".")
        node = config
        for key in parents:
            node = node[key]
        del node[leaf]

    return change


def _add_language(lang: str, country: str | None):
    def change(config):
        config["languages"].append(lang)
        if country:
            config["countries"][lang] = country

    return change


def _write_binary_corpus(config):
    path = Path(config["probes"]["path"]).parent / "binary.tsv"
    path.write_bytes(b"text\n" + bytes(range(256)) * 8)
    config["datasets"]["wiki"] = {"languages": ["en"], "files": {"en": str(path)}, "text_column": "text"}


def _write_text_named_parquet(config):
    path = Path(config["probes"]["path"]).parent / "corpus.parquet"
    path.write_text("text\nsome sentence\n")
    config["datasets"]["wiki"] = {"languages": ["en"], "files": {"en": str(path)}}


def _write_small_corpus(config):
    path = Path(config["probes"]["path"]).parent / "small.txt"
    path.write_text("one line\nanother line\n")
    config["datasets"]["wiki"] = {"languages": ["en"], "files": {"en": str(path)}}


def _write_moses_pair_of_different_lengths(config):
    folder = Path(config["probes"]["path"]).parent
    (folder / "bible.en").write_text("One.\n" * 40)
    (folder / "bible.ko").write_text("하나.\n" * 39)
    config["datasets"]["bible"] = {"languages": ["en", "ko"], "opus": {"files": str(folder / "bible.{lang}")}, "parallel": True}


def _pll_with_built_causal_model(config):
    config["scoring"]["method"] = "pll"
    config["models"]["tiny-gpt2"] = {"build": {**config["models"]["tiny-xlmr"]["build"], "architecture": "gpt2"}}


def _pll_with_local_causal_model(config):
    # Planning reads the directory's config.json only: a config of a saved GPT-2 is enough.
    directory = Path(config["probes"]["path"]).parent / "my-gpt2"
    directory.mkdir()
    (directory / "config.json").write_text('{"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}')
    config["scoring"]["method"] = "pll"
    config["models"]["my-gpt2"] = {"source": str(directory)}


CONFIG_CASES = {
    # key: (change to the small config, fragments of the message)
    "unknown top-level key": (_set("fintuning", {"epochs": 1}), ["unknown key 'fintuning'", "config/README.md"]),
    "unknown nested key": (_set("finetuning.epoch", 2), ["config key 'finetuning'", "unknown key 'epoch'"]),
    "wrong type": (_set("finetuning.epochs", "two"), ["config key 'finetuning.epochs'", "'two' is not of type"]),
    "out of range": (_set("finetuning.checkpoints", 0), ["config key 'finetuning.checkpoints'", "minimum"]),
    "unknown precision": (_set("finetuning.precision", "fp8"), ["config key 'finetuning.precision'", "'fp8' is not one of"]),
    "unknown scoring method": (_set("scoring.method", "pppl"), ["config key 'scoring.method'", "'pppl'"]),
    "required key missing": (_delete("languages"), ["'languages' is a required property"]),
    "language without country": (_add_language("fr", None), ["'countries'", "['fr']"]),
    "malformed language code": (_add_language("French", "FRA"), ["config key 'languages.3'", "'French'"]),
    "missing probe folder": (_set("probes.path", "nowhere/probes"), ["'probes.path'", "nowhere/probes does not exist"]),
    "missing key file": (_set("probes.key", "nowhere/key.tsv"), ["'probes.key'", "does not exist"]),
    "hofstede country not a probe language": (
        _set("hofstede.countries", {"en": "USA", "tr": "TUR"}),
        ["'hofstede.countries'", "['tr']", "not probe languages"],
    ),
    "demo text language not a probe language": (
        _set("pretraining_corpus.demo_text_languages", ["en", "xx"]),
        ["'pretraining_corpus.demo_text_languages'", "['xx']", "not probe languages"],
    ),
    "dataset language not a probe language": (
        _set("datasets.neutral.languages", ["en", "tr"]),
        ["'datasets.neutral.languages'", "['tr']"],
    ),
    "planted question not keyed": (
        _set("datasets.planted.planted_questions", ["Q999"]),
        ["'datasets.planted.planted_questions'", "Q999", "not keyed"],
    ),
    "fine-tuned model not defined": (_set("finetuning.models", ["xlmr"]), ["'finetuning.models'", "['xlmr']"]),
    "attribution of a size not trained": (_set("attribution.sizes", [99]), ["'attribution.sizes'", "[99]", "grid"]),
    "more attributed checkpoints than kept": (
        _set("attribution.checkpoints", 3),
        ["'attribution.checkpoints' (3)", "finetuning.checkpoints"],
    ),
    "invalid regular expression": (
        _set("attribution.include_parameters", ["encoder.(layer"]),
        ["'attribution.include_parameters'", "encoder.(layer", "regular expression"],
    ),
    "counterfactual removes more than a run has": (
        lambda config: (_set("attribution.top_k", 40)(config), _set("attribution.counterfactual.k", 40)(config)),
        ["'attribution.counterfactual.k'", "40", "30"],
    ),
    "counterfactual removes more than attribution keeps": (
        _set("attribution.counterfactual.k", 6),
        ["'attribution.counterfactual.k' (6)", "'attribution.top_k' (5)"],
    ),
    "pll scoring of a causal model built here": (
        _pll_with_built_causal_model,
        ["config key 'scoring.method'", "pll", "masked LMs only", "tiny-gpt2 (build.architecture gpt2) is a causal LM",
         "score it with joint"],
    ),  # fmt: skip
    "pll scoring of a local causal model": (
        _pll_with_local_causal_model,
        ["config key 'scoring.method'", "my-gpt2 (", "config.json: GPT2LMHeadModel) is a causal LM", "joint"],
    ),
    "corpus too small for the sizes": (_write_small_corpus, ["'finetuning.sizes'", "size 30", "2 examples"]),
    "binary corpus named .tsv": (_write_binary_corpus, ["binary.tsv", "not UTF-8 text"]),
    "text named .parquet": (_write_text_named_parquet, ["corpus.parquet", "not a parquet file"]),
    "Moses files of a source with different line counts": (
        _write_moses_pair_of_different_lengths,
        ["'datasets.bible.opus.files'", "bible.en (40 lines)", "bible.ko (39 lines)", "aligned by line", "datasets.bible.opus.ids"],
    ),
    "multi-parallel runs without a parallel source": (
        _set("finetuning.multilingual", {"parallel": 20}),
        ["'finetuning.multilingual.parallel'", "parallel: true", "none is"],
    ),
    "corpus template without {lang}": (
        _set("datasets.neutral", {"languages": ["en"], "files": "data/corpus.txt"}),
        ["'datasets.neutral.files'", "'data/corpus.txt'", "one path with {lang}"],
    ),
}


@pytest.mark.parametrize("case", CONFIG_CASES)
def test_bad_config_is_refused_with_one_message(tmp_path, capsys, case):
    change, fragments = CONFIG_CASES[case]
    status, output = config_check(changed_config(tmp_path, change), capsys)
    assert status == 2
    assert_one_clean_message(output, *fragments)
    assert len(output.strip().splitlines()) == 1  # not the schema after it


def test_yaml_syntax_error_names_file_line_and_column(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("languages: [en, de\nmodels:\n  tiny: {}\n")
    status, output = config_check(path, capsys)
    assert status == 2
    assert_one_clean_message(output, f"{path}:2:", "not valid YAML")


def test_config_that_is_no_mapping_is_refused(tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text("- en\n- de\n")
    status, output = config_check(path, capsys)
    assert status == 2
    assert_one_clean_message(output, str(path), "mapping of keys")


def test_missing_local_model_directory_is_warned_when_planning(tmp_path, capsys):
    path = changed_config(tmp_path, _set("models.local-bert.source", "./models/my-bert"))
    status, output = config_check(path, capsys)
    assert status == 0
    assert "config key 'models.local-bert.source': ./models/my-bert is no local directory" in output


def test_hub_name_of_a_model_is_not_warned(tmp_path, capsys):
    path = changed_config(tmp_path, _set("models.local-bert.source", "FacebookAI/xlm-roberta-base"))
    assert config_check(path, capsys) == (0, f"{path}: valid\n")


@pytest.mark.parametrize(
    "case",
    ["unknown nested key", "invalid regular expression", "counterfactual removes more than a run has",
     "pll scoring of a causal model built here"],  # fmt: skip
)
def test_snakemake_prints_the_same_one_message_without_a_traceback(tmp_path, case):
    change, fragments = CONFIG_CASES[case]
    result = snakemake(tmp_path / "run", changed_config(tmp_path, change), "--dry-run", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert_one_clean_message(output, *fragments)
    assert len(output) < 2000  # no schema, no job listing
    assert not (tmp_path / "run" / "results").exists()


# --- Probe files and keys --------------------------------------------------------------


def compile_run(tmp_path: Path, probe_dir: Path, languages: list[str], key: Path = KEY, skip: bool = False):
    out = tmp_path / "probes.parquet"
    result = run_script(
        "compile_probes", tmp_path / "compile.log",
        output=[out],
        params={
            "wvs": {"paths": [str(probe_dir)], "key": str(key), "exclusions": None, "languages": languages},
            "hofstede": None,
            "format": "auto",
            "skip_defective_rows": skip,
        },
    )  # fmt: skip
    return result, out


def probe_folder(tmp_path: Path, languages=("en", "de")) -> Path:
    folder = tmp_path / "probes"
    folder.mkdir()
    for lang in languages:
        shutil.copy(PROBES_DIR / f"{lang}.tsv", folder / f"{lang}.tsv")
    return folder


def _edit_line(path: Path, number: int, edit) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[number - 1] = edit(lines[number - 1])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


PROBE_FILE_CASES = {
    # case: (edit of de.tsv, fragments)
    "template without mask": (
        lambda path: _edit_line(path, 2, lambda line: line.replace("[MASK]", "", 1)),
        ["de.tsv:2", "no [MASK]"],
    ),
    "unknown probe id": (
        lambda path: _edit_line(path, 3, lambda line: "Q999" + line[line.index("\t"):]),
        ["de.tsv:3", "Q999", "wvs7_key.tsv"],
    ),
    "duplicate probe id": (
        lambda path: _edit_line(path, 3, lambda line: path.read_text().splitlines()[1].split("\t")[0] + line[line.index("\t"):]),
        ["de.tsv:3", "already has a row on line 2"],
    ),
    "missing column": (
        lambda path: path.write_text("\n".join(line.rsplit("\t", 1)[0] for line in path.read_text().splitlines()) + "\n"),
        ["de.tsv:1", "probe_id/sentence/option_a/option_b"],
    ),
    "not UTF-8": (lambda path: path.write_bytes(path.read_text().encode("utf-16")), ["de.tsv", "UTF-8"]),
    "empty file": (lambda path: path.write_text(""), ["de.tsv", "empty"]),
}


@pytest.mark.parametrize("case", PROBE_FILE_CASES)
def test_bad_probe_file_names_file_and_line(tmp_path, case):
    edit, fragments = PROBE_FILE_CASES[case]
    folder = probe_folder(tmp_path)
    edit(folder / "de.tsv")
    result, out = compile_run(tmp_path, folder, ["en", "de"])
    assert result.status == 2
    assert_one_clean_message(result.log, *fragments)
    assert not out.exists()


def test_probe_language_without_file_is_named(tmp_path):
    result, out = compile_run(tmp_path, probe_folder(tmp_path), ["en", "de", "fr"])
    assert result.status == 2
    assert_one_clean_message(result.log, "fr")
    assert not out.exists()


def test_bad_probe_file_of_an_unused_language_is_not_read(tmp_path):
    folder = probe_folder(tmp_path)
    (folder / "xx.tsv").write_bytes(b"\xff\xfe broken")
    result, out = compile_run(tmp_path, folder, ["en"])
    assert result.status == 0, result.log
    assert set(pl.read_parquet(out)["probe_lang"]) == {"en"}


def test_any_iso_code_names_a_probe_file(tmp_path):
    folder = probe_folder(tmp_path, ("en",))
    shutil.copy(folder / "en.tsv", folder / "fr.tsv")
    result, out = compile_run(tmp_path, folder, ["en", "fr"])
    assert result.status == 0, result.log
    assert set(pl.read_parquet(out)["probe_lang"]) == {"en", "fr"}


def _key_text() -> str:
    return KEY.read_text(encoding="utf-8")


KEY_CASES = {
    # case: (text of the key file, fragments)
    "answer code not a number": (lambda: _key_text().replace("\t1 2 3 4\t", "\t1 2 x 4\t", 1), ["key.tsv:2"]),
    "wrong header": (lambda: _key_text().replace("probe_id\tquestion_id", "id\tquestion", 1), ["key.tsv", "header must be"]),
    "row with too few fields": (
        lambda: _key_text() + "Q999\tQ999\tsection\n",
        [f"key.tsv:{len(_key_text().splitlines()) + 1}", "fields"],
    ),
    "no keyed probe": (lambda: _key_text().splitlines()[0] + "\n", ["key.tsv", "no probe is keyed"]),
}


@pytest.mark.parametrize("case", KEY_CASES)
def test_bad_key_names_file_and_line(tmp_path, case):
    text, fragments = KEY_CASES[case]
    key = tmp_path / "key.tsv"
    key.write_text(text(), encoding="utf-8")
    result, out = compile_run(tmp_path, probe_folder(tmp_path), ["en"], key=key)
    assert result.status == 2
    assert_one_clean_message(result.log, *fragments)
    assert not out.exists()


# --- The survey ------------------------------------------------------------------------


SHIPPED_ITEMS = items(compiled_probes(("de",)))


def humans_run(tmp_path: Path, respondents_file: Path, countries: dict[str, str]):
    probes_table = tmp_path / "probes.parquet"
    compiled_probes(tuple(countries)).write_parquet(probes_table)
    outputs = {"humans": tmp_path / "humans.parquet", "coverage": tmp_path / "coverage.parquet"}
    result = run_script(
        "human_values", tmp_path / "humans.log",
        input={"survey": [respondents_file], "probes": probes_table},
        output=outputs,
        params={"survey": str(respondents_file), "columns": {"country": "B_COUNTRY_ALPHA", "weight": "W_WEIGHT"}, "countries": countries, "synthetic": False},
    )  # fmt: skip
    return result, outputs


def respondents(countries=("DEU",), n=30) -> pl.DataFrame:
    return survey.synthetic_respondents(list(countries), SHIPPED_ITEMS, n, 3)


def _write(frame: pl.DataFrame, path: Path, separator: str = ",") -> Path:
    frame.write_csv(path, separator=separator)
    return path


SURVEY_CASES = {
    # case: (writes the survey file into a folder and returns it, countries, fragments)
    "missing file": (lambda d: d / "WVS.csv", {"de": "DEU"}, ["WVS.csv does not exist", "survey.path"]),
    "zero weights of the only country": (
        lambda d: _write(respondents().with_columns(W_WEIGHT=pl.lit(0.0)), d / "w.csv"),
        {"de": "DEU"},
        ["w.csv", "DEU", "weight 0", "survey.columns.weight"],
    ),
    "zero weights of one of two countries": (
        lambda d: _write(
            respondents(("DEU", "TUR")).with_columns(
                W_WEIGHT=pl.when(pl.col("B_COUNTRY_ALPHA") == "TUR").then(0.0).otherwise(pl.col("W_WEIGHT"))
            ),
            d / "w.csv",
        ),
        {"de": "DEU", "tr": "TUR"},
        ["w.csv", "TUR", "weight 0", "survey.columns.weight"],
    ),
    "country absent": (lambda d: _write(respondents(), d / "s.csv"), {"de": "DEU", "el": "GRC"}, ["s.csv", "GRC", "'countries'"]),
    "question column missing": (
        lambda d: _write(respondents().drop(SHIPPED_ITEMS[0].question_id), d / "s.csv"),
        {"de": "DEU"},
        ["s.csv", SHIPPED_ITEMS[0].question_id, "missing"],
    ),
    "text in an answer column": (
        lambda d: _write(
            respondents().with_columns(pl.col(SHIPPED_ITEMS[0].question_id).cast(pl.String).replace("1", "agree")),
            d / "s.csv",
        ),
        {"de": "DEU"},
        ["s.csv", SHIPPED_ITEMS[0].question_id, "not numeric", "line"],
    ),
    "answer code off the line": (
        lambda d: _write(respondents().with_columns(pl.col(SHIPPED_ITEMS[0].question_id).replace(1, 77)), d / "s.csv"),
        {"de": "DEU"},
        ["s.csv", SHIPPED_ITEMS[0].question_id, "77"],
    ),
    "binary file": (lambda d: (d / "s.csv").write_bytes(bytes(range(256)) * 64) and d / "s.csv", {"de": "DEU"}, ["s.csv"]),
    "SPSS file without the country column": (
        lambda d: pyreadstat.write_sav(respondents().drop("B_COUNTRY_ALPHA").to_pandas(), str(d / "WVS.sav")) or d / "WVS.sav",
        {"de": "DEU"},
        ["WVS.sav", "no country column 'B_COUNTRY_ALPHA'", "survey.columns.country", "its first columns are W_WEIGHT"],
    ),
}


@pytest.mark.parametrize("case", SURVEY_CASES)
def test_bad_survey_names_file_and_what_is_wrong(tmp_path, case):
    write, countries, fragments = SURVEY_CASES[case]
    result, outputs = humans_run(tmp_path, write(tmp_path), countries)
    assert result.status == 2
    assert_one_clean_message(result.log, *fragments)
    assert not any(path.exists() for path in outputs.values())


def test_semicolon_separated_survey_reads_as_the_comma_separated_one(tmp_path):
    frame = respondents()
    comma, _ = humans_run(tmp_path / "comma", _write(frame, _mkdir(tmp_path / "comma") / "s.csv"), {"de": "DEU"})
    semicolon, _ = humans_run(tmp_path / "semi", _write(frame, _mkdir(tmp_path / "semi") / "s.csv", ";"), {"de": "DEU"})
    assert comma.status == semicolon.status == 0, semicolon.log
    assert pl.read_parquet(tmp_path / "comma" / "humans.parquet").equals(pl.read_parquet(tmp_path / "semi" / "humans.parquet"))


def test_question_without_valid_answer_is_warned_and_tabled(tmp_path):
    question = SHIPPED_ITEMS[0].question_id
    frame = respondents(("DEU", "TUR")).with_columns(
        pl.when(pl.col("B_COUNTRY_ALPHA") == "TUR").then(-1).otherwise(pl.col(question)).alias(question)
    )
    result, outputs = humans_run(tmp_path, _write(frame, tmp_path / "s.csv"), {"de": "DEU", "tr": "TUR"})
    assert result.status == 0, result.log
    assert "WARNING" in result.log and question in result.log and "TUR" in result.log
    coverage = pl.read_parquet(outputs["coverage"])
    assert coverage.filter(country="TUR", question_id=question)["n_valid"].to_list() == [0]
    humans = pl.read_parquet(outputs["humans"])
    assert humans.filter(probe_lang="tr", question_id=question).height == 0
    assert humans.filter(probe_lang="de", question_id=question).height > 0


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True)
    return path


# --- Corpora ---------------------------------------------------------------------------


def prepare_run(tmp_path: Path, corpus: Path, text_column: str = "text"):
    spec = {"languages": ["en"], "files": str(corpus), "text_column": text_column}
    out = tmp_path / "prepared.parquet"
    result = run_script(
        "prepare_source", tmp_path / "prepare.log",
        output=[out],
        params={"origin": sources.origin("wiki", spec, "en"), "seed": 0},
        wildcards={"dataset": "wiki", "lang": "en"},
    )  # fmt: skip
    return result, out


CORPUS_CASES = {
    "missing file": (lambda d: d / "en.txt", "text", ["en.txt does not exist", "datasets.wiki.files"]),
    "binary .tsv": (lambda d: (d / "en.tsv").write_bytes(bytes(range(256)) * 8) and d / "en.tsv", "text", ["en.tsv", "not UTF-8"]),
    "text named .parquet": (lambda d: (d / "en.parquet").write_text("a\nb\n") and d / "en.parquet", "text", ["en.parquet", "PAR1"]),
    "unknown suffix": (lambda d: (d / "en.xml").write_text("<a/>") and d / "en.xml", "text", ["en.xml", ".txt, .tsv"]),
    "text column missing": (
        lambda d: (d / "en.tsv").write_text("id\tsentence\n1\thello\n") and d / "en.tsv",
        "text",
        ["en.tsv", "text"],
    ),
}


@pytest.mark.parametrize("case", CORPUS_CASES)
def test_bad_corpus_names_file_and_what_is_wrong(tmp_path, case):
    write, column, fragments = CORPUS_CASES[case]
    result, out = prepare_run(tmp_path, write(tmp_path), column)
    assert result.status == 2
    assert_one_clean_message(result.log, *fragments)
    assert not out.exists()


def _moses_pair(d: Path) -> dict:
    (d / "x.de").write_text("Eins.\nZwei.\n")
    (d / "x.en").write_text("One.\nTwo.\nThree.\n")
    return {"languages": ["de", "en"], "opus": {"files": str(d / "x.{lang}")}}


def _tmx_without_the_language(d: Path) -> dict:
    (d / "en-fr.tmx").write_text(
        '<?xml version="1.0"?>\n<tmx version="1.4"><header srclang="en"/><body>\n'
        '<tu><tuv xml:lang="en"><seg>One.</seg></tuv><tuv xml:lang="fr"><seg>Un.</seg></tuv></tu>\n</body></tmx>\n'
    )
    return {"languages": ["de"], "opus": {"files": {"de": str(d / "en-fr.tmx")}}}


def _xml_with_a_repeated_id(d: Path) -> dict:
    (d / "de.xml").write_text('<?xml version="1.0"?>\n<text>\n<s id="v1">Eins.</s>\n<s id="v1">Zwei.</s>\n</text>\n')
    return {"languages": ["de"], "opus": {"files": str(d / "{lang}.xml")}}


def _documents_without_a_long_sentence(d: Path) -> dict:
    (d / "de.txt").write_text("Ja. Nein.\nGut.\n")
    return {"languages": ["de"], "files": str(d / "{lang}.txt"), "unit": "sentence", "sentences": {"min_chars": 20, "max_chars": 500}}


OPUS_AND_SENTENCE_CASES = {
    # case: (writes the corpus and returns the dataset, fragments)
    "Moses pair with different line counts": (_moses_pair, ["datasets.news (de)", "x.de has 2 lines", "x.en has 3", "aligned by line"]),
    "TMX without the language": (_tmx_without_the_language, ["en-fr.tmx", "no <tuv> in language 'de'", "(it has en, fr)"]),
    "XML with a repeated id": (_xml_with_a_repeated_id, ["de.xml:4", "id 'v1' occurs again", "first on line 3"]),
    "no sentence left after filtering": (_documents_without_a_long_sentence, ["datasets.news (de)", "no sentence left", "3 shorter than min_chars"]),
}


@pytest.mark.parametrize("case", OPUS_AND_SENTENCE_CASES)
def test_bad_opus_file_or_sentence_source_names_file_and_what_is_wrong(tmp_path, case):
    write, fragments = OPUS_AND_SENTENCE_CASES[case]
    spec = validate_dataset(write(tmp_path))
    out = tmp_path / "prepared.parquet"
    sentences = spec["sentences"] if spec["unit"] == "sentence" else None
    result = run_script(
        "prepare_source", tmp_path / "prepare.log",
        output=[out],
        params={"origin": sources.origin("news", spec, "de"), "sentences": sentences, "seed": 0},
        wildcards={"dataset": "news", "lang": "de"},
    )  # fmt: skip
    assert result.status == 2
    assert_one_clean_message(result.log, *fragments)
    assert not out.exists()


def validate_dataset(spec: dict) -> dict:
    """A dataset as the validated config holds it (defaults filled in)."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["datasets"] = {"news": spec}
    return validate_config(config)["datasets"]["news"]


# --- Models ----------------------------------------------------------------------------


def score_run(tmp_path: Path, model_dir: Path, method: str = "pll", precision: str = "fp32"):
    probes_table = tmp_path / "probes.parquet"
    compiled_probes(("en",)).write_parquet(probes_table)
    out = tmp_path / "scores.parquet"
    result = run_script(
        "score_probes", tmp_path / "score.log",
        input={"probes": probes_table, "model": [str(model_dir)]},
        output=[out],
        params={"source": str(model_dir), "scoring": Scoring(method=method, normalisation="none", calibration="none", batch_size=8, max_length=64, precision=precision).params()},
        wildcards={"model": "tiny", "run": "base"},
    )  # fmt: skip
    return result, out


def _copy_model(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def _lfs_pointer(model: Path) -> None:
    (model / "model.safetensors").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 1112241234\n"
    )


def _truncate(model: Path) -> None:
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])


def _garbage_header(model: Path) -> None:
    (model / "model.safetensors").write_bytes(struct.pack("<Q", 1 << 40) + b"{}")


MODEL_CASES = {
    "missing directory": (lambda model: shutil.rmtree(model), ["no such local directory"]),
    "no config.json": (lambda model: (model / "config.json").unlink(), ["config.json"]),
    "git-lfs pointer weights": (_lfs_pointer, ["model.safetensors", "git-lfs", "git lfs pull"]),
    "truncated weights": (_truncate, ["model.safetensors", "damaged or incomplete"]),
    "weights with a garbage header": (_garbage_header, ["model.safetensors", "damaged or incomplete"]),
    "no tokenizer": (
        lambda model: [path.unlink() for path in model.iterdir() if path.name.startswith(("tokenizer", "sentencepiece", "special_tokens", "vocab"))],
        ["tokenizer"],
    ),
}


@pytest.mark.parametrize("case", MODEL_CASES)
def test_bad_model_directory_names_it_and_the_fix(tmp_path, tiny_model_dirs, case):
    damage, fragments = MODEL_CASES[case]
    model = _copy_model(tiny_model_dirs["bert"], tmp_path / "model")
    damage(model)
    result, out = score_run(tmp_path, model)
    assert result.status == 2
    assert_one_clean_message(result.log, str(model), *fragments)
    assert not out.exists()


def test_pll_scoring_of_a_causal_model_fails_its_job_naming_the_model(tmp_path, tiny_model_dirs):
    """A hub name's kind is known only when its job loads it: the job stops before any output."""
    result, out = score_run(tmp_path, tiny_model_dirs["gpt2"])
    assert result.status == 2
    assert_one_clean_message(result.log, "config key 'scoring.method'", "pll", "tiny (GPT2LMHeadModel) is a causal LM", "joint")
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="the job runs on the GPU here, which runs fp16")
def test_fp16_scoring_without_a_gpu_fails_its_job_naming_the_key(tmp_path, tiny_model_dirs):
    result, out = score_run(tmp_path, tiny_model_dirs["bert"], method="joint", precision="fp16")
    assert result.status == 2
    assert_one_clean_message(result.log, "config key 'finetuning.precision'", "fp16", "CUDA GPU", "bf16")
    assert not out.exists()


# --- Hofstede's country scores --------------------------------------------------------

HOFSTEDE_HEADER = "ctr,country,pdi,idv,mas,uai,ltowvs,ivr"

HOFSTEDE_CASES = {
    "missing file": (None, ["does not exist", "hofstede.scores"]),
    "column missing": ("ctr,country,pdi,idv,mas,uai,ltowvs\nGER,Germany,35,67,66,65,83\n", ["['ivr'] are missing", "found"]),
    "score not a number": (f"{HOFSTEDE_HEADER}\nGER,Germany,35,67,sixty,65,83,40\n", ["line 2", "'sixty'"]),
    "not text": (b"\xff\xfe\x00\x01", ["not a UTF-8 text file"]),
}


@pytest.mark.parametrize("case", HOFSTEDE_CASES)
def test_bad_hofstede_scores_file_names_it(tmp_path, case):
    content, fragments = HOFSTEDE_CASES[case]
    path = tmp_path / "6-dimensions.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as raised:
        hofstede.read_country_scores(path)
    assert str(path) in str(raised.value)
    for fragment in fragments:
        assert fragment in str(raised.value)
