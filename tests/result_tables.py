"""Every result table of the workflow (valuetrace.tables.TABLES), made in seconds without models.

Synthetic score tables of two base models and their fine-tuning runs go through the library's
own functions (alignment, shifts, attribution summaries), so the tables have the shapes the
workflow writes; figures and report tests draw from them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl

from valuetrace import alignment, attribution_summary, claims, data, disk, hofstede, key, lds, parallel, shifts, significance, survey
from valuetrace.grid import Run
from valuetrace.probes import choice
from valuetrace.settings import Alignment, LdsSubsets, LdsSummary, Significance
from valuetrace.tables import TABLES, check_table

MODELS = ("m1", "m2")
RUNS = [
    Run(model, dataset, lang, size, seed)
    for model in MODELS for dataset in ("planted", "neutral") for lang in ("en", "de", "multi") for size in (30, 60)
    for seed in (0, 1)
]  # fmt: skip
PLANTED = {"planted": ["Q46", "Q49"]}
CONTROL = "neutral"
SIGNIFICANCE = Significance(resamples=100, fdr=0.05, confidence_level=0.9, seed=0)


def synthetic_scores(probes: pl.DataFrame, model: str, run: str, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    logprob_a = -rng.uniform(0.1, 8, probes.height)
    logprob_b = -rng.uniform(0.1, 8, probes.height)
    return probes.select("probe_set", "probe_lang", "probe_id", "question_id").with_columns(
        model=pl.lit(model), run=pl.lit(run), model_kind=pl.lit("masked"), scoring_method=pl.lit("joint"),
        normalisation=pl.lit("none"), calibration=pl.lit("none"), precision=pl.lit("fp32"),
        logprob_a=pl.Series(logprob_a), logprob_b=pl.Series(logprob_b),
        raw_score=pl.Series(logprob_a - logprob_b), score=pl.Series(logprob_a - logprob_b), n_tokens_a=pl.lit(1, pl.Int64), n_tokens_b=pl.lit(1, pl.Int64),
        unknown_token=pl.lit(False), truncated=pl.lit(False),
    ).with_columns(choice=choice(pl.col("score")))  # fmt: skip


def _score_dir(directory: Path, influence: np.ndarray, chosen: pl.DataFrame, copies: list[int]) -> Path:
    directory.mkdir(parents=True)
    np.save(directory / "scores.npy", influence.astype(np.float32))
    probe_keys = chosen.select(attribution_summary.PROBE_KEY).to_dicts()
    (directory / "targets.json").write_text(json.dumps({"probes": probe_keys, "self_check": copies}))
    return directory


def result_tables(probes: pl.DataFrame, root: Path) -> dict[str, pl.DataFrame]:
    """Table name -> table, for every table of TABLES (``base_scores`` of the first model), from a
    probe table of WVS and VSM probes in en, de and ko."""
    base = {model: synthetic_scores(probes, model, "base", index) for index, model in enumerate(MODELS)}
    tuned = [synthetic_scores(probes, run.model, run.name, 10 + index) for index, run in enumerate(RUNS)]
    scores = pl.concat([*base.values(), *tuned])
    countries = {"en": "USA", "de": "DEU", "ko": "KOR"}
    wvs_items = key.items(probes.filter(pl.col("probe_set") == "wvs"))
    respondents = survey.synthetic_respondents(list(countries.values()), wvs_items, 50, 0)
    humans = survey.human_values(respondents, wvs_items, countries, survey.survey_label(Path("s.csv"), True), Path("s.csv"))
    bootstrap = Alignment(bootstrap_resamples=100, confidence_level=0.9, seed=0)
    per_probe, per_language = alignment.align(scores, humans, bootstrap)
    probe_scores = alignment.survey_scores(scores)
    probe_shifts = shifts.probe_shifts(probe_scores, humans)
    per_run = shifts.run_shifts(probe_shifts, alignment.alignment_change(per_probe, bootstrap))
    tests = significance.shift_tests(probe_shifts, CONTROL, PLANTED, SIGNIFICANCE)
    profiles = shifts.distinctiveness(probe_scores)
    indices, hofstede_agreement = hofstede.compare(
        hofstede.indices(hofstede.item_means(scores, probes)),
        hofstede.synthetic_country_scores(list(countries.values()), 1), countries, "SYNTHETIC",
    )  # fmt: skip

    attributed = [run for run in RUNS if run.dataset == "planted" and run.size == 30 and run.seed == 0 and run.model == "m1"]
    tops, groups, checks = [], [], []
    rng = np.random.default_rng(5)
    for run in attributed:
        languages = ["en", "de"] if run.finetune_lang == "multi" else [run.finetune_lang]
        train = pl.DataFrame(
            {
                "example_id": [f"planted/{lang}/{i}" for lang in languages for i in range(12)],
                "lang": [lang for lang in languages for _ in range(12)],
                "source": ["planted"] * 12 * len(languages),
                "text": [f"sentence {i}" for _ in languages for i in range(12)],
                "planted_question": [["", "Q46", "Q49"][i % 3] for _ in languages for i in range(12)],
            }
        )
        train_path = root / run.model / run.name / "train.parquet"
        train_path.parent.mkdir(parents=True)
        train.write_parquet(train_path)
        wvs = probes.filter(pl.col("probe_set") == "wvs")
        chosen = attribution_summary.targets(
            wvs, base[run.model], scores.filter(pl.col("model") == run.model, pl.col("run") == run.name), "all"
        )
        copies = attribution_summary.self_check_indices(train.height)
        influence = rng.normal(size=(train.height, chosen.height + len(copies)))
        influence[copies, chosen.height + np.arange(len(copies))] = 100.0
        directory = _score_dir(root / run.model / run.name / "c1", influence, chosen, copies)
        top, group, check = attribution_summary.gather(run, [directory], train_path, chosen, top_k=10)
        tops.append(top)
        groups.append(group)
        checks.append(check)
    top, group = pl.concat(tops, how="diagonal_relaxed"), pl.concat(groups)

    counterfactual = pl.DataFrame(
        [
            {**run.columns(), "probe_lang": run.finetune_lang, "probe_id": "Q46", "question_id": "Q46", "target": 1,
             "removal": removal, "draw": draw, "k": k, "shift_before": 2.0, "shift_after_removal": after,
             "fraction_undone": (2.0 - after) / 2.0}  # fmt: skip
            for run in attributed
            if run.finetune_lang != "multi"
            for removal, draw, k, after in (("top", 0, 5, 0.4), ("random", 0, 5, 1.9), ("random", 1, 5, 2.1),
                                            ("planted", 0, 6, 0.1), ("other_planted", 0, 12, 1.8))  # fmt: skip
        ]
    )
    # The LDS of the monolingual attributed runs: outputs that follow the TRAK attributions.
    subsets = LdsSubsets(alpha=0.5, seed=0)
    lds_tables = []
    for run in attributed:
        if run.finetune_lang == "multi":
            continue
        picked = attribution_summary.targets(
            probes.filter(pl.col("probe_lang") == run.finetune_lang), base[run.model],
            scores.filter(pl.col("model") == run.model, pl.col("run") == run.name), "all",
        )  # fmt: skip
        masks = lds.membership(12, subsets, 6)
        trak = rng.normal(size=(12, picked.height))
        measured = masks @ trak + rng.normal(scale=2.0, size=(6, picked.height))
        baselines = {"token_overlap": rng.integers(-1, 2, size=trak.shape).astype(float), "tfidf": rng.normal(size=trak.shape)}
        lds_tables.append(lds.table(run, picked, {"trak": trak, **baselines}, measured, masks, subsets.alpha))
    lds_table = pl.concat(lds_tables)

    # Run directories as fine-tuning leaves them: one recorded its disk use, one did not (older).
    run_dirs = []
    for index, run in enumerate(RUNS[:2]):
        run_dir = root / "finetuned" / run.model / run.name
        for part in ("model", "checkpoints/step-1", "checkpoints/step-2"):
            (run_dir / part).mkdir(parents=True)
            (run_dir / part / "model.safetensors").write_bytes(bytes(100))
        if index == 0:
            record = {"written": {"checkpoint-1": 300, "checkpoint-2": 300}, "work_peak_bytes": 600}
            (run_dir / disk.DISK_FILE).write_text(json.dumps(disk.run_disk(run_dir, record)))
        run_dirs.append(run_dir)

    tables = {
        "probes": probes,
        "base_scores": base["m1"],
        "human_values": humans,
        "survey_coverage": survey.coverage(respondents, wvs_items, countries),
        "alignment": per_language,
        "probe_alignment": per_probe,
        "paper_subset": alignment.paper_subset(probes, humans, ["de", "en", "ko"]),
        "parallel_items": parallel.align(
            [data.prepare(pl.DataFrame({"item_id": ids, "text": ids}), "bible", lang, 0) for lang, ids in (("en", ["1", "2", "3"]), ("de", ["1", "3"]))],
            "bible",
        )[1],
        "run_disk": disk.disk_table(run_dirs),
        "shifts": significance.annotate_shifts(probe_shifts, tests, CONTROL),
        "run_shifts": per_run,
        "cross_language": shifts.cross_language(per_run),
        "distinctiveness": profiles,
        "planted": shifts.planted(probe_shifts, PLANTED, probes),
        "shift_tests": tests,
        "magnitude_model": claims.magnitude_model(per_run),
        "multilingual_comparison": claims.multilingual_comparison(per_run, profiles, SIGNIFICANCE),
        "attribution_top": top,
        "attribution_groups": group,
        "attribution_checks": pl.concat(checks),
        "attribution_planted": attribution_summary.planted_precision(top, group, PLANTED, attribution_summary.PRECISION_AT),
        "attribution_flipped": attribution_summary.flipped_top(top, attribution_summary.FLIPPED_SHOWN),
        "counterfactual": counterfactual,
        "lds": lds_table,
        "lds_summary": lds.summarise(lds_table, LdsSummary(bootstrap_resamples=100, confidence_level=0.9, seed=0)),
        "hofstede_indices": indices,
        "hofstede_alignment": hofstede_agreement,
    }
    assert set(tables) == set(TABLES)
    for name, table in tables.items():
        check_table(table, TABLES[name].schema)
    return tables
