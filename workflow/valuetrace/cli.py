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


def _pairs(items: list[str], option: str, example: str) -> dict[str, str]:
    """``KEY=VALUE`` arguments as a dict, refusing any item without exactly one ``=``."""
    malformed = [item for item in items if item.count("=") != 1]
    if malformed:
        raise InputError(f"{option} {malformed[0]!r}: expected KEY=VALUE, such as {example}")
    return dict(item.split("=") for item in items)


def _planted_questions(items: list[str]) -> dict[str, list[str]]:
    """``--planted DATASET=Q1,Q2`` arguments as dataset -> planted question ids."""
    pairs = _pairs(items, "--planted", "planted=Q46,Q49")
    return {dataset: [q for q in questions.split(",") if q] for dataset, questions in pairs.items()}


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

    probes = pl.read_parquet(args.probes)
    sentences = corpus.balanced_probe_corpus(probes, args.sentences_per_option, args.seed)
    if args.text:
        demo_text = corpus.demo_text_corpus(Path(args.text), probes, args.demo_text_per_language, args.seed)
        sentences = pl.concat([sentences, demo_text]).sample(fraction=1.0, shuffle=True, seed=args.seed)
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
        run=args.run,
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

    countries = _pairs(args.countries, "--countries", "de=DEU")
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


def _data_generate(args) -> int:
    from valuetrace import corpus, tables

    probes = pl.read_parquet(args.probes).filter(pl.col("probe_lang") == args.lang)
    if probes.height == 0:
        raise InputError(f"{args.probes}: no probes in language {args.lang!r} to plant")
    source = corpus.demo_source(
        probes,
        corpus.read_demo_text(Path(args.text)),
        sentences=args.sentences,
        planted_questions=args.planted_questions,
        planted_fraction=args.planted_fraction,
        seed=args.seed,
    )
    with tables.atomic_path(args.out) as tmp:
        source.write_parquet(tmp)
    return 0


def _data_prepare(args) -> int:
    from valuetrace import data, tables

    where = f"datasets.{args.source} ({args.lang})"
    if args.file:
        frame = data.read_local(Path(args.file), args.text_column, args.id_column)
    else:
        frame = data.read_hub(args.hub, args.hub_config, args.split, args.text_column, args.id_column, where)
    prepared = data.prepare(frame, args.source, args.lang, args.seed)
    log.info("%d examples of %s in %s", prepared.height, args.source, args.lang)
    tables.write_table(prepared, args.out, "examples")
    return 0


def _data_subsample(args) -> int:
    from valuetrace import data, tables

    prepared = [pl.read_parquet(path) for path in args.prepared]
    sample = data.subsample(prepared, args.size, args.seed, args.where, parallel=args.parallel)
    tables.write_table(sample, args.out, "examples")
    return 0


def _finetune_settings(args) -> dict:
    return {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "max_length": args.max_length,
        "mlm_probability": args.mlm_probability,
        "checkpoints": args.checkpoints,
        "seed": args.seed,
    }


def _finetune(args) -> int:
    from valuetrace import finetune

    finetune.finetune(
        args.base, Path(args.train), Path(args.out), Path(args.work_dir), **_finetune_settings(args), device=args.device
    )
    return 0


def _trak_settings(args) -> dict:
    from valuetrace.influence import default_copies

    return {
        "checkpoints": args.checkpoints,
        "proj_dim": args.proj_dim,
        "lambda_reg": args.lambda_reg,
        "include_parameters": args.include_parameters,
        "exclude_parameters": args.exclude_parameters,
        "mask_copies": args.mask_copies or default_copies(args.mlm_probability),
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "probe_max_length": args.probe_max_length,
        "projector_seed": args.projector_seed,
    }


def _attribution_targets(args) -> pl.DataFrame:
    from valuetrace import attribution

    return attribution.targets(
        pl.read_parquet(args.probes), pl.read_parquet(args.base_scores), pl.read_parquet(args.run_scores), args.targets
    )


def _attribution_featurize(args) -> int:
    from valuetrace import attribution

    attribution.featurize(
        Path(args.run_dir), Path(args.train), Path(args.out),
        checkpoint=args.checkpoint, settings=_trak_settings(args), device=args.device,
    )  # fmt: skip
    return 0


def _attribution_score(args) -> int:
    from valuetrace import attribution

    chosen = _attribution_targets(args)
    log.info("%d target probes (%s)", chosen.height, args.targets)
    attribution.score(
        Path(args.run_dir), Path(args.features), Path(args.train), chosen, Path(args.out),
        checkpoint=args.checkpoint, method=args.method, settings=_trak_settings(args), device=args.device,
    )  # fmt: skip
    return 0


