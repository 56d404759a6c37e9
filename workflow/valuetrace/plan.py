"""What a validated config asks the workflow for: its runs, active stages, tables, figures, targets.

Read when the workflow is planned (``workflow/rules/common.smk``) and tested without Snakemake.
A *stage* is active when the config asks for its results:

- ``probes``: always (scores of the base models, human values, alignment);
- ``runs``: fine-tuning runs exist (shifts);
- ``planted``: one of their datasets plants questions;
- ``parallel``: one of their datasets is parallel (its items aligned by id across languages);
- ``control``: one of their datasets is the control source and another is compared with it;
- ``multilingual``: some runs are multilingual (compared with the monolingual ones);
- ``attribution``: some runs are attributed (``attribution``);
- ``counterfactual``: some attributed runs are retrained (``attribution.counterfactual``);
- ``lds``: some attributed runs are retrained on random subsets (``attribution.lds``);
- ``hofstede``: the VSM 2013 probes are scored and compared with country scores (``hofstede``).

Tables (``valuetrace.tables.TABLES``) and figures (``valuetrace.plots.FIGURES``) of active stages
are made and shown in the report.
"""

from __future__ import annotations

from valuetrace import grid
from valuetrace.settings import control_source
from valuetrace.grid import BASE, MULTILINGUAL
from valuetrace.plots import FIGURES, Figure
from valuetrace.tables import TABLES, Table


def job_subsets(m: int, per_job: int) -> list[range]:
    """The LDS subsets each retraining job takes (``attribution.lds.subsets_per_job`` at a time,
    in subset order, the last job the rest)."""
    return [range(first, min(first + per_job, m)) for first in range(0, m, per_job)]


class Plan:
    def __init__(self, config: dict):
        self.config = config
        self.models = list(config["models"])
        self.languages = list(config["languages"])
        self.datasets = config.get("datasets") or {}
        self.runs = grid.runs(config)
        attribution = config.get("attribution")
        self.attributed_runs = grid.select(self.runs, attribution) if attribution is not None else []
        counterfactual = (attribution or {}).get("counterfactual")
        self.counterfactual_runs = (
            grid.select(self.attributed_runs, counterfactual) if counterfactual is not None else []
        )
        lds = (attribution or {}).get("lds")
        self.lds_runs = grid.select(self.attributed_runs, lds) if lds is not None else []
        # dataset -> the questions it plants
        self.planted = {
            name: list(spec["planted_questions"]) for name, spec in self.datasets.items() if spec.get("planted_questions")
        }
        self.parallel = [name for name, spec in self.datasets.items() if spec["parallel"]]
        # A built model is pretrained on the demo text of these: what it is for is to make the
        # generated sources in-distribution, and another language's would only dilute theirs
        # (the pretraining is a fixed number of steps), so adding a language's demo text file
        # changes no model until a generated source is in that language or the config names it.
        pretrained = set((config.get("pretraining_corpus") or {}).get("demo_text_languages", []))
        pretrained |= {lang for spec in self.datasets.values() if "generate" in spec for lang in spec["languages"]}
        self.demo_text_languages = [lang for lang in self.languages if lang in pretrained]
        # the dataset every run of another source is compared with
        self.control = control_source(self.datasets)
        self.stages = {"probes"}
        if self.runs:
            self.stages.add("runs")
            if self.planted:
                self.stages.add("planted")
            if self.parallel:
                self.stages.add("parallel")
            if self.control is not None and len(self.datasets) > 1:
                self.stages.add("control")
            if any(run.finetune_lang == MULTILINGUAL for run in self.runs):
                self.stages.add("multilingual")
        if self.attributed_runs:
            self.stages.add("attribution")
        if self.counterfactual_runs:
            self.stages.add("counterfactual")
        if self.lds_runs:
            self.stages.add("lds")
        if config.get("hofstede") is not None:
            self.stages.add("hofstede")

    def run_languages(self, dataset: str, finetune_lang: str) -> list[str]:
        """The languages whose examples a run of ``dataset`` is trained on."""
        if finetune_lang == MULTILINGUAL:
            return list(self.datasets[dataset]["languages"])
        return [finetune_lang]

    def parallel_counts(self) -> list[str]:
        """The item counts of each parallel source, gathered into the table parallel_items."""
        return [f"results/tables/parallel/{name}.parquet" for name in self.parallel]

    def finetuned(self) -> list[str]:
        """The output directory of every fine-tuning run."""
        return [f"results/finetuned/{run.model}/{run.name}" for run in self.runs]

    def scores(self, model: str) -> list[str]:
        """Score tables of a model: its base model and every run of it."""
        return [f"results/scores/{model}/{BASE}.parquet"] + [
            f"results/scores/{model}/{run.name}.parquet" for run in self.runs if run.model == model
        ]

    def all_scores(self) -> list[str]:
        return [path for model in self.models for path in self.scores(model)]

    def counterfactual_targets(self) -> list[str]:
        """One file per counterfactual target of a run: the rows of its top-k removal and of its
        random draws (``counterfactual.retrain_target``)."""
        if not self.counterfactual_runs:
            return []
        targets = self.config["attribution"]["counterfactual"]["targets_per_run"]
        return [
            f"results/counterfactual/{run.model}/{run.name}/t{target}.parquet"
            for run in self.counterfactual_runs
            for target in range(1, targets + 1)
        ]

    def lds_subsets(self, model: str, run: str) -> list[str]:
        """The score tables of one run retrained on its LDS subsets, one per retraining job (the
        subsets it retrains in its name), in subset order."""
        lds = self.config["attribution"]["lds"]
        return [
            f"results/lds/{model}/{run}/subsets{subsets[0]}-{subsets[-1]}.parquet"
            for subsets in job_subsets(lds["subsets"], lds["subsets_per_job"])
        ]

    def lds_tables(self) -> list[str]:
        """The LDS table of every run the LDS retrains."""
        return [f"results/lds/{run.model}/{run.name}/lds.parquet" for run in self.lds_runs]

    def attributed(self, pattern: str) -> list[str]:
        """``pattern`` (with ``{model}`` and ``{run}``) for every attributed run."""
        return [pattern.format(model=run.model, run=run.name) for run in self.attributed_runs]

    def report_tables(self) -> list[Table]:
        return [table for table in TABLES.values() if table.report and table.stage in self.stages]

    def figures(self) -> list[Figure]:
        return [entry for entry in FIGURES.values() if entry.stage in self.stages]

    def figure_files(self, entry: Figure) -> list[str]:
        """The files of a figure: one, or one per model."""
        return [entry.path.format(model=model) for model in self.models] if entry.per_model else [entry.path]

    def targets(self) -> list[str]:
        """Every final output: the report's tables and figures of the active stages."""
        return [
            *[f"results/report/{table.name}.csv" for table in self.report_tables()],
            *[path for entry in self.figures() for path in self.figure_files(entry)],
        ]

