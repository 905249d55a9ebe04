"""The package as a user gets it: its wheel, installed (not editable) into a fresh venv.

Offline: the wheel is built with ``pip wheel --no-build-isolation`` (hatchling from
this environment) and installed with ``--no-deps --no-index``. The fresh venv has no
site packages of its own beyond the wheel; the distributions the wheel declares
(``Requires-Dist``, with the ``testing`` extra) and theirs are made importable from
this environment's copies, one symlink per top-level entry, through a ``.pth`` file:
exactly those, never the source tree.
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import attrs
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = ("testing",)
"""The extras the fresh venv gets, beside the runtime dependencies."""
_SCRUBBED_ENV = ("PYTHONPATH", "PYTHONHOME", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "VIRTUAL_ENV")


@attrs.frozen
class FreshInstall:
    """A venv holding the built wheel; run its Python with :meth:`run`."""

    wheel: Path
    venv: Path
    site_packages: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def run(self, *argv: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` with the fresh venv's ``bin`` first on ``PATH`` and nothing inherited."""
        return subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=clean_env(self.venv),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def clean_env(venv: Path) -> dict[str, str]:
    """This process's environment without what would reach the source tree or this venv."""
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def build_wheel(out: Path) -> Path:
    """Build this project's wheel into ``out`` (offline) and return its path."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    [wheel] = out.glob("caresupport_transport-*.whl")
    return wheel


def declared_requirements(wheel: Path) -> list[str]:
    """The distributions the wheel requires, with :data:`EXTRAS`, as names."""
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        message = email.parser.Parser().parsestr(archive.read(metadata).decode())
    names = []
    for line in message.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({"extra": e}) for e in EXTRAS):
            names.append(requirement.name)
    return names


def closure(names: list[str]) -> list[importlib.metadata.Distribution]:
    """The installed distributions ``names`` need, transitively (this environment's)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(names)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        found[key] = distribution = importlib.metadata.distribution(name)
        for line in distribution.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return [found[key] for key in sorted(found)]


def link_dependencies(distributions: list[importlib.metadata.Distribution], into: Path) -> None:
    """Symlink each distribution's top-level files and folders (dist-info too) into ``into``."""
    into.mkdir()
    for distribution in distributions:
        if distribution.files is None:
            raise RuntimeError(f"{distribution.metadata['Name']} has no RECORD to link from")
        tops = {f.parts[0] for f in distribution.files} - {"..", "__pycache__"}
        for top in sorted(tops):
            link = into / top
            if not link.exists():
                link.symlink_to(Path(str(distribution.locate_file(top))))


def fresh_install(workdir: Path) -> FreshInstall:
    """Build the wheel, make a venv without pip or site packages, install the wheel into it."""
    wheel = build_wheel(workdir / "dist")
    venv = workdir / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = venv / "bin" / "python"
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(venv),
        ).stdout.strip()
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    dependencies = workdir / "dependencies"
    link_dependencies(closure(declared_requirements(wheel)), dependencies)
    (site_packages / "_dependencies.pth").write_text(f"{dependencies}\n", encoding="utf-8")
    return FreshInstall(wheel, venv, site_packages)
