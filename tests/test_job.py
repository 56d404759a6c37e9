"""The harness of the rules' scripts (valuetrace.job): the log file, bad input, exit status."""

from __future__ import annotations

import logging
import os
import sys
from types import SimpleNamespace

import pytest

from valuetrace.errors import InputError
from valuetrace.job import job


def fake(log) -> SimpleNamespace:
    return SimpleNamespace(log=[str(log)])


def test_everything_the_job_writes_goes_to_its_log(tmp_path):
    log = tmp_path / "logs" / "step.log"
    with job(fake(log)):
        print("printed")
        logging.getLogger("valuetrace.step").info("logged")
        os.write(2, b"from C code\n")
    text = log.read_text()
    assert "printed" in text and "INFO valuetrace.step: logged" in text and "from C code" in text


def test_bad_input_is_one_message_and_exit_status_2(tmp_path, capfd):
    log = tmp_path / "step.log"
    with pytest.raises(SystemExit) as exit:
        with job(fake(log)):
            raise InputError("data/wiki.txt: line 3 is not UTF-8")
    assert exit.value.code == 2
    assert log.read_text() == "valuetrace: error: data/wiki.txt: line 3 is not UTF-8\n"
    print("after the job")
    assert "after the job" in capfd.readouterr().out  # the streams are back where they were


def test_a_bug_keeps_its_traceback(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with job(fake(tmp_path / "step.log")):
            1 / 0
    assert sys.stdout is not None


def test_torch_computes_on_the_jobs_threads(tmp_path):
    import torch

    before = torch.get_num_threads()
    try:
        with job(SimpleNamespace(log=[str(tmp_path / "step.log")], threads=1)):
            assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
