"""The environment files describe one stack: the pip lock, the conda environment and pyproject.toml."""

from __future__ import annotations

import re
import tomllib

import yaml

from workflow_runs import REPO

ENVS = REPO / "envs"


def normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    """Package -> version of every `name==version` line."""
    found = {}
    for line in lines:
        name, separator, version = line.strip().partition("==")
        if separator:
            found[normalised(name)] = version
    return found


def lock_pins() -> dict[str, str]:
    return pins([line for line in (ENVS / "requirements.lock").read_text().splitlines() if not line.startswith("#")])


def default_torch_pin() -> dict[str, str]:
    match = re.search(r"TORCH_SPEC:-(torch==[^}]+)\}", (ENVS / "install.sh").read_text())
    assert match, "envs/install.sh no longer names its default torch"
    return pins([match.group(1)])


def test_conda_environment_is_the_lock_plus_the_default_torch():
    environment = yaml.safe_load((ENVS / "valuetrace.yaml").read_text())
    pip_section = next(item["pip"] for item in environment["dependencies"] if isinstance(item, dict))
    assert pins(pip_section) == {**lock_pins(), **default_torch_pin()}
    assert len(pip_section) == len(lock_pins()) + 1  # nothing unpinned besides


def test_every_declared_dependency_is_pinned_in_the_lock():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    names = {normalised(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]) for requirement in declared}
    names.discard("torch")  # pinned by envs/install.sh, which picks the build for the machine
    assert names - set(lock_pins()) == set()
