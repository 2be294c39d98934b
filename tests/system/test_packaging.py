"""The wheel carries what aeflow needs, and an installed copy runs away from the source tree."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

WARNING = re.compile(r"\b\w*Warning\b")


@dataclass(frozen=True)
class Build:
    wheel: Path
    output: str  # what pip and the build backend printed, verbosely


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    out = tmp_path_factory.mktemp("wheel")
    where = tmp_path_factory.mktemp("build")
    # -v: pip shows the build backend's warnings whatever its version's default for build output.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-v",
            "-w",
            str(out),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        cwd=where,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (found,) = out.glob("aeflow-*.whl")
    return Build(found, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def wheel(build: Build) -> Path:
    return build.wheel


def test_the_build_prints_no_setuptools_warning(build: Build) -> None:
    # Python warnings are named by category (BuildBackendWarning, SetuptoolsDeprecationWarning):
    # setuptools turns its deprecations into failed builds after their deadline.
    warnings = [line.strip() for line in build.output.splitlines() if WARNING.search(line)]
    assert warnings == []


def test_the_wheel_carries_all_four_packages_and_their_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("rules", "calendar_sync", "mailer", "aeflow", "aeflow/commands"):
        assert f"{package}/__init__.py" in names, package
    assert "calendar_sync/data/windows_zones.json" in names
    for language in ("en", "zh-CN"):
        assert f"mailer/templates/{language}/confirmation.txt.j2" in names
        for template in (REPO / "templates" / language).glob("*.j2"):
            assert f"mailer/templates/{language}/{template.name}" in names
    assert "rules/py.typed" in names
    assert not any(name.startswith("tests/") for name in names)


def test_an_installed_copy_runs_outside_the_source_tree(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(target)
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import aeflow, calendar_sync.windows_zones as w; "
            "from mailer.render import Renderer, builtin_templates; "
            "print(aeflow.__file__); print(w.iana_zone('China Standard Time')); "
            "print(builtin_templates()); print(len(Renderer().kinds()))",
        ],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=120,
    )
    assert where.returncode == 0, where.stderr
    lines = where.stdout.splitlines()
    assert lines[:3] == [
        str(target / "aeflow" / "__init__.py"),
        "Asia/Shanghai",
        str(target / "mailer" / "templates"),
    ]
    assert int(lines[3]) >= 6
    check = subprocess.run(
        [sys.executable, "-m", "aeflow", "check-config", str(REPO / "config.example.toml")],
        capture_output=True,
        text=True,
        cwd=elsewhere,
        env=env,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