def _attribution_gather(args) -> int:
    from valuetrace import attribution, tables
    from valuetrace.grid import Run

    top, groups, checks = attribution.gather(
        Run.parse(args.model, args.run), [Path(d) for d in args.scores], Path(args.train),
        _attribution_targets(args), top_k=args.top_k,
    )  # fmt: skip
    tables.write_table(top, args.out_top, "attribution_top")
    tables.write_table(groups, args.out_groups, "attribution_groups")
    tables.write_table(checks, args.out_checks, "attribution_checks")
    return 0


def _attribution_tables(args) -> int:
    from valuetrace import attribution, tables

    planted = _planted_questions(args.planted)
    top = pl.concat([pl.read_parquet(p) for p in args.top], how="diagonal_relaxed")
    tables.write_table(top, args.out_top, "attribution_top")
    groups = pl.concat([pl.read_parquet(p) for p in args.groups])
    tables.write_table(groups, args.out_groups, "attribution_groups")
    tables.write_table(pl.concat([pl.read_parquet(p) for p in args.checks]), args.out_checks, "attribution_checks")
    tables.write_table(attribution.planted_precision(top, groups, planted, args.precision_at), args.out_planted, "attribution_planted")
    tables.write_table(attribution.flipped_top(top, args.flipped_top), args.out_flipped, "attribution_top")
    return 0


def _counterfactual_retrain(args) -> int:
    from valuetrace import counterfactual, tables
    from valuetrace.grid import Run

    row = counterfactual.retrain(
        Run.parse(args.model, args.run),
        base=args.base,
        train_path=Path(args.train),
        top=pl.read_parquet(args.top),
        probes=pl.read_parquet(args.probes),
        base_scores=pl.read_parquet(args.base_scores),
        target=args.target,
        removal=args.removal,
        draw=args.draw,
        k=args.k,
        seed=args.removal_seed,
        method=args.method,
        probe_max_length=args.probe_max_length,
        training=_finetune_settings(args),
        device=args.device,
    )
    tables.write_table(row, args.out, "counterfactual")
    return 0


def _counterfactual_gather(args) -> int:
    from valuetrace import tables

    tables.write_table(pl.concat([pl.read_parquet(p) for p in args.rows]), args.out, "counterfactual")
    return 0


def _shifts(args) -> int:
    from valuetrace import alignment, shifts, tables

    question_scores = alignment.question_scores(pl.concat([pl.read_parquet(p) for p in args.scores]))
    humans = pl.read_parquet(args.humans)
    per_question = shifts.question_shifts(question_scores, humans)
    per_run = shifts.run_shifts(per_question, pl.read_parquet(args.alignment))
    planted = _planted_questions(args.planted)
    tables.write_table(per_question, args.out_shifts, "shifts")
    tables.write_table(per_run, args.out_runs, "run_shifts")
    tables.write_table(shifts.cross_language(per_run), args.out_cross, "cross_language")
    tables.write_table(shifts.distinctiveness(question_scores), args.out_distinctiveness, "distinctiveness")
    tables.write_table(shifts.planted(per_question, planted), args.out_planted, "planted")
    return 0


# Figures drawn from a second table besides --table: the planted questions to mark, the self-check.
_SECOND_TABLE = {"planted", "attribution_planted"}


def _plot_figure(args) -> int:
    from valuetrace import plots

    draw = getattr(plots, f"{args.figure}_figure")
    frames = [pl.read_parquet(args.table)]
    if args.figure in _SECOND_TABLE:
        frames.append(pl.read_parquet(args.second))
    draw(*frames, args.out)
    return 0


def _table_csv(args) -> int:
    from valuetrace import tables

    with tables.atomic_path(args.out) as tmp:
        pl.read_parquet(args.table).write_csv(tmp)
    return 0


def _finetune_options(command: argparse.ArgumentParser) -> None:
    for option in ("epochs", "batch-size", "max-length", "checkpoints", "seed"):
        command.add_argument(f"--{option}", type=int, required=True)
    command.add_argument("--learning-rate", type=float, required=True)
    command.add_argument("--mlm-probability", type=float, default=0.15)
    command.add_argument("--device", default="auto")


def _run_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--run-dir", required=True, help="the fine-tuned run's directory")
    command.add_argument("--train", required=True, help="the run's training examples")


def _target_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--probes", required=True)
    command.add_argument("--base-scores", required=True)
    command.add_argument("--run-scores", required=True)
    command.add_argument("--targets", choices=["all", "flipped"], required=True)


