"""environment.yml, the Binder (repo2docker) and conda environment, stays in step with
pyproject.toml. Conda cannot run here, so this checks what can be checked by reading: the
file parses, uses conda-forge, and names every runtime dependency of the package."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import tomllib
import yaml  # PyYAML, in the test extra
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name, where they differ
CONDA_NAME = {"torch": "pytorch-cpu"}
# What the Binder links open: JupyterLab on a notebook, and the Voila app.
NEEDED_FOR_BINDER = {"python", "jupyterlab", "voila", "pip"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _conda_name(spec: str) -> str:
    """The package name of a conda match spec: 'ipywidgets>=8' -> 'ipywidgets'."""
    match = re.match(r"\s*([A-Za-z0-9_.\-]+)", spec)
    assert match, f"environment.yml: cannot read a package name in {spec!r}"
    return _normalise(match.group(1))


@pytest.fixture(scope="module")
def environment() -> dict:
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert isinstance(env, dict), "environment.yml: expected a mapping at the top level"
    return env


@pytest.fixture(scope="module")
def conda_packages(environment: dict) -> dict[str, str]:
    deps = environment.get("dependencies")
    assert isinstance(deps, list), "environment.yml: 'dependencies' must be a list"
    return {_conda_name(d): d for d in deps if isinstance(d, str)}


@pytest.fixture(scope="module")
def pip_entries(environment: dict) -> list[str]:
    sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, "environment.yml: expected exactly one 'pip:' section"
    assert isinstance(sections[0], list), "environment.yml: 'pip:' must be a list"
    return [str(entry).strip() for entry in sections[0]]


def runtime_dependencies() -> list[Requirement]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    return [Requirement(r) for r in pyproject["project"]["dependencies"]]


def test_conda_forge_only(environment: dict) -> None:
    assert environment.get("channels") == ["conda-forge"]


def test_python_version(conda_packages: dict[str, str]) -> None:
    assert conda_packages.get("python") == "python=3.11"


def test_names_every_runtime_dependency(conda_packages: dict[str, str]) -> None:
    wanted = {_normalise(CONDA_NAME.get(r.name, r.name)) for r in runtime_dependencies()}
    missing = sorted(wanted - set(conda_packages))
    assert not missing, (
        f"environment.yml lacks runtime dependencies of pyproject.toml: {missing} "
        f"(conda-forge names; torch is {CONDA_NAME['torch']!r})"
    )


def test_lower_bounds_match(conda_packages: dict[str, str]) -> None:
    """A '>=' bound in pyproject.toml (other than torch's) is repeated in environment.yml."""
    for req in runtime_dependencies():
        if req.name in CONDA_NAME:
            continue
        for spec in req.specifier:
            if spec.operator == ">=":
                conda = conda_packages[_normalise(req.name)]
                assert f">={spec.version}" in conda.replace(" ", ""), (
                    f"environment.yml: {conda!r} should keep pyproject's bound {req}"
                )


def test_cpu_torch_only(conda_packages: dict[str, str]) -> None:
    """Binder has no GPU: the explicit CPU build, never the CUDA-capable 'pytorch'."""
    assert "pytorch-cpu" in conda_packages
    assert "pytorch" not in conda_packages and "torch" not in conda_packages


def test_binder_can_open_lab_and_voila(conda_packages: dict[str, str]) -> None:
    missing = sorted(NEEDED_FOR_BINDER - set(conda_packages))
    assert not missing, f"environment.yml lacks {missing}"


def test_installs_the_package_itself(pip_entries: list[str]) -> None:
    assert {"-e .", "."} & set(pip_entries), (
        f"environment.yml: the pip section should install this repository ('-e .'), "
        f"got {pip_entries}"
    )


def test_one_binder_configuration() -> None:
    """repo2docker prefers binder/ and ignores the root files if it exists."""
    assert not (REPO / "binder").exists(), "binder/ would hide environment.yml from Binder"
    assert not (REPO / ".binder").exists(), ".binder/ would hide environment.yml from Binder"
