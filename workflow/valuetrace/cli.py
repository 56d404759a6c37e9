"""The ``valuetrace`` command line, for what people run by hand: checking a config, checking and
compiling probe files, and scoring a model. The workflow's rules call the same library functions through their
scripts (``workflow/scripts/``); option defaults are those of the config schema.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from valuetrace.errors import InputError
from valuetrace.job import configure_logging
from valuetrace.probes import PROBE_SETS
from valuetrace.settings import schema, schema_default

PROBE_FORMATS = schema()["properties"]["probes"]["properties"]["format"]["enum"]
PRECISIONS = schema()["properties"]["finetuning"]["properties"]["precision"]["enum"]


def _probes_check(args) -> int:
    from valuetrace import probes

    report, usable = probes.check(Path(args.path), args.format, probe_set=args.probe_set)
    print(report)
    return 0 if usable else 1


def _probes_compile(args) -> int:
    from valuetrace import key, probes, tables

    table, skipped = probes.compile_probes(
        [Path(path) for path in args.probes], Path(args.key), args.languages, args.format, args.skip_defective_rows,
        probe_set=args.probe_set, exclusions=key.read_exclusions(Path(args.exclusions)) if args.exclusions else None,
    )  # fmt: skip
    for lang in args.languages:
        keyed = table.filter(pl.col("probe_lang") == lang).height
        left_out = sum(1 for row in skipped if probes.language_of(row.path) == lang)
        print(f"{lang}: {keyed} probes keyed, {left_out} rows skipped or excluded")
    tables.write_table(table, args.out, "probes")
    return 0


def _score(args) -> int:
    from valuetrace import scoring, tables
    from valuetrace.settings import Scoring

    settings = Scoring(
        method=args.method, normalisation=args.normalisation, calibration=args.calibration,
        batch_size=args.batch_size, max_length=args.max_length, precision=args.precision,
    )  # fmt: skip
    scores = scoring.score_model(
        args.model, pl.read_parquet(args.probes), settings, model_name=args.model_name, run=args.run, device=args.device
    )
    tables.write_table(scores, args.out, "scores")
    return 0


def _config_check(args) -> int:
    from valuetrace import settings

    config = settings.validate_config(settings.read_config(Path(args.config)))
    for warning in settings.check_config(config, Path.cwd()):
        print(f"warning: {warning}")
    print(f"{args.config}: valid")
    return 0


def parser() -> argparse.ArgumentParser:
    from valuetrace.calibration import CALIBRATIONS
    from valuetrace.methods import METHODS, NORMALISATIONS

    top = argparse.ArgumentParser(prog="valuetrace", description=__doc__.splitlines()[0])
    top.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = top.add_subparsers(dest="command", required=True)

    probes = commands.add_parser("probes", help="probe files").add_subparsers(dest="probes_command", required=True)
    check = probes.add_parser("check", help="validate probe files and report usable probes per language")
    check.add_argument("path", help="a probe file or a folder of them")
    check.add_argument("--format", choices=PROBE_FORMATS, default="auto", help="default: detected per file")
    check.add_argument("--probe-set", choices=PROBE_SETS, default="wvs", help="WVS-7 questions or the VSM 2013 items")
    check.set_defaults(handler=_probes_check)
    compile_ = probes.add_parser("compile", help="one table of usable probes joined with their key")
    compile_.add_argument("--probes", nargs="+", required=True, help="probe files or folders of them")
    compile_.add_argument("--key", required=True, help="the key: answer codes and polarity per probe id")
    compile_.add_argument("--exclusions", help="published probe ids to leave out, with reasons (Arora-format files)")
    compile_.add_argument("--probe-set", choices=PROBE_SETS, default="wvs", help="WVS-7 questions or the VSM 2013 items")
    compile_.add_argument("--languages", nargs="+", required=True)
    compile_.add_argument("--format", choices=PROBE_FORMATS, default=schema_default("probes", "format"))
    compile_.add_argument("--skip-defective-rows", action="store_true", help="skip and log defective rows")
    compile_.add_argument("--out", required=True)
    compile_.set_defaults(handler=_probes_compile)

    config = commands.add_parser("config", help="workflow configs").add_subparsers(dest="config_command", required=True)
    config_check = config.add_parser(
        "check", help="validate a config file as the workflow would (its paths relative to the working directory)"
    )
    config_check.add_argument("config", help="a config file, e.g. config/paper.yaml")
    config_check.set_defaults(handler=_config_check)

    score = commands.add_parser("score", help="value scores of every probe under one model")
    score.add_argument("--model", required=True, help="hub name or local directory of a masked or causal LM")
    score.add_argument("--model-name", required=True, help="the model's name in the table")
    score.add_argument("--run", default="base", help="fine-tuning run the model comes from (base: none)")
    score.add_argument("--probes", required=True, help="a compiled probe table (probes compile)")
    score.add_argument("--method", choices=sorted(METHODS), required=True)
    score.add_argument(
        "--normalisation", choices=list(NORMALISATIONS), default=schema_default("scoring", "normalisation"),
        help="log P(option) as it is, per token or per byte",
    )  # fmt: skip
    score.add_argument("--batch-size", type=int, default=schema_default("scoring", "batch_size"))
    score.add_argument("--max-length", type=int, default=schema_default("scoring", "max_length"))
    score.add_argument("--calibration", choices=CALIBRATIONS, default=schema_default("scoring", "calibration"))
    score.add_argument(
        "--precision", choices=PRECISIONS, default=schema_default("finetuning", "precision"),
        help="of the forward passes: fp32, or bf16/fp16 mixed precision (fp16 needs a CUDA GPU)",
    )  # fmt: skip
    score.add_argument("--device", default="auto", help="cuda, cpu, ... (default: cuda when torch sees one)")
    score.add_argument("--out", required=True)
    score.set_defaults(handler=_score)
    return top


def main(argv: list[str] | None = None) -> int:
    import logging

    args = parser().parse_args(argv)
    configure_logging(level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        return args.handler(args)
    except InputError as error:
        print(f"valuetrace: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
