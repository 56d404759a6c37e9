"""The harness of the rules' scripts (``workflow/scripts/``): log file, messages, exit status.

Every rule runs one script through Snakemake's ``script:`` directive; the script reads its
typed inputs, outputs and params from the ``snakemake`` object and calls the library inside
``with job(snakemake):``. Everything the job prints, its log messages and the progress bars of
long steps go to the rule's log file. Bad input (:class:`~valuetrace.errors.InputError`) ends
the job with its one-paragraph message and exit status 2, without a traceback; outputs are
written atomically by the library, so a failed job leaves none behind.
"""

from __future__ import annotations

import logging
import os
import sys
from contextlib import contextmanager
from pathlib import Path

from valuetrace.errors import InputError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: int = logging.INFO) -> None:
    logging.basicConfig(level=level, format=LOG_FORMAT, stream=sys.stderr, force=True)


def limit_torch_threads(threads: int | None) -> None:
    """Let torch, if the job uses it, compute on the ``threads`` cores Snakemake gave the job.

    Torch takes every core by default, so two jobs side by side on a 2-core machine would run
    4 threads on 2 cores, which can make each several times slower.
    """
    torch = sys.modules.get("torch")
    if threads and torch is not None:
        torch.set_num_threads(threads)


@contextmanager
def job(snakemake):
    """Run the block as the job of ``snakemake.rule``, writing to its log file, with torch on
    the job's threads."""
    limit_torch_threads(getattr(snakemake, "threads", None))
    log_path = Path(snakemake.log[0])
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # A new file rather than the old one truncated: an earlier attempt of this job that outlived
    # its Snakemake (killed) may still be writing to the old one, and would garble this log.
    log_path.unlink(missing_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_streams = sys.stdout, sys.stderr
    saved_descriptors = os.dup(1), os.dup(2)
    with log_path.open("w", buffering=1) as log_file:
        # File descriptors as well as Python's streams: libraries that write from C code or
        # from subprocesses land in the log too.
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
        sys.stdout = sys.stderr = log_file
        configure_logging()
        try:
            yield
        except InputError as error:
            print(f"valuetrace: error: {error}", file=log_file)
            raise SystemExit(2) from None
        finally:
            log_file.flush()
            # Back to where they pointed, for a caller that goes on (a test, an interactive session).
            sys.stdout, sys.stderr = saved_streams
            for descriptor, original in zip((1, 2), saved_descriptors):
                os.dup2(original, descriptor)
                os.close(original)
            configure_logging()