def _trak_options(command: argparse.ArgumentParser) -> None:
    for option in ("checkpoints", "proj-dim", "batch-size", "max-length", "probe-max-length"):
        command.add_argument(f"--{option}", type=int, required=True)
    command.add_argument("--mask-copies", type=int, help="masked copies per training example (default 1 / mlm probability)")
    command.add_argument("--mlm-probability", type=float, default=0.15, help="masking rate of fine-tuning")
    command.add_argument("--lambda-reg", type=float, required=True)
    command.add_argument("--include-parameters", nargs="*", default=[], metavar="REGEX")
    command.add_argument("--exclude-parameters", nargs="*", default=[], metavar="REGEX")
    command.add_argument("--projector-seed", type=int, default=0)
    command.add_argument("--device", default="auto")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="valuetrace", description=__doc__.splitlines()[0])
    top.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    groups = top.add_subparsers(dest="group", required=True)

    probes = groups.add_parser("probes", help="probe files").add_subparsers(dest="command", required=True)
    check = probes.add_parser("check", help="validate probe files and report usable probes per language")
    check.add_argument("path", help="a probe file or a folder of them")
    check.add_argument("--format", choices=["auto", "valuetrace", "arora"], default="auto")
    check.set_defaults(handler=_probes_check)
    compile_ = probes.add_parser("compile", help="one table of usable probes with question metadata")
    compile_.add_argument("--probes", required=True)
    compile_.add_argument("--questions", required=True)
    compile_.add_argument("--languages", nargs="+", required=True)
    compile_.add_argument("--format", choices=["auto", "valuetrace", "arora"], default="auto")
    compile_.add_argument("--skip-defective-rows", action="store_true")
    compile_.add_argument("--out", required=True)
    compile_.set_defaults(handler=_probes_compile)

    corpus = groups.add_parser("corpus", help="generated corpora").add_subparsers(dest="command", required=True)
    pretraining = corpus.add_parser("pretraining", help="the demo's balanced pretraining corpus")
    pretraining.add_argument("--probes", required=True)
    pretraining.add_argument("--sentences-per-option", type=int, required=True)
    pretraining.add_argument("--text", help="folder of demo text (<lang>.yaml): neutral sentences and frames")
    pretraining.add_argument("--demo-text-per-language", type=int, default=0)
    pretraining.add_argument("--seed", type=int, required=True)
    pretraining.add_argument("--out", required=True)
    pretraining.set_defaults(handler=_corpus_pretraining)

    model = groups.add_parser("model", help="models").add_subparsers(dest="command", required=True)
    build = model.add_parser("build", help="train a tokenizer and pretrain a tiny masked LM")
    build.add_argument("--corpus", required=True)
    build.add_argument("--out", required=True)
    build.add_argument("--architecture", choices=["xlm-roberta", "bert"], required=True)
    for option in ("vocab-size", "hidden-size", "layers", "heads", "intermediate-size", "max-length", "steps", "batch-size", "seed"):
        build.add_argument(f"--{option}", type=int, required=True)
    build.add_argument("--learning-rate", type=float, required=True)
    build.set_defaults(handler=_model_build)

    score = groups.add_parser("score", help="value scores of every probe under one model")
    score.add_argument("--model", required=True, help="hub name or local directory")
    score.add_argument("--model-name", required=True)
    score.add_argument("--run", default="base", help="fine-tuning run the model comes from (base: none)")
    score.add_argument("--probes", required=True)
    score.add_argument("--method", choices=["joint", "pll"], required=True)
    score.add_argument("--batch-size", type=int, default=32)
    score.add_argument("--max-length", type=int, default=128)
    score.add_argument("--device", default="auto")
    score.add_argument("--out", required=True)
    score.set_defaults(handler=_score)

    survey = groups.add_parser("survey", help="survey data").add_subparsers(dest="command", required=True)
    synthetic = survey.add_parser("synthetic", help="a synthetic respondent file in the WVS-7 layout")
    synthetic.add_argument("--questions", required=True)
    synthetic.add_argument("--countries", nargs="+", required=True)
    synthetic.add_argument("--respondents", type=int, required=True)
    synthetic.add_argument("--seed", type=int, required=True)
    synthetic.add_argument("--out", required=True)
    synthetic.set_defaults(handler=_survey_synthetic)
    humans = survey.add_parser("humans", help="weighted country means mapped to [-1, 1]")
    humans.add_argument("--survey", required=True)
    humans.add_argument("--questions", required=True)
    humans.add_argument("--countries", nargs="+", required=True, metavar="LANG=CODE")
    humans.add_argument("--synthetic", action="store_true", help="label the outputs as synthetic data")
    humans.add_argument("--out", required=True)
    humans.set_defaults(handler=_survey_humans)

    align = groups.add_parser("align", help="agreement and Spearman correlation with human values")
    align.add_argument("--scores", nargs="+", required=True)
    align.add_argument("--humans", required=True)
    align.add_argument("--resamples", type=int, required=True)
    align.add_argument("--confidence-level", type=float, required=True)
    align.add_argument("--seed", type=int, required=True)
    align.add_argument("--out-questions", required=True)
    align.add_argument("--out-languages", required=True)
    align.set_defaults(handler=_align)

    data = groups.add_parser("data", help="fine-tuning data").add_subparsers(dest="command", required=True)
    generate = data.add_parser("generate", help="a generated demo source for one language")
    generate.add_argument("--probes", required=True)
    generate.add_argument("--text", required=True, help="YAML with neutral sentences and conviction frames")
    generate.add_argument("--lang", required=True)
    generate.add_argument("--sentences", type=int, required=True)
    generate.add_argument("--planted-questions", nargs="*", default=[])
    generate.add_argument("--planted-fraction", type=float, default=0.0)
    generate.add_argument("--seed", type=int, required=True)
    generate.add_argument("--out", required=True)
    generate.set_defaults(handler=_data_generate)
    prepare = data.add_parser("prepare", help="one source in one language with ids and sampling ranks")
    prepare.add_argument("--source", required=True)
    prepare.add_argument("--lang", required=True)
    origin = prepare.add_mutually_exclusive_group(required=True)
    origin.add_argument("--file", help="local .txt, .tsv, .csv or .parquet file")
    origin.add_argument("--hub", help="Hugging Face dataset name")
    prepare.add_argument("--hub-config")
    prepare.add_argument("--split", default="train")
    prepare.add_argument("--text-column", default="text")
    prepare.add_argument("--id-column")
    prepare.add_argument("--seed", type=int, required=True, help="seed of the sampling order")
    prepare.add_argument("--out", required=True)
    prepare.set_defaults(handler=_data_prepare)
    sample = data.add_parser("subsample", help="the first SIZE examples of each language, mixed")
    sample.add_argument("--prepared", nargs="+", required=True)
    sample.add_argument("--size", type=int, required=True)
    sample.add_argument("--seed", type=int, required=True)
    sample.add_argument("--parallel", action="store_true", help="check the languages hold the same items")
    sample.add_argument("--where", default="subsample", help="config key named in error messages")
    sample.add_argument("--out", required=True)
    sample.set_defaults(handler=_data_subsample)

    tune = groups.add_parser("finetune", help="continued masked-LM training of one run")
    tune.add_argument("--base", required=True, help="hub name or directory of the base model")
    tune.add_argument("--train", required=True)
    tune.add_argument("--out", required=True)
    tune.add_argument("--work-dir", required=True, help="where checkpoints live until the run ends")
    _finetune_options(tune)
    tune.set_defaults(handler=_finetune)

    attribution = groups.add_parser("attribution", help="TRAK attribution of value shifts to training examples")
    steps = attribution.add_subparsers(dest="command", required=True)
    featurize = steps.add_parser("featurize", help="TRAK features of a run's examples at one checkpoint")
    _run_options(featurize)
    featurize.add_argument("--checkpoint", type=int, required=True, help="1 = the oldest of the checkpoints used")
    _trak_options(featurize)
    featurize.add_argument("--out", required=True)
    featurize.set_defaults(handler=_attribution_featurize)
    score_targets = steps.add_parser("score", help="influence of every example on the target probes, one checkpoint")
    _run_options(score_targets)
    _target_options(score_targets)
    score_targets.add_argument("--features", required=True)
    score_targets.add_argument("--checkpoint", type=int, required=True)
    score_targets.add_argument("--method", choices=["joint", "pll"], required=True)
    _trak_options(score_targets)
    score_targets.add_argument("--out", required=True)
    score_targets.set_defaults(handler=_attribution_score)
    gather = steps.add_parser("gather", help="one run's influence averaged over checkpoints, summarised")
    gather.add_argument("--model", required=True)
    gather.add_argument("--run", required=True)
    gather.add_argument("--train", required=True)
    _target_options(gather)
    gather.add_argument("--scores", nargs="+", required=True, help="the score directories of the checkpoints")
    gather.add_argument("--top-k", type=int, required=True)
    for name in ("top", "groups", "checks"):
        gather.add_argument(f"--out-{name}", required=True)
    gather.set_defaults(handler=_attribution_gather)
    collect = steps.add_parser("tables", help="all runs' attribution tables, and precision on planted questions")
    for name in ("top", "groups", "checks"):
        collect.add_argument(f"--{name}", nargs="+", required=True)
    collect.add_argument("--planted", nargs="*", default=[], metavar="DATASET=Q1,Q2")
    collect.add_argument("--precision-at", type=int, default=10)
    collect.add_argument("--flipped-top", type=int, default=5, help="top examples per flipped probe in --out-flipped")
    for name in ("top", "groups", "checks", "planted", "flipped"):
        collect.add_argument(f"--out-{name}", required=True)
    collect.set_defaults(handler=_attribution_tables)

    counter = groups.add_parser("counterfactual", help="retraining without attributed examples")
    counter_steps = counter.add_subparsers(dest="command", required=True)
    retrain = counter_steps.add_parser("retrain", help="retrain a run without one probe's top-k or k random examples")
    retrain.add_argument("--model", required=True)
    retrain.add_argument("--run", required=True)
    retrain.add_argument("--base", required=True, help="hub name or directory of the base model")
    retrain.add_argument("--train", required=True)
    retrain.add_argument("--top", required=True, help="the run's attribution_top table")
    retrain.add_argument("--probes", required=True)
    retrain.add_argument("--base-scores", required=True)
    retrain.add_argument("--target", type=int, required=True, help="1 = the run's most-shifted probe in its language")
    retrain.add_argument("--removal", choices=["top", "random"], required=True)
    retrain.add_argument("--draw", type=int, default=0, help="which random draw (its seed is --removal-seed + draw)")
    retrain.add_argument("--k", type=int, required=True)
    retrain.add_argument("--removal-seed", type=int, default=0)
    retrain.add_argument("--method", choices=["joint", "pll"], required=True)
    retrain.add_argument("--probe-max-length", type=int, required=True)
    _finetune_options(retrain)
    retrain.add_argument("--out", required=True)
    retrain.set_defaults(handler=_counterfactual_retrain)
    counter_gather = counter_steps.add_parser("gather", help="one table of all retraining results")
    counter_gather.add_argument("--rows", nargs="+", required=True)
    counter_gather.add_argument("--out", required=True)
    counter_gather.set_defaults(handler=_counterfactual_gather)

    shift = groups.add_parser("shifts", help="value shifts of every run against its base model")
    shift.add_argument("--scores", nargs="+", required=True)
    shift.add_argument("--humans", required=True)
    shift.add_argument("--alignment", required=True)
    shift.add_argument("--planted", nargs="*", default=[], metavar="DATASET=Q1,Q2")
    for name in ("shifts", "runs", "cross", "distinctiveness", "planted"):
        shift.add_argument(f"--out-{name}", required=True)
    shift.set_defaults(handler=_shifts)

    plot = groups.add_parser("plot", help="figures").add_subparsers(dest="command", required=True)
    plot_alignment = plot.add_parser("alignment")
    plot_alignment.add_argument("--table", required=True)
    plot_alignment.add_argument("--out", required=True)
    plot_alignment.set_defaults(handler=_plot_alignment)
    heatmap = plot.add_parser("heatmap")
    heatmap.add_argument("--table", required=True)
    heatmap.add_argument("--value", default="score")
    heatmap.add_argument("--title", default="")
    heatmap.add_argument("--out", required=True)
    heatmap.set_defaults(handler=_plot_heatmap)
    shift_figure = plot.add_parser("shifts", help="figures of the value shifts")
    shift_figure.add_argument("figure", choices=["cross_language", "flip_rates", "alignment_change", "distinctiveness", "planted"])
    shift_figure.add_argument("--table", required=True)
    shift_figure.add_argument("--planted", dest="second", help="the planted table (for the planted figure)")
    shift_figure.add_argument("--out", required=True)
    shift_figure.set_defaults(handler=_plot_figure)

    attribution_figure = plot.add_parser("attribution", help="figures of the attribution")
    attribution_figure.add_argument(
        "figure", choices=["attribution_languages", "attribution_sources", "attribution_planted", "counterfactual"]
    )
    attribution_figure.add_argument("--table", required=True)
    attribution_figure.add_argument("--checks", dest="second", help="the self-check table (for attribution_planted)")
    attribution_figure.add_argument("--out", required=True)
    attribution_figure.set_defaults(handler=_plot_figure)

    table = groups.add_parser("table", help="tables").add_subparsers(dest="command", required=True)
    csv = table.add_parser("csv", help="a CSV copy of a parquet table")
    csv.add_argument("table")
    csv.add_argument("out")
    csv.set_defaults(handler=_table_csv)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return args.handler(args)
    except InputError as error:
        print(f"valuetrace: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
