"""The fine-tuning grid: model × dataset × fine-tuning language × size × seed.

A run is named by a path fragment, ``{dataset}/{finetune_lang}/n{size}_s{seed}``, used in
every file the run produces; ``multi`` as the language is the multilingual run that mixes
all languages of the dataset: per size (``finetuning.multilingual: true``), or, the paper's
design, once on N multi-parallel items per language of each parallel source
(``finetuning.multilingual: {parallel: N}``). The base (not fine-tuned) model is the run ``base``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BASE = "base"
MULTILINGUAL = "multi"
_RUN = re.compile(r"(?P<dataset>[^/]+)/(?P<finetune_lang>[^/]+)/n(?P<size>\d+)_s(?P<seed>\d+)")


@dataclass(frozen=True)
class Run:
    model: str
    dataset: str
    finetune_lang: str
    size: int
    seed: int

    @property
    def name(self) -> str:
        return f"{self.dataset}/{self.finetune_lang}/n{self.size}_s{self.seed}"

    @classmethod
    def parse(cls, model: str, name: str) -> "Run":
        match = _RUN.fullmatch(name)
        if match is None:
            raise ValueError(f"{name!r} is not a run name such as planted/en/n300_s0")
        return cls(model, match["dataset"], match["finetune_lang"], int(match["size"]), int(match["seed"]))

    def columns(self) -> dict:
        return {
            "model": self.model,
            "dataset": self.dataset,
            "finetune_lang": self.finetune_lang,
            "size": self.size,
            "seed": self.seed,
        }


def runs(config: dict) -> list[Run]:
    """Every fine-tuning run the config asks for."""
    finetuning = config.get("finetuning")
    if not finetuning or not config.get("datasets"):
        return []
    models = finetuning.get("models") or list(config["models"])
    result = []
    for model in models:
        for dataset, spec in config["datasets"].items():
            sizes = {lang: finetuning["sizes"] for lang in spec["languages"]}
            if len(spec["languages"]) > 1:
                sizes[MULTILINGUAL] = multilingual_sizes(finetuning, spec)
            for lang, lang_sizes in sizes.items():
                for size in lang_sizes:
                    for seed in finetuning["seeds"]:
                        result.append(Run(model, dataset, lang, size, seed))
    return result


def multilingual_sizes(finetuning: dict, spec: dict) -> list[int]:
    """Examples per language of a source's multilingual runs: each size, or the multi-parallel N
    of a parallel source (none for another source), or none."""
    multilingual = finetuning["multilingual"]
    if isinstance(multilingual, dict):
        return [multilingual["parallel"]] if spec["parallel"] else []
    return list(finetuning["sizes"]) if multilingual else []


def select(all_runs: list[Run], spec: dict) -> list[Run]:
    """The runs whose model, dataset, fine-tuning language, size and seed the ``spec`` lists (absent: any)."""
    return [
        run
        for run in all_runs
        if run.model in spec.get("models", [run.model])
        and run.dataset in spec.get("datasets", [run.dataset])
        and run.finetune_lang in spec.get("finetune_languages", [run.finetune_lang])
        and run.size in spec.get("sizes", [run.size])
        and run.seed in spec.get("seeds", [run.seed])
    ]
