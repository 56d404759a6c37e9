"""The ``valuetrace`` command line: one subcommand per workflow step, used by the rules.

Every setting that changes a result is an explicit option here, so the rules pass them
through ``params:`` and Snakemake reruns a step when one of them changes.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import polars as pl

from valuetrace.errors import InputError

log = logging.getLogger("valuetrace")


def _probes_check(args) -> int:
    from valuetrace import probes

    report, usable = probes.check(Path(args.path), args.format)
    print(report)
    return 0 if usable else 1


def _probes_compile(args) -> int:
    from valuetrace import probes, tables

    table, skipped = probes.compile_probes(
        Path(args.probes), Path(args.questions), args.languages, args.format, args.skip_defective_rows
    )
    for row in skipped:
        log.warning("skipped %s", row)
    log.info("%d probes in %d languages", table.height, len(args.languages))
    tables.write_table(table, args.out, "probes")
    return 0


def _corpus_pretraining(args) -> int:
    from valuetrace import corpus, tables

    sentences = corpus.balanced_probe_corpus(pl.read_parquet(args.probes), args.sentences_per_option, args.seed)
    log.info("%d sentences in %d languages", sentences.height, sentences["lang"].n_unique())
    tables.write_table(sentences, args.out, "corpus")
    return 0


def _model_build(args) -> int:
    from valuetrace import models

    texts = pl.read_parquet(args.corpus)["text"].to_list()
    models.build_model(
        texts,
        Path(args.out),
        architecture=args.architecture,
        vocab_size=args.vocab_size,
        hidden_size=args.hidden_size,
        layers=args.layers,
        heads=args.heads,
        intermediate_size=args.intermediate_size,
        max_length=args.max_length,
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
    )
    return 0


def _score(args) -> int:
    from valuetrace import models, scoring, tables

    model, tokenizer = models.load_masked_lm(args.model, args.device)
    scores = scoring.score_probes(
        model,
        tokenizer,
        pl.read_parquet(args.probes),
        model_name=args.model_name,
        method=args.method,
        batch_size=args.batch_size,
        max_length=args.max_length,
    )
    tables.write_table(scores, args.out, "scores")
    return 0


def _survey_synthetic(args) -> int:
    from valuetrace import probes, survey, tables

    questions = probes.read_questions(Path(args.questions))
    respondents = survey.synthetic_respondents(args.countries, questions, args.respondents, args.seed)
    with tables.atomic_path(args.out) as tmp:
        respondents.write_csv(tmp)
    return 0


def _survey_humans(args) -> int:
    from valuetrace import probes, survey, tables

    malformed = [pair for pair in args.countries if pair.count("=") != 1]
    if malformed:
        raise InputError(f"--countries {malformed[0]!r}: expected LANG=CODE, such as de=DEU")
    countries = dict(pair.split("=") for pair in args.countries)
    questions = probes.read_questions(Path(args.questions))
    path = Path(args.survey)
    respondents = survey.read_respondents(path, questions["question_id"].to_list())
    humans = survey.human_values(
        respondents, questions, countries, survey.survey_label(path, args.synthetic), path
    )
    tables.write_table(humans, args.out, "human_values")
    return 0


def _align(args) -> int:
    from valuetrace import alignment, tables

    scores = pl.concat([pl.read_parquet(path) for path in args.scores])
    per_question, per_language = alignment.align(
        scores,
        pl.read_parquet(args.humans),
        resamples=args.resamples,
        confidence_level=args.confidence_level,
        seed=args.seed,
    )
    tables.write_table(per_question, args.out_questions, "question_alignment")
    tables.write_table(per_language, args.out_languages, "alignment")
    return 0


def _plot_alignment(args) -> int:
    from valuetrace import plots

    plots.alignment_figure(pl.read_parquet(args.table), args.out)
    return 0


def _plot_heatmap(args) -> int:
    from valuetrace import plots

    plots.score_heatmap(pl.read_parquet(args.table), args.out, value=args.value, title=args.title)
    return 0


def _table_csv(args) -> int:
    from valuetrace import tables

    with tables.atomic_path(args.out) as tmp:
        pl.read_parquet(args.table).write_csv(tmp)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="valuetrace", description=__doc__.splitlines()[0])
    top.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    groups = top.add_subparsers(dest="group", required=True)

    probes = groups.add_parser("probes", help="probe files").add_subparsers(dest="command", required=True)
    check = probes.add_parser("check", help="validate probe files and report usable probes per language")
    check.add_argument("path", help="a probe file or a folder of them")
    check.add_argument("--format", choices=["auto", "valuetrace", "arora"], default="auto")
    check.set_defaults(run=_probes_check)
    compile_ = probes.add_parser("compile", help="one table of usable probes with question metadata")
    compile_.add_argument("--probes", required=True)
    compile_.add_argument("--questions", required=True)
    compile_.add_argument("--languages", nargs="+", required=True)
    compile_.add_argument("--format", choices=["auto", "valuetrace", "arora"], default="auto")
    compile_.add_argument("--skip-defective-rows", action="store_true")
    compile_.add_argument("--out", required=True)
    compile_.set_defaults(run=_probes_compile)

    corpus = groups.add_parser("corpus", help="generated corpora").add_subparsers(dest="command", required=True)
    pretraining = corpus.add_parser("pretraining", help="the demo's balanced pretraining corpus")
    pretraining.add_argument("--probes", required=True)
    pretraining.add_argument("--sentences-per-option", type=int, required=True)
    pretraining.add_argument("--seed", type=int, required=True)
    pretraining.add_argument("--out", required=True)
    pretraining.set_defaults(run=_corpus_pretraining)

    model = groups.add_parser("model", help="models").add_subparsers(dest="command", required=True)
    build = model.add_parser("build", help="train a tokenizer and pretrain a tiny masked LM")
    build.add_argument("--corpus", required=True)
    build.add_argument("--out", required=True)
    build.add_argument("--architecture", choices=["xlm-roberta", "bert"], required=True)
    for option in ("vocab-size", "hidden-size", "layers", "heads", "intermediate-size", "max-length", "steps", "batch-size", "seed"):
        build.add_argument(f"--{option}", type=int, required=True)
    build.add_argument("--learning-rate", type=float, required=True)
    build.set_defaults(run=_model_build)

    score = groups.add_parser("score", help="value scores of every probe under one model")
    score.add_argument("--model", required=True, help="hub name or local directory")
    score.add_argument("--model-name", required=True)
    score.add_argument("--probes", required=True)
    score.add_argument("--method", choices=["joint", "pll"], required=True)
    score.add_argument("--batch-size", type=int, default=32)
    score.add_argument("--max-length", type=int, default=128)
    score.add_argument("--device", default="auto")
    score.add_argument("--out", required=True)
    score.set_defaults(run=_score)

    survey = groups.add_parser("survey", help="survey data").add_subparsers(dest="command", required=True)
    synthetic = survey.add_parser("synthetic", help="a synthetic respondent file in the WVS-7 layout")
    synthetic.add_argument("--questions", required=True)
    synthetic.add_argument("--countries", nargs="+", required=True)
    synthetic.add_argument("--respondents", type=int, required=True)
    synthetic.add_argument("--seed", type=int, required=True)
    synthetic.add_argument("--out", required=True)
    synthetic.set_defaults(run=_survey_synthetic)
    humans = survey.add_parser("humans", help="weighted country means mapped to [-1, 1]")
    humans.add_argument("--survey", required=True)
    humans.add_argument("--questions", required=True)
    humans.add_argument("--countries", nargs="+", required=True, metavar="LANG=CODE")
    humans.add_argument("--synthetic", action="store_true", help="label the outputs as synthetic data")
    humans.add_argument("--out", required=True)
    humans.set_defaults(run=_survey_humans)

    align = groups.add_parser("align", help="agreement and Spearman correlation with human values")
    align.add_argument("--scores", nargs="+", required=True)
    align.add_argument("--humans", required=True)
    align.add_argument("--resamples", type=int, required=True)
    align.add_argument("--confidence-level", type=float, required=True)
    align.add_argument("--seed", type=int, required=True)
    align.add_argument("--out-questions", required=True)
    align.add_argument("--out-languages", required=True)
    align.set_defaults(run=_align)

    plot = groups.add_parser("plot", help="figures").add_subparsers(dest="command", required=True)
    plot_alignment = plot.add_parser("alignment")
    plot_alignment.add_argument("--table", required=True)
    plot_alignment.add_argument("--out", required=True)
    plot_alignment.set_defaults(run=_plot_alignment)
    heatmap = plot.add_parser("heatmap")
    heatmap.add_argument("--table", required=True)
    heatmap.add_argument("--value", default="score")
    heatmap.add_argument("--title", default="")
    heatmap.add_argument("--out", required=True)
    heatmap.set_defaults(run=_plot_heatmap)

    table = groups.add_parser("table", help="tables").add_subparsers(dest="command", required=True)
    csv = table.add_parser("csv", help="a CSV copy of a parquet table")
    csv.add_argument("table")
    csv.add_argument("out")
    csv.set_defaults(run=_table_csv)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.run(args)
    except InputError as error:
        print(f"valuetrace: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
