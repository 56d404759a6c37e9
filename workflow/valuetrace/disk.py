"""The disk a fine-tuning run takes (``disk.json`` in the run, table ``run_disk``).

Apart from :mod:`valuetrace.finetune`, which writes ``disk.json``, so that the table job reads
it without importing torch and transformers (seconds per job).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

from valuetrace.grid import Run

DISK_FILE = "disk.json"


def directory_bytes(path: Path, seen: set | None = None) -> int:
    """Bytes of the files under ``path``, a file linked twice counted once (as ``du`` does);
    ``seen``: files counted already (device and inode), updated."""
    seen, total = set() if seen is None else seen, 0
    for entry in path.rglob("*"):
        if entry.is_file() and not entry.is_symlink():
            status = entry.stat()
            if (status.st_dev, status.st_ino) not in seen:
                seen.add((status.st_dev, status.st_ino))
                total += status.st_size
    return total



def run_disk(run_dir: Path, record: dict | None) -> dict:
    """Bytes a finished run takes: its checkpoints as the Trainer wrote them (weights, optimiser,
    scheduler and RNG state; None where not recorded), as kept for attribution (beyond the final
    model), the final model, the whole run, and the most its work directory held while it trained."""
    seen: set = set()
    model_bytes = directory_bytes(run_dir / "model", seen)
    return {
        "checkpoints": len(list((run_dir / "checkpoints").glob("step-*"))),
        "checkpoint_bytes_written": sum(record["written"].values()) if record else None,
        "checkpoint_bytes_kept": directory_bytes(run_dir / "checkpoints", seen),
        "model_bytes": model_bytes,
        "run_bytes": directory_bytes(run_dir),
        "work_peak_bytes": record["work_peak_bytes"] if record else None,
    }


DISK_COLUMNS = {
    "checkpoints": pl.Int64,
    "checkpoint_bytes_written": pl.Int64,
    "checkpoint_bytes_kept": pl.Int64,
    "model_bytes": pl.Int64,
    "run_bytes": pl.Int64,
    "work_peak_bytes": pl.Int64,
}


def disk_table(run_dirs: list[Path]) -> pl.DataFrame:
    """One row per finished run (``results/finetuned/{model}/{run}``): the bytes of its ``disk.json``.

    A run finished before runs recorded their disk use is measured now; what only its
    training could record (the checkpoints as written, the work directory's peak) is null."""
    rows = []
    for run_dir in run_dirs:
        run_dir = Path(run_dir)
        run = Run.parse(run_dir.parts[-4], "/".join(run_dir.parts[-3:]))
        disk = run_dir / DISK_FILE
        values = json.loads(disk.read_text()) if disk.exists() else run_disk(run_dir, None)
        rows.append({**run.columns(), "run": run.name, **{column: values[column] for column in DISK_COLUMNS}})
    schema = {"model": pl.String, "dataset": pl.String, "finetune_lang": pl.String, "size": pl.Int64, "seed": pl.Int64,
              "run": pl.String, **DISK_COLUMNS}  # fmt: skip
    return pl.DataFrame(rows, schema=schema)
